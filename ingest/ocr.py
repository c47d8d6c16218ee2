"""OCR of scanned PDF pages with RapidOCR (the PP-OCRv4 Chinese models on
onnxruntime), run inside the bounded PDF child process (`ingest.pdf_worker`).

The figures below were measured on A4 pages rendered from known text (Noto Serif
and Sans CJK, 7.5 to 16 pt, clean, blurred and noisy, a JPEG'd 200 dpi grey scan,
a red seal over the text), on this project's 2-core test machine:

* 120 dpi reads as well as 150 or 200 dpi (99.5-100% of characters at each, 7.5 pt
  text included) in a quarter less time (six dense pages: 24.6 s against 31.5 and
  32.5 s): the detector works on every pixel, while the recogniser scales each line
  to 48 px high anyway. RapidOCR itself shrinks a page to 2000 px on its long side,
  so nothing larger is ever rendered.
* Genuine text scored 0.89 or more; what a red seal or a photo produces (single
  characters read from curved or broken strokes) scored 0.71 or less. 0.8 keeps
  the one and drops the other.
* RapidOCR's line-angle classifier turned some upright lines upside down, which
  then read as nothing (a whole line lost on 1 page in 3). It is off; a page whose
  lines mostly fail is read again turned 180°, for scans fed in upside down.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from ingest.clean import SENTENCE_END
from ingest.pdf_layout import Box, join_line, reading_order

OCR_DPI = 120
MAX_SIDE_PX = 2000
MIN_SCORE = 0.8
# A pixel darker than this is ink; a page without any is blank and is not read.
INK_LEVEL = 128

_CJK = re.compile("[\u3400-\u9fff]")
_QUOTE = re.compile("[\"“”]")

Engine = Callable[..., Any]


class OcrUnavailable(Exception):
    """RapidOCR cannot be imported or started; the message says why."""


def load_engine() -> Engine:
    """The RapidOCR engine; its models load in about half a second."""
    try:
        from rapidocr_onnxruntime import RapidOCR
    except MemoryError:
        raise
    except Exception as exc:  # ImportError, or onnxruntime failing to load its library
        raise OcrUnavailable(f"OCR is not available ({_describe(exc)})") from None
    try:
        # every result comes back, scored: `read_image` counts the failed lines
        return RapidOCR(text_score=0.0)
    except MemoryError:
        raise
    except Exception as exc:
        raise OcrUnavailable(f"the OCR engine failed to start ({_describe(exc)})") from None


def render(page: Any) -> Any | None:
    """A pypdfium2 page as a greyscale image at OCR_DPI (smaller for a page over
    MAX_SIDE_PX), or None when the page is blank."""
    width, height = page.get_size()
    scale = min(OCR_DPI / 72, MAX_SIDE_PX / max(width, height, 1.0))
    image = page.render(scale=scale, grayscale=True).to_numpy().copy()
    return image if (image < INK_LEVEL).any() else None


def read_image(engine: Engine, image: Any) -> str:
    """The text of an image, line by line in reading order."""
    found, boxes = _read(engine, image)
    if len(boxes) < found / 2:
        # most lines unreadable: a page scanned upside down reads like this
        _, turned = _read(engine, image[::-1, ::-1].copy())
        if sum(len(b.text) for b in turned) > sum(len(b.text) for b in boxes):
            boxes = turned
    return pair_quotes(join_wrapped(reading_order(boxes)))


def join_wrapped(lines: list[list[Box]]) -> str:
    """Lines as text, a line that runs to the right margin without ending its
    sentence continued by the next one when that starts at the left margin (a
    paragraph wrapped by the page, not a break the author made). A scan's short
    page gives cleaning too few lines to see the wrapping itself."""
    texts = [join_line(line) for line in lines]
    if len(lines) < 2:
        return "\n".join(texts)
    height = sorted(max(b.height for b in line) for line in lines)[len(lines) // 2]
    left = min(line[0].x0 for line in lines)
    right = max(line[-1].x1 for line in lines)
    out = texts[0]
    for k in range(1, len(lines)):
        prev, line = lines[k - 1], lines[k]
        wrapped = (right - prev[-1].x1 <= 1.5 * height and line[0].x0 - left <= 0.5 * height
                   and texts[k - 1] and texts[k - 1][-1] not in SENTENCE_END)
        out += ("" if wrapped else "\n") + texts[k]
    return out


def _read(engine: Engine, image: Any) -> tuple[int, list[Box]]:
    """How many lines the detector found, and those read with confidence."""
    results, _ = engine(image, use_cls=False)
    boxes = []
    for points, text, score in results or []:
        if float(score) < MIN_SCORE or not str(text).strip():
            continue
        xs = [float(p[0]) for p in points]
        ys = [float(p[1]) for p in points]
        boxes.append(Box(min(xs), min(ys), max(xs), max(ys), str(text).strip()))
    return len(results or []), boxes


def pair_quotes(text: str) -> str:
    """PP-OCR reads many Chinese quotation marks (“ ”) as ASCII ". Each one becomes
    the mark that follows the quotation mark before it: a closing one after an
    opening one, else an opening one. The marks OCR did read as “ or ” anchor the
    sequence, so one unmatched mark in the document cannot flip all the rest."""
    if '"' not in text or not _CJK.search(text):
        return text
    out: list[str] = []
    opened = False
    last = 0
    for match in _QUOTE.finditer(text):
        mark = match.group()
        if mark == '"':
            mark = "”" if opened else "“"
        opened = mark == "“"
        out.append(text[last : match.start()] + mark)
        last = match.end()
    return "".join(out) + text[last:]


def _describe(exc: BaseException) -> str:
    message = str(exc).strip()
    if isinstance(exc, ImportError) and message:
        text = message  # "No module named 'rapidocr_onnxruntime'" says it all
    else:
        text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
