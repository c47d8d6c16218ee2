"""The user-style question set `eval/sets/users.jsonl` against the sample corpus: its
schema, every `must` string literally in a listed source, `must_not` strings absent
from the documents, and at least the agreed number of questions per type."""

from __future__ import annotations

from collections import Counter

import pytest

from eval.retrieval import read_jsonl
from policyqa.settings import PROJECT_ROOT

USERS = PROJECT_ROOT / "eval" / "sets" / "users.jsonl"
CORPUS = PROJECT_ROOT / "data" / "corpus"
MIN_PER_TYPE = {"multipart": 10, "list": 8, "figure": 12, "meta": 10, "verbatim": 5, "enterprise": 8, "abbrev": 6,
                "traditional": 5, "typo": 4, "english": 6, "falsepremise": 6, "followup": 5, "unanswerable": 10}
REQUIRED = {"id", "type", "question", "must", "sources", "refuse"}
OPTIONAL = {"history", "must_not"}


@pytest.fixture(scope="module")
def items() -> list[dict]:
    return read_jsonl(USERS)


@pytest.fixture(scope="module")
def corpus() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in CORPUS.glob("*.txt")}


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(s, str) and s for s in value)


def test_users_set_has_the_schema_and_unique_ids(items: list[dict]) -> None:
    ids = Counter(i["id"] for i in items)
    assert [k for k, n in ids.items() if n > 1] == []
    for item in items:
        assert REQUIRED <= set(item) and set(item) <= REQUIRED | OPTIONAL, item["id"]
        assert item["id"].startswith("u-") and item["type"] in MIN_PER_TYPE, item["id"]
        assert isinstance(item["question"], str) and item["question"].strip(), item["id"]
        assert ("history" in item) == (item["type"] == "followup"), item["id"]
        for turn in item.get("history", []):
            assert _strings(turn) and len(turn) == 2, item["id"]
        assert isinstance(item["refuse"], bool) and item["refuse"] == (item["type"] == "unanswerable"), item["id"]
        assert isinstance(item["must"], list) and all(_strings(g) and g for g in item["must"]), item["id"]
        assert _strings(item["sources"]), item["id"]
        if item["refuse"]:
            assert item["must"] == [] and item["sources"] == [], item["id"]
        else:
            assert item["must"] and item["sources"], item["id"]
        assert ("must_not" in item) == (item["type"] == "falsepremise"), item["id"]
        assert _strings(item.get("must_not", [])), item["id"]


def test_users_must_strings_occur_literally_in_a_listed_source(items: list[dict], corpus: dict[str, str]) -> None:
    absent = []
    for item in items:
        assert set(item["sources"]) <= set(corpus), item["id"]
        texts = [corpus[s] for s in item["sources"]]
        absent += [(item["id"], s) for g in item["must"] for s in g if not any(s in t for t in texts)]
    assert absent == []


def test_users_must_not_strings_are_the_asserted_wrong_figures(items: list[dict], corpus: dict[str, str]) -> None:
    """A false premise's wrong figure is in the question and in no document, so it is
    never the documents' figure for the indicator asked about."""
    for item in items:
        for wrong in item.get("must_not", []):
            assert wrong in item["question"], item["id"]
            assert [name for name, text in corpus.items() if wrong in text] == [], (item["id"], wrong)
            assert not any(wrong in s or s in wrong for g in item["must"] for s in g), (item["id"], wrong)


def test_users_set_has_enough_questions_of_every_type(items: list[dict]) -> None:
    counts = Counter(i["type"] for i in items)
    assert set(counts) == set(MIN_PER_TYPE)
    assert {t: counts[t] for t, n in MIN_PER_TYPE.items() if counts[t] < n} == {}
