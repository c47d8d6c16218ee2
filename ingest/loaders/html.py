"""Web pages (.html, .htm): the text as a browser lays it out, without scripts and
navigation, a data table as Markdown (`ingest.tables`), and the <title> as metadata.
Government sites often declare the wrong charset, so decoding weighs the declared
one against the bytes (`ingest.loaders.decoding`)."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, CData, NavigableString, Tag

from ingest.loaders.common import Extracted, Problem, describe
from ingest.loaders.decoding import decode_text
from ingest.tables import MAX_GRID_CELLS, is_data_table, markdown_table

_DROP = ("script", "style", "nav", "header", "footer", "noscript", "template", "head")
# Elements that start a new line when rendered; inline ones (a, span, b ...) must
# not break a sentence, since Chinese pages link cited policies mid-sentence.
_BLOCKS = (
    "p", "div", "li", "ul", "ol", "dl", "dt", "dd", "tr", "table", "tbody", "thead",
    "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "aside", "main",
    "blockquote", "pre", "form", "fieldset", "figure", "figcaption", "address", "hr",
    "caption", "center",
)
_CELLS = ("td", "th")
_SPACES = re.compile(r"\s+")
_NUMBER = re.compile(r"\s*(\d{1,6})")
_CHARSET = re.compile(rb"""charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
# GB2312 and GBK pages routinely contain characters outside their declared
# charset; GB18030 is a strict superset of both.
_CHARSET_ALIASES = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030",
}


def extract(data: bytes) -> Extracted:
    markup = decode_text(data, preferred=_declared_charset(data))
    try:
        soup = BeautifulSoup(markup, "lxml")
        title_tag = soup.find("title")
        title = " ".join(title_tag.get_text().split()) if title_tag else ""
        raw = _render(soup)
    except Exception as exc:
        raise Problem(f"cannot parse HTML ({describe(exc)})") from None
    lines = (line.strip() for line in raw.split("\n"))
    text = "\n".join(line for line in lines if line)
    if not text:
        raise Problem("HTML has no text (only markup or scripts)")
    return Extracted(text, (), {"title": title} if title else {})


def _render(soup: Tag) -> str:
    """The page text as a browser lays it out: block elements and <br> break lines,
    a data table is a Markdown table (`_table_lines`), the cells of a layout
    table end with a tab, source line breaks inside a text run are spaces (except in
    <pre>), dropped elements (scripts, navigation …) and comments vanish.

    One walk over the tree with an explicit stack: editing the tree instead
    (decompose, insert_before, replace_with) costs a scan of the siblings per edit,
    which made a page of 20,000 paragraphs take a minute, and recursion would
    fail on deeply nested markup."""
    parts: list[str] = []
    layout = _tables_holding_tables(soup)
    # (node, depth of enclosing <pre> elements, closing?)
    stack: list[tuple[object, int, bool]] = [(soup, 0, False)]
    while stack:
        node, in_pre, closing = stack.pop()
        if isinstance(node, NavigableString):
            # NavigableString and CData are text; comments, doctypes etc. are not.
            if type(node) is NavigableString:
                parts.append(str(node) if in_pre else _SPACES.sub(" ", node))
            elif type(node) is CData:
                parts.append(str(node))
            continue
        if not isinstance(node, Tag):
            continue
        name = node.name
        if closing:
            if name in _CELLS:
                parts.append("\t")
            elif name in _BLOCKS:
                parts.append("\n")
            continue
        if name in _DROP:
            continue
        if name == "br":
            parts.append("\n")
            continue
        if name == "table" and id(node) not in layout:
            table = _table_lines(node)
            if table:
                parts.append("\n" + "\n".join(table) + "\n")
                continue
        if name in _BLOCKS:
            parts.append("\n")
        depth = in_pre + (name == "pre")
        stack.append((node, depth, True))
        stack.extend((child, depth, False) for child in reversed(node.contents))
    return "".join(parts)


def _tables_holding_tables(root: Tag) -> set[int]:
    """ids of the <table> elements with another table inside: page layout (one walk,
    like `_render`)."""
    out: set[int] = set()
    # (node, the nearest <table> around it)
    stack: list[tuple[Tag, Tag | None]] = [(root, None)]
    while stack:
        node, table = stack.pop()
        if node.name == "table":
            if table is not None:
                out.add(id(table))
            table = node
        stack.extend((child, table) for child in node.contents if isinstance(child, Tag))
    return out


def _table_lines(table: Tag) -> list[str]:
    """A <table> holding no other table as Markdown lines, its caption first; [] when
    it is not a data table (see `ingest.tables.is_data_table`)."""
    grid = _grid(table)
    if grid is None or not is_data_table(grid):
        return []
    caption = table.find("caption", recursive=False)
    title = " ".join(_render(caption).split()) if caption else ""
    return ([title] if title else []) + markdown_table(grid)


def _grid(table: Tag) -> list[list[str]] | None:
    """The cell texts per grid position, a cell spanning columns or rows (colspan,
    rowspan) repeated in each position it covers; None past MAX_GRID_CELLS."""
    rows = table.find_all("tr")
    taken: dict[tuple[int, int], str] = {}
    for r, tr in enumerate(rows):
        col = 0
        for cell in tr.find_all(_CELLS, recursive=False):
            while (r, col) in taken:
                col += 1
            text = _render(cell)
            # As browsers read them: colspan 1..1000; rowspan 0 runs to the end of the
            # table; a span never reaches past the last row.
            width = min(_span(cell.get("colspan"), 1), 1000)
            height = _span(cell.get("rowspan"), 0)
            height = len(rows) - r if height == 0 else min(height, len(rows) - r)
            if len(taken) + width * height > MAX_GRID_CELLS:
                return None
            for i in range(height):
                for j in range(width):
                    taken.setdefault((r + i, col + j), text)
            col += width
    width = max((c for _, c in taken), default=-1) + 1
    if width * len(rows) > MAX_GRID_CELLS:
        return None
    return [[taken.get((r, c), "") for c in range(width)] for r in range(len(rows))]


def _span(value: object, least: int) -> int:
    """A colspan/rowspan attribute: its leading digits (`2px` is 2), at least `least`;
    1 when missing or unreadable."""
    m = _NUMBER.match(str(value)) if value is not None else None
    return max(int(m.group(1)), least) if m else 1


def _declared_charset(data: bytes) -> tuple[str, ...]:
    match = _CHARSET.search(data[:4096])
    if not match:
        return ()
    name = match.group(1).decode("ascii").lower()
    return (_CHARSET_ALIASES.get(name, name),)
