"""policyqa.text.numerals: Chinese numerals as figures, and the numbers of dates."""

from __future__ import annotations

import pytest

from policyqa.text.numerals import parse_chinese_numeral, small_number


@pytest.mark.parametrize(
    "numeral,value",
    [("五千", 5000), ("一万二千", 12000), ("两百", 200), ("十五", 15), ("三百亿", 3e10), ("十", 10),
     ("二十", 20), ("一百零五", 105), ("一千零五十", 1050), ("五亿三千万", 5.3e8), ("一万亿", 1e12),
     ("二〇二五", 2025), ("一九四九", 1949), ("一二〇", 120), ("六十七点五", 67.5), ("一万二", 12000),
     ("零", 0),
     # where cn2an differs, and why figures keep the hand rule: cn2an gives 100000000, or rejects it
     ("一亿十万", 100100000), ("一亿五", 1.5e8)],
)  # fmt: skip
def test_parse_chinese_numeral(numeral, value):
    assert parse_chinese_numeral(numeral) == pytest.approx(value)


@pytest.mark.parametrize("bad", ["十四五", "百", "千万", "万", "十百", "一二十", "点五", "", "三四", "五一", "十百一"])  # cn2an: 十百一 = 20
def test_parse_chinese_numeral_rejects(bad):
    assert parse_chinese_numeral(bad) is None


@pytest.mark.parametrize(
    ("text", "value"),
    [("2025", 2025), ("二〇二五", 2025), ("二O二五", 2025), ("二○二五", 2025), ("十一", 11), ("十", 10),
     ("二十三", 23), ("三十", 30), ("五", 5), ("两", 2), ("", None), ("十四五", None), ("第一", None),
     ("十十", None), ("三四", 34), ("十两", 12)],
)  # fmt: skip
def test_small_number(text: str, value: int | None) -> None:
    assert small_number(text) == value
