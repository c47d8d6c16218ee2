"""Places: one table per rule (stems, provinces of cities, names found in documents,
the names a question uses, scope words)."""

from __future__ import annotations

import pytest

from policyqa.text.places import (
    PROVINCE_ABBR,
    PROVINCES,
    ZHEJIANG_CITIES,
    ZHEJIANG_COUNTIES,
    Place,
    ambiguous_stems,
    find_places,
    place_stem,
    province_of,
    frame_words,
    question_scope_words,
    whole_area,
    wider_words,
)


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("绍兴市", "绍兴"),
        ("浙江省", "浙江"),
        ("黑龙江省", "黑龙江"),
        ("新疆维吾尔自治区", "新疆"),
        ("广西壮族自治区", "广西"),
        ("内蒙古自治区", "内蒙古"),
        ("香港特别行政区", "香港"),
        ("新昌县", "新昌"),
        ("余杭区", "余杭"),
        ("沙市", "沙市"),  # a stem keeps two characters
        ("杭州", "杭州"),
    ],
)
def test_place_stem(name: str, stem: str) -> None:
    assert place_stem(name) == stem


@pytest.mark.parametrize(
    ("place", "province"),
    [
        ("本溪市", "辽宁省"),  # the copy in rag/match.py (_CITY_PROVINCE) knew only a few cities
        ("德阳市", "四川省"),
        ("绍兴市", "浙江省"),
        ("新昌县", "浙江省"),
        ("义乌市", "浙江省"),
        ("浙江省", None),  # a province has no province
        ("不存在市", None),
    ],
)
def test_province_of(place: str, province: str | None) -> None:
    assert province_of().get(place) == province


@pytest.mark.parametrize(
    ("text", "places"),
    [
        ("绍兴市新昌县的政策", [Place("绍兴市", "city"), Place("新昌县", "county")]),
        ("杭州和宁波", [Place("杭州市", "city"), Place("宁波市", "city")]),
        ("浙江省人民政府", [Place("浙江省", "province")]),
        ("新疆维吾尔自治区和内蒙古", [Place("新疆维吾尔自治区", "province"), Place("内蒙古自治区", "province")]),
        ("余杭区", [Place("余杭区", "county")]),
        # county-level cities are counties, and the list is today's, not cpca's older table
        ("龙港市", [Place("龙港市", "county")]),
        ("临平区", [Place("临平区", "county")]),
        ("下城区", []),  # merged into 拱墅区 in 2021
        ("新昌", []),  # counties only with their suffix
        ("江苏省苏州市", [Place("江苏省", "province")]),  # cities outside Zhejiang are not read from documents
        ("没有地名", []),
    ],
)
def test_find_places(text: str, places: list[Place]) -> None:
    assert find_places(text) == places


@pytest.mark.parametrize(
    ("table", "key", "value"),
    [
        (PROVINCES, "浙江", "浙江省"),
        (PROVINCES, "北京", "北京市"),
        (PROVINCES, "宁夏", "宁夏回族自治区"),
        (PROVINCE_ABBR, "京", "北京市"),
        (PROVINCE_ABBR, "皖", "安徽省"),
        (PROVINCE_ABBR, "徽", "安徽省"),
        (ZHEJIANG_CITIES, "丽水", "丽水市"),
        (ZHEJIANG_COUNTIES, "景宁畲族自治县", "丽水市"),
        (ZHEJIANG_COUNTIES, "钱塘区", "杭州市"),
        (ZHEJIANG_COUNTIES, "玉环市", "台州市"),
    ],
)
def test_name_tables(table: dict[str, str], key: str, value: str) -> None:
    assert table[key] == value


@pytest.mark.parametrize(
    ("table", "size"),
    [(PROVINCES, 34), (PROVINCE_ABBR, 35), (ZHEJIANG_CITIES, 11), (ZHEJIANG_COUNTIES, 90)],
)
def test_name_table_sizes(table: dict[str, str], size: int) -> None:
    assert len(table) == size


@pytest.mark.parametrize(
    ("word", "ambiguous"),
    [("来宾", True), ("白银", True), ("中山", True), ("绍兴", False), ("Prefecture-level", False)],
)
def test_ambiguous_stems(word: str, ambiguous: bool) -> None:
    assert (word in ambiguous_stems()) is ambiguous


@pytest.mark.parametrize(
    ("word", "level"),
    [("全省", "province"), ("省里", "province"), ("省级", "province"), ("本省", "province"),
     ("全市", "city"), ("本市", "city"), ("市里", "city"), ("我省", None), ("全国", None), ("全县", None)],
)
def test_question_scope_words(word: str, level: str | None) -> None:
    assert question_scope_words().get(word) == level


@pytest.mark.parametrize(
    ("word", "frames"),
    [("全省", True), ("本省", True), ("全市", True), ("本市", True), ("全县", True), ("全区", True),
     ("省里", False), ("我省", False), ("全国", False)],
)
def test_frame_words(word: str, frames: bool) -> None:
    assert (word in frame_words()) is frames


@pytest.mark.parametrize(("level", "word"), [("province", "全省"), ("city", "全市")])
def test_whole_area(level: str, word: str) -> None:
    assert whole_area(level) == word


@pytest.mark.parametrize(
    ("level", "words"),
    [("province", {"全国"}), ("city", {"全国", "全省", "我省", "本省"})],
)
def test_wider_words(level: str, words: set[str]) -> None:
    assert set(wider_words(level)) == words
