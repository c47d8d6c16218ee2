"""Tables as Markdown, whatever format they came from (DOCX, HTML, PDF).

A table of subsidy standards is only useful if a row keeps its column names: the
first row is taken as the header, and the chunker carries it to every piece of a
long table (`Chunk.table_header`, see `ingest.chunker`), so a row quoted alone can
still be read. Every later stage finds a table by its lines (`table_blocks`): a line
that starts and ends with `|` is one row, never split or joined to its neighbours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from policyqa.text.sentences import sentence_spans

_SPACES = re.compile(r"\s+")
# A line of a Markdown table (also found line by line in a whole text, whose lines
# carry no surrounding spaces once cleaned), and its header separator (| --- |).
TABLE_LINE = re.compile(r"^\|[^\n]*\|$", re.MULTILINE)
SEPARATOR_LINE = re.compile(r"^\|(?:\s*:?-{3,}:?\s*\|)+$")
# A field label of a form (索引号：, 发布机构:).
_LABEL = re.compile(r"[:：]$")
# A cell longer than a chunk (500 characters) is a region of a page laid out as a
# table (navigation | article), not a value: as one Markdown row the article would
# lose its paragraphs and headings.
MAX_CELL_CHARS = 500
# Grid positions a table may expand to (rows × columns once spans are repeated): a
# few cells with huge spans must not blow a small file up.
MAX_GRID_CELLS = 200_000


def _cell(value: str | None) -> str:
    # One table row must stay one line, and a pipe inside a cell must not end it.
    return _SPACES.sub(" ", value or "").strip().replace("|", "\\|")


def markdown_table(rows: Sequence[Sequence[str | None]]) -> list[str]:
    """The lines of a Markdown table: the first non-empty row is the header, then the
    separator, then one line per row. Empty rows are dropped and short rows padded.
    A leading row that is one value across the whole width (a merged title row,
    repeated in every column) is the table's title: it comes first as a line of its
    own. Fewer than two rows (no header and data) is not a table: its cells come
    back as one line each, so no text is lost."""
    cleaned = [[_cell(c) for c in row] for row in rows]
    cleaned = [row for row in cleaned if any(row)]
    if len(cleaned) < 2 or max(len(r) for r in cleaned) < 2:
        return [" ".join(c for c in row if c) for row in cleaned]
    width = max(len(r) for r in cleaned)
    titles = []
    while len(cleaned) > 2 and len(cleaned[0]) == width and len(set(cleaned[0])) == 1:
        titles.append(cleaned.pop(0)[0])
    lines = []
    for i, row in enumerate(cleaned):
        row = row + [""] * (width - len(row))
        # An empty cell is one space, so cleaning (which squeezes runs of spaces)
        # leaves the line as it is.
        lines.append("|" + "|".join(f" {c} " if c else " " for c in row) + "|")
        if i == 0:
            lines.append("|" + " --- |" * width)
    return titles + lines


def is_data_table(grid: Sequence[Sequence[str | None]]) -> bool:
    """Whether a grid of cell texts (spans already repeated) is a table of data rather
    than page layout: two rows and two columns with text at least, no cell longer than
    MAX_CELL_CHARS, and not a form of labelled fields (`索引号： | … | 发布机构： | …`),
    whose lines the metadata extraction reads as `label：value`."""
    rows = [[_cell(c) for c in row] for row in grid]
    rows = [row for row in rows if any(row)]
    # a cell spanning the whole width repeats one value: still one column
    if len(rows) < 2 or max(len({c for c in row if c}) for row in rows) < 2:
        return False
    if any(len(c) > MAX_CELL_CHARS for row in rows for c in row):
        return False
    return not all(_LABEL.search(next(c for c in row if c)) for row in rows)


def is_table_line(line: str) -> bool:
    return bool(TABLE_LINE.match(line.strip()))


def is_separator(line: str) -> bool:
    return bool(SEPARATOR_LINE.match(line.strip()))


@dataclass(frozen=True)
class TableBlock:
    """A run of consecutive table lines in a text: (start, end) of each line. It has a
    header when its second line is the separator."""

    lines: tuple[tuple[int, int], ...]
    has_header: bool

    @property
    def start(self) -> int:
        return self.lines[0][0]

    @property
    def end(self) -> int:
        return self.lines[-1][1]

    @property
    def body(self) -> int:
        """Where the rows below the header start (the block's start without a header)."""
        if not self.has_header:
            return self.start
        return self.lines[2][0] if len(self.lines) > 2 else self.end


def table_blocks(text: str) -> list[TableBlock]:
    """The tables of `text`, in order."""
    if "|" not in text:
        return []
    blocks: list[TableBlock] = []
    run: list[tuple[int, int]] = []

    def close() -> None:
        if run:
            head = len(run) >= 2 and bool(SEPARATOR_LINE.match(text[run[1][0] : run[1][1]]))
            blocks.append(TableBlock(tuple(run), head))

    for m in TABLE_LINE.finditer(text):
        if run and m.start() != run[-1][1] + 1:
            close()
            run = []
        run.append((m.start(), m.end()))
    close()
    return blocks


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) spans of non-blank sentences, trailing punctuation included; a
    table row (`ingest.tables`) is one sentence, whatever stops its cells hold."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for block in table_blocks(text):
        spans += sentence_spans(text, pos, block.start)
        spans += block.lines
        pos = block.end
    return spans + sentence_spans(text, pos, len(text))


