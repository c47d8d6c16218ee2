"""Reading order of a PDF page from positioned text: ruled tables as Markdown at their
place, two columns read one after the other.

Everything works on boxes (pdfplumber words, OCR results, pypdf's text fragments),
so a scanned page and a digital one follow the same rules. Runs in the PDF child
process; pdfplumber is imported only for pages that need it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import median
from typing import Any

from ingest.tables import is_data_table, markdown_table

# Two columns: each side holds at least this many line pieces, and runs down at
# least this share of the text's height.
MIN_COLUMN_LINES = 6
MIN_COLUMN_SHARE = 0.3
# Lines that cross the gutter (a title over both columns) may cover this share of
# the text's height at most.
MAX_CROSSING_SHARE = 0.2
# Running text fills its column, and a column is a good part of the page's width: a
# label/value form (a narrow column of labels) or a list of names is not two
# columns of prose and keeps its line order.
MIN_LINE_FILL = 0.6
MIN_COLUMN_WIDTH = 0.3
# A page of text has a few hundred line pieces; one with more is not looked at (a
# hostile file must not make the search for a gutter slow).
MAX_PIECES = 3000
MAX_FRAGMENTS = 20_000
# Pieces of one line further apart than this many line heights are separate pieces
# (columns, or a label and a value); closer ones are the same run of text.
MAX_WORD_GAP = 1.5
# Path operators (rectangles and lines) on a page: fewer cannot rule a table, so
# the page's drawing is not looked at.
MIN_TABLE_PATH_OPS = 4
# A ruled table of two rows and two columns has three rules each way; a stroke
# thinner than RULE_WIDTH points is a rule, anything wider a box with four edges.
MIN_RULES = 3
RULE_WIDTH = 3.0
_PATH_OP = re.compile(rb"(?<![A-Za-z0-9_*'\"])(?:re|l)(?=[\s\[\]()<>/%]|$)")


@dataclass(frozen=True)
class Box:
    """A piece of text on the page; y grows downwards."""

    x0: float
    top: float
    x1: float
    bottom: float
    text: str = ""

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2


# ---------------------------------------------------------------- reading order


def text_lines(boxes: Iterable[Box]) -> list[list[Box]]:
    """Boxes grouped into lines, top to bottom, each line left to right. A box joins
    a line when the two overlap vertically by half the smaller height, which
    tolerates a slightly skewed scan without merging neighbouring lines."""
    ordered = sorted((b for b in boxes if b.height > 0 and b.x1 > b.x0), key=lambda b: (b.middle, b.x0))
    lines: list[list[Box]] = []
    bands: list[tuple[float, float]] = []
    for box in ordered:
        if bands:
            top, bottom = bands[-1]
            overlap = min(bottom, box.bottom) - max(top, box.top)
            if overlap >= 0.5 * min(bottom - top, box.height):
                lines[-1].append(box)
                bands[-1] = (min(top, box.top), max(bottom, box.bottom))
                continue
        lines.append([box])
        bands.append((box.top, box.bottom))
    return [sorted(line, key=lambda b: b.x0) for line in lines]


def reading_order(boxes: Iterable[Box], columns: bool = True) -> list[list[Box]]:
    """Lines in reading order. Where the page has two columns of running text (see
    `find_gutter`), each stretch between full-width lines gives its left column's
    lines and then its right column's."""
    lines = text_lines(boxes)
    gutter = find_gutter(_pieces(lines)) if columns else None
    if gutter is None:
        return lines
    out: list[list[Box]] = []
    left: list[list[Box]] = []
    right: list[list[Box]] = []
    for line in lines:
        if any(b.x0 < gutter < b.x1 for b in line):
            out += left + right + [line]
            left, right = [], []
            continue
        pieces = ([b for b in line if b.x1 <= gutter], [b for b in line if b.x1 > gutter])
        left += [pieces[0]] if pieces[0] else []
        right += [pieces[1]] if pieces[1] else []
    return out + left + right


