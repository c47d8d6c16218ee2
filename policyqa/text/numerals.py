"""Chinese numerals: one owner for their digits and how they read.

- `parse_chinese_numeral` reads a positional numeral as a figure: 一万二千 = 12000,
  两百五 = 250, 六十七点五 = 67.5; 十四五 and 三四 (= 3 or 4) are not numbers.
- `small_number` reads the numbers of dates and durations, where a year is written
  digit by digit (二〇二五, also with the letter O or ○ that OCR and typists use),
  with the maintained `cn2an` package.
- Figures keep a hand rule (`parse_cn`): cn2an reads 一亿十万 as 100000000 (the 十万
  is lost), 三四 as 34 (it means 3 or 4), and accepts malformed runs (十百一 = 20) that
  the figure extraction must reject as not a number.
- `HEADING_NUMERALS`: the characters of a numbered heading (一、 （三） 第十二条).
"""

from __future__ import annotations

from decimal import Decimal

import cn2an

__all__ = ["CN_CHARS", "CN_DEC_DIGITS", "CN_DIGIT", "CN_START", "HEADING_NUMERALS", "ONE_TO_TEN", "parse_chinese_numeral",
           "parse_cn", "small_number"]

CN_DIGIT = {
    "零": 0, "〇": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "两": 2, "三": 3, "叁": 3,
    "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7,
    "八": 8, "捌": 8, "九": 9, "玖": 9,
}  # fmt: skip
CN_SMALL = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
CN_BIG = {"万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8}
CN_CHARS = "".join(CN_DIGIT) + "".join(CN_SMALL) + "".join(CN_BIG)
CN_START = set(CN_DIGIT) | {"十", "拾"}
CN_DEC_DIGITS = "零〇一二三四五六七八九"

HEADING_NUMERALS = "一二三四五六七八九十百零〇"
# The numerals of ordinals, list markers, months and days (一是, 十、, 十二月).
ONE_TO_TEN = "一二三四五六七八九十"
# Zeros of a year written digit by digit: 二O二五, 二○二五.
_YEAR_ZEROS = str.maketrans("O○", "〇〇")


def _int(s: str) -> int | None:
    if not s:
        return None
    if all(c in CN_DIGIT for c in s):
        if len(s) == 1:
            return CN_DIGIT[s]
        if "两" in s or (len(s) < 4 and not any(c in "零〇" for c in s)):
            return None  # 三四 (= 3 or 4), 五一 are not 34 and 51
        return int("".join(str(CN_DIGIT[c]) for c in s))  # 二〇二五, 一九四九
    total = 0  # whole 亿 groups
    wan = 0  # the 万 group below 亿
    small = 0  # below 万
    digit: int | None = None
    last_small = 10**5
    last_unit: int | None = None
    zero = False
    seen_wan = False
    for c in s:
        if c in CN_DIGIT:
            d = CN_DIGIT[c]
            if d == 0:
                if digit is not None:
                    return None
                zero = True
                continue
            if digit is not None:  # 十四五
                return None
            digit = d
        elif c in CN_SMALL:
            u = CN_SMALL[c]
            if digit is None:
                if u != 10:
                    return None
                digit = 1  # 十五
            if u >= last_small:
                return None
            small += digit * u
            digit, last_small, last_unit, zero = None, u, u, False
        elif c in CN_BIG:
            b = CN_BIG[c]
            part = small + (digit or 0)
            if b == 10**4:
                if seen_wan or part == 0:
                    return None
                wan, seen_wan = part * b, True
            else:
                group = wan + part
                if group == 0:
                    return None
                total = (total + group) * b
                wan, seen_wan = 0, False
            small, digit, last_small, last_unit, zero = 0, None, 10**5, b, False
        else:
            return None
    if digit is not None:
        if not zero and last_unit is not None:
            digit *= last_unit // 10  # 一万二 = 12000, 两百五 = 250, 十五 = 15
        small += digit
    return total + wan + small


def parse_cn(s: str) -> Decimal | None:
    if "点" in s:
        whole, _, frac = s.partition("点")
        w = _int(whole)
        if w is None or not frac or any(c not in CN_DEC_DIGITS for c in frac):
            return None
        return Decimal(f"{w}.{''.join(str(CN_DIGIT[c]) for c in frac)}")
    v = _int(s)
    return None if v is None else Decimal(v)


def parse_chinese_numeral(s: str) -> float | None:
    """``一万二千`` -> 12000.0, ``两百`` -> 200.0, ``六十七点五`` -> 67.5; None if `s`
    is not a well-formed Chinese numeral (``十四五``, ``百``)."""
    v = parse_cn(s)
    return None if v is None else float(v)


def small_number(s: str) -> int | None:
    """二〇二五 -> 2025, 十一 -> 11, 二十三 -> 23, 12 -> 12 (dates, durations)."""
    s = s.strip()
    if not s:
        return None
    if s.isdigit():
        return int(s)
    try:
        return int(cn2an.cn2an(s.translate(_YEAR_ZEROS), "normal"))
    except (ValueError, KeyError):  # cn2an raises KeyError on some malformed input (十十)
        return None
