"""Builders for binary test documents shared by the loader tests and the fuzz seeds."""

from __future__ import annotations

import io


def make_docx(paragraphs: list[str], table: list[list[str]] | None = None, tail: str = "") -> bytes:
    """A DOCX from python-docx's own template: paragraphs, an optional table, a tail."""
    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    if tail:
        document.add_paragraph(tail)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()