def find_gutter(pieces: Sequence[Box]) -> float | None:
    """The x of a vertical gap between two columns of running text, or None.

    A gap counts when lines crossing it cover at most MAX_CROSSING_SHARE of the
    text's height, it lies in the middle 40% of the text's width, and both sides
    are columns: MIN_COLUMN_LINES pieces at least, down MIN_COLUMN_SHARE of the
    height, MIN_COLUMN_WIDTH of the width, their lines mostly filling the column
    (MIN_LINE_FILL)."""
    if not 2 * MIN_COLUMN_LINES <= len(pieces) <= MAX_PIECES:
        return None
    lo = min(p.x0 for p in pieces)
    hi = max(p.x1 for p in pieces)
    line_height = median(p.height for p in pieces)
    total = _covered(pieces)
    if hi - lo <= 0 or line_height <= 0 or total <= 0:
        return None
    step = max(line_height / 4, (hi - lo) / 400)
    free: list[float] = []
    x = lo + 0.3 * (hi - lo)
    while x <= lo + 0.7 * (hi - lo):
        if _covered(p for p in pieces if p.x0 < x < p.x1) <= MAX_CROSSING_SHARE * total:
            free.append(x)
        x += step
    bands: list[list[float]] = []
    for x in free:
        if bands and x - bands[-1][-1] <= step * 1.01:
            bands[-1].append(x)
        else:
            bands.append([x])
    # a gap narrower than half a line height is the space between two words
    bands = [b for b in bands if b[-1] - b[0] >= line_height / 2]
    if not bands:
        return None
    band = max(bands, key=lambda b: b[-1] - b[0])
    gutter = (band[0] + band[-1]) / 2
    sides = ([p for p in pieces if p.x1 <= gutter], [p for p in pieces if p.x0 >= gutter])
    for side in sides:
        if len(side) < MIN_COLUMN_LINES or _covered(side) < MIN_COLUMN_SHARE * total:
            return None
        width = max(p.x1 for p in side) - min(p.x0 for p in side)
        if width < MIN_COLUMN_WIDTH * (hi - lo) or median(p.x1 - p.x0 for p in side) < MIN_LINE_FILL * width:
            return None
    return gutter


def join_line(boxes: Sequence[Box]) -> str:
    """One line's text: pieces of Chinese text join directly (their gap is spacing,
    as justified text or a scan's box edges leave), anything else with a space."""
    out = ""
    prev: Box | None = None
    for box in boxes:
        text = box.text.strip()
        if not text:
            continue
        if prev is not None:
            gap = box.x0 - prev.x1
            near = gap <= MAX_WORD_GAP * max(prev.height, box.height)
            out += "" if near and (_wide(out[-1]) or _wide(text[0])) else " "
        out += text
        prev = box
    return out


def _pieces(lines: Sequence[Sequence[Box]]) -> list[Box]:
    """Each line cut where two boxes are further apart than MAX_WORD_GAP line heights."""
    out: list[Box] = []
    for line in lines:
        run = [line[0]]
        for box in line[1:]:
            if box.x0 - max(b.x1 for b in run) > MAX_WORD_GAP * max(b.height for b in run):
                out.append(_bounds(run))
                run = []
            run.append(box)
        out.append(_bounds(run))
    return out


def _bounds(boxes: Sequence[Box]) -> Box:
    return Box(min(b.x0 for b in boxes), min(b.top for b in boxes), max(b.x1 for b in boxes),
               max(b.bottom for b in boxes))


def _covered(boxes: Iterable[Box]) -> float:
    """Length of the union of the boxes' vertical extents."""
    total = 0.0
    end = float("-inf")
    for top, bottom in sorted((b.top, b.bottom) for b in boxes):
        if bottom <= end:
            continue
        total += bottom - max(top, end)
        end = bottom
    return total


def _wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


# ---------------------------------------------------------------- pypdf fragments


