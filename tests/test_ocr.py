"""OCR of scanned PDF pages in the bounded PDF child: pages rendered here from known
text (Pillow and the Noto CJK font) into image-only PDFs, read back by RapidOCR.
Tests marked `model` load the real OCR models (about a second per page)."""

from __future__ import annotations

import difflib
import io
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

import ingest.loaders as loaders
import ingest.loaders.pdf as pdf_loader
from ingest.ocr import join_wrapped, pair_quotes, read_image
from ingest.pdf_layout import Box, reading_order
from ingest.pdf_worker import OcrLimits, PdfLimits, extract_pages, pages_or_problem, unread_warning
from policyqa.settings import PROJECT_ROOT, Settings
from policyqa.types import Page
from tests.fuzz.pdfgen import cjk_pdf

FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
LINES = [
    "浙江省科学技术厅关于印发工作要点的通知",
    "各市、县（市、区）科技局，省级有关单位：",
    "全省新认定高新技术企业5000家，同比增长12.5%。",
    "对新认定的“专精特新”企业给予最高50万元奖励。",
    "申报截止时间为2025年5月31日。",
]
OTHER = ["绍兴市科学技术局关于开展科技项目申报的通知", "申报单位须在浙江省科技管理系统提交材料。"]

needs_font = pytest.mark.skipif(not FONT.exists(), reason="Noto Sans CJK is not installed")


def scan_image(lines: list[str], size: int = 36) -> Image.Image:
    """A 200 dpi 'scan' of the lines: black text on white, no text layer."""
    font = ImageFont.truetype(str(FONT), size)
    image = Image.new("L", (1240, 120 + len(lines) * int(size * 1.7)), 255)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((80, 60 + i * int(size * 1.7)), line, font=font, fill=0)
    return image


def scan_pdf(*pages: list[str]) -> bytes:
    images = [scan_image(lines) for lines in pages]
    buf = io.BytesIO()
    images[0].save(buf, "PDF", resolution=200, save_all=True, append_images=images[1:])
    return buf.getvalue()


