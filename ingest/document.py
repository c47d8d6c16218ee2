"""RawDocument -> Document: clean, read metadata, find articles."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from ingest.clean import clean_text, sharing_site_title
from ingest.structure import extract_meta, split_articles
from policyqa.errors import IngestError
from policyqa.types import Chunk, Document, RawDocument

__all__ = ["build_document", "doc_id_for", "text_from_chunks"]


def doc_id_for(source: str) -> str:
    """A stable short id for a source (file name or JSONL docid)."""
    return hashlib.sha1(source.encode("utf-8")).hexdigest()[:12]


def build_document(raw: RawDocument) -> Document:
    """Clean `raw`, extract its metadata (given metadata wins) and its articles.

    Raises IngestError when nothing readable is left after cleaning."""
    text, pages = clean_text(raw.text, raw.pages)
    if not text.strip():
        raise IngestError(raw.source, "清洗后没有可用的正文内容")
    given = dict(raw.meta)
    if not given.get("title"):
        # a document-sharing site names the document in the banner we just dropped
        banner = sharing_site_title(raw.text)
        if banner:
            given["title"] = banner
    meta = extract_meta(text, given, raw.source)
    articles = split_articles(text, meta)
    return Document(
        doc_id=doc_id_for(raw.source),
        source=raw.source,
        text=text,
        meta=meta,
        articles=articles,
        pages=pages,
        sha256=raw.sha256,
        path=raw.path,
    )


def text_from_chunks(chunks: Sequence[Chunk]) -> str:
    """A document's cleaned text rebuilt from its chunks (their offsets index into it);
    what no chunk covers was whitespace between articles, written back as line breaks
    so sentences still end there."""
    size = max(c.end for c in chunks)
    buf = ["\n"] * size
    for c in chunks:
        buf[c.start : c.end] = list(c.text)
    return "".join(buf)
