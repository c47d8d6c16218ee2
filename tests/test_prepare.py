"""The prepared question: comparison sides, and evidence moved where its quote can run on."""

from __future__ import annotations

import pytest

from ingest.tokenize import Tokenizer
from policyqa.types import Chunk, Hit
from rag.answerability import load_calibration
from rag.answerers.extractive import quotes
from rag.evidence import Scored, Sentence
from rag.prepare import Prepared, Preparer, Side, sides_of

# Two consecutive passages of one document: the second repeats the first's last sentence.
FIRST = "疫情防控期间慈善捐赠相关政策答疑。" * 8 + "1、什么样的慈善组织可以进行公开募捐？"
SECOND = "1、什么样的慈善组织可以进行公开募捐？依法取得公开募捐资格的慈善组织可以开展公开募捐。2、捐赠如何开票？"
A = Chunk("c1", "d1", "faq.txt", FIRST, 0, len(FIRST), title="答疑")
B = Chunk("c2", "d1", "faq.txt", SECOND, FIRST.index("1、"), FIRST.index("1、") + len(SECOND), title="答疑")


class _Store:
    def chunks_of(self, source: str) -> list[Chunk]:
        return [A, B] if source == "faq.txt" else []


class _Retriever:
    store = _Store()


@pytest.fixture(scope="module")
def preparer() -> Preparer:
    return Preparer(_Retriever(), Tokenizer(), load_calibration())  # type: ignore[arg-type]


def _at_end() -> Scored:
    at = FIRST.index("1、")
    return Scored(Sentence(0, at, len(FIRST), FIRST[at:]), 1.0, False)


def test_a_sentence_ending_its_passage_is_taken_from_the_next_one(preparer: Preparer) -> None:
    hits = [Hit(A, 1.0)]
    moved = preparer._roomier(_at_end(), hits)
    assert len(hits) == 2 and hits[1].chunk is B  # the next passage, fetched
    assert moved.sentence.hit_index == 1 and moved.sentence.start == 0 and moved.sentence.text == _at_end().sentence.text
    # the question in the text is answered by what follows it, up to the next question
    q = "什么样的慈善组织可以公开募捐？"
    got = quotes(Prepared(q, q, tuple(hits), (moved,)))
    assert [t for _, t in got] == ["1、什么样的慈善组织可以进行公开募捐？", "依法取得公开募捐资格的慈善组织可以开展公开募捐。"]


def test_a_sentence_with_room_after_it_stays(preparer: Preparer) -> None:
    hits = [Hit(A, 1.0)]
    s = Scored(Sentence(0, 0, 17, FIRST[:17]), 1.0, False)
    assert len(FIRST) >= 150  # room for the quote to run on
    assert preparer._roomier(s, hits) is s and len(hits) == 1


@pytest.mark.parametrize(("question", "labels"), [
    ("2025年全省新认定高新技术企业目标多少家？", [""]),
    ("绍兴和丽水2025年新认定高新技术企业各多少家？", ["绍兴市", "丽水市"]),
    ("2024年和2025年全省新认定高新技术企业各多少家？", ["2024年", "2025年"]),
])
def test_sides_of(question: str, labels: list[str]) -> None:
    assert [s.label for s in sides_of(question)] == labels
    assert all(isinstance(s, Side) for s in sides_of(question))
