"""Dates: one table per use (reading a date, a date line, a date in a passage, a
signing date)."""

from __future__ import annotations

import re

import pytest

from policyqa.text.dates import (
    WRITTEN_DATE,
    has_date,
    is_date_line,
    opens_with_date,
    parse_date,
    signed_dates,
)


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2025年3月11日", "2025-03-11"),
        ("2025-03-11 14:51", "2025-03-11"),
        ("2025/9/8", "2025-09-08"),
        ("2025.9.8", "2025-09-08"),
        ("二〇二五年三月十一日", "2025-03-11"),
        ("二O二五年三月十一日", "2025-03-11"),  # OCR's letter O for 〇
        ("二○二五年十二月三十一日", "2025-12-31"),
        ("2025年3月", "2025-03"),
        ("2025年13月", ""),
        ("2025年3月32日", "2025-03"),  # an impossible day is left out
        ("2024", "2024"),
        ("2024年", "2024"),
        ("1880年", ""),
        ("无日期", ""),
    ],
)
def test_parse_date(text: str, iso: str) -> None:
    assert parse_date(text) == iso


@pytest.mark.parametrize(
    ("line", "any_numerals", "digits_only"),
    [
        ("2025年3月11日", True, True),
        ("2025 年 3 月", True, True),
        ("二〇二五年三月十一日", True, False),  # cleaning reads digit dates only
        ("二〇二五年三月", True, False),
        ("2025年3月11日印发", False, False),
        ("2025-03-11", False, False),
        ("第2025年", False, False),
    ],
)
def test_is_date_line(line: str, any_numerals: bool, digits_only: bool) -> None:
    assert (is_date_line(line), is_date_line(line, chinese_numerals=False)) == (any_numerals, digits_only)


@pytest.mark.parametrize(
    ("line", "opens"),
    [("2025年3月11日，省科技厅召开会议", True), ("2025年3月", True), ("2025 年 3 月", False), ("据2025年3月", False)],
)
def test_opens_with_date(line: str, opens: bool) -> None:
    assert opens_with_date(line) is opens


@pytest.mark.parametrize(
    ("text", "written"),
    [("2025年3月11日印发", "2025年3月11日"), ("二〇二五年三月十一日", "二〇二五年三月十一日"), ("2025年3月", None)],
)
def test_written_date(text: str, written: str | None) -> None:
    m = re.search(WRITTEN_DATE, text)
    assert (m.group(0) if m else None) == written


@pytest.mark.parametrize(
    ("text", "dated"),
    [
        ("自2025年3月1日起施行", True),
        ("截至2025-03", True),
        ("3月1日起", True),
        ("二〇二五年三月一日", False),  # passages are read for digit dates
        ("目标2025家", False),
        ("1800年", False),
    ],
)
def test_has_date(text: str, dated: bool) -> None:
    assert has_date(text) is dated


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("浙江省科学技术厅\n2025年3月11日", ["2025年3月11日"]),
        ("2024年1月2日印发；2025 年 3 月 11 日", ["2024年1月2日", "2025 年 3 月 11 日"]),
        ("2025年3月", []),
    ],
)
def test_signed_dates(text: str, dates: list[str]) -> None:
    assert [m.group(0) for m in signed_dates(text)] == dates
