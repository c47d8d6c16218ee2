"""Structure-aware chunking of Chinese policy text.

A chunk is a run of whole sentences (split at `。！？；` and at line ends) of about
`size` characters, never more than `max_size`, that never crosses an article
boundary. A numbered heading (`一、` `（一）` `1.` `1、` `第X条`) starts a new chunk
once the current one is reasonably full, and every chunk records the heading path
it sits under. Consecutive chunks of a section share about `overlap` characters of
whole trailing sentences. `doc.text[chunk.start:chunk.end] == chunk.text` always.

A Markdown table row (`ingest.tables`) is one segment, never split unless it alone
exceeds `max_size`, and a header is never separated from its first row. A long table
is chunked by rows like sentences; a chunk that starts below the header carries the
header and separator lines in `Chunk.table_header` (retrieval and quotes read them),
since its text, a true span of the document, cannot repeat them.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import Sequence

from ingest.tables import TableBlock, block_at, is_table_line, table_blocks
from policyqa.errors import ConfigError
from policyqa.text.dates import opens_with_date
from policyqa.text.docnums import is_doc_number_line
from policyqa.text.figures import extract_figures
from policyqa.text.numerals import HEADING_NUMERALS
from policyqa.text.sentences import CHUNK_SEGMENT, sentence_spans
from policyqa.types import Article, Chunk, Document, Page

__all__ = ["chunk_document", "heading_level", "heading_title"]

_CN_NUM = HEADING_NUMERALS
_LEVELS: list[tuple[re.Pattern[str], int]] = [
    (re.compile(rf"^第[{_CN_NUM}\d]{{1,4}}[编部分]"), 0),
    (re.compile(rf"^第[{_CN_NUM}\d]{{1,4}}章"), 1),
    (re.compile(rf"^第[{_CN_NUM}\d]{{1,4}}节"), 2),
    (re.compile(rf"^[{_CN_NUM}]{{1,3}}、"), 3),
    (re.compile(rf"^[（(][{_CN_NUM}]{{1,3}}[）)]"), 4),
    # a `（五）` heading that lost its opening: `)实施“越快转”品牌塑造行动`
    (re.compile(r"^[）)](?=[\u4e00-\u9fff“])"), 4),
    (re.compile(r"^\d{1,2}(?:[.．](?!\d)|、)"), 5),
    (re.compile(rf"^第[{_CN_NUM}\d]{{1,4}}条"), 5),
    (re.compile(r"^[（(]\d{1,2}[）)]"), 6),
]
# Characters after a cut point scanned for a figure that would straddle it.
_FIGURE_REACH = 40
_FREE_LEVEL = 9  # an unnumbered short heading line (web summaries)
_MAJOR_LEVEL = 4  # `（一）` and above open a section: break sooner before them
_CLAUSE = re.compile(r"[，,、：:]")
_PROSE = set("。，；！？、,;:：!?")
_NOT_HEADING = re.compile(
    r"^(?:索引号|发布机构|发文日期|发布日期|信息来源|来源|联系人|联系电话|邮编|传真)\s*[:：]"
    r"|^(?:本报讯|本报记者)"
)


def _not_heading(line: str) -> bool:
    """Short 公文 head lines that look like headings: metadata labels, datelines, a 文号."""
    return bool(_NOT_HEADING.match(line)) or opens_with_date(line) or is_doc_number_line(line)


def heading_level(line: str) -> int | None:
    """Level of a numbered heading line (smaller is higher), or None."""
    s = line.strip()
    if not s or _not_heading(s):
        return None
    for rx, level in _LEVELS:
        if rx.match(s):
            if level == 4 and s[0] in "）)" and (len(s) > 60 or "。" in s[:40]):
                return None
            return level
    return None


def heading_title(line: str, limit: int = 30) -> str:
    """The short title of a heading line: the whole line when it is a heading by
    itself, else the text before the first `。` (or a clause break, or `limit`
    characters)."""
    s = line.strip()
    if len(s) <= limit + 10 and "。" not in s:
        return s
    head = s.split("。", 1)[0]
    if len(head) <= limit + 10 and "。" in s:
        return head
    m = _CLAUSE.search(head, 4)
    if m and m.start() <= limit + 10:
        return head[: m.start()]
    return head[:limit]


@dataclass
class _Seg:
    start: int
    end: int
    level: int | None = None  # set when the segment opens a heading line
    path: tuple[str, ...] = ()
    major: bool = False  # opens a section (`一、`, `（一）`, a run of free headings)
    head_only: bool = False  # a heading with no body text in the same segment


def _segments(text: str, lo: int, hi: int, tables: Sequence[TableBlock] = ()) -> list[_Seg]:
    """Sentences and line ends of text[lo:hi], whitespace-only pieces dropped; the rows
    of the `tables` inside it whole, a header with its separator and first row."""
    out: list[_Seg] = []
    pos = lo
    for block in tables:
        if lo <= block.start and block.end <= hi:
            out += _sentences(text, pos, block.start)
            first = 3 if block.has_header else 1
            out.append(_Seg(block.start, block.lines[:first][-1][1]))
            out += [_Seg(a, b) for a, b in block.lines[first:]]
            pos = block.end
    return out + _sentences(text, pos, hi)


def _sentences(text: str, lo: int, hi: int) -> list[_Seg]:
    return [_Seg(a, b) for a, b in sentence_spans(text, lo, hi, CHUNK_SEGMENT)]


def _split_long(text: str, seg: _Seg, max_size: int) -> list[_Seg]:
    """Split a sentence longer than `max_size` at clause breaks, else hard."""
    out: list[_Seg] = []
    a = seg.start
    while seg.end - a > max_size:
        window = text[a : a + max_size]
        cut = max((window.rfind(c) for c in "，,、；：:"), default=-1)
        b = a + cut + 1 if cut >= max_size // 3 else _hard_cut(text, a, max_size)
        e = b
        while e > a and text[e - 1].isspace():
            e -= 1
        if e > a:
            out.append(_Seg(a, e, None, seg.path, seg.major))
        a = b
        while a < seg.end and text[a].isspace():
            a += 1
    if a < seg.end:
        out.append(_Seg(a, seg.end, None, seg.path, seg.major))
    if out:
        out[0].level = seg.level
    for piece in out[1:]:
        piece.major = False
    return out


def _hard_cut(text: str, a: int, max_size: int) -> int:
    """Where to cut a piece with no clause break in reach: after the last space (a
    flattened table row), else at `max_size` but never inside a figure -- a figure
    cut in two (`20|25年`, `1.2|万家`) is in no passage whole, so the answer's figure
    check could never find it."""
    window = text[a : a + max_size]
    space = max(window.rfind(" "), window.rfind("\t"))
    if space >= max_size // 3:
        return a + space + 1
    cut = a + max_size
    for fig in extract_figures(text[a : cut + _FIGURE_REACH]):
        start, end = a + fig.start, a + fig.end
        if start < cut < end:
            return start if start - a >= max(1, max_size // 3) else cut
        if start >= cut:
            break
    return cut


def _line_of(text: str, pos: int) -> str:
    a = text.rfind("\n", 0, pos) + 1
    b = text.find("\n", pos)
    return text[a : b if b >= 0 else len(text)]


def _at_line_start(text: str, pos: int) -> bool:
    return pos == 0 or text[pos - 1] == "\n"


def _is_free_heading(text: str, seg: _Seg, title: str) -> bool:
    """A short unnumbered line without punctuation that has more text after it: the
    headings of a web summary (`加强统筹推进` / `贯彻落实…。`)."""
    if not _at_line_start(text, seg.start):
        return False
    line = _line_of(text, seg.start).strip()
    if is_table_line(line):
        return False  # a short row has no punctuation either
    if not (2 <= len(line) <= 25) or any(c in _PROSE for c in line):
        return False
    if line == title or _not_heading(line):
        return False
    nxt = text.find("\n", seg.start)
    return nxt >= 0 and bool(text[nxt:].strip())


def _assign_paths(text: str, segs: list[_Seg], free: bool, title: str) -> None:
    """Set each segment's heading path. Numbered headings nest by level. Free
    headings: a single one replaces the last free heading of the path (a sibling);
    a run of consecutive ones replaces all free headings (`全力强化企业创新主体地位`
    / `着力“扩面提质”科技型企业`)."""
    levels: list[int | None] = []
    for seg in segs:
        level: int | None = None
        if _at_line_start(text, seg.start):
            level = heading_level(text[seg.start : seg.end])
            if level is None and free and _is_free_heading(text, seg, title):
                level = _FREE_LEVEL
        levels.append(level)
    stack: list[tuple[int, str]] = []
    run: list[str] = []  # consecutive free headings just seen
    for k, seg in enumerate(segs):
        level = levels[k]
        if level == _FREE_LEVEL:
            name = heading_title(_line_of(text, seg.start))
            fixed = [e for e in stack if e[0] < _FREE_LEVEL]
            frees = [e for e in stack if e[0] >= _FREE_LEVEL]
            starts_run = k + 1 < len(segs) and levels[k + 1] == _FREE_LEVEL
            if run or starts_run:
                run.append(name)
                stack = fixed + [(_FREE_LEVEL + i, n) for i, n in enumerate(run)]
            else:
                run = [name]
                stack = fixed + frees[:-1] + [(frees[-1][0] if frees else _FREE_LEVEL, name)]
            # a run start opens a new top-level free section
            seg.major = starts_run and len(run) == 1
        elif level is not None:
            name = heading_title(_line_of(text, seg.start))
            stack = [e for e in stack if e[0] < level] + [(level, name)]
            run = []
            seg.major = level <= _MAJOR_LEVEL
        else:
            run = []
        seg.level = level
        seg.path = tuple(name for _, name in stack)
        seg.head_only = level is not None and seg.end - seg.start <= len(stack[-1][1]) + 1


def _page_of(doc: Document, pos: int) -> Page | None:
    if not doc.pages:
        return None
    starts = [p.start for p in doc.pages]
    k = bisect.bisect_right(starts, pos) - 1
    return doc.pages[max(k, 0)]


def _chunk_article(
    doc: Document, art: Article, size: int, max_size: int, overlap: int, free: bool,
    tables: Sequence[TableBlock] = (),
) -> list[tuple[int, int, tuple[str, ...]]]:
    text = doc.text
    segs = _segments(text, art.start, art.end, tables)
    _assign_paths(text, segs, free, art.title or doc.meta.title)
    pieces: list[_Seg] = []
    for s in segs:
        pieces.extend(_split_long(text, s, max_size) if s.end - s.start > max_size else [s])

    spans: list[tuple[int, int, tuple[str, ...]]] = []
    cur: list[_Seg] = []
    fresh = 0  # index in `cur` of the first segment not carried over as overlap
    for seg in pieces:
        if not cur:
            cur, fresh = [seg], 0
            continue
        with_seg = seg.end - cur[0].start
        filled = cur[-1].end - cur[fresh].start
        heading_break = seg.level is not None and filled >= size * (0.25 if seg.major else 0.5)
        small = cur[-1].end - cur[0].start < size * 0.6
        if not heading_break and (with_seg <= size or (with_seg <= max_size and small)):
            cur.append(seg)
            continue
        spans.append((cur[0].start, cur[-1].end, _path_of(cur[fresh:])))
        carry = [] if heading_break else _overlap(cur[fresh:], seg, overlap, max_size)
        cur, fresh = carry + [seg], len(carry)
    if cur:
        last = (cur[0].start, cur[-1].end, _path_of(cur[fresh:]))
        tail = cur[-1].end - cur[fresh].start
        if spans and tail < size * 0.25 and cur[fresh].level is None and last[1] - spans[-1][0] <= max_size:
            # a scrap at the end of an article (a byline, a last short sentence)
            # joins the chunk before it instead of standing alone
            spans[-1] = (spans[-1][0], last[1], spans[-1][2])
        else:
            spans.append(last)
    return spans


def _carried_header(text: str, tables: Sequence[TableBlock], start: int) -> str:
    """The header and separator lines of the table a chunk starting at `start` opens
    inside of (below its header line), or ""."""
    block = block_at(tables, start)
    if block is None or not block.has_header or start < block.lines[0][1]:
        return ""
    return text[block.lines[0][0] : block.lines[1][1]]


def _path_of(segs: list[_Seg]) -> tuple[str, ...]:
    """A chunk's heading path: where its first body sentence stands (a chunk that
    opens with `二、重点任务` / `（一）系统谋划…。` / `各县…` sits under both), or for
    a preamble chunk that runs into the first heading, that heading's path."""
    for s in segs:
        if not s.head_only and s.path:
            return s.path
    for s in segs:
        if s.path:
            return s.path
    return ()


