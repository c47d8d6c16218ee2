"""PDF: the pages are parsed (and scanned ones OCR'd) in a bounded child process
(`ingest.pdf_worker`); here their texts become one document that remembers where
each page starts, so answers can cite page numbers."""

from __future__ import annotations

from ingest.garble import garbled_reason
from ingest.loaders.common import Extracted, Problem, no_surrogates
from ingest.pdf_worker import PdfLimits, PdfProblem, extract_pdf_pages
from policyqa.types import Page


def extract(data: bytes, limits: PdfLimits) -> Extracted:
    """The pages' texts joined by newlines, and where each page starts. A page read
    by OCR says so (`Page.ocr`); one that needed OCR but was not read (page cap, time
    budget, OCR unavailable) says why (`Page.unread`)."""
    try:
        read = extract_pdf_pages(data, limits)
    except PdfProblem as problem:
        raise Problem(str(problem)) from None
    page_texts = [no_surrogates(t) for t in read.texts]
    if not any(t.strip() for t in page_texts):
        raise Problem(read.no_text_reason())

    unread = dict(read.unread)
    pages: list[Page] = []
    start = 0
    for number, page_text in enumerate(page_texts, start=1):
        pages.append(Page(number=number, start=start, ocr=number in read.ocr, unread=unread.get(number, "")))
        start += len(page_text) + 1  # +1 for the "\n" joining pages
    text = "\n".join(page_texts)
    garbled = garbled_reason(text)
    if garbled:
        raise Problem(garbled + read.why_unread())
    return Extracted(text, tuple(pages), {})
