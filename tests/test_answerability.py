"""The answer-or-refuse score: which constraints a sentence breaks, and how the
calibration turns features and broken constraints into one decision."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from ingest.tokenize import Tokenizer
from policyqa.errors import ConfigError
from policyqa.types import Chunk, Hit
from rag.answerability import VIOLATIONS, Calibration, Constraints, answerability_resource, load_calibration
from rag.evidence import EvidenceScorer

ZJ = Chunk("z1", "d1", "zj.txt", "2025年，全省新认定高新技术企业5000家以上。全省研发投入强度达到3.3%。",
           0, 40, title="2025年浙江省科技工作要点", region="浙江省", level="province", date="2025-03-01")
SX = Chunk("s1", "d2", "sx.txt", "2025年，全市新增高新技术企业220家。", 0, 20, title="2025年全市科技创新工作要点",
           region="绍兴市", level="city", date="2025-03-11")
NOREGION = Chunk("n1", "d3", "n.txt", "对新增就业岗位的小微企业，按每人1000元标准给予补贴。", 0, 30, title="关于稳就业的通知")


@pytest.fixture(scope="module")
def scorer() -> EvidenceScorer:
    return EvidenceScorer(Tokenizer())


def broken(scorer: EvidenceScorer, question: str, chunk: Chunk) -> set[str]:
    hits = [Hit(chunk, 1.0)]
    s = scorer.score(question, hits)[0]
    return set(Constraints.of(question, hits).broken(question, s, hits))


@pytest.mark.parametrize(("question", "chunk", "expected"), [
    ("2025年全省新认定高新技术企业多少家？", ZJ, set()),
    ("2026年全省新认定高新技术企业多少家？", ZJ, {"year"}),  # the document does not state 2026
    ("温州市新认定高新技术企业多少家？", ZJ, {"place", "place_absent", "scope_wider"}),  # no passage names 温州; 全省 is wider
    ("上海市新增高新技术企业多少家？", SX, {"place", "place_other", "place_absent"}),
    ("全省新增高新技术企业多少家？", SX, {"scope"}),  # 全省 asks for a provincial document
    ("全省新认定高新技术企业的奖励金额是多少？", ZJ, {"unit"}),  # an amount in 元, the sentence has 家
    ("小微企业新增就业岗位补贴多少钱？", NOREGION, set()),
    ("这份通知的文号是什么？", NOREGION, {"docno"}),
    ("通知是哪天发布的？", NOREGION, {"date"}),
    ("“小巨人”企业有多少家？", ZJ, {"term"}),  # a quoted name must stand in the evidence
])
def test_broken_constraints(scorer: EvidenceScorer, question: str, chunk: Chunk, expected: set[str]) -> None:
    assert broken(scorer, question, chunk) - {"figure"} == expected


def test_a_city_question_on_its_provinces_document_is_a_weaker_match(scorer: EvidenceScorer) -> None:
    chunk = Chunk("z2", "d1", "zj.txt", "全省新认定高新技术企业5000家，高新技术产业增加值占规上工业比重超过67.5%。温州、台州加快建设科创走廊。", 0, 60,
                  title="浙江省工作要点", region="浙江省", level="province")
    assert broken(scorer, "温州市新认定高新技术企业多少家？", chunk) == {"place_broader", "scope_wider"}


def test_a_figure_question_on_a_sentence_without_figures(scorer: EvidenceScorer) -> None:
    chunk = Chunk("z3", "d1", "zj.txt", "全省大力培育高新技术企业。", 0, 13, region="浙江省", level="province")
    assert "figure" in broken(scorer, "全省新认定高新技术企业多少家？", chunk)


def test_the_score_adds_features_and_subtracts_penalties(scorer: EvidenceScorer) -> None:
    s = scorer.score("全省新认定高新技术企业多少家？", [Hit(ZJ, 1.0)])[0]
    cal = Calibration(w_terms=1.0, w_bigrams=2.0, penalties={"place": 0.5, "year": 3.0}, threshold=1.0)
    assert cal.score(s, frozenset()) == pytest.approx(s.score + 2.0 * s.coverage)
    assert cal.score(s, frozenset({"place", "year"})) == pytest.approx(s.score + 2.0 * s.coverage - 3.5)
    assert 0.0 < s.coverage <= 1.0


@pytest.mark.parametrize(("similarity", "added"), [(None, 0.0), (0.85, 0.0), (0.95, 1.0), (0.80, -0.5)])
def test_the_score_adds_the_passage_similarity_about_its_centre(scorer: EvidenceScorer, similarity: float | None,
                                                                 added: float) -> None:
    s = scorer.score("全省新认定高新技术企业多少家？", [Hit(ZJ, 1.0)])[0]
    cal = Calibration(w_terms=1.0, w_bigrams=0.0, penalties={}, w_similarity=10.0, similarity_center=0.85)
    assert cal.score(s, frozenset(), similarity) == pytest.approx(s.score + added)


def test_the_calibration_round_trips_and_older_files_have_no_similarity_weight() -> None:
    cal = Calibration(w_bigrams=2.0, penalties={"place": 1.0}, threshold=1.5, w_similarity=4.0, similarity_center=0.9)
    assert Calibration.from_mapping(cal.to_mapping()) == cal
    old = {"w_terms": 1, "w_bigrams": 1, "penalties": {"place": 1}, "threshold": 1}
    assert Calibration.from_mapping(old).w_similarity == 0.0


@pytest.mark.parametrize(("data", "message"), [
    ({"w_terms": 1, "w_bigrams": 1, "threshold": 1}, "needs"),
    ({"w_terms": 1, "w_bigrams": 1, "threshold": "high", "penalties": {}}, "needs"),
    ({"w_terms": 1, "w_bigrams": 1, "threshold": 1, "penalties": {"colour": 1}}, "colour"),
])
def test_a_bad_calibration_names_what_is_wrong(data: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Calibration.from_mapping(data, "test.json")


def test_the_committed_calibration_loads_and_round_trips() -> None:
    cal = load_calibration()
    assert set(cal.penalties) == set(VIOLATIONS)
    assert Calibration.from_mapping(json.loads(json.dumps(cal.to_mapping()))) == cal
    resource = answerability_resource()
    assert any(p["threshold"] == cal.threshold for p in resource["curve"])  # the curve shows the point in use


@pytest.mark.parametrize(("sentence", "places", "expected"), [
    ("全省新认定高新技术企业5000家。", ["温州市"], True),
    ("全市新增高新技术企业220家。", ["绍兴市"], False),
    ("全国高新技术企业超过46万家。", ["浙江省"], True),
    ("全省新认定高新技术企业5000家。", ["浙江省"], False),
    ("温州新增高新技术企业300家。", ["温州市"], False),
])
def test_wider_scope(sentence: str, places: list[str], expected: bool) -> None:
    from rag.evidence import wider_scope
    assert wider_scope(sentence, places) is expected


def test_an_index_made_by_another_embedding_model_is_scored_by_the_lexical_fit() -> None:
    lexical = Calibration(w_bigrams=3.0, penalties={"place": 0.5}, threshold=1.5)
    cal = Calibration(w_bigrams=8.0, penalties={"place": 2.0}, threshold=3.0, w_similarity=20.0,
                      similarity_center=0.9, similarity_model="e5-small-int8", lexical=lexical)
    assert cal.for_model("e5-small-int8") is cal
    assert cal.for_model("hash") is lexical  # its cosines mean something else
    assert replace(cal, lexical=None).for_model("hash").w_similarity == 0.0
    assert Calibration.from_mapping(cal.to_mapping()) == cal
    committed = load_calibration()
    assert committed.lexical is not None and committed.lexical.w_similarity == 0.0