def _overlap(prev: list[_Seg], seg: _Seg, overlap: int, max_size: int) -> list[_Seg]:
    """Whole trailing sentences of `prev` (same section as `seg`) totalling about
    `overlap` characters; the last sentence alone may be up to 1.5 × `overlap`."""
    if overlap <= 0 or not prev:
        return []
    end = prev[-1].end
    carry: list[_Seg] = []
    for p in reversed(prev):
        if p.path != seg.path or seg.end - p.start > max_size:
            break
        span = end - p.start
        if span > overlap and not (not carry and span <= overlap * 1.5):
            break
        carry.insert(0, p)
        if span > overlap:
            break
    return carry


def chunk_document(doc: Document, size: int = 400, max_size: int = 500, overlap: int = 80) -> list[Chunk]:
    """Chunks of `doc`, in text order, with ids `{doc_id}#{i}`."""
    if not (0 <= overlap < size <= max_size):
        raise ConfigError("chunk sizes must satisfy 0 <= overlap < size <= max")
    articles = doc.articles or (
        Article(0, len(doc.text), doc.meta.title, doc.meta.region, doc.meta.level, doc.meta.issuer),
    )
    numbered = any(heading_level(line) is not None for line in doc.text.split("\n"))
    free = len(articles) == 1 and not numbered
    tables = table_blocks(doc.text)
    chunks: list[Chunk] = []
    for art in articles:
        for start, end, path in _chunk_article(doc, art, size, max_size, overlap, free, tables):
            page, last = _page_of(doc, start), _page_of(doc, max(end - 1, start))
            chunks.append(
                Chunk(
                    chunk_id=f"{doc.doc_id}#{len(chunks)}",
                    doc_id=doc.doc_id,
                    source=doc.source,
                    text=doc.text[start:end],
                    start=start,
                    end=end,
                    title=art.title or doc.meta.title,
                    heading_path=" > ".join(path),
                    region=art.region or doc.meta.region,
                    level=art.level or doc.meta.level,
                    issuer=art.issuer or doc.meta.issuer,
                    date=doc.meta.date,
                    doc_number=doc.meta.doc_number,
                    page=page.number if page else None,
                    table_header=_carried_header(doc.text, tables, start),
                    # pages between start and end are OCR'd when either end's page is: a
                    # scanned document is scanned throughout
                    ocr=bool(page and page.ocr or last and last.ocr),
                )
            )
    return chunks
