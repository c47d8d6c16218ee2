"""JSON Lines corpora (.jsonl): many documents in one file, one JSON object per line
with a `docid` and a `text`; a bad line is reported on its own and the others
still load."""

from __future__ import annotations

import hashlib
import json

from ingest.loaders.common import Problem, no_surrogates, require_text
from ingest.loaders.decoding import decode_text
from policyqa.errors import IngestError
from policyqa.types import RawDocument


def extract(name: str, path: str, data: bytes) -> tuple[tuple[RawDocument, ...], tuple[IngestError, ...]]:
    """One document per line, its `source` the docid; a bad line is an error named
    `name:line`. Raises Problem when the file as a whole is not text."""
    text = require_text(decode_text(data))
    docs: list[RawDocument] = []
    errors: list[IngestError] = []
    first_line: dict[str, int] = {}
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            docid, body, meta = _parse_line(line)
            if docid in first_line:
                raise Problem(f"duplicate docid '{docid}' (first on line {first_line[docid]})")
        except Problem as problem:
            errors.append(IngestError(f"{name}:{lineno}", str(problem)))
            continue
        first_line[docid] = lineno
        docs.append(
            RawDocument(
                source=docid,
                text=body,
                path=path,
                meta=meta,
                sha256=hashlib.sha256(body.encode("utf-8")).hexdigest(),
            )
        )
    return tuple(docs), tuple(errors)


def _parse_line(line: str) -> tuple[str, str, dict[str, str]]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise Problem(f"invalid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise Problem("invalid JSON (nested too deeply)") from None
    if not isinstance(record, dict):
        raise Problem("line is not a JSON object")
    docid = record.get("docid")
    # Numeric ids are common in exported corpora; booleans are never ids.
    if isinstance(docid, int) and not isinstance(docid, bool):
        docid = str(docid)
    if not isinstance(docid, str) or not docid.strip():
        raise Problem("missing or empty 'docid' (a non-empty string is required)")
    body = record.get("text")
    if not isinstance(body, str):
        raise Problem("missing 'text' (a string is required)")
    if not body.strip():
        raise Problem("empty 'text'")
    meta: dict[str, str] = {}
    for key, value in record.items():
        if key in ("docid", "text") or value is None or isinstance(value, (list, dict)):
            continue
        # json.dumps gives "true"/"3"/"1.5" for scalars, matching the file's spelling.
        shown = value if isinstance(value, str) else json.dumps(value)
        if shown.strip():
            meta[no_surrogates(key)] = no_surrogates(shown.strip())
    return no_surrogates(docid.strip()), no_surrogates(body), meta
