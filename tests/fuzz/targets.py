"""What one fuzz input must survive: load (by format), clean, chunk, tokenize and
the injection scan, exactly as `policyqa ingest` runs them on a file.

`check(kind, data)` returns normally when the input was loaded or refused with a
reason, and raises on anything else: an unexpected exception, a broken invariant
(chunk offsets, lost text, text that cannot be written as UTF-8). The atheris
harness (`tests.fuzz.harness`) and the seed regression test both call it.

PDFs are parsed in this process (`pdf_worker.extract_pages`) rather than in the
bounded child, so coverage reaches pypdf and a hang or memory blow-up shows up as
a fuzzer timeout or out-of-memory finding instead of being absorbed by the limits.
"""

from __future__ import annotations

import dataclasses
import json
from functools import cache

import ingest.loaders as loaders
import ingest.loaders.pdf as pdf_loader
from ingest.chunker import chunk_document
from ingest.document import build_document
from ingest.pdf_worker import PdfLimits, PdfPages, extract_pages, pages_or_problem
from ingest.tokenize import Tokenizer
from policyqa.errors import IngestError
from policyqa.types import Chunk, Document, RawDocument
from policyqa.text.injection import injection_spans

KINDS = {"pdf": ".pdf", "docx": ".docx", "html": ".html", "text": ".txt", "jsonl": ".jsonl"}
# Small chunk sizes make the chunker split, overlap and carry far more per input.
SIZES = (120, 160, 30)
_LIMITS = PdfLimits(max_pages=200)


def _in_process_pdf(data: bytes, limits: PdfLimits) -> PdfPages:
    return pages_or_problem(extract_pages(data, limits.max_pages))


@cache
def _tokenizer() -> Tokenizer:
    return Tokenizer()


def check(kind: str, data: bytes) -> None:
    """Raise if `data` as a `kind` file breaks the ingest path."""
    name = "fuzz" + KINDS[kind]
    subprocess_parser = pdf_loader.extract_pdf_pages
    pdf_loader.extract_pdf_pages = _in_process_pdf
    try:
        result = loaders.load_bytes(name, data, _LIMITS, path=name)
    finally:
        pdf_loader.extract_pdf_pages = subprocess_parser
    for err in result.errors:
        assert isinstance(err, IngestError) and err.reason, err
        assert err.source == name or err.source.startswith(name + ":"), err.source
    for raw in result.documents:
        _check_raw(raw)
        try:
            doc = build_document(raw)
        except IngestError as exc:
            assert exc.source == raw.source
            continue
        _check_document(doc)
        chunks = chunk_document(doc, *SIZES)
        _check_chunks(doc, chunks)
        tokenizer = _tokenizer()
        for c in chunks:
            tokenizer.index_tokens(c.match_text())
        for a, b in injection_spans(doc.text):
            assert 0 <= a < b <= len(doc.text)


def _utf8(text: str) -> None:
    text.encode("utf-8")  # the index and the manifest are UTF-8 files


def _check_raw(raw: RawDocument) -> None:
    assert raw.text.strip(), "a loaded document has text"
    _utf8(raw.source)
    _utf8(raw.text)
    for key, value in raw.meta.items():
        _utf8(key)
        _utf8(value)
    starts = [p.start for p in raw.pages]
    assert starts == sorted(starts) and all(0 <= s <= len(raw.text) for s in starts), starts


def _check_document(doc: Document) -> None:
    _utf8(doc.text)
    assert all(0 <= p.start <= len(doc.text) for p in doc.pages)
    for art in doc.articles:
        assert 0 <= art.start < art.end <= len(doc.text), art


def _check_chunks(doc: Document, chunks: list[Chunk]) -> None:
    max_size = SIZES[1]
    covered = bytearray(len(doc.text))
    for c in chunks:
        assert doc.text[c.start : c.end] == c.text, (c.start, c.end)
        assert 0 < len(c.text) <= max_size, len(c.text)
        covered[c.start : c.end] = b"\x01" * (c.end - c.start)
        json.dumps(dataclasses.asdict(c), ensure_ascii=False).encode("utf-8")
    lost = [k for k, ch in enumerate(doc.text) if not covered[k] and not ch.isspace()]
    assert not lost, f"text not in any chunk at {lost[0]}: {doc.text[lost[0] : lost[0] + 20]!r}"
