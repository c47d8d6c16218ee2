"""Text cleaning for Chinese policy documents.

`clean_text` turns what a loader read into the text every later stage works on:

* newlines normalised, invisible characters removed, indentation stripped;
* page chrome dropped (breadcrumbs, share/print/font widgets, view counters,
  document-sharing-site banners and web-viewer page markers);
* Kangxi and supplementary radicals and CJK compatibility ideographs (what a PDF
  printed from a browser extracts: ``⼈员`` ``⻔户``) made the ideographs a user types;
* full-width digits, Latin letters, ``％`` and the ideographic space made ASCII,
  Chinese punctuation kept; ASCII ``, : ;`` and ``( )`` between Chinese text made
  full-width (never inside numbers such as ``1,200``);
* typesetting spaces removed (``2025 年`` -> ``2025年``, ``制 定 和`` -> ``制定和``)
  while spaces between Latin words stay;
* lines broken inside a sentence (newspaper columns, viewer page breaks) rejoined,
  while headings and short title lines keep their own lines.

Numbers are never altered: the only change a digit run can see is that an
adjacent typesetting space disappears.
"""

from __future__ import annotations

import dataclasses
import re
import statistics
from collections import Counter
from dataclasses import dataclass

from ingest.tables import continue_across_pages, is_table_line
from policyqa.text.characters import IDEOGRAPHS
from policyqa.text.dates import is_date_line
from policyqa.text.docnums import is_doc_number_line
from policyqa.text.numerals import HEADING_NUMERALS
from policyqa.types import Page

__all__ = [
    "clean_text",
    "sharing_site_title",
    "is_cjk",
    "is_cjk_context",
    "display_width",
    "HEADING_RE",
    "SENTENCE_END",
]

# --------------------------------------------------------------------------- chars

_CJK_RANGES = (
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x2FA1F),
)
# Chinese punctuation: CJK symbols (、。〈〉《》「」『』【】〔〕…), full-width forms
# (，：；（）！？ …), curly quotes, ellipsis, dashes, middle dot.
_CJK_PUNCT_EXTRA = set("“”‘’…—·－～")


def is_cjk(ch: str) -> bool:
    """A CJK ideograph."""
    o = ord(ch)
    return any(lo <= o <= hi for lo, hi in _CJK_RANGES)


def is_cjk_punct(ch: str) -> bool:
    o = ord(ch)
    return 0x3000 < o <= 0x303F or 0xFF01 <= o <= 0xFF60 or 0xFFE0 <= o <= 0xFFEE or ch in _CJK_PUNCT_EXTRA


def is_cjk_context(ch: str) -> bool:
    """A CJK ideograph or Chinese punctuation mark."""
    return bool(ch) and (is_cjk(ch) or is_cjk_punct(ch))


def display_width(line: str) -> float:
    """Printed width in em as newspapers set it: Chinese characters count 1, ASCII
    and Chinese punctuation (set half-width at line ends and in runs) 0.5, spaces
    nothing."""
    w = 0.0
    for ch in line:
        if ch.isspace():
            continue
        w += 0.5 if (ord(ch) < 0x2000 or is_cjk_punct(ch)) else 1.0
    return w


# Sentence-ending punctuation: a line ending in one of these is not continued.
SENTENCE_END = set("。！？；：…”」』）!?;:")
# In a column layout a full line ending in a closing bracket/quote is still wrapped
# (`一是支持MaaS（模型即服务）` / `企业在京集聚发展。`).
_SOFT_END = set("”」』）)")
_CLAUSE_PUNCT = set("。！？；：，、,;:!?")

_CN_NUM = HEADING_NUMERALS
# Numbered headings: 第X章/节/条, 一、 , （一）, 1. / 1、 / （1）.
HEADING_RE = re.compile(
    rf"^(?:第[{_CN_NUM}\d]{{1,4}}[章节条部分编]"
    rf"|[{_CN_NUM}]{{1,3}}、"
    rf"|[（(][{_CN_NUM}]{{1,3}}[）)]"
    rf"|\d{{1,2}}(?:[.．](?!\d)|、)"
    rf"|[（(]\d{{1,2}}[）)])"
)

