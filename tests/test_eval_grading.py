"""Answer grading and per-type summaries on hand-made answers: accuracy, refusals,
citation precision, unsupported figures, gold spans, retrieval rank; and the fixed
question sample the local-LLM regression test and `policyqa eval --sample` share."""

from __future__ import annotations

import pytest

from eval.answers import char_f1, grade, holds_span, summarise
from eval.runner import as_question, fixed_sample
from policyqa.types import Answer, Citation

WORKPLAN = "workplan.txt"
SHAOXING = "shaoxing.txt"
TARGET = {"id": "t1", "type": "target", "question": "全省新认定高新技术企业多少家？", "must": [["5000家", "5000 家"]],
          "sources": [WORKPLAN], "refuse": False}
UNANSWERABLE = {"id": "u1", "type": "unanswerable", "question": "上海市目标多少家？", "must": [], "sources": [],
                "refuse": True}


def _answer(text: str, *cites: tuple[str, str], refused: bool = False, latency: float = 10.0) -> Answer:
    citations = tuple(Citation(n, source, "", quote) for n, (source, quote) in enumerate(cites, 1))
    return Answer("q", text, citations, refused=refused, standalone_question="q", latency_ms=latency)


REFUSAL = _answer("文件中未找到关于上海市的相关内容。", refused=True)


def test_a_correct_cited_answer_passes_and_each_citation_is_judged() -> None:
    a = _answer("全省新认定高新技术企业5000家[1]。另有科技型中小企业1.2万家[2]。",
                (WORKPLAN, "新认定高新技术企业5000家。"), (SHAOXING, "新增科技型中小企业1.2万家。"))
    g = grade(TARGET, a, ranking=[SHAOXING, WORKPLAN])
    assert g.correct and g.figures_ok and g.passed and g.cited_gold and g.reason == ""
    assert [c.supports for c in g.citations] == [True, False]  # the second quote lacks 5000家
    assert g.gold_rank == 2 and g.retrieved == (SHAOXING, WORKPLAN)


def test_missing_text_wrong_source_and_unsupported_figure_are_reasons() -> None:
    wrong = grade(TARGET, _answer("新认定高新技术企业220家[1]。", (SHAOXING, "新认定高新技术企业220家。")))
    assert not wrong.correct and wrong.figures_ok
    assert "missing" in wrong.reason and "no gold source cited" in wrong.reason
    invented = grade(TARGET, _answer("全省新认定高新技术企业5000家[1]。", (WORKPLAN, "全省新认定高新技术企业若干家。")))
    assert invented.correct and not invented.figures_ok and not invented.passed
    assert invented.unsupported == ("5000家",) and "unsupported figures" in invented.reason


FALSE_PREMISE = {**TARGET, "id": "fp1", "type": "falsepremise", "question": "听说全省要新认定6000家高企，对吗？",
                 "must_not": ["6000", "十大举措"]}


@pytest.mark.parametrize(("text", "correct", "reason"), [
    ("不对，全省新认定高新技术企业5000家[1]。", True, ""),
    ("全省新认定高新技术企业5000家[1]，不是6000家。", False, "contains must_not ['6000']"),
    ("全省新认定高新技术企业5000家[1]，约6 000家是误传。", False, "contains must_not ['6000']"),  # spaces, as for must
    ("全省新认定高新技术企业5000家[1]，提出了十大 举措。", False, "contains must_not ['十大举措']"),
    ("全省新认定高新技术企业6000家[1]。", False, "missing [['5000家', '5000 家']]; contains must_not ['6000']"),
])
def test_an_answer_holding_a_must_not_string_is_not_correct(text: str, correct: bool, reason: str) -> None:
    g = grade(FALSE_PREMISE, _answer(text, (WORKPLAN, "全省新认定高新技术企业5000家。")))
    assert g.correct is correct
    assert reason in g.reason if reason else g.reason == ""  # other reasons (unsupported figures) may follow


def test_must_not_is_ignored_on_refusals_and_absent_must_not_changes_nothing() -> None:
    assert grade(FALSE_PREMISE, REFUSAL).reason == "wrong refusal"
    a = _answer("全省新认定高新技术企业5000家[1]，不是6000家。", (WORKPLAN, "全省新认定高新技术企业5000家。"))
    assert grade(TARGET, a).correct  # the same answer passes a question without `must_not`


def test_refusals_are_right_on_unanswerable_and_wrong_on_answerable_questions() -> None:
    right = grade(UNANSWERABLE, REFUSAL)
    assert right.correct and right.passed and right.citations == ()
    assert not grade(TARGET, REFUSAL).correct and grade(TARGET, REFUSAL).reason == "wrong refusal"
    answered = grade(UNANSWERABLE, _answer("目标5000家[1]。", (WORKPLAN, "目标5000家。")))
    assert not answered.correct and answered.reason == "answered an unanswerable question"
    assert [c.supports for c in answered.citations] == [None]  # nothing to look for: not judged