class FragmentCollector:
    """A pypdf `visitor_text` that keeps an estimated box per text fragment, so a
    page can be checked for two columns without parsing it again. The width is
    estimated (Chinese characters one em, others half), which is close enough to
    find a gutter; pdfplumber's exact positions confirm it."""

    def __init__(self) -> None:
        self.boxes: list[Box] = []
        self.overflow = False

    def __call__(self, text: str, cm: Sequence[float], tm: Sequence[float], font: Any, size: float) -> None:
        text = text.strip()
        if not text or not size or self.overflow:
            return
        if len(self.boxes) >= MAX_FRAGMENTS:
            self.overflow = True  # one fragment per character of a dense page is 3,000
            self.boxes = []
            return
        try:
            a = tm[0] * cm[0] + tm[1] * cm[2]
            b = tm[0] * cm[1] + tm[1] * cm[3]
            c = tm[2] * cm[0] + tm[3] * cm[2]
            d = tm[2] * cm[1] + tm[3] * cm[3]
            e = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            f = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        except (TypeError, IndexError):
            return
        if abs(b) > 1e-3 or abs(c) > 1e-3 or a <= 0:
            return  # rotated or mirrored text: no columns to find
        em, height = float(size) * a, float(size) * abs(d)
        width = sum(1.0 if _wide(ch) else 0.5 for ch in text) * em
        # PDF y grows upwards; a box's y grows downwards
        self.boxes.append(Box(e, -(f + 0.8 * height), e + width, -(f - 0.2 * height), text))

    def two_columns(self) -> bool:
        return not self.overflow and find_gutter(_pieces(text_lines(self.boxes))) is not None


def ruled_grid(page: Any) -> bool:
    """Whether a pypdfium2 page draws at least MIN_RULES horizontal and MIN_RULES
    vertical rules (lines, thin rectangles, or the edges of boxes): a ruled table's
    grid. A framed code listing or a box around a notice has two of each."""
    import pypdfium2.raw as pdfium_c

    rows: set[int] = set()
    columns: set[int] = set()
    for path in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH], max_depth=3):
        left, bottom, right, top = path.get_bounds()
        width, height = right - left, top - bottom
        if width > RULE_WIDTH:
            rows.update({round(bottom), round(top)} if height > RULE_WIDTH else {round(bottom)})
        if height > RULE_WIDTH:
            columns.update({round(left), round(right)} if width > RULE_WIDTH else {round(left)})
        if len(rows) >= MIN_RULES and len(columns) >= MIN_RULES:
            return True
    return False


def path_ops(content: bytes) -> int:
    """How many rectangle and line operators a content stream holds (an upper bound:
    a string may hold the same letters)."""
    return len(_PATH_OP.findall(content))


# ---------------------------------------------------------------- pdfplumber pages


def table_page_text(page: Any) -> str | None:
    """The text of a pdfplumber page with each ruled data table (see
    `ingest.tables.is_data_table`) as Markdown at its place among the lines; None
    when the page has no such table."""
    found: list[tuple[tuple[float, float, float, float], list[str]]] = []
    for table in page.find_tables():
        rows = [[_cell_text(c) for c in row] for row in table.extract()]
        if is_data_table(rows):
            found.append((table.bbox, markdown_table(rows)))
    if not found:
        return None
    outside = page
    for bbox, _ in found:
        outside = outside.outside_bbox(bbox)
    # Columns are not looked for around a table: a form's label/value pairs and a
    # table's caption must keep their line order.
    items = [(line[0].top, join_line(line)) for line in reading_order(words(outside), columns=False)]
    items += [(bbox[1], "\n".join(lines)) for bbox, lines in found]
    items.sort(key=lambda item: item[0])
    return "\n".join(text for _, text in items if text)


def column_page_text(page: Any) -> str | None:
    """The text of a pdfplumber page read column by column; None when the page does
    not have two columns of running text."""
    boxes = words(page)
    lines = text_lines(boxes)
    if find_gutter(_pieces(lines)) is None:
        return None
    return "\n".join(join_line(line) for line in reading_order(boxes))


def words(page: Any) -> list[Box]:
    """The page's words; a space the PDF draws stays inside its word (第一条 为…),
    so the words of a line are split only where the text jumps (justified Chinese
    text, table cells, columns)."""
    return [Box(w["x0"], w["top"], w["x1"], w["bottom"], w["text"])
            for w in page.extract_words(keep_blank_chars=True)]


def _cell_text(value: str | None) -> str:
    """A cell's lines joined: a Chinese phrase wrapped in a narrow cell joins
    without a space."""
    lines = [s.strip() for s in (value or "").split("\n") if s.strip()]
    out = ""
    for line in lines:
        if out:
            out += "" if _wide(out[-1]) or _wide(line[0]) else " "
        out += line
    return out