# --------------------------------------------------------------------------- widths

_FW_TRANSLATE = {0x3000: " ", 0xFF05: "%", 0xA0: " ", 0x2002: " ", 0x2003: " ", 0x2009: " ", 0x09: " "}
_FW_TRANSLATE.update({c: chr(c - 0xFEE0) for c in range(0xFF10, 0xFF1A)})  # ０-９
_FW_TRANSLATE.update({c: chr(c - 0xFEE0) for c in range(0xFF21, 0xFF3B)})  # Ａ-Ｚ
_FW_TRANSLATE.update({c: chr(c - 0xFEE0) for c in range(0xFF41, 0xFF5B)})  # ａ-ｚ
_FW_THOUSANDS = re.compile(r"(?<=[０-９])，(?=[０-９]{3}(?![０-９]))")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)




def _normalise_chars(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub("[\u2028\u2029\x0b\x0c\x85]", "\n", text)
    # web pages flattened to one line keep their paragraph indents: `。　　二、…`
    text = re.sub("(?<=\\S)[ \t\u00a0]*\u3000{2,}", "\n", text)
    # １，２００ is 1,200: once the digits are ASCII, a full-width comma left between
    # them would read as a list (1，200 = "1 and 200"), changing the figure.
    text = _FW_THOUSANDS.sub(",", text)
    text = text.translate(_INVISIBLE).translate(_FW_TRANSLATE).translate(IDEOGRAPHS)
    text = re.sub(r"(?<=\d)．(?=\d)", ".", text)  # １．２万 -> 1.2万
    return text


# --------------------------------------------------------------------------- chrome

_BREADCRUMB_START = re.compile(r"^\s*(?:当前位置|您(?:现在)?的?(?:当前)?位置|所在位置)\s*[:：]")
_BREADCRUMB_CONT = re.compile(r"^\s*(?:[>»›→]|首页\s*[>»›→])")
_CHROME_TOKENS = [
    re.compile(r"(?:浏览|阅读|访问|点击)(?:次数|量)\s*[:：]\s*\d*\s*次?"),
    re.compile(r"【?\s*字[体号]\s*[:：]?\s*[\[【［]\s*(?:[大中小]\s*){0,3}[\]】］]\s*】?"),
    re.compile(r"【\s*字[体号]\s*[:：]?\s*(?:[大中小]\s*){1,3}】"),
    re.compile(r"[【\[［]\s*(?:打印本页|打印|关闭窗口|关闭|返回顶部|收藏本页|收藏|纠错|下载)\s*[】\]］]"),
    re.compile(r"打印本页|关闭窗口|返回顶部|扫一扫在手机(?:上)?打开当前页|扫一扫在手机打开"),
    re.compile(r"^\s*分享到?\s*[:：]\s*(?:微信|微博|QQ空间|QQ|朋友圈|\s)*$"),
    re.compile(r"^\s*分享到?\s*$"),
    re.compile(r"(?:上一篇|下一篇)\s*[:：].*$"),
]
# PDF page numbers: `— 3 —`, `－ 12 －`, `第3页`, `第 3 页 共 10 页`
_PAGE_NUMBER_LINE = re.compile(r"^\s*(?:[—－–]+\s*\d{1,4}\s*[—－–]+|第\s*\d{1,4}\s*页(?:\s*[，,/]?\s*共\s*\d{1,4}\s*页)?)\s*$")
_CHROME_LINE_MAX = 100
_CHROME_LEFTOVER = re.compile(r"^[\s|｜>»›·\-—_:：/]*$")
# Document-sharing sites: `《X.docx》由会员分享,可在线阅读,更多相关《…》请在优知文库上搜索。`
_SHARE_CUES = [
    re.compile(r"由会员分享"),
    re.compile(r"可在线阅读"),
    re.compile(r"请在.{1,12}上搜索"),
    re.compile(r"\d+页珍藏版"),
    re.compile(r"更多相关《"),
    re.compile(r"(?:文档|资料)(?:下载|分享)(?:平台|网站)"),
]
_SHARE_TITLE = re.compile(r"^\s*《(.+?)》\s*由会员分享")
_DOC_EXT = re.compile(r"\.(?:docx?|pdf|txt|wps|pptx?|xlsx?)$", re.I)


def sharing_site_title(text: str) -> str:
    """The document title a sharing-site banner names (`《X.docx》由会员分享…`), or ""."""
    for line in text.splitlines()[:5]:
        m = _SHARE_TITLE.match(_normalise_chars(line))
        if m:
            return _DOC_EXT.sub("", m.group(1).strip()).strip()
    return ""


def _is_share_banner(line: str) -> bool:
    return sum(1 for cue in _SHARE_CUES if cue.search(line)) >= 2


def _drop_chrome(lines: list[str]) -> tuple[list[str], bool]:
    """Remove chrome lines and chrome tokens; returns the lines and whether a
    document-sharing banner was seen."""
    out: list[str] = []
    sharing = False
    in_breadcrumb = False
    for line in lines:
        if _BREADCRUMB_START.match(line):
            in_breadcrumb = True
            continue
        if in_breadcrumb:
            if line.strip() and _BREADCRUMB_CONT.match(line):
                continue
            in_breadcrumb = False
        if _is_share_banner(line):
            sharing = True
            continue
        if _PAGE_NUMBER_LINE.match(line):
            continue
        stripped = line
        hit = False
        # widgets sit on short header/footer lines, never inside a paragraph
        for tok in _CHROME_TOKENS if len(line) <= _CHROME_LINE_MAX else ():
            stripped, n = tok.subn(" ", stripped)
            hit = hit or n > 0
        if hit:
            if _CHROME_LEFTOVER.match(stripped):
                continue
            line = re.sub(r"[ \t]{2,}", " ", stripped).rstrip()
        out.append(line)
    return out, sharing


# --------------------------------------------------------------------------- viewer page markers

_MARKER = re.compile(r"^(\d{1,3})、")


def _is_viewer_marker_run(lines: list[str], idx: list[int], sharing: bool) -> bool:
    """Web viewers of document-sharing sites prefix each page with `N、`; the page
    break falls anywhere, mid-sentence or even mid-number (`202` / `5、4年`).

    A run of `N、` line starts counts as viewer markers only if the numbers are 1, 2,
    3, … in order, the lines are long (whole pages, not list items), and the line
    before a marker usually ends mid-sentence. A legitimate `1、` `2、` list fails
    at least one of these (its items are short or end with `。`)."""
    if len(idx) < 2:
        return False
    bodies = [_MARKER.sub("", lines[i], count=1) for i in idx]
    long_lines = sum(1 for b in bodies[:-1] if len(b) >= 150)
    if long_lines < max(1, len(bodies) - 1):
        return False
    mid = 0
    for i in idx[1:]:
        j = i - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        if j >= 0 and lines[j].rstrip()[-1:] not in SENTENCE_END:
            mid += 1
    share = mid / (len(idx) - 1)
    return share >= 0.8 or (sharing and share >= 0.5)


def _strip_viewer_markers(lines: list[str], sharing: bool) -> list[str]:
    cands = [(i, int(m.group(1))) for i, line in enumerate(lines) if (m := _MARKER.match(line))]
    # the longest run numbered 1, 2, 3, … in line order
    best: list[int] = []
    for start, (i0, n0) in enumerate(cands):
        if n0 != 1:
            continue
        run = [i0]
        expect = 2
        for i, n in cands[start + 1 :]:
            if n == expect:
                run.append(i)
                expect += 1
        if len(run) > len(best):
            best = run
    if not _is_viewer_marker_run(lines, best, sharing):
        return lines
    marked = set(best)
    out: list[str] = []
    for i, line in enumerate(lines):
        if i in marked:
            body = _MARKER.sub("", line, count=1)
            if i != best[0] and out:
                while out and not out[-1].strip():
                    out.pop()
                if out:
                    out[-1] = out[-1].rstrip() + body.lstrip()
                    continue
            out.append(body)
        else:
            out.append(line)
    return out


# --------------------------------------------------------------------------- spaces & punctuation

_NUM_CH = set("0123456789.%‰")
_NUM_GLUE = set("-/:_") | set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _pure_number_left(line: str, pos: int) -> bool:
    """line[pos] is the last char of a number token; is it a plain quantity (not part
    of a phone number, date, code…)?"""
    j = pos
    while j >= 0 and line[j] in _NUM_CH:
        j -= 1
    return j < 0 or line[j] not in _NUM_GLUE


def _pure_number_right(line: str, pos: int) -> bool:
    j = pos
    while j < len(line) and line[j] in _NUM_CH:
        j += 1
    return j >= len(line) or line[j] not in _NUM_GLUE


def _is_latin(ch: str) -> bool:
    return ch.isascii() and ch.isalpha()


def _fix_spaces(line: str) -> str:
    line = line.strip()
    if " " not in line:
        return line
    out: list[str] = []
    i = 0
    n = len(line)
    while i < n:
        ch = line[i]
        if ch != " ":
            out.append(ch)
            i += 1
            continue
        j = i
        while j < n and line[j] == " ":
            j += 1
        left = line[i - 1]
        right = line[j]
        lc, rc = is_cjk_context(left), is_cjk_context(right)
        remove = False
        if lc and rc:
            remove = True
        elif (lc and _is_latin(right)) or (_is_latin(left) and rc):
            remove = True
        elif lc and right in _NUM_CH:
            remove = _pure_number_right(line, j)
        elif left in _NUM_CH and rc:
            remove = _pure_number_left(line, i - 1)
        if not remove:
            out.append(" ")
        i = j
    return "".join(out)


_PAREN = re.compile(r"\(([^()\n]{1,80})\)")


def _fix_punct(line: str) -> str:
    # ( … ) with Chinese inside -> （ … ）, innermost first
    def paren(m: re.Match[str]) -> str:
        inner = m.group(1)
        if any(is_cjk(c) for c in inner):
            return f"（{inner}）"
        return m.group(0)

    prev = None
    while prev != line:
        prev = line
        line = _PAREN.sub(paren, line)
    if not any(c in line for c in ",:;"):
        return line
    chars = list(line)
    table = {",": "，", ":": "：", ";": "；"}
    for k, ch in enumerate(chars):
        if ch in table and 0 < k < len(chars) - 1:
            left, right = chars[k - 1], chars[k + 1]
            lc, rc = is_cjk_context(left), is_cjk_context(right)
            # Chinese on both sides, or Chinese next to a quantity (`65%,高新`,
            # `提出,2025年`); never between digits (`1,200`)
            if (lc and rc) or (rc and (left.isdigit() or left in "%‰")) or (lc and right.isdigit()):
                chars[k] = table[ch]
    return "".join(chars)


# --------------------------------------------------------------------------- line joining

_NEWS_START = re.compile(r"^(?:本报讯|本报记者|本报通讯员|本报.{1,6}电|新华社.{0,12}电)")
_BYLINE = re.compile(
    r"^[（(]\s*[\u4e00-\u9fff]\s*[\u4e00-\u9fff]?\s*[讯文电稿]\s*[）)]$"
    r"|^[（(]\s*(?:记者|通讯员|作者|文|文/图|图/文)[\u4e00-\u9fff\s/]{2,16}[）)]$"
)
_META_LINE = re.compile(
    r"^(?:索引号|发布机构|发文机关|发文日期|发布日期|成文日期|生效日期|公开方式|信息来源|来源|文号|发文字号"
    r"|主题分类|体裁分类|有效性|联系人|联系电话|联系方式|传真|邮编|作者|编辑|责任编辑|审核)\s*[:：|]"
)


def _is_fixed_line(line: str, as_next: bool = False) -> bool:
    """Lines that take no part in a join: metadata rows, doc numbers, dates, bylines,
    pure heading lines, table rows; as the second line also any heading and a news
    item start."""
    s = line.strip()
    if is_table_line(s):
        return True
    if _META_LINE.match(s) or is_doc_number_line(s) or is_date_line(s, chinese_numerals=False) or _BYLINE.match(s):
        return True
    if as_next:
        return bool(HEADING_RE.match(s) or _NEWS_START.match(s))
    # a heading line stands alone unless it is a list item with its body (`1.深化…。持续…`)
    return bool(HEADING_RE.match(s)) and "。" not in s


def _has_clause_punct(line: str) -> bool:
    return any(c in _CLAUSE_PUNCT for c in line)


def _starts_with_fragment(line: str) -> bool:
    """`新组织。围绕…`: the line opens with a few characters and a stop, i.e. it
    finishes a sentence begun on an earlier line."""
    m = re.match(r"^([^。！？；，、：]{1,4})[。！？；，、：]", line)
    return bool(m)


@dataclass
class _Layout:
    column: bool
    width: float
    # The typical full line: on a page of short headings and title lines (a 公文) the
    # median line is shorter than a full one, which would fall out of the band.
    full: float = 0.0

    def in_band(self, w: float) -> bool:
        top = 1.15 * max(self.width, self.full)
        return self.column and (0.7 * self.width <= w <= top or w >= 2.5 * self.width)


def _blocks(lines: list[str]) -> list[list[int]]:
    blocks: list[list[int]] = []
    cur: list[int] = []
    for i, line in enumerate(lines):
        if line.strip():
            cur.append(i)
        elif cur:
            blocks.append(cur)
            cur = []
    if cur:
        blocks.append(cur)
    return blocks


def _layout(lines: list[str], blocks: list[list[int]]) -> _Layout:
    """Detect a hard-wrapped column layout (newspaper columns, PDF lines): most
    non-final lines of multi-line paragraphs have about the same width."""
    # rows of a table are alike in width without being wrapped text
    # (and headings, dates, 文号 lines are as short as they are, wrapped or not)
    widths = [display_width(lines[i]) for b in blocks if len(b) >= 2 for i in b[:-1] if not _is_fixed_line(lines[i])]
    widths = [w for w in widths if w >= 4]
    if len(widths) < 4:
        return _Layout(False, 0.0)
    med = statistics.median(widths)
    near = sum(1 for w in widths if 0.75 * med <= w <= 1.3 * med)
    full = statistics.median(w for w in widths if w >= med)
    return _Layout(near / len(widths) >= 0.6 and med <= 60, med, full)


def _ends_sentence(line: str, layout: _Layout) -> bool:
    last = line.rstrip()[-1:]
    if last not in SENTENCE_END:
        return False
    if last in _SOFT_END and layout.in_band(display_width(line)) and layout.width * 2.5 > display_width(line):
        # a full column line ending in `）`/`”` is wrapped like any other
        return False
    return True


def _join(a: str, b: str) -> str:
    a, b = a.rstrip(), b.lstrip()
    if a and b and a[-1].isascii() and a[-1].isalnum() and b[0].isascii() and b[0].isalnum():
        return f"{a} {b}"
    return a + b


def _title_like_single(lines: list[str], block: list[int], layout: _Layout) -> bool:
    """A one-line paragraph without any punctuation: a headline or title."""
    if len(block) != 1:
        return False
    line = lines[block[0]]
    return not _has_clause_punct(line) and display_width(line) <= 1.3 * max(layout.width, 1)


# No line of Chinese text starts with these: one that does was cut from the line before.
# (Not `）` or `》`: `）实施…` is a heading that lost its `（`, `》》延伸阅读` a web marker.)
_LINE_CANNOT_START = tuple("。，、；：？！”’」』")


def _rejoin(lines: list[str]) -> list[str]:
    lines = _join_orphan_punctuation(lines)
    blocks = _blocks(lines)
    layout = _layout(lines, blocks)
    if not layout.column:
        return lines
    block_of: dict[int, list[int]] = {i: b for b in blocks for i in b}

    def can_continue(last: str) -> bool:
        return (
            not _ends_sentence(last, layout)
            and not _is_fixed_line(last)
            and layout.in_band(display_width(last))
        )

    out: list[str] = []
    pending: str | None = None  # the output line being built
    last = ""  # its last physical line
    multi = False  # does it span more than one physical line / sit in a paragraph
    blank_run = 0
    for i, line in enumerate(lines):
        if not line.strip():
            blank_run += 1
            continue
        block = block_of[i]
        joined = False
        if pending is not None and can_continue(last) and not _is_fixed_line(line, as_next=True):
            if blank_run == 0:
                joined = True
            elif not _title_like_single(lines, block, layout) and (
                multi or _has_clause_punct(last) or _starts_with_fragment(line)
            ):
                joined = True
        if joined:
            pending = _join(pending or "", line)
            multi = True
        else:
            if pending is not None:
                out.append(pending)
                if blank_run:
                    out.append("")
            pending, multi = line, len(block) > 1
        last = line
        blank_run = 0
    if pending is not None:
        out.append(pending)
    return out


def _join_orphan_punctuation(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if out and out[-1].strip() and line.lstrip().startswith(_LINE_CANNOT_START) and not is_table_line(line):
            out[-1] = out[-1].rstrip() + line.lstrip()
        else:
            out.append(line)
    return out


# --------------------------------------------------------------------------- flattened text

_DOC_SUFFIX = "方案|办法|意见|通知|要点|规划|计划|细则|规定|决定|答复|公告|通报|报告|纲要|指南|措施|条例|指引|函"
_LEAD_TITLE = re.compile(
    rf"^([^，。,；;：:、\n《》]{{4,60}}?(?:{_DOC_SUFFIX})(?:[（(][^）)\n]{{1,12}}[）)])?)(?=[^\n（(》”])"
)
_LEAD_DATELINE = re.compile(
    r"^([^，。,；;：:\n]{6,60}?)(?=(?:新华社|中新社|中新网|人民网|央视网)[\u4e00-\u9fff]{0,6}\d{1,2}月\d{1,2}日电|本报讯)"
)
_INLINE_H1 = re.compile(rf"(?<=[。；）)])(?=[{_CN_NUM}]{{1,3}}、)")
_INLINE_H2 = re.compile(rf"(?<=[。；）)])(?=[（(][{_CN_NUM}]{{1,3}}[）)])")
_H1_THEN_H2 = re.compile(rf"(^|\n)([{_CN_NUM}]{{1,3}}、[^，。；：、\n（(]{{2,12}})(?=[（(][{_CN_NUM}]{{1,3}}[）)])")


def _split_flattened(lines: list[str]) -> list[str]:
    """Text from viewers often loses its paragraph breaks; put the title and the
    numbered headings of such very long lines back on lines of their own."""
    out: list[str] = []
    first = True
    for line in lines:
        if first and (m := _LEAD_DATELINE.match(line)):
            # `广西利用应急广播加强农村疫情防控宣传新华社南宁1月28日电（记者…）…`
            out.append(m.group(1))
            line = line[m.end(1) :]
        if len(line) > 300 and not is_table_line(line):
            if first:
                m = _LEAD_TITLE.match(line)
                if m and len(line) - m.end() > 100:
                    out.append(m.group(1))
                    line = line[m.end() :]
            line = _INLINE_H1.sub("\n", line)
            line = _INLINE_H2.sub("\n", line)
            line = _H1_THEN_H2.sub(lambda m: f"{m.group(1)}{m.group(2)}\n", line)
            out.extend(line.split("\n"))
        else:
            out.append(line)
        if line.strip():
            first = False
    return out


# --------------------------------------------------------------------------- driver


def _clean_piece(text: str) -> str:
    text = _normalise_chars(text)
    lines = text.split("\n")
    lines, sharing = _drop_chrome(lines)
    lines = [ln.replace("\t", " ").strip() for ln in lines]
    lines = _strip_viewer_markers(lines, sharing)
    lines = [_fix_punct(_fix_spaces(ln)) for ln in lines]
    lines = [_fix_punct(ln) for ln in _rejoin(lines)]
    lines = _split_flattened(lines)
    lines = [ln.strip() for ln in lines]
    # at most one blank line in a row, none at the ends
    out: list[str] = []
    for ln in lines:
        if not ln and (not out or not out[-1]):
            continue
        out.append(ln)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


# Running headers and footers of PDF pages (a short title, the issuer, a footer, page
# numbers in any form): a line among the first or last few lines of a page that
# stands there on most pages.
_RUNNING_EDGE = 2  # non-blank lines at each end of a page
_RUNNING_SHARE = 0.6
_RUNNING_MIN_PAGES = 3


def _running_key(line: str) -> str:
    """A line as it repeats from page to page: spaces dropped and every number alike,
    so `— 3 —` and `— 4 —`, `第3页 共10页` and `第4页 共10页` are one line."""
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", line))


def _edges(lines: list[str]) -> tuple[list[int], list[int]]:
    """The first and the last few non-blank lines (table rows left out: a table's
    header row repeats at the top of each page it runs over)."""
    filled = [i for i, line in enumerate(lines) if line.strip()]
    top, bottom = filled[:_RUNNING_EDGE], filled[::-1][:_RUNNING_EDGE]
    return [i for i in top if not is_table_line(lines[i])], [i for i in bottom if not is_table_line(lines[i])]


def _drop_running_lines(pages: list[str]) -> list[str]:
    """Each page without the lines at its top or bottom that stand at the top or
    bottom of at least 60% of the pages (and of 3 or more)."""
    split = [page.split("\n") for page in pages]
    edges = [_edges(lines) for lines in split]
    counts = Counter(
        key for lines, (top, bottom) in zip(split, edges) for key in {_running_key(lines[i]) for i in top + bottom}
    )
    need = max(_RUNNING_MIN_PAGES, _RUNNING_SHARE * len(pages))
    running = {key for key, n in counts.items() if n >= need and key}
    if not running:
        return pages
    out: list[str] = []
    for lines, (top, bottom) in zip(split, edges):
        drop: set[int] = set()
        for zone in (top, bottom):  # each from its page edge inwards
            seen: set[str] = set()
            for i in zone:
                key = _running_key(lines[i])
                # once per edge: a title under a running header of the same words stays
                if key in running and key not in seen:
                    drop.add(i)
                    seen.add(key)
        out.append("\n".join(line for i, line in enumerate(lines) if i not in drop))
    return out


def clean_text(text: str, pages: tuple[Page, ...] = ()) -> tuple[str, tuple[Page, ...]]:
    """Clean `text`; `pages` (PDF page starts in `text`) are mapped to the cleaned
    text. Each page is cleaned on its own and the pages are joined with a newline,
    so a page start always falls at the start of a line."""
    if not pages:
        return _clean_piece(text), ()
    ordered = sorted(pages, key=lambda p: p.start)
    bounds = [min(max(p.start, 0), len(text)) for p in ordered] + [len(text)]
    prefix = _clean_piece(text[: bounds[0]]) if text[: bounds[0]].strip() else ""
    raw_pages = _drop_running_lines([text[bounds[k] : bounds[k + 1]] for k in range(len(ordered))])
    pieces = continue_across_pages([_clean_piece(page) for page in raw_pages])
    out = prefix
    starts: list[int | None] = []
    for piece in pieces:
        if not piece:
            starts.append(None)  # an emptied page starts where the next text does
            continue
        if out:
            out += "\n"
        starts.append(len(out))
        out += piece
    resolved: list[int] = []
    nxt = len(out)
    for st in reversed(starts):
        nxt = st if st is not None else nxt
        resolved.append(nxt)
    resolved.reverse()
    return out, tuple(dataclasses.replace(p, start=st) for p, st in zip(ordered, resolved))
