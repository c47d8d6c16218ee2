"""The `formats` evaluation corpus: documents in the forms users bring them, made
here from the sources in eval/formats/ so that nothing binary is committed.

- browser_printed.pdf: an HTML page printed by headless Chromium with a CJK font
  (its text layer carries Kangxi radicals such as ⼈ ⼯ ⽬ for 人 工 目);
- gongwen_cid.pdf: a 公文 set with a non-embedded CID font (reportlab's STSong-Light),
  two pages with `— n —` page numbers, head (文号) and tail (抄送, 印发);
- scanned.pdf: an image-only page (rendered text with noise), as a scanner makes it;
- subsidy_table.docx: a DOCX with a table of subsidy standards;
- table.pdf: an HTML table printed by Chromium;
- two_column.pdf: a two-column page whose text is drawn row by row across the columns.

Needs Chromium (`/usr/bin/chromium`), reportlab, Pillow and python-docx (the `test` extra)."""

from __future__ import annotations

import io
import json
import random
import shutil
import subprocess
import tempfile
from pathlib import Path

from policyqa.errors import PolicyQAError

SOURCES = Path(__file__).resolve().parent / "formats"
CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
DOCUMENTS = ("browser_printed.pdf", "gongwen_cid.pdf", "scanned.pdf", "subsidy_table.docx", "table.pdf",
             "two_column.pdf")


def build_corpus(folder: Path) -> list[Path]:
    """Write every document of the corpus into `folder`; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise PolicyQAError("the formats corpus needs Chromium to print HTML to PDF (apt-get install chromium)")
    if not CJK_FONT.is_file():
        raise PolicyQAError(f"the formats corpus needs the Noto CJK font ({CJK_FONT}; apt-get install fonts-noto-cjk)")
    _print_html(chromium, SOURCES / "browser_printed.html", folder / "browser_printed.pdf")
    _print_html(chromium, SOURCES / "table.html", folder / "table.pdf")
    _gongwen_pdf((SOURCES / "gongwen.txt").read_text("utf-8"), folder / "gongwen_cid.pdf")
    scanned_pdf((SOURCES / "scanned.txt").read_text("utf-8"), folder / "scanned.pdf")
    _table_docx(json.loads((SOURCES / "subsidy_table.json").read_text("utf-8")), folder / "subsidy_table.docx")
    _two_column_pdf((SOURCES / "two_column.txt").read_text("utf-8"), folder / "two_column.pdf")
    return [folder / name for name in DOCUMENTS]


def _print_html(chromium: str, html: Path, out: Path) -> None:
    with tempfile.TemporaryDirectory() as profile:
        # --no-pdf-header-footer: the date/URL lines Chromium prints are not the document's
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
               "--no-pdf-header-footer", f"--print-to-pdf={out}", html.as_uri()]
        subprocess.run(cmd, capture_output=True, timeout=120, check=False)
    if not out.is_file() or out.stat().st_size == 0:
        raise PolicyQAError(f"Chromium did not print {html.name} to {out}")


def _gongwen_pdf(text: str, out: Path) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    # A CID font that is named, not embedded: the reader must map its codes itself.
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    c = canvas.Canvas(str(out), pagesize=A4)
    width, height = A4
    for number, page in enumerate(text.split("<PAGE>\n"), start=1):
        y = height - 90
        for line in page.splitlines():
            size = 22 if line.endswith("文件") and number == 1 else 15
            for piece in _wrap(line, 28 if size == 15 else 20):
                c.setFont("STSong-Light", size)
                c.drawString(72, y, piece)
                y -= size * 1.9
        c.setFont("STSong-Light", 12)
        c.drawCentredString(width / 2, 40, f"— {number} —")
        c.showPage()
    c.save()


def _wrap(line: str, width: int) -> list[str]:
    return [line[i:i + width] for i in range(0, len(line), width)] or [""]


def scanned_pdf(text: str, out: Path) -> None:
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    # A4 at 150 dpi, grey paper, slightly rotated and blurred, speckled: a scanner's page.
    page = Image.new("L", (1240, 1754), 245)
    draw = ImageDraw.Draw(page)
    title = ImageFont.truetype(str(CJK_FONT), 40)
    body = ImageFont.truetype(str(CJK_FONT), 30)
    y = 150
    for i, line in enumerate(text.splitlines()):
        font = title if i < 2 else body
        for piece in _wrap(line, 22 if i < 2 else 36):
            draw.text((110, y), piece, font=font, fill=25)
            y += 62 if i < 2 else 52
    rng = random.Random(7)
    for _ in range(4000):
        draw.point((rng.randrange(1240), rng.randrange(1754)), fill=rng.randrange(80, 200))
    page = page.rotate(0.6, fillcolor=245, resample=Image.BICUBIC).filter(ImageFilter.GaussianBlur(0.6))
    page.convert("RGB").save(out, "PDF", resolution=150.0)


def _table_docx(spec: dict, out: Path) -> None:
    import docx

    document = docx.Document()
    document.add_heading(spec["title"], level=1)
    for line in spec["before"]:
        document.add_paragraph(line)
    rows = spec["table"]
    table = document.add_table(rows=len(rows), cols=len(rows[0]))
    table.style = "Table Grid"
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    for line in spec["after"]:
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    out.write_bytes(buffer.getvalue())


def _two_column_pdf(text: str, out: Path) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    head, tail = text.split("# right")
    left, right = head.replace("# left", "").strip().splitlines(), tail.strip().splitlines()
    c = canvas.Canvas(str(out), pagesize=A4)
    _, height = A4
    c.setFont("STSong-Light", 13)
    # Drawn row by row across both columns, as many layout programs write a page:
    # a reader taking the text in drawing order interleaves the columns.
    for i in range(max(len(left), len(right))):
        y = height - 90 - i * 26
        if i < len(left):
            c.drawString(60, y, left[i])
        if i < len(right):
            c.drawString(320, y, right[i])
    c.showPage()
    c.save()