def test_gold_span_containment_char_f1_and_identical_documents() -> None:
    item = as_question({"id": "n1", "docid": "d1", "question": "补助标准是多少？", "answer": "每人每天100元的生活补助"})
    assert item["span"] == "每人每天100元的生活补助" and item["sources"] == ["d1"] and item["refuse"] is False
    a = _answer("给予每人每天100元的生活补助[1]。", ("d1-copy", "对一线职工给予每人每天100元的生活补助。"))
    g = grade(item, a, ranking=["x", "d1"], same_as={"d1-copy": "d1"})
    assert g.correct and g.cited_gold and g.span_contained and g.gold_rank == 2  # d1-copy has d1's text
    assert g.citations[0].supports is True
    assert 0.5 < g.char_f1 < 1.0  # "给予" is extra
    assert not grade(item, a).cited_gold  # without the identical-text map it is another document
    assert char_f1("每人每天100元", "每人每天100元。") == 1.0 and char_f1("无关", "每人") == 0.0


def test_a_quote_holds_a_long_span_by_a_long_shared_stretch_only() -> None:
    span = "上海各学校都实行了封闭式管理，师生员工需经学校批准后凭证进出校园，严禁无关人员进入校园"
    assert holds_span("在疫情发生以后，上海各学校都实行了封闭式管理。", span)  # one sentence of the span
    assert not holds_span("上海各学校今天开学。", span)  # shares only a few characters
    assert holds_span("补助金额不超过50万元。", "50万元") and not holds_span("补助金额不超过5万元。", "50万元")


def test_summary_per_type_and_overall_with_retrieval_and_not_applicable_metrics() -> None:
    ok = grade(TARGET, _answer("全省5000家[1]。", (WORKPLAN, "全省5000家。")), ranking=[WORKPLAN], )
    late = grade(TARGET, _answer("全省5000家[1]。", (WORKPLAN, "全省5000家。"), latency=30.0), ranking=["a", "b", WORKPLAN])
    missed = grade(TARGET, REFUSAL, ranking=["a"])
    refused = grade(UNANSWERABLE, REFUSAL, ranking=[])
    s = summarise([ok, late, missed, refused], k=2)
    assert list(s) == ["target", "unanswerable", "ALL"]
    t, all_ = s["target"], s["ALL"]
    assert t["n"] == 3 and t["accuracy"] == pytest.approx(2 / 3) and t["wrong_refusal"] == pytest.approx(1 / 3)
    assert t["recall@1"] == pytest.approx(1 / 3) and t["recall@2"] == pytest.approx(1 / 3)
    assert t["mrr@10"] == pytest.approx((1 + 1 / 3) / 3)
    assert t["citation_precision"] == 1.0 and t["refusal_accuracy"] is None and t["char_f1"] is None
    assert s["unanswerable"]["accuracy"] is None and s["unanswerable"]["refusal_accuracy"] == 1.0
    assert all_["n"] == 4 and all_["passed"] == pytest.approx(3 / 4) and all_["unsupported_figures"] == 0.0
    assert all_["latency_median_ms"] == 10.0 and all_["latency_p95_ms"] == pytest.approx(27.0)
    only = summarise([grade(TARGET, REFUSAL)])
    assert list(only) == ["ALL"] and only["ALL"]["recall@5"] is None  # no ranking given: no retrieval figures


def test_citation_precision_counts_passages_not_answers() -> None:
    two = _answer("全省5000家[1]。全省5000家[2]。", (WORKPLAN, "全省5000家。"), (SHAOXING, "绍兴220家。"))
    one = _answer("全省5000家[1]。", (WORKPLAN, "全省5000家。"))
    assert summarise([grade(TARGET, two), grade(TARGET, one)])["ALL"]["citation_precision"] == pytest.approx(2 / 3)


def test_fixed_sample_is_stable_spreads_over_types_and_keeps_set_order() -> None:
    items = [{"id": f"{t}-{i}", "type": t} for t in ("a", "b", "c") for i in range(10)]
    first = fixed_sample(items, 7, seed=0)
    assert first == fixed_sample(items, 7, seed=0)
    assert len(first) == 7 and {i["type"] for i in first} == {"a", "b", "c"}
    assert [items.index(i) for i in first] == sorted(items.index(i) for i in first)
    assert fixed_sample(items, 7, seed=1) != first
    assert fixed_sample(items, 0) == items and fixed_sample(items, 99) == items
