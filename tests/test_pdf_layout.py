"""PDF pages with ruled tables (Markdown rows at their place) and two columns (read
column by column); every other page comes out exactly as pypdf reads it."""

from __future__ import annotations

import io
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest
from pypdf import PdfReader
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

from ingest.loaders import load_bytes
from ingest.pdf_layout import Box, find_gutter, reading_order
from ingest.pdf_worker import extract_pages

ROWS = [
    ["项目", "支持标准", "最高金额"],
    ["研发补助", "按研发投入的10%给予补助", "100万元"],
    ["首台套", "按售价的20%奖励", "500万元"],
    ["人才引进", "一次性安家补贴", "50万元"],
]
MARKDOWN = [
    "| 项目 | 支持标准 | 最高金额 |",
    "| --- | --- | --- |",
    "| 研发补助 | 按研发投入的10%给予补助 | 100万元 |",
    "| 首台套 | 按售价的20%奖励 | 500万元 |",
    "| 人才引进 | 一次性安家补贴 | 50万元 |",
]
BEFORE = ["关于印发科技扶持政策的通知", "各有关单位：现将扶持标准列示如下。"]
AFTER = "本政策自发布之日起施行。"
PROSE = (
    "浙江省经信厅印发《2025年浙江省推动高新技术及产业化发展工作要点》，推进科技创新和产业创新深度融合，"
    "加快提升浙江产业科技创新能力。2025年，全省高新技术产业增加值占规上工业比重超过67.5%，高新技术产业"
    "投资增速快于面上，规上工业企业研发费用支出占营业收入比重超过3.15%，新产品产值率保持在40%以上。"
    "浙江将全面推进科技创新和产业创新深度融合，加强统筹推进，分解目标任务，加强工作督办，组织实施有关"
    "实施意见，明确面向2027年、2030年、2035年的重点任务，建立健全中试平台高水平发展机制。"
)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module", autouse=True)
def _cid_font() -> None:
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))


def pages_of(data: bytes) -> list[str]:
    result = extract_pages(data, 100)
    assert "error" not in result, result
    return result["pages"]


def pypdf_pages(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def radicals(text: str) -> str:
    """Chromium's PDFs map some glyphs to Kangxi radicals (⽬ for 目); ingest.clean
    fixes those, not the PDF reader."""
    return "".join(unicodedata.normalize("NFKC", ch) if "\u2f00" <= ch <= "\u2fdf" else ch for ch in text)


def reportlab_table(style: list[tuple] | None = None) -> bytes:  # type: ignore[type-arg]
    buf = io.BytesIO()
    text = ParagraphStyle("zh", fontName="STSong-Light", fontSize=12, leading=18)
    table = Table(ROWS)
    table.setStyle(TableStyle(style if style is not None else [
        ("FONT", (0, 0), (-1, -1), "STSong-Light", 11), ("GRID", (0, 0), (-1, -1), 0.5, colors.black)]))
    SimpleDocTemplate(buf, pagesize=A4).build([Paragraph(BEFORE[0], text), Paragraph(BEFORE[1], text), table,
                                               Paragraph(AFTER, text)])
    return buf.getvalue()


def chromium_pdf(tmp_path: Path, body: str, style: str) -> bytes:
    html = tmp_path / "page.html"
    html.write_text(f'<html><head><meta charset="utf-8"><style>body{{font-family:"Noto Sans CJK SC";'
                    f"font-size:14px}} {style}</style></head><body>{body}</body></html>", encoding="utf-8")
    out = tmp_path / "page.pdf"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    f"--print-to-pdf={out}", str(html)], capture_output=True, timeout=120, check=False)
    if not out.exists():
        pytest.skip("chromium could not print a PDF here")
    return out.read_bytes()


def two_columns(column_order: bool) -> tuple[bytes, list[str], list[str]]:
    """A title over two columns of 17-character lines; drawn line by line across
    both columns (as some generators do), or one column after the other."""
    lines = [PROSE[i : i + 17] for i in range(0, 17 * 40, 17)]
    left, right = lines[:20], lines[20:]
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4)
    pdf.setFont("STSong-Light", 16)
    pdf.drawString(150, 790, "浙江省推动高新技术产业发展")
    pdf.setFont("STSong-Light", 12)
    order = [(0, i) for i in range(20)] + [(1, i) for i in range(20)] if column_order else \
        [(c, i) for i in range(20) for c in (0, 1)]
    for column, i in order:
        pdf.drawString(50 + 260 * column, 750 - 16 * i, (left, right)[column][i])
    pdf.showPage()
    pdf.save()
    return buf.getvalue(), left, right


# ---------------------------------------------------------------- tables


def test_reportlab_table_becomes_markdown_rows_in_place() -> None:
    text = pages_of(reportlab_table())[0]
    assert text.split("\n") == BEFORE + MARKDOWN + [AFTER]


def test_browser_printed_html_table_becomes_markdown_rows(tmp_path: Path) -> None:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed")
    rows = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in ROWS)
    data = chromium_pdf(tmp_path, f"<p>{BEFORE[0]}</p><p>{BEFORE[1]}</p><table>{rows}</table><p>{AFTER}</p>",
                        "table{border-collapse:collapse} td{border:1px solid #000;padding:4px}")
    assert radicals(pages_of(data)[0]).split("\n") == BEFORE + MARKDOWN + [AFTER]


