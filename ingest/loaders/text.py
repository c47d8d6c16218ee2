"""Plain text and Markdown (.txt, .md): the file is the document's text, once
decoded (`ingest.loaders.decoding`)."""

from __future__ import annotations

from ingest.loaders.common import Extracted, require_text
from ingest.loaders.decoding import decode_text


def extract(data: bytes) -> Extracted:
    return Extracted(require_text(decode_text(data)), (), {})
