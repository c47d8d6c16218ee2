"""Read input files into RawDocuments.

`load_file` never raises for bad input: every problem becomes an IngestError in
the returned LoadResult, so one broken file never stops a whole ingest.

Each format has its own module (text, pdf, docx, html, jsonl) with one `extract`
function; the registry below maps a suffix to it, and `common` and `decoding`
hold what several formats share.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ingest.loaders import docx, html, jsonl, pdf, text
from ingest.loaders.common import Extracted, Problem, no_surrogates, read_checked
from ingest.pdf_worker import PdfLimits
from policyqa.errors import IngestError
from policyqa.types import RawDocument

__all__ = ["SUPPORTED_SUFFIXES", "LoadResult", "iter_files", "load_bytes", "load_file"]

# Formats that hold one document: suffix -> its text, pages and metadata read from
# the file's bytes (the PDF limits bound the PDF child; the other formats need none).
_ONE_DOCUMENT: dict[str, Callable[[bytes, PdfLimits], Extracted]] = {
    ".txt": lambda data, _limits: text.extract(data),
    ".md": lambda data, _limits: text.extract(data),
    ".pdf": lambda data, limits: pdf.extract(data, limits),
    ".docx": lambda data, _limits: docx.extract(data),
    ".html": lambda data, _limits: html.extract(data),
    ".htm": lambda data, _limits: html.extract(data),
}
# Formats that hold many: suffix -> (name, path, bytes) -> the documents and an
# error for each part that cannot be read.
_MANY_DOCUMENTS: dict[str, Callable[[str, str, bytes], tuple[tuple[RawDocument, ...], tuple[IngestError, ...]]]] = {
    ".jsonl": jsonl.extract,
}

SUPPORTED_SUFFIXES = frozenset({*_ONE_DOCUMENT, *_MANY_DOCUMENTS})


@dataclass(frozen=True)
class LoadResult:
    documents: tuple[RawDocument, ...]
    errors: tuple[IngestError, ...]


# ---------------------------------------------------------------- file discovery


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Yield files to ingest.

    A path that is not a directory is yielded as is, even with an unsupported
    suffix or if it does not exist, so that `load_file` reports why it was skipped.
    Directories are walked recursively in sorted order, skipping hidden entries
    and yielding only supported suffixes.
    """
    for path in paths:
        path = Path(path)
        if not path.is_dir():
            yield path
            continue
        # os.walk does not follow directory symlinks, so a link loop cannot recurse forever.
        for root, dirnames, filenames in os.walk(path):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if not name.startswith(".") and Path(name).suffix.lower() in SUPPORTED_SUFFIXES:
                    yield Path(root) / name


# ---------------------------------------------------------------- entry point


def load_file(path: Path, max_bytes: int, pdf: PdfLimits | None = None) -> LoadResult:
    """Load one file. Problems are returned as errors, never raised. PDFs are
    parsed in a child process bounded by `pdf` (default: the Settings defaults)."""
    path = Path(path)
    name = path.name or str(path)
    try:
        data = read_checked(path, max_bytes, SUPPORTED_SUFFIXES)
    except Problem as problem:
        return LoadResult((), (IngestError(name, str(problem)),))
    return load_bytes(name, data, pdf, path=str(path))


def load_bytes(name: str, data: bytes, pdf: PdfLimits | None = None, path: str = "") -> LoadResult:
    """Load a file's bytes (the format comes from the suffix of `name`). Problems
    are returned as errors naming `name`, never raised."""
    suffix = Path(name).suffix.lower()
    try:
        many = _MANY_DOCUMENTS.get(suffix)
        if many is not None:
            return LoadResult(*many(name, path, data))
        extract = _ONE_DOCUMENT.get(suffix)
        if extract is None:
            # load_file checks the suffix before reading; load_bytes callers may not
            raise Problem(f"unsupported file type '{suffix}'")
        found = extract(data, pdf or PdfLimits())
    except Problem as problem:
        return LoadResult((), (IngestError(name, str(problem)),))
    doc = RawDocument(
        source=name,
        text=no_surrogates(found.text),
        path=path,
        pages=found.pages,
        meta={k: no_surrogates(v) for k, v in found.meta.items()},
        sha256=hashlib.sha256(data).hexdigest(),
    )
    return LoadResult((doc,), ())
