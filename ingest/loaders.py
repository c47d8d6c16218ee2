"""Read input files into RawDocuments.

`load_file` never raises for bad input: every problem becomes an IngestError in
the returned LoadResult, so one broken file never stops a whole ingest.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import stat
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import docx
from bs4 import BeautifulSoup, CData, NavigableString, Tag
from charset_normalizer import from_bytes
from docx.table import Table, _Cell, _Row

from ingest.garble import garbled_reason
from ingest.pdf_worker import PdfLimits, PdfProblem, extract_pdf_pages
from ingest.tables import MAX_GRID_CELLS, is_data_table, markdown_table
from policyqa.errors import IngestError
from policyqa.types import Page, RawDocument

SUPPORTED_SUFFIXES = frozenset({".txt", ".md", ".pdf", ".docx", ".html", ".htm", ".jsonl"})

# Control characters other than tab/newline/vertical tab/form feed/carriage return
# (form feed marks page breaks in text exported from PDFs), C1 controls, and the
# replacement character that a lossy decode leaves behind.
_BAD_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffd]")
# Non-ASCII characters expected in Chinese policy texts: CJK symbols and ideographs,
# full-width forms, general punctuation (— “ ” …) and Latin-1 (° × ·).
_PLAUSIBLE_CHARS = re.compile(
    r"[\u00a0-\u00ff\u2000-\u206f\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]"
)
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# Share of bad characters above which a text is treated as binary or garbled.
_MAX_BAD_SHARE = 0.02
# Share of undecodable bytes up to which a UTF-8/GB18030 file is read with
# replacement characters instead of being handed to the charset detector.
_MAX_REPLACED_SHARE = 0.01

_SURROGATE = re.compile("[\ud800-\udfff]")

# A 1,000-page Word document holds about 20 MB of XML; images are stored, not inflated much.
_DOCX_MAX_UNPACKED = 256 * 1024 * 1024
_DOCX_MAX_XML = 64 * 1024 * 1024

_HTML_DROP = ("script", "style", "nav", "header", "footer", "noscript", "template", "head")
# Elements that start a new line when rendered; inline ones (a, span, b ...) must
# not break a sentence, since Chinese pages link cited policies mid-sentence.
_HTML_BLOCKS = (
    "p", "div", "li", "ul", "ol", "dl", "dt", "dd", "tr", "table", "tbody", "thead",
    "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "aside", "main",
    "blockquote", "pre", "form", "fieldset", "figure", "figcaption", "address", "hr",
    "caption", "center",
)
_HTML_CELLS = ("td", "th")
_HTML_SPACES = re.compile(r"\s+")
_HTML_NUMBER = re.compile(r"\s*(\d{1,6})")
_HTML_CHARSET = re.compile(rb"""charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
# GB2312 and GBK pages routinely contain characters outside their declared
# charset; GB18030 is a strict superset of both.
_CHARSET_ALIASES = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030",
}


@dataclass(frozen=True)
class LoadResult:
    documents: tuple[RawDocument, ...]
    errors: tuple[IngestError, ...]


class _Problem(Exception):
    """Internal: a reason why the file cannot be loaded."""


