"""Shared test fixtures: builders for binary documents that cannot live as text."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

import pytest


@pytest.fixture(scope="session")
def make_pdf() -> Callable[[Sequence[str]], bytes]:
    """Return a builder: one PDF page per string, drawn with reportlab's built-in
    Chinese CID font (so the PDF has a real CJK text layer); "" gives a blank page."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))

    def build(pages: Sequence[str]) -> bytes:
        buf = io.BytesIO()
        pdf = canvas.Canvas(buf)
        for page in pages:
            pdf.setFont("STSong-Light", 12)
            for i, line in enumerate(page.splitlines()):
                pdf.drawString(72, 760 - 18 * i, line)
            pdf.showPage()
        pdf.save()
        return buf.getvalue()

    return build


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    """Name the artefacts tests leave behind (browser screenshots), so a CI log says
    where to look."""
    from policyqa.settings import PROJECT_ROOT

    folder = PROJECT_ROOT / "out" / "test-artifacts"
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            terminalreporter.write_line(f"test artefact: {path}")