def garbled_over_scan(text: str, lines: list[str]) -> bytes:
    """One page whose image shows `lines` under an invisible text layer that
    extracts as private-use characters (a font with a broken Unicode map)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(cjk_pdf([text], lambda ch: chr(0xE000 + ord(ch) % 4000)))))
    page = writer.pages[0]
    content = page.get_contents()
    content.set_data(b"3 Tr\n" + content.get_data())  # text render mode 3: invisible
    page.replace_contents(content)
    page.merge_page(PdfReader(io.BytesIO(scan_pdf(lines))).pages[0], over=False)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def char_accuracy(expected: str, got: str) -> float:
    """1 - (characters inserted, deleted or replaced) / expected characters, spaces
    ignored."""
    a, b = ("".join(unicodedata.normalize("NFKC", s).split()) for s in (expected, got))
    errors = sum(max(i2 - i1, j2 - j1) for op, i1, i2, j1, j2 in
                 difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes() if op != "equal")
    return 1 - errors / len(a)


def in_process(ocr: OcrLimits | None):  # type: ignore[no-untyped-def]
    """ingest.loaders.pdf.extract_pdf_pages run in this process (as the fuzz harness does)."""
    return lambda data, limits: pages_or_problem(extract_pages(data, limits.max_pages, ocr))


# ---------------------------------------------------------------- the real model


@pytest.mark.model
@needs_font
def test_scanned_and_garbled_pages_are_read_by_ocr(capfd: pytest.CaptureFixture[str]) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for data in (scan_pdf(LINES), garbled_over_scan("关于印发工作要点的通知\n全省高新技术企业", OTHER)):
        writer.add_page(PdfReader(io.BytesIO(data)).pages[0])
    buf = io.BytesIO()
    writer.write(buf)
    result = loaders.load_bytes("扫描件.pdf", buf.getvalue(), PdfLimits(progress=True))
    assert result.errors == ()
    doc = result.documents[0]
    assert [(p.number, p.ocr, p.unread) for p in doc.pages] == [(1, True, ""), (2, True, "")]
    first, second = doc.text[: doc.pages[1].start], doc.text[doc.pages[1].start :]
    assert char_accuracy("\n".join(LINES), first) >= 0.95, first
    assert first.splitlines()[0] == LINES[0]  # reading order: line by line
    assert "“专精特新”" in first  # the ASCII quotes OCR gives are paired again
    assert char_accuracy("\n".join(OTHER), second) >= 0.95, second
    assert "OCR" in capfd.readouterr().err  # the progress bar


@pytest.mark.model
@needs_font
def test_ocr_page_cap_keeps_the_pages_read_and_names_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "长扫描件.pdf"
    path.write_bytes(scan_pdf(LINES[:2], OTHER, LINES[2:]))
    doc = loaders.load_file(path, 50 << 20, PdfLimits(ocr_max_pages=1)).documents[0]
    assert [(p.ocr, bool(p.unread)) for p in doc.pages] == [(True, False), (False, True), (False, True)]
    assert LINES[0] in doc.text and OTHER[0] not in doc.text
    warning = unread_warning(doc.pages)
    assert warning == ("2 of 3 pages not read: pages 2-3, over the limit of 1 OCR pages per document "
                       "(POLICYQA_OCR_MAX_PAGES)")


@pytest.mark.model
@needs_font
def test_ocr_time_limits_are_named() -> None:
    data = scan_pdf(LINES)
    # the budget is gone before the first page: nothing read, the reason given
    result = loaders.load_bytes("a.pdf", data, PdfLimits(ocr_budget_s=1e-6))
    assert result.errors[0].reason == (
        "no text layer (scanned or image-only PDF); the PDF needs OCR; "
        "the OCR time budget of 1e-06 s per document was used up (POLICYQA_OCR_BUDGET_S)")
    # a page over its own limit is stopped (the alarm lands inside RapidOCR)
    result = loaders.load_bytes("b.pdf", data, PdfLimits(ocr_page_timeout_s=0.05))
    assert result.errors[0].reason.endswith(
        "the PDF needs OCR; OCR of the page took longer than 0.05 s (POLICYQA_OCR_PAGE_TIMEOUT_S)")


# ---------------------------------------------------------------- without the model


def test_a_pdf_with_a_text_layer_never_loads_the_ocr_engine(make_pdf) -> None:
    # In a fresh interpreter, since another test may have imported RapidOCR here.
    code = (
        "import sys\n"
        "from ingest.pdf_worker import OcrLimits, extract_pages\n"
        "result = extract_pages(sys.stdin.buffer.read(), 10, OcrLimits(50, 600, 60))\n"
        "assert result['pages'][0].strip() and result['ocr'] == [] and result['unread'] == [], result\n"
        "print(sorted(m for m in ('rapidocr_onnxruntime', 'onnxruntime') if m in sys.modules))\n"
    )
    data = make_pdf(["浙江省科学技术厅关于印发工作要点的通知\n全省新认定高新技术企业5000家。", ""])
    proc = subprocess.run([sys.executable, "-c", code], input=data, capture_output=True, cwd=PROJECT_ROOT,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().strip() == "[]"


def test_a_signature_page_with_a_seal_image_keeps_its_text(monkeypatch: pytest.MonkeyPatch) -> None:
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    import ingest.ocr

    def no_engine() -> None:
        raise AssertionError("the OCR engine was loaded")

    monkeypatch.setattr(ingest.ocr, "load_engine", no_engine)
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    seal = Image.new("RGB", (120, 120), "white")
    ImageDraw.Draw(seal).ellipse((5, 5, 115, 115), outline="red", width=6)
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf)
    pdf.setFont("STSong-Light", 12)
    pdf.drawString(380, 400, "浙江省科学技术厅")  # 15 characters: under MIN_PAGE_CHARS
    pdf.drawString(380, 380, "2025年3月11日")
    pdf.drawImage(ImageReader(seal), 380, 360, 100, 100)
    pdf.showPage()
    pdf.save()
    result = extract_pages(buf.getvalue(), 10, OcrLimits(50, 600, 60))
    assert result["pages"][0].split() == ["浙江省科学技术厅", "2025年3月11日"]
    assert result["ocr"] == [] and result["unread"] == []


@needs_font
def test_scanned_pdf_without_rapidocr_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)  # import fails
    monkeypatch.setattr(pdf_loader, "extract_pdf_pages", in_process(OcrLimits(50, 600, 60)))
    result = loaders.load_bytes("scan.pdf", scan_pdf(LINES))
    reason = result.errors[0].reason
    assert reason.startswith("no text layer (scanned or image-only PDF); the PDF needs OCR; OCR is not available (")
    assert "rapidocr_onnxruntime" in reason


@needs_font
def test_ocr_turned_off_is_named_and_a_blank_page_needs_no_ocr(make_pdf, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdf_loader, "extract_pdf_pages", in_process(None))
    reason = loaders.load_bytes("scan.pdf", scan_pdf(LINES)).errors[0].reason
    assert reason == ("no text layer (scanned or image-only PDF); the PDF needs OCR; "
                      "OCR is turned off (POLICYQA_OCR_MAX_PAGES=0)")
    # a blank page shows no image: there is nothing to read, and nothing is said about OCR
    reason = loaders.load_bytes("blank.pdf", make_pdf([""])).errors[0].reason
    assert reason == "no text layer (scanned or image-only PDF); the PDF needs OCR"


@needs_font
def test_mixed_pdf_without_ocr_keeps_text_pages_and_flags_the_scan(make_pdf, monkeypatch: pytest.MonkeyPatch) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for data in (make_pdf(["第一页：全省新认定高新技术企业5000家，同比增长12.5%。"]), scan_pdf(OTHER)):
        writer.add_page(PdfReader(io.BytesIO(data)).pages[0])
    buf = io.BytesIO()
    writer.write(buf)
    monkeypatch.setattr(pdf_loader, "extract_pdf_pages", in_process(None))
    doc = loaders.load_bytes("mixed.pdf", buf.getvalue()).documents[0]
    assert [(p.number, p.ocr, p.unread) for p in doc.pages] == [
        (1, False, ""), (2, False, "OCR is turned off (POLICYQA_OCR_MAX_PAGES=0)")]
    assert unread_warning(doc.pages) == "1 of 2 pages not read: page 2, OCR is turned off (POLICYQA_OCR_MAX_PAGES=0)"


def test_ocr_results_are_read_in_order_and_weak_ones_dropped() -> None:
    # RapidOCR's boxes: [4 corner points], text, score; out of order here
    def box(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
        return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]

    results = [
        [box(420, 102, 700, 130), "同比增长12.5%。", 0.97],
        [box(80, 40, 600, 70), "浙江省科学技术厅", 0.99],
        [box(80, 100, 400, 128), "全省新认定企业5000家，", 0.98],
        [box(900, 300, 960, 360), "章", 0.42],  # a seal's curved character
        [box(80, 160, 500, 190), "", 0.0],  # a line the recogniser gave up on
    ]

    def engine(image, use_cls=True):  # type: ignore[no-untyped-def]
        return results, [0.1]

    assert read_image(engine, None) == "浙江省科学技术厅\n全省新认定企业5000家，同比增长12.5%。"


def test_an_upside_down_scan_is_read_turned_round() -> None:
    import numpy as np

    image = np.zeros((4, 4), dtype=np.uint8)
    image[0, 0] = 1  # marks which way up the engine was given the page
    upright = [[[[0, 0], [50, 0], [50, 20], [0, 20]], "正文内容", 0.99]]
    garbage = [[[[0, 0], [50, 0], [50, 20], [0, 20]], "", 0.0]] * 3

    def engine(img, use_cls=True):  # type: ignore[no-untyped-def]
        return (garbage if img[0, 0] else upright), [0.1]

    assert read_image(engine, image) == "正文内容"


def test_ocr_quotes_follow_the_marks_around_them() -> None:
    assert pair_quotes('对"专精特新"企业和“小巨人"企业') == "对“专精特新”企业和“小巨人”企业"
    # a closing mark without its opening one (a page that starts inside a quotation)
    # does not flip the marks after it
    assert pair_quotes('两篇大文章”，纵深推进"315"科创体系') == "两篇大文章”，纵深推进“315”科创体系"
    assert pair_quotes('say "hi" now') == 'say "hi" now'  # not Chinese text


def test_boxes_of_one_line_are_merged_and_lines_ordered() -> None:
    boxes = [Box(300, 52, 500, 70, "第二行右"), Box(10, 10, 200, 30, "第一行"), Box(10, 50, 280, 71, "第二行左")]
    assert [[b.text for b in line] for line in reading_order(boxes)] == [["第一行"], ["第二行左", "第二行右"]]


def test_unread_warning_groups_pages_by_reason() -> None:
    pages = [Page(1, 0), Page(2, 5, unread="a"), Page(3, 6, unread="a"), Page(4, 7, unread="b"), Page(5, 8, unread="a")]
    assert unread_warning(pages) == "4 of 5 pages not read: pages 2-3, 5, a; page 4, b"
    assert unread_warning(pages[:1]) is None


def test_ocr_settings_reach_the_pdf_limits() -> None:
    settings = Settings.from_env({"POLICYQA_OCR_MAX_PAGES": "7", "POLICYQA_OCR_BUDGET_S": "90",
                                  "POLICYQA_OCR_PAGE_TIMEOUT_S": "15", "POLICYQA_PDF_MEMORY_MB": "3000"})
    limits = PdfLimits.from_settings(settings, progress=True)
    assert limits == PdfLimits(60.0, 3000, 2000, 7, 90.0, 15.0, True)
    assert limits.ocr == OcrLimits(7, 90.0, 15.0)
    assert PdfLimits.from_settings(settings.with_(ocr_max_pages=0)).ocr is None
    assert Settings().pdf_memory_mb >= 2048  # OCR's address space peaks at about 1.3 GB


def _line(x0: float, x1: float, top: float, text: str) -> list[Box]:
    return [Box(x0, top, x1, top + 30, text)]


@pytest.mark.parametrize(
    ("lines", "text"),
    [
        # runs to the right margin mid-sentence, next starts at the left margin: one paragraph
        ([_line(100, 1100, 0, "一、按设备投资额的10%给予补"), _line(100, 600, 50, "助，最高300万元。")],
         "一、按设备投资额的10%给予补助，最高300万元。"),
        # the line ends its sentence: the break stays
        ([_line(100, 1100, 0, "为加快转型升级，提出如下意见。"), _line(100, 600, 50, "一、对技改项目给予补助。")],
         "为加快转型升级，提出如下意见。\n一、对技改项目给予补助。"),
        # a short line (a title) is not wrapped
        ([_line(300, 700, 0, "关于支持企业技术改造的若干意见"), _line(100, 1100, 50, "为加快制造业转型升级")],
         "关于支持企业技术改造的若干意见\n为加快制造业转型升级"),
        # the next line is indented: a new paragraph
        ([_line(100, 1100, 0, "第一段到了行末"), _line(160, 1100, 50, "第二段缩进开头")],
         "第一段到了行末\n第二段缩进开头"),
    ],
)
def test_wrapped_ocr_lines_are_joined(lines: list[list[Box]], text: str) -> None:
    assert join_wrapped(lines) == text
