"""Dates as Chinese documents write them: 2025年3月1日, 二〇二五年三月一日, 2025-03-01.
One owner for the parts (a year in digits or in Chinese numerals, a month, a day) and
for what the stages ask of a date:

- `parse_date`: the first date of a string as ISO (metadata: issue and signing dates);
- `is_date_line`: a line that is nothing but a date (the date under a 公文's
  signature); cleaning keeps to dates in digits, because a line of Chinese numerals
  there may be a heading's continuation; `opens_with_date`: a dateline (chunking);
- `WRITTEN_DATE`: a full 年月日 date, digits or Chinese numerals (`印发` lines);
- `has_date` and `signed_dates`: dates in digits inside a passage (answers quote them
  as written).
"""

from __future__ import annotations

import re
from typing import Iterator

from policyqa.text.numerals import small_number
from policyqa.text.numerals import ONE_TO_TEN

_CN_YEAR = "[〇零一二三四五六七八九○]{4}"  # 二〇二五; typists also write ○
_MONTH = rf"[\d{ONE_TO_TEN}]{{1,2}}"
_DAY = rf"[\d{ONE_TO_TEN}]{{1,3}}"

WRITTEN_DATE = rf"(?:\d{{4}}|{_CN_YEAR})\s*年\s*{_MONTH}\s*月\s*{_DAY}\s*日"
_WRITTEN_LINE = re.compile(rf"^(?:\d{{4}}|{_CN_YEAR})\s*年\s*{_MONTH}\s*月(?:\s*{_DAY}\s*日)?$")
_DIGIT_LINE = re.compile(r"^\d{4}\s*年\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?$")
_OPENING = re.compile(r"\d{4}年\d{1,2}月")
# any date, the year in digits or Chinese numerals (OCR reads 〇 as the letter O too),
# separated by - / . or 年月日; the day and the month may be missing
_ANY = re.compile(
    rf"(\d{{4}}|[〇零一二三四五六七八九○O]{{4}})\s*[-/.年]\s*(\d{{1,2}}|[{ONE_TO_TEN}]{{1,2}})\s*(?:[-/.月]\s*"
    rf"(\d{{1,2}}|[{ONE_TO_TEN}]{{1,3}})\s*日?|月)?"
)
_YEAR_ONLY = re.compile(r"\s*(\d{4})\s*年?\s*")
# a date in digits within a passage: 2025年3月, 2025-03-01, 3月1日
_IN_TEXT = re.compile(r"(?:19|20)\d{2}\s*[-./年]\s*\d{1,2}(?:\s*[-./月]\s*\d{1,2})?|\d{1,2}\s*月\s*\d{1,2}\s*日")
_FULL_DIGITS = re.compile(r"(?:19|20)\d{2}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日")


def parse_date(s: str) -> str:
    """The first date in `s` as ISO `yyyy-mm-dd` (or `yyyy-mm`, `yyyy`); "" if none."""
    s = s.strip()
    m = _ANY.search(s)
    if m:
        y, mo, d = small_number(m.group(1)), small_number(m.group(2)), small_number(m.group(3) or "")
        if y and 1900 <= y <= 2100 and mo and 1 <= mo <= 12:
            if d and 1 <= d <= 31:
                return f"{y:04d}-{mo:02d}-{d:02d}"
            return f"{y:04d}-{mo:02d}"
    m = _YEAR_ONLY.fullmatch(s)
    if m and 1900 <= int(m.group(1)) <= 2100:
        return m.group(1)
    return ""


def is_date_line(line: str, chinese_numerals: bool = True) -> bool:
    """`line` is a 年月(日) date and nothing else; with `chinese_numerals` False only
    one written in digits."""
    return bool((_WRITTEN_LINE if chinese_numerals else _DIGIT_LINE).match(line))


def opens_with_date(line: str) -> bool:
    """`line` starts with a year and month in digits (2025年3月…): a dateline, not a heading."""
    return bool(_OPENING.match(line))


def has_date(text: str) -> bool:
    """`text` holds a date in digits (a year with its month, or a month with its day)."""
    return bool(_IN_TEXT.search(text))


def signed_dates(text: str) -> Iterator[re.Match[str]]:
    """Full 年月日 dates in digits, as a signature or a 印发 line writes them."""
    return _FULL_DIGITS.finditer(text)
