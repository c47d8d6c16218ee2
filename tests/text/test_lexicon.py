"""The one reader of the word lists kept as data files."""

from __future__ import annotations

import pytest

from policyqa.text.lexicon import read_lines, read_pairs, read_words


@pytest.mark.parametrize(
    ("name", "reader", "holds"),
    [
        ("domain_words.txt", read_lines, "高新技术企业"),
        ("stopwords.txt", read_lines, "的"),
        ("question_words.txt", read_words, "多少"),
        ("ambiguous_places.txt", read_words, "来宾"),
        ("doc_status.txt", read_lines, None),
        ("addressee_words.txt", read_lines, None),
        ("radicals.txt", read_lines, None),
    ],
)
def test_lists_read_without_comments(name: str, reader, holds: str | None) -> None:  # type: ignore[no-untyped-def]
    entries = reader(name)
    assert entries and not any(e.startswith("#") for e in entries)
    if holds is not None:
        assert holds in entries


@pytest.mark.parametrize(("alias", "canonical"), [("高企", "高新技术企业"), ("科小", "科技型中小企业")])
def test_aliases_are_pairs(alias: str, canonical: str) -> None:
    assert (alias, canonical) in read_pairs("aliases.txt")