def block_at(blocks: Sequence[TableBlock], pos: int) -> TableBlock | None:
    """The table whose lines hold offset `pos`."""
    for block in blocks:
        if block.start <= pos < block.end:
            return block
        if block.start > pos:
            break
    return None


def row_header(text: str, pos: int) -> tuple[int, int] | None:
    """(start, end) of the header line of the table whose body row is at `pos`; None
    when `pos` is not in a row under a header that `text` holds."""
    block = block_at(table_blocks(text), pos)
    if block is None or not block.has_header or pos < block.body:
        return None
    return block.lines[0]


def continues_table(text: str, pos: int) -> bool:
    """The row at `pos` belongs to a table that began before `text` does: the table
    lines that open `text` without a header of their own (a chunk that starts inside
    a long table, whose header is in `Chunk.table_header`)."""
    block = block_at(table_blocks(text), pos)
    return block is not None and block.start == 0 and not block.has_header


def _cells(line: str) -> int:
    return len(re.split(r"(?<!\\)\|", line.strip())) - 2


def continue_across_pages(pieces: list[str]) -> list[str]:
    """A table that a page break cut in two is one table: when a page ends with table
    rows and the next opens with a table of as many columns, the next page's table
    loses its separator (its first row was a row, not a header), or its header and
    separator when it repeats the header (as a printed table does on each page).
    `pieces` are cleaned page texts; running headers and page numbers are gone."""
    out = list(pieces)
    header: str | None = None  # of the table that runs on to the end of the page before
    for k in range(1, len(out)):
        before = [line for line in out[k - 1].split("\n") if line.strip()]
        after = out[k].split("\n")
        if not before or not is_table_line(before[-1]):
            header = None
            continue
        rows = len(before) - next((i for i, line in enumerate(reversed(before)) if not is_table_line(line)), len(before))
        own = next((before[i - 1] for i in range(len(before) - 1, rows, -1) if is_separator(before[i])), None)
        header = own or (header if rows == 0 else None)  # a page of rows only goes on with the table before
        if len(after) < 2 or not (is_table_line(after[0]) and is_separator(after[1])
                                  and _cells(after[0]) == _cells(before[-1])):
            header = None
            continue
        repeated = header is not None and after[0].strip() == header.strip()
        out[k] = "\n".join(after[2:] if repeated else after[:1] + after[2:])
        header = header or after[0]
    return out
