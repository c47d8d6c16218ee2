"""Word documents (.docx): paragraphs and tables in document order, a data table
as Markdown (`ingest.tables`). The archive is checked before python-docx unpacks it,
so a zip bomb or an old binary .doc is refused with a reason."""

from __future__ import annotations

import io
import zipfile

import docx
from docx.table import Table, _Cell, _Row

from ingest.loaders.common import Extracted, Problem, describe, human
from ingest.tables import MAX_GRID_CELLS, is_data_table, markdown_table

# A 1,000-page Word document holds about 20 MB of XML; images are stored, not inflated much.
_MAX_UNPACKED = 256 * 1024 * 1024
_MAX_XML = 64 * 1024 * 1024


def extract(data: bytes) -> Extracted:
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise Problem("this is an old binary Word .doc file, not .docx; save it as .docx")
    _check_unpacked_size(data)
    # python-docx raises KeyError, lxml and zip errors, among others, on damaged packages.
    try:
        document = docx.Document(io.BytesIO(data))
        lines: list[str] = []
        # iter_inner_content keeps paragraphs and tables in document order.
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                lines.extend(_table_lines(block))
            else:
                lines.append(block.text)
    except Exception as exc:
        raise Problem(f"corrupt DOCX ({describe(exc)})") from None
    text = "\n".join(lines)
    if not text.strip():
        raise Problem("DOCX has no text")
    return Extracted(text, (), {})


def _check_unpacked_size(data: bytes) -> None:
    """Refuse what is not a zip archive, and zip bombs: python-docx unpacks every part into memory and parses the XML with lxml, so a
    small zip bomb could exhaust the ingest process. zipfile never inflates a member
    beyond its declared size, so the declared sizes are a safe bound."""
    # zipfile.is_zipfile is no guard: it raises BadZipFile itself on some damaged
    # end records (found by fuzzing), so the archive is opened and errors caught.
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise Problem(f"corrupt DOCX (not a zip archive: {exc})") from None
    except Exception as exc:
        raise Problem(f"corrupt DOCX ({describe(exc)})") from None
    total = sum(i.file_size for i in infos)
    xml = sum(i.file_size for i in infos if i.filename.endswith((".xml", ".rels")))
    if total > _MAX_UNPACKED or xml > _MAX_XML:
        raise Problem(
            f"DOCX unpacks to {human(total)} ({human(xml)} of XML), over the limit of "
            f"{human(_MAX_UNPACKED)} ({human(_MAX_XML)} of XML); is it a zip bomb?"
        )


def _table_lines(table: Table) -> list[str]:
    """A data table as Markdown (`ingest.tables`); a layout table (one row or column,
    a form, tables nested in its cells) as the lines of its text."""
    grid = _grid(table)
    if grid is not None and is_data_table(grid):
        return markdown_table(grid)
    cells = _unique_cells(table)
    if any(cell.tables for cell in cells):
        # Page layout: each cell's paragraphs and tables in order, a nested table
        # rendered like any other (it may be data).
        lines: list[str] = []
        for cell in cells:
            for block in cell.iter_inner_content():
                lines.extend(_table_lines(block) if isinstance(block, Table) else [block.text])
        return lines
    lines = []
    for row in table.rows:
        texts = [cell.text.strip() for cell in _unique_cells(row)]
        if any(texts):
            # tabs keep a label next to its value
            lines.append("\t".join(texts))
    return lines


def _grid(table: Table) -> list[list[str]] | None:
    """The cell texts per grid position, a merged cell's text in every position it
    covers (python-docx gives the spanning cell for each); None for a table with
    nested tables or more than MAX_GRID_CELLS positions."""
    grid: list[list[str]] = []
    # keyed by the <w:tc> element itself: the id() of an lxml proxy is reused once freed
    texts: dict[object, str] = {}
    size = 0
    for row in table.rows:
        cells = row.cells
        size += row.grid_cols_before + len(cells)
        if size > MAX_GRID_CELLS:
            return None
        out = [""] * row.grid_cols_before
        for cell in cells:
            if cell._tc not in texts:
                if cell.tables:
                    return None
                texts[cell._tc] = cell.text
            out.append(texts[cell._tc])
        grid.append(out)
    return grid


def _unique_cells(part: Table | _Row) -> list[_Cell]:
    """The cells of a table or row, a merged cell once."""
    rows = part.rows if isinstance(part, Table) else [part]
    seen: set[object] = set()  # <w:tc> elements (see _grid)
    out = []
    for row in rows:
        for cell in row.cells:
            if cell._tc not in seen:
                seen.add(cell._tc)
                out.append(cell)
    return out