def test_a_table_cell_wrapped_over_lines_joins_without_a_space() -> None:
    buf = io.BytesIO()
    style = ParagraphStyle("cell", fontName="STSong-Light", fontSize=10, leading=12)
    rows = [["项目", "支持标准"], ["研发补助", Paragraph("按企业上年度研发投入的百分之十给予补助", style)]]
    table = Table(rows, colWidths=[60, 80])
    table.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), "STSong-Light", 10),
                               ("GRID", (0, 0), (-1, -1), 0.5, colors.black)]))
    SimpleDocTemplate(buf, pagesize=A4).build([table])
    assert pages_of(buf.getvalue())[0].split("\n")[2] == "| 研发补助 | 按企业上年度研发投入的百分之十给予补助 |"


def test_table_without_rules_and_a_framed_paragraph_keep_pypdf_text() -> None:
    unruled = reportlab_table([("FONT", (0, 0), (-1, -1), "STSong-Light", 11)])
    assert pages_of(unruled) == pypdf_pages(unruled)
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4)
    pdf.setFont("STSong-Light", 12)
    pdf.rect(60, 690, 400, 60)  # a box around a notice: one cell, not a table
    pdf.drawString(72, 730, "特别提示：申报材料须于5月31日前提交。")
    pdf.drawString(72, 710, "逾期不予受理。")
    pdf.line(60, 600, 500, 600)
    pdf.showPage()
    pdf.save()
    framed = buf.getvalue()
    assert pages_of(framed) == pypdf_pages(framed)


# ---------------------------------------------------------------- columns


@pytest.mark.parametrize("column_order", [False, True], ids=["drawn-across", "drawn-by-column"])
def test_two_column_page_is_read_left_column_first(column_order: bool) -> None:
    data, left, right = two_columns(column_order)
    text = pages_of(data)[0]
    assert "".join(text.split()) == "".join(["浙江省推动高新技术产业发展"] + left + right)
    if column_order:
        assert text == pypdf_pages(data)[0]  # pypdf read it in order already: kept as is


def test_browser_printed_two_column_page_is_read_by_column(tmp_path: Path) -> None:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed")
    paragraphs = [f"第{n}段：" + PROSE[n * 7 :] for n in range(1, 7)]
    body = "<h2>浙江省推动高新技术产业发展</h2><div style='column-count:2;column-gap:40px'>" + "".join(
        f"<p>{p}</p>" for p in paragraphs) + "</div>"
    text = radicals(pages_of(chromium_pdf(tmp_path, body, ""))[0])
    flat = "".join(text.split())
    assert flat.startswith("浙江省推动高新技术产业发展第1段：")
    starts = [flat.index(f"第{n}段：") for n in range(1, 7)]
    assert starts == sorted(starts)  # the left column's paragraphs, then the right's


def test_single_column_pages_come_out_exactly_as_pypdf_reads_them(make_pdf) -> None:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4)
    pdf.setFont("STSong-Light", 16)
    pdf.drawCentredString(297, 790, "浙江省科学技术厅关于印发工作要点的通知")
    pdf.setFont("STSong-Light", 12)
    for i in range(30):
        pdf.drawString(72, 750 - 18 * i, PROSE[i * 28 % 200 : i * 28 % 200 + 28])
    pdf.drawRightString(520, 180, "浙江省科学技术厅")
    pdf.drawRightString(520, 160, "2025年3月11日")
    pdf.showPage()
    pdf.setFont("STSong-Light", 12)
    for i, (label, value) in enumerate([("索引号：", "002482090/2025-00123"), ("发布机构：", "浙江省科学技术厅"),
                                        ("发文日期：", "2025-09-18"), ("公开方式：", "主动公开")] * 3):
        pdf.drawString(72, 750 - 18 * i, label)  # a form: short labels, values in a column of their own
        pdf.drawString(330, 750 - 18 * i, value)
    pdf.showPage()
    pdf.save()
    data = buf.getvalue()
    for pdf_data in (data, make_pdf(["第一页 科技创新。", "第二页 产业发展。"])):
        assert pages_of(pdf_data) == pypdf_pages(pdf_data)
    assert load_bytes("form.pdf", data).documents[0].text.count("索引号：") == 3


def test_gutter_needs_two_columns_of_running_text() -> None:
    def column(x0: float, x1: float, n: int = 10) -> list[Box]:
        return [Box(x0, 20.0 * i, x1, 20.0 * i + 12, "字" * 10) for i in range(n)]

    assert find_gutter(column(50, 280) + column(310, 540)) == pytest.approx(295, abs=3)
    assert find_gutter(column(50, 540)) is None  # one column
    assert find_gutter(column(50, 100) + column(310, 540)) is None  # labels and values
    assert find_gutter(column(50, 280, 3) + column(310, 540, 3)) is None  # too few lines
    # a title across both columns goes first, then the left column, then the right
    title = Box(100, -30, 480, -16, "标题")
    lines = reading_order([title] + column(50, 280, 8) + column(310, 540, 8))
    assert [line[0].x0 for line in lines] == [100] + [50] * 8 + [310] * 8
