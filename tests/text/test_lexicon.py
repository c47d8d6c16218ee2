"""The one reader of the word lists kept as data files."""

from __future__ import annotations

from importlib import resources
from typing import Any, Callable

import pytest

from policyqa.text.lexicon import read_lines, read_pairs, read_words

# every data file of resources/, the reader its owner uses, and an entry it holds
LISTS = [
    ("domain_words.txt", read_lines, "高新技术企业"),
    ("stopwords.txt", read_lines, "的"),
    ("question_words.txt", read_words, "多少"),
    ("ambiguous_places.txt", read_words, "来宾"),
    ("doc_status.txt", read_lines, None),
    ("addressee_words.txt", read_lines, None),
    ("radicals.txt", read_lines, None),
    ("scope_words.txt", read_lines, "全省\tprovince\tquestion sentence whole frame"),
    ("aliases.txt", read_pairs, ("高企", "高新技术企业")),
    ("province_abbreviations.txt", read_pairs, ("沪", "上海市")),
    ("zhejiang_counties.txt", read_pairs, ("舟山市", "定海区 普陀区 岱山县 嵊泗县")),
]


@pytest.mark.parametrize(("name", "reader", "holds"), LISTS)
def test_lists_read_without_comments(name: str, reader: Callable[[str], list[Any]], holds: object) -> None:
    entries = reader(name)
    assert entries and not any(str(e).startswith(("#", "('#")) for e in entries)
    if holds is not None:
        assert holds in entries


def test_every_resource_is_listed() -> None:
    folder = resources.files("policyqa.text").joinpath("resources")
    assert {f.name for f in folder.iterdir() if f.name.endswith(".txt")} == {name for name, _, _ in LISTS}


@pytest.mark.parametrize(("alias", "canonical"), [("高企", "高新技术企业"), ("科小", "科技型中小企业")])
def test_aliases_are_pairs(alias: str, canonical: str) -> None:
    assert (alias, canonical) in read_pairs("aliases.txt")
