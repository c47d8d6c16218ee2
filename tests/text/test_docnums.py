"""Document numbers: one table per use (normalise, find, whole line)."""

from __future__ import annotations

import pytest

from policyqa.text.docnums import (
    doc_numbers,
    is_doc_number_line,
    normalise_doc_number,
    without_doc_numbers,
)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("浙科提〔2025〕315号", "浙科提〔2025〕315号"),
        ("浙科提[2025]315号", "浙科提〔2025〕315号"),
        ("国办发（2020）1号", "国办发〔2020〕1号"),
        ("文号：浙政办发［2024］ 12 号", "浙政办发〔2024〕12号"),
        ("浙政办发 〔2024〕 12号", "浙政办发〔2024〕12号"),
        ("没有文号", ""),
        ("某某〔1880〕3号", ""),  # a year outside 1900-2099 is not a document's
    ],
)
def test_normalise(text: str, number: str) -> None:
    assert normalise_doc_number(text) == number


@pytest.mark.parametrize(
    ("text", "found"),
    [
        # the issuer code takes the characters before it (up to 12): callers normalise or compare by suffix
        ("根据浙政办发〔2024〕12号和绍政发 [2023] 5 号文件", ["根据浙政办发〔2024〕12号", "和绍政发[2023]5号"]),
        ("见浙政办发（2024）12号。", ["见浙政办发（2024）12号"]),
        ("2025年目标5000家", []),
        ("第3号令", []),
    ],
)
def test_find(text: str, found: list[str]) -> None:
    assert doc_numbers(text) == found


@pytest.mark.parametrize(
    ("line", "whole"),
    [
        ("浙政办发〔2024〕12号", True),
        ("浙政办发 〔2024〕 12 号", True),
        ("根据浙政办发〔2024〕12号", True),  # the issuer code may run up to 12 characters
        ("根据浙政办发〔2024〕12号文件", False),
        ("浙政办发〔2024〕12号。", False),
    ],
)
def test_whole_line(line: str, whole: bool) -> None:
    assert is_doc_number_line(line) is whole


def test_removed_from_a_question() -> None:
    assert without_doc_numbers("浙科提〔2025〕315号的答复说了什么") == " 的答复说了什么"
