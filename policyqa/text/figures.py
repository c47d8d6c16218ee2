"""Figures (numbers with their units) in Chinese policy text, and whether a passage
supports them.

The answer generator must never state a figure that is not in the passage it cites.
This module finds the figures of a sentence, reduces each to a comparable key
(value with 万/亿 folded in, canonical unit) and looks the key up in the figures of
the cited passages.

    >>> [(f.value, f.unit) for f in extract_figures("科技型中小企业1.2万家、高新技术企业5000家")]
    [(12000.0, '家'), (5000.0, '家')]
    >>> supported(extract_figures("1.2万家")[0], "新增科技型中小企业12000家")
    True

What is extracted
-----------------
* ASCII and full-width digits, decimals, ASCII thousands separators (``1,200``);
* ``%``/``％``/``‰``, ``百分之五``, ``千分之三``, ``2个百分点`` (unit ``百分点``);
* multipliers 百/千/万/亿 after digits (``5000万元`` -> 5e7 元, ``1 万人次`` -> 1e4 人次);
* Chinese numerals (``五千家``, ``一万二千``, ``三百亿元``, ``六十七点五``) -- only when
  followed by a measure word, or when they contain 万/亿; a bare ``一`` + measure
  word (``一批``, ``一个``) is read as an article and skipped;
* ranges (``10-20家``, ``2025—2027年``, ``1-2万元``) as two figures sharing the unit
  (and the multiplier) written after the second;
* years (``2025年``, kind ``year``), month/day dates (``3月11日`` -> value 311, unit
  ``月日``; ``6月`` -> unit ``月``), ISO dates (``2025-03-11`` -> a year and a 月日);
* codes (``415X``, ``5G``, numbers with a leading zero) as unit-less figures of kind
  ``code``.

What is skipped
---------------
Ordinals (``第1号``, ``第一``, ``十三届三次会议``), numbers followed by 号 or 届,
document numbers and citation markers in brackets (``〔2025〕``, ``[1]``),
headings (``1.``/``1、`` at line start, ``(1)``, ``一、``, ``（三）``), clock times
(``14:51``) and Chinese numerals inside words (``一批``, ``一体``, ``统一``, ``三位一体``,
``一是``, ``两新``, ``十大``, ``十五五``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Sequence

from policyqa.text.numerals import (
    ONE_TO_TEN,
    CN_BIG,
    CN_CHARS,
    CN_DEC_DIGITS,
    CN_DIGIT,
    CN_START,
    parse_cn,
)

__all__ = [
    "Figure",
    "extract_figures",
    "is_date_like",
    "normalise",
    "supported",
    "unsupported_figures",
]


@dataclass(frozen=True)
class Figure:
    """A number as written in a text.

    `value` has any 百/千/万/亿 multiplier folded in and `unit` is canonical
    (``1.2万家`` -> 12000.0, ``家``; ``5000万元`` -> 5e7, ``元``; ``67.5％`` -> 67.5, ``%``).
    `text == source[start:end]` covers the number, multiplier and unit (not the
    comparator words). `comparator` is one of ``''``, ``'>'``, ``'>='``, ``'<'``,
    ``'<='``, ``'~'`` (超过, 以上/不低于, 低于, 以下/不超过, 左右/约, and ``余``/``多``
    -> ``'>'``). `kind` is ``'quantity'``, ``'year'``, ``'date'`` or ``'code'``.
    """

    text: str
    value: float
    unit: str
    start: int
    end: int
    comparator: str = ""
    kind: str = "quantity"


# --------------------------------------------------------------------------------
# Tables

# one character -> one character, so offsets in the translated text are offsets
# in the original
_FULLWIDTH = {chr(0xFF10 + i): str(i) for i in range(10)}
_FULLWIDTH.update({"．": ".", "％": "%", "﹪": "%", "：": ":", "／": "/", "－": "-", "～": "~", "﹣": "-"})
_TRANS = str.maketrans(_FULLWIDTH)

# multipliers after digits (十 is not: nobody writes 5十)
_MULT = {"百": 100, "佰": 100, "千": 1000, "仟": 1000, "万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8}

# measure words after a Chinese numeral
_CN_UNITS = {
    "个", "家", "项", "人", "名", "户", "所", "座", "条", "台", "套", "件", "篇", "场",
    "次", "批", "类", "种", "支", "期", "轮", "位", "张", "辆", "艘", "架", "处", "款",
    "份", "年", "天", "周", "月", "日", "小时", "分钟", "倍", "元", "美元", "欧元",
    "港元", "人次", "家次", "户次", "架次", "批次", "场次", "人年", "人月", "个月",
    "个百分点", "百分点", "米", "公里", "平方公里", "平方米", "亩", "公顷", "吨",
    "公斤", "岁", "周岁", "周年", "季度", "章", "枚", "颗", "株", "棵", "只", "头",
}  # fmt: skip
# ... and after digits (a digit number needs no unit; these just get attached)
_UNITS = _CN_UNITS | {
    "%", "‰", "度", "级", "层", "段", "节", "字", "片", "本", "页", "门", "例", "宗",
    "笔", "克", "升", "瓦", "瓦时", "立方米", "厘米", "毫米", "英镑", "日元", "间",
    "栋", "幢", "块", "册", "首",
}  # fmt: skip
_LATIN_UNITS = {
    "km", "kg", "kW", "kWh", "MW", "MWh", "GW", "GWh", "TWh", "W", "m", "cm", "mm",
    "m2", "m²", "m3", "m³", "GB", "TB", "MB", "nm", "Hz", "kHz", "MHz", "GHz", "t",
}  # fmt: skip
_MAX_UNIT = max(len(u) for u in _UNITS)

_UNIT_ALIAS = {"％": "%", "名": "人", "个百分点": "百分点"}

_DATE_UNITS = {"月日", "月", "日"}

_PREFIX_CMP = sorted(
    {
        "不低于": ">=", "不少于": ">=", "至少": ">=", "不超过": "<=", "不高于": "<=",
        "不多于": "<=", "最多": "<=", "不足": "<", "不到": "<", "低于": "<", "少于": "<",
        "小于": "<", "超过": ">", "高于": ">", "多于": ">", "大于": ">", "逾": ">",
        "突破": ">", "超": ">", "大约": "~", "约": "~", "接近": "~", "将近": "~", "近": "~",
    }.items(),
    key=lambda kv: -len(kv[0]),
)  # fmt: skip
_SUFFIX_CMP = sorted(
    {
        "及以上": ">=", "以上": ">=", "以下": "<=", "以内": "<=", "之内": "<=",
        "左右": "~", "上下": "~", "开外": ">",
    }.items(),
    key=lambda kv: -len(kv[0]),
)  # fmt: skip

_WS = " \t\u3000\xa0\r\n"
_HWS = " \t\u3000\xa0"

_DIG = r"(?:[0-9]{1,3}(?:,[0-9]{3})+(?![0-9])|[0-9]+)(?:\.[0-9]+)?"
_CN = rf"[{CN_CHARS}]+(?:点[{CN_DEC_DIGITS}]+)?"
_RX = re.compile(
    rf"(?P<iso>(?<![0-9.])(?P<y>[0-9]{{4}})(?P<sep>[-/.])(?P<mo>[0-9]{{1,2}})(?P=sep)(?P<d>[0-9]{{1,2}})(?![0-9]))"
    rf"|(?P<time>(?<![0-9.])[0-9]{{1,2}}[ \t]?:[ \t]?[0-9]{{2}}(?![0-9]))"
    rf"|(?P<pct>(?P<pw>[百千])分之[ \t]?(?P<pn>{_DIG}|{_CN}))"
    rf"|(?P<dig>{_DIG})"
    rf"|(?P<cn>{_CN})"
)
_NUM_AT = re.compile(rf"(?P<dig>{_DIG})|(?P<cn>{_CN})")
_RANGE_SEP = re.compile(r"[ \t]?(?:-|~|—|–|至|到)[ \t]?")
_DAY = re.compile(rf"[ \t]?(?P<d>[0-9]{{1,2}}|[{ONE_TO_TEN}]{{1,3}})[ \t]?[日号]")
_SKIP_SPANS = re.compile(
    r"[\[［【〔][ \t]*[0-9][0-9,，、 \t\-–]*[\]］】〕]"  # 〔2025〕, [1], [1, 2]
    r"|[(（][ \t]*[0-9]{4}[ \t]*[)）][ \t]*[0-9]+[ \t]*号"  # (2025)12号
)
# passages only: join lines broken inside a figure ("203\n0 年", "240小\n时"),
# but not in front of a heading
_LINE_JOIN = re.compile(
    rf"[ \t\u3000\xa0]*\n\s*+(?!(?:[0-9]{{1,3}}|[{ONE_TO_TEN}]{{1,3}})[ \t]?[.、．)）]|[(（〔【\[])"
)
_FW_THOUSANDS = re.compile(r"(?<=[０-９])，(?=[０-９]{3}(?![０-９]))")
_CN_WORD_AFTER = ("位一体", "台河")  # 三位一体, 七台河


# --------------------------------------------------------------------------------
# Extraction


@dataclass
class _Num:
    start: int
    end: int
    value: Decimal  # before the multiplier
    mult: Decimal
    unit: str
    approx: bool  # 余 / 多
    year_like: bool  # written as four digits
    code: bool
    cn: bool


def _skip_ws(t: str, p: int, limit: int = 3) -> int:
    n = 0
    while p < len(t) and t[p] in _WS and n < limit:
        p, n = p + 1, n + 1
    return p


def _prev_char(t: str, s: int) -> str:
    p = s - 1
    while p >= 0 and t[p] in _HWS and s - p <= 2:
        p -= 1
    return t[p] if p >= 0 else ""


def unit_at(text: str, at: int) -> str:
    """The canonical unit a measure word starting at text[at] names (`张`, `吨`,
    `名` -> `人`), or '' (how a question says what its figure counts: 多少吨)."""
    unit = _match_unit(text, at, cn=True)
    return _UNIT_ALIAS.get(unit, unit)


def _match_unit(t: str, q: int, cn: bool) -> str:
    if q >= len(t):
        return ""
    if "a" <= t[q].lower() <= "z":
        if cn:
            return ""
        m = re.match(r"[A-Za-z]+[23²³]?", t[q:])
        word = m.group(0) if m else ""
        return word if word in _LATIN_UNITS else ""
    units = _CN_UNITS if cn else _UNITS
    for n in range(min(_MAX_UNIT, len(t) - q), 0, -1):
        if t[q : q + n] in units:
            return t[q : q + n]
    return ""


def _read_tail(t: str, p: int, cn: bool) -> tuple[Decimal, bool, str, int]:
    """After a number at `p`: multipliers, 余/多, unit. Returns (mult, approx, unit, end)."""
    mult, approx, end = Decimal(1), False, p
    q = _skip_ws(t, p)
    while q < len(t):
        unit = _match_unit(t, q, cn)
        if unit:
            return mult, approx, unit, q + len(unit)
        c = t[q]
        if c in _MULT:
            mult *= _MULT[c]
            end = q + 1
            q = _skip_ws(t, end)
            continue
        if c in "余多" and not approx:
            q2 = _skip_ws(t, q + 1)
            if _match_unit(t, q2, cn) or (q2 < len(t) and t[q2] in _MULT):
                approx, q = True, q2
                continue
        break
    return mult, approx, "", end


def _is_heading(t: str, s: int, e: int) -> bool:
    line_start = t.rfind("\n", 0, s) + 1
    if t[line_start:s].strip(_HWS):
        return False
    return e < len(t) and t[e] in ".、)）" and (e + 1 >= len(t) or not t[e + 1].isdigit())


def _read_number(t: str, m: re.Match[str], skips: list[tuple[int, int]], lenient: bool) -> _Num | None:
    """The number matched by `m` (a `dig` or `cn` match) with its tail, or None if it
    is not a quantity."""
    s, e = m.start(), m.end()
    if any(a <= s < b for a, b in skips):
        return None
    prev = _prev_char(t, s)
    if prev == "第" or (s > 0 and t[s - 1] == "届"):
        return None
    if m.group("dig") is not None:
        raw = m.group("dig")
        digits = raw.replace(",", "")
        if _is_heading(t, s, e) and len(digits) <= 3 and "." not in digits:
            return None
        if s > 0 and t[s - 1] in "(（" and e < len(t) and t[e] in ")）" and len(digits) <= 2:
            return None
        value = Decimal(digits)
        before = t[s - 1] if s > 0 else ""
        after = t[e] if e < len(t) else ""
        code = (
            (before.isascii() and before.isalpha())
            or (len(digits) > 1 and digits[0] == "0" and digits[1] != ".")
            or (after.isascii() and after.isalpha() and not _match_unit(t, e, False))
        )
        if code:
            return _Num(s, e, value, Decimal(1), "", False, False, True, False)
        mult, approx, unit, end = _read_tail(t, e, cn=False)
        year_like = len(digits) == 4 and raw.isdigit()
        cn = False
    else:
        tok = m.group("cn")
        if prev in "数几若" and prev:
            return None  # 数十家, 几十家: "dozens"
        if tok[0] not in CN_START or re.sub(r"\s", "", t[e : e + 8]).startswith(_CN_WORD_AFTER):
            return None
        cv = parse_cn(tok)
        if cv is None:
            return None
        value = cv
        mult, approx, unit, end = _read_tail(t, e, cn=True)
        big = any(c in CN_BIG for c in tok) or mult != 1
        if not unit and not big:
            return None
        if tok in ("一", "壹") and not big and not lenient:
            return None  # 一批, 一个: an article, not a figure
        year_like = len(tok) == 4 and all(c in CN_DIGIT for c in tok)
        cn = True
    if not unit:
        q = _skip_ws(t, end, 1)
        if q < len(t) and t[q] in "号届":
            return None
    return _Num(s, end, value, mult, unit, approx, year_like, False, cn)


def _comparator(t: str, num: _Num, end: int) -> str:
    head = t[max(0, num.start - 6) : num.start].rstrip(_WS)
    for word, sym in _PREFIX_CMP:
        if head.endswith(word):
            return sym
    q = _skip_ws(t, end, 1)
    for word, sym in _SUFFIX_CMP:
        if t.startswith(word, q):
            return sym
    return ">" if num.approx else ""


def _make(text: str, t: str, num: _Num, unit: str, mult: Decimal, cmp_end: int, cmp_from: _Num | None = None) -> Figure:
    value = num.value * mult
    unit = _UNIT_ALIAS.get(unit, unit)
    kind = "quantity"
    if num.code:
        kind = "code"
    elif unit in _DATE_UNITS:
        kind = "date"
    elif unit == "年" and num.year_like and mult == 1 and 1900 <= value <= 2100:
        kind = "year"
    cmp = _comparator(t, cmp_from or num, cmp_end)
    return Figure(text[num.start : num.end], float(value), unit, num.start, num.end, cmp, kind)


def _extract(text: str, lenient: bool = False) -> list[Figure]:
    t = text.translate(_TRANS)
    if "，" in text:  # １，２００: a full-width comma between full-width digits groups thousands
        for m in _FW_THOUSANDS.finditer(text):
            t = t[: m.start()] + "," + t[m.end() :]
    skips = [(m.start(), m.end()) for m in _SKIP_SPANS.finditer(t)]
    out: list[Figure] = []
    pos = 0
    while True:
        m = _RX.search(t, pos)
        if m is None:
            break
        pos = m.end()
        if m.group("time") is not None:
            continue
        if m.group("iso") is not None:
            y, mo, d = int(m.group("y")), int(m.group("mo")), int(m.group("d"))
            if 1 <= mo <= 12 and 1 <= d <= 31:
                ys, ye = m.span("y")
                kind = "year" if 1900 <= y <= 2100 else "quantity"
                out.append(Figure(text[ys:ye], float(y), "年", ys, ye, "", kind))
                ms, de = m.start("mo"), m.end("d")
                out.append(Figure(text[ms:de], float(mo * 100 + d), "月日", ms, de, "", "date"))
                continue
            # not a date: read it again as an ordinary number
            m = _NUM_AT.match(t, m.start())
            assert m is not None
            pos = m.end()
        if m.groupdict().get("pct") is not None:
            if any(a <= m.start() < b for a, b in skips):
                continue
            pn = m.group("pn")
            if pn[0].isdigit():
                v: Decimal | None = Decimal(pn.replace(",", ""))
            else:
                v = parse_cn("一" + pn if pn[0] in "百千" else pn)
            if v is None:
                continue
            num = _Num(m.start(), m.end(), v, Decimal(1), "", False, False, False, True)
            out.append(_make(text, t, num, "%" if m.group("pw") == "百" else "‰", Decimal(1), m.end()))
            continue
        num = _read_number(t, m, skips, lenient)
        if num is None:
            continue
        pos = max(pos, num.end)
        if num.code:
            out.append(_make(text, t, num, "", Decimal(1), num.end))
            continue
        if num.unit == "月" and (dm := _DAY.match(t, num.end)):
            day = parse_cn(dm.group("d")) if not dm.group("d").isdigit() else Decimal(dm.group("d"))
            if day is not None and 1 <= day <= 31 and num.mult == 1:
                num.value = num.value * 100 + day
                num.end = dm.end()
                pos = num.end
                out.append(_make(text, t, num, "月日", Decimal(1), num.end))
                continue
        if not num.unit and (sep := _RANGE_SEP.match(t, num.end)):
            m2 = _NUM_AT.match(t, sep.end())
            num2 = _read_number(t, m2, skips, lenient) if m2 else None
            if num2 is not None and num2.unit and not num2.code:
                mult1 = num.mult if num.mult != 1 else num2.mult
                out.append(_make(text, t, num, num2.unit, mult1, num2.end))
                out.append(_make(text, t, num2, num2.unit, num2.mult, num2.end, cmp_from=num))
                pos = num2.end
                continue
        out.append(_make(text, t, num, num.unit, num.mult, num.end))
    return out


def extract_figures(text: str) -> list[Figure]:
    """Every figure in `text`, in order of position."""
    return _extract(text)


# --------------------------------------------------------------------------------
# Comparison


def _fold_unit(unit: str) -> tuple[Decimal, str]:
    """'亿元' -> (1e8, '元'); '万人次' -> (1e4, '人次'); '百分点' stays."""
    factor = Decimal(1)
    while len(unit) > 1 and unit[0] in _MULT and (unit[1:] in _UNITS or unit[1] in _MULT):
        factor *= _MULT[unit[0]]
        unit = unit[1:]
    return factor, _UNIT_ALIAS.get(unit, unit)


def _round(v: float) -> float:
    return float(f"{v:.12g}")


def normalise(fig: Figure) -> tuple[float, str]:
    """The comparison key: value with any 万/亿 still in the unit folded in, rounded
    to 12 significant digits, and the canonical unit."""
    factor, unit = _fold_unit(fig.unit)
    try:
        value = Decimal(repr(fig.value)) * factor
    except InvalidOperation:  # nan / inf
        return fig.value, unit
    return _round(float(value)), unit


def is_date_like(fig: Figure) -> bool:
    """A year (``2025年``) or a calendar date (``3月11日``, ``6月``), not a quantity."""
    if fig.kind in ("year", "date"):
        return True
    value, unit = normalise(fig)
    return unit in _DATE_UNITS or (unit == "年" and value.is_integer() and 1900 <= value <= 2100)


@lru_cache(maxsize=512)
def _passage_index(passage: str) -> tuple[frozenset[tuple[float, str]], frozenset[float]]:
    figs = _extract(passage, lenient=True)
    joined = _LINE_JOIN.sub("", passage.translate(_TRANS))
    if joined != passage:
        figs += _extract(joined, lenient=True)
    keys = set()
    for f in figs:
        value, unit = normalise(f)
        keys.add((value, unit))
        if unit == "月日":  # 3月11日 also states 3月 and 11日
            keys.add((float(int(value) // 100), "月"))
            keys.add((float(int(value) % 100), "日"))
    return frozenset(keys), frozenset(v for v, _ in keys)


def supported(figure: Figure, passage: str) -> bool:
    """True iff `passage` states `figure`: a figure with the same normalised value
    and the same unit, or -- when `figure` has no unit -- the same value in any unit.
    Comparators are not compared (``超过67.5%`` is supported by ``67.5%左右``)."""
    keys, values = _passage_index(passage)
    value, unit = normalise(figure)
    if not unit:
        return value in values
    return (value, unit) in keys


def unsupported_figures(sentence: str, passages: Sequence[str]) -> list[Figure]:
    """The figures of `sentence` that none of `passages` supports. Years and dates
    are checked like any other figure."""
    if isinstance(passages, str):
        passages = [passages]
    return [f for f in extract_figures(sentence) if not any(supported(f, p) for p in passages)]