# ---------------------------------------------------------------- file discovery


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Yield files to ingest.

    A path that is not a directory is yielded as is, even with an unsupported
    suffix or if it does not exist, so that `load_file` reports why it was skipped.
    Directories are walked recursively in sorted order, skipping hidden entries
    and yielding only supported suffixes.
    """
    for path in paths:
        path = Path(path)
        if not path.is_dir():
            yield path
            continue
        # os.walk does not follow directory symlinks, so a link loop cannot recurse forever.
        for root, dirnames, filenames in os.walk(path):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if not name.startswith(".") and Path(name).suffix.lower() in SUPPORTED_SUFFIXES:
                    yield Path(root) / name


# ---------------------------------------------------------------- entry point


def load_file(path: Path, max_bytes: int, pdf: PdfLimits | None = None) -> LoadResult:
    """Load one file. Problems are returned as errors, never raised. PDFs are
    parsed in a child process bounded by `pdf` (default: the Settings defaults)."""
    path = Path(path)
    name = path.name or str(path)
    try:
        data = _read_checked(path, max_bytes)
    except _Problem as problem:
        return LoadResult((), (IngestError(name, str(problem)),))
    return load_bytes(name, data, pdf, path=str(path))


def load_bytes(name: str, data: bytes, pdf: PdfLimits | None = None, path: str = "") -> LoadResult:
    """Load a file's bytes (the format comes from the suffix of `name`). Problems
    are returned as errors naming `name`, never raised."""
    suffix = Path(name).suffix.lower()
    try:
        if suffix == ".jsonl":
            return _load_jsonl(name, path, data)
        text, pages, meta = _extract(suffix, data, pdf or PdfLimits())
    except _Problem as problem:
        return LoadResult((), (IngestError(name, str(problem)),))
    doc = RawDocument(
        source=name,
        text=_no_surrogates(text),
        path=path,
        pages=pages,
        meta={k: _no_surrogates(v) for k, v in meta.items()},
        sha256=hashlib.sha256(data).hexdigest(),
    )
    return LoadResult((doc,), ())


def _read_checked(path: Path, max_bytes: int) -> bytes:
    """Return the file bytes after the checks that need no parsing."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise _Problem("file not found") from None
    except OSError as exc:
        raise _Problem(f"cannot access file ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise _Problem("is a directory, not a file")
    if not stat.S_ISREG(st.st_mode):
        # Reading a FIFO or device could block forever.
        raise _Problem("not a regular file")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        shown = f"'{path.suffix}'" if path.suffix else "(no extension)"
        raise _Problem(
            f"unsupported file type {shown}; supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}"
        )
    # Check the size before reading so a huge file is never loaded into memory.
    if st.st_size > max_bytes:
        raise _Problem(_too_large(st.st_size, max_bytes))
    if st.st_size == 0:
        raise _Problem("empty file (0 bytes)")
    try:
        with path.open("rb") as fh:
            # Read one byte past the cap: the file may have grown since stat().
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise _Problem(f"cannot read file ({exc.strerror or exc})") from None
    if len(data) > max_bytes:
        raise _Problem(_too_large(len(data), max_bytes))
    if not data:
        raise _Problem("empty file (0 bytes)")
    return data


def _extract(suffix: str, data: bytes, pdf: PdfLimits) -> tuple[str, tuple[Page, ...], dict[str, str]]:
    if suffix in (".txt", ".md"):
        return _require_text(_decode_text(data)), (), {}
    if suffix == ".pdf":
        text, pages = _pdf_text(data, pdf)
        return text, pages, {}
    if suffix == ".docx":
        return _docx_text(data), (), {}
    if suffix in (".html", ".htm"):
        text, meta = _html_text(data)
        return text, (), meta
    raise _Problem(f"unsupported file type '{suffix}'")  # unreachable: suffix checked before


# ---------------------------------------------------------------- plain text


def _decode_text(data: bytes, preferred: tuple[str, ...] = ()) -> str:
    """Decode text bytes, rejecting binary and garbled content.

    Strict UTF-8 then strict GB18030 come first: charset-normalizer often
    mis-guesses short Chinese texts, and these two cover nearly all Chinese files.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # UTF-16 with a BOM (Windows Notepad "Unicode"); its NUL bytes are not binary.
        candidates: tuple[str, ...] = ("utf-16",)
    else:
        if b"\x00" in data:
            raise _Problem("binary content (contains NUL bytes), not a text file")
        # Strict UTF-8 almost never accepts text in another encoding, so it goes
        # first even before a declared charset (pages often declare it wrongly).
        candidates = ("utf-8-sig", *preferred, "gb18030")
    text = _try_decode(data, candidates)
    if text is None:
        text = _nearly_decode(data, candidates) or _guess_decode(data)
    elif candidates[0] == "utf-8-sig" and not text.isascii():
        text = _prefer_gb18030_if_plausible(data, text)
    share = _bad_share(text)
    if share > _MAX_BAD_SHARE:
        raise _Problem(
            f"binary or garbled content ({share:.0%} control or replacement characters)"
        )
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _try_decode(data: bytes, encodings: Iterable[str]) -> str | None:
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    return None


def _nearly_decode(data: bytes, encodings: tuple[str, ...]) -> str | None:
    """A Chinese file with a few damaged bytes (a bad sector, a cut-and-join) is
    still that encoding: decode it with replacement characters when they are rare,
    rather than refusing the file or letting a detector guess a Western codepage."""
    best: str | None = None
    best_bad = 0
    for encoding in encodings:
        try:
            text = data.decode(encoding, errors="replace")
        except LookupError:
            continue
        bad = text.count("\ufffd")
        if best is None or bad < best_bad:
            best, best_bad = text, bad
    if best is None or best_bad > _MAX_REPLACED_SHARE * len(best):
        return None
    return best


def _prefer_gb18030_if_plausible(data: bytes, utf8_text: str) -> str:
    """A very short GBK text can also be valid UTF-8 (GBK 通知 reads as U+0368 U+05AA).
    If the UTF-8 reading is mostly implausible characters and GB18030 reads the bytes
    as Chinese, take GB18030. Real UTF-8 Chinese is all CJK and is never switched."""
    # Only short texts are ambiguous; a prefix keeps the check cheap on big files.
    utf8_share = _plausible_share(utf8_text[:20_000])
    if utf8_share >= 0.5:
        return utf8_text
    gb_text = _try_decode(data, ("gb18030",))
    if gb_text is not None and _plausible_share(gb_text[:20_000]) > utf8_share:
        return gb_text
    return utf8_text


def _plausible_share(text: str) -> float:
    """Share of non-ASCII characters that are CJK, full-width, general punctuation or Latin-1."""
    non_ascii = len(_NON_ASCII.findall(text))
    if not non_ascii:
        return 1.0
    return len(_PLAUSIBLE_CHARS.findall(text)) / non_ascii


def _guess_decode(data: bytes) -> str:
    best = from_bytes(data).best()
    if best is None:
        raise _Problem("cannot decode text: not UTF-8 or GB18030, and no other encoding fits")
    return str(best)


def _bad_share(text: str) -> float:
    if not text:
        return 0.0
    return len(_BAD_CHARS.findall(text)) / len(text)


def _require_text(text: str) -> str:
    if not text.strip():
        raise _Problem("empty file (only whitespace)")
    return text


# ---------------------------------------------------------------- PDF


def _pdf_text(data: bytes, limits: PdfLimits) -> tuple[str, tuple[Page, ...]]:
    """The pages' texts joined by newlines, and where each page starts. A page read
    by OCR says so (`Page.ocr`); one that needed OCR but was not read (page cap, time
    budget, OCR unavailable) says why (`Page.unread`)."""
    try:
        read = extract_pdf_pages(data, limits)
    except PdfProblem as problem:
        raise _Problem(str(problem)) from None
    page_texts = [_no_surrogates(t) for t in read.texts]
    if not any(t.strip() for t in page_texts):
        raise _Problem(read.no_text_reason())

    unread = dict(read.unread)
    pages: list[Page] = []
    start = 0
    for number, page_text in enumerate(page_texts, start=1):
        pages.append(Page(number=number, start=start, ocr=number in read.ocr, unread=unread.get(number, "")))
        start += len(page_text) + 1  # +1 for the "\n" joining pages
    text = "\n".join(page_texts)
    garbled = garbled_reason(text)
    if garbled:
        raise _Problem(garbled + read.why_unread())
    return text, tuple(pages)


# ---------------------------------------------------------------- DOCX


def _docx_text(data: bytes) -> str:
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise _Problem("this is an old binary Word .doc file, not .docx; save it as .docx")
    _check_unpacked_size(data)
    # python-docx raises KeyError, lxml and zip errors, among others, on damaged packages.
    try:
        document = docx.Document(io.BytesIO(data))
        lines: list[str] = []
        # iter_inner_content keeps paragraphs and tables in document order.
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                lines.extend(_docx_table_lines(block))
            else:
                lines.append(block.text)
    except Exception as exc:
        raise _Problem(f"corrupt DOCX ({_describe(exc)})") from None
    text = "\n".join(lines)
    if not text.strip():
        raise _Problem("DOCX has no text")
    return text


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
        raise _Problem(f"corrupt DOCX (not a zip archive: {exc})") from None
    except Exception as exc:
        raise _Problem(f"corrupt DOCX ({_describe(exc)})") from None
    total = sum(i.file_size for i in infos)
    xml = sum(i.file_size for i in infos if i.filename.endswith((".xml", ".rels")))
    if total > _DOCX_MAX_UNPACKED or xml > _DOCX_MAX_XML:
        raise _Problem(
            f"DOCX unpacks to {_human(total)} ({_human(xml)} of XML), over the limit of "
            f"{_human(_DOCX_MAX_UNPACKED)} ({_human(_DOCX_MAX_XML)} of XML); is it a zip bomb?"
        )


def _docx_table_lines(table: Table) -> list[str]:
    """A data table as Markdown (`ingest.tables`); a layout table (one row or column,
    a form, tables nested in its cells) as the lines of its text."""
    grid = _docx_grid(table)
    if grid is not None and is_data_table(grid):
        return markdown_table(grid)
    cells = _docx_unique_cells(table)
    if any(cell.tables for cell in cells):
        # Page layout: each cell's paragraphs and tables in order, a nested table
        # rendered like any other (it may be data).
        lines: list[str] = []
        for cell in cells:
            for block in cell.iter_inner_content():
                lines.extend(_docx_table_lines(block) if isinstance(block, Table) else [block.text])
        return lines
    lines = []
    for row in table.rows:
        texts = [cell.text.strip() for cell in _docx_unique_cells(row)]
        if any(texts):
            # tabs keep a label next to its value
            lines.append("\t".join(texts))
    return lines


def _docx_grid(table: Table) -> list[list[str]] | None:
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


def _docx_unique_cells(part: Table | _Row) -> list[_Cell]:
    """The cells of a table or row, a merged cell once."""
    rows = part.rows if isinstance(part, Table) else [part]
    seen: set[object] = set()  # <w:tc> elements (see _docx_grid)
    out = []
    for row in rows:
        for cell in row.cells:
            if cell._tc not in seen:
                seen.add(cell._tc)
                out.append(cell)
    return out


# ---------------------------------------------------------------- HTML


def _html_text(data: bytes) -> tuple[str, dict[str, str]]:
    markup = _decode_text(data, preferred=_declared_charset(data))
    try:
        soup = BeautifulSoup(markup, "lxml")
        title_tag = soup.find("title")
        title = " ".join(title_tag.get_text().split()) if title_tag else ""
        raw = _render_html(soup)
    except Exception as exc:
        raise _Problem(f"cannot parse HTML ({_describe(exc)})") from None
    lines = (line.strip() for line in raw.split("\n"))
    text = "\n".join(line for line in lines if line)
    if not text:
        raise _Problem("HTML has no text (only markup or scripts)")
    return text, ({"title": title} if title else {})


def _render_html(soup: Tag) -> str:
    """The page text as a browser lays it out: block elements and <br> break lines,
    a data table is a Markdown table (`_html_table_lines`), the cells of a layout
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
                parts.append(str(node) if in_pre else _HTML_SPACES.sub(" ", node))
            elif type(node) is CData:
                parts.append(str(node))
            continue
        if not isinstance(node, Tag):
            continue
        name = node.name
        if closing:
            if name in _HTML_CELLS:
                parts.append("\t")
            elif name in _HTML_BLOCKS:
                parts.append("\n")
            continue
        if name in _HTML_DROP:
            continue
        if name == "br":
            parts.append("\n")
            continue
        if name == "table" and id(node) not in layout:
            table = _html_table_lines(node)
            if table:
                parts.append("\n" + "\n".join(table) + "\n")
                continue
        if name in _HTML_BLOCKS:
            parts.append("\n")
        depth = in_pre + (name == "pre")
        stack.append((node, depth, True))
        stack.extend((child, depth, False) for child in reversed(node.contents))
    return "".join(parts)


def _tables_holding_tables(root: Tag) -> set[int]:
    """ids of the <table> elements with another table inside: page layout (one walk,
    like `_render_html`)."""
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


def _html_table_lines(table: Tag) -> list[str]:
    """A <table> holding no other table as Markdown lines, its caption first; [] when
    it is not a data table (see `ingest.tables.is_data_table`)."""
    grid = _html_grid(table)
    if grid is None or not is_data_table(grid):
        return []
    caption = table.find("caption", recursive=False)
    title = " ".join(_render_html(caption).split()) if caption else ""
    return ([title] if title else []) + markdown_table(grid)


def _html_grid(table: Tag) -> list[list[str]] | None:
    """The cell texts per grid position, a cell spanning columns or rows (colspan,
    rowspan) repeated in each position it covers; None past MAX_GRID_CELLS."""
    rows = table.find_all("tr")
    taken: dict[tuple[int, int], str] = {}
    for r, tr in enumerate(rows):
        col = 0
        for cell in tr.find_all(_HTML_CELLS, recursive=False):
            while (r, col) in taken:
                col += 1
            text = _render_html(cell)
            # As browsers read them: colspan 1..1000; rowspan 0 runs to the end of the
            # table; a span never reaches past the last row.
            width = min(_html_span(cell.get("colspan"), 1), 1000)
            height = _html_span(cell.get("rowspan"), 0)
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


def _html_span(value: object, least: int) -> int:
    """A colspan/rowspan attribute: its leading digits (`2px` is 2), at least `least`;
    1 when missing or unreadable."""
    m = _HTML_NUMBER.match(str(value)) if value is not None else None
    return max(int(m.group(1)), least) if m else 1


def _declared_charset(data: bytes) -> tuple[str, ...]:
    match = _HTML_CHARSET.search(data[:4096])
    if not match:
        return ()
    name = match.group(1).decode("ascii").lower()
    return (_CHARSET_ALIASES.get(name, name),)


# ---------------------------------------------------------------- JSONL


def _load_jsonl(name: str, path: str, data: bytes) -> LoadResult:
    """One document per line; a bad line is reported and the others still load."""
    text = _require_text(_decode_text(data))
    docs: list[RawDocument] = []
    errors: list[IngestError] = []
    first_line: dict[str, int] = {}
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            docid, body, meta = _parse_jsonl_line(line)
            if docid in first_line:
                raise _Problem(f"duplicate docid '{docid}' (first on line {first_line[docid]})")
        except _Problem as problem:
            errors.append(IngestError(f"{name}:{lineno}", str(problem)))
            continue
        first_line[docid] = lineno
        docs.append(
            RawDocument(
                source=docid,
                text=body,
                path=path,
                meta=meta,
                sha256=hashlib.sha256(body.encode("utf-8")).hexdigest(),
            )
        )
    return LoadResult(tuple(docs), tuple(errors))


def _parse_jsonl_line(line: str) -> tuple[str, str, dict[str, str]]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise _Problem(f"invalid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise _Problem("invalid JSON (nested too deeply)") from None
    if not isinstance(record, dict):
        raise _Problem("line is not a JSON object")
    docid = record.get("docid")
    # Numeric ids are common in exported corpora; booleans are never ids.
    if isinstance(docid, int) and not isinstance(docid, bool):
        docid = str(docid)
    if not isinstance(docid, str) or not docid.strip():
        raise _Problem("missing or empty 'docid' (a non-empty string is required)")
    body = record.get("text")
    if not isinstance(body, str):
        raise _Problem("missing 'text' (a string is required)")
    if not body.strip():
        raise _Problem("empty 'text'")
    meta: dict[str, str] = {}
    for key, value in record.items():
        if key in ("docid", "text") or value is None or isinstance(value, (list, dict)):
            continue
        # json.dumps gives "true"/"3"/"1.5" for scalars, matching the file's spelling.
        shown = value if isinstance(value, str) else json.dumps(value)
        if shown.strip():
            meta[_no_surrogates(key)] = _no_surrogates(shown.strip())
    return _no_surrogates(docid.strip()), _no_surrogates(body), meta


# ---------------------------------------------------------------- helpers


def _no_surrogates(text: str) -> str:
    """Lone UTF-16 surrogates (from `\\ud800` escapes in JSON or HTML, or broken PDF
    fonts) cannot be written as UTF-8, so the index save would fail on them; they
    become replacement characters, which the garbled-text checks count."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def _too_large(size: int, cap: int) -> str:
    return f"file too large: {_human(size)} is over the {_human(cap)} limit (POLICYQA_MAX_FILE_MB)"


def _human(n: float) -> str:
    for unit in ("bytes", "KB", "MB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def _describe(exc: Exception) -> str:
    message = str(exc).strip()
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
