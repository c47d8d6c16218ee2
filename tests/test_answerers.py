"""Each answerer on small hand-made passages (no index, no model), and the router's
order. Whole-chain behaviour is in test_chain.py."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from ingest.store import FileRecord
from ingest.tokenize import Tokenizer
from policyqa.types import Answer, Chunk, Delta, Hit
from rag.answerers.extractive import WINDOW, Extractive, quotes
from rag.answerers.generative import LLM_FAILED_NOTE, UNVERIFIABLE_NOTE, Generative
from rag.answerers.policy_match import PolicyMatch
from rag.answerers.refusal import Refusal
from rag.answerers.target_figures import TargetFigures
from rag.evidence import EvidenceScorer, Scored, Sentence
from rag.prepare import Prepared, Side
from rag.verify import REPLACED_NOTE, marked

PLAN = ("浙江省2025年高新技术企业工作方案\n二、主要目标\n2025年，全省新认定高新技术企业5000家，"
        "新认定科技型中小企业1.2万家。规上工业企业研发经费支出增长10%。\n三、重点任务\n（一）强化企业创新主体地位。")
SHAOXING = "绍兴市2025年科技工作要点\n2025年，绍兴市新认定高新技术企业600家。"
CHUNKS = (Chunk("p1", "d1", "plan.txt", PLAN, 0, len(PLAN), title="浙江省2025年高新技术企业工作方案",
                region="浙江省", level="province"),
          Chunk("s1", "d2", "shaoxing.txt", SHAOXING, 0, len(SHAOXING), title="绍兴市2025年科技工作要点",
                region="绍兴市", level="city"))


class FakeStore:
    """The store calls the answerers make, over CHUNKS."""

    def files(self) -> dict[str, FileRecord]:
        return {c.source: FileRecord(c.source, f"sha-{c.source}", c.doc_id, 1, title=c.title, region=c.region)
                for c in CHUNKS}

    def chunks(self) -> list[Chunk]:
        return list(CHUNKS)

    def chunk(self, i: int) -> Chunk:
        return CHUNKS[i]

    def __len__(self) -> int:
        return len(CHUNKS)

    def chunk_by_id(self, chunk_id: str) -> Chunk | None:
        return next((c for c in CHUNKS if c.chunk_id == chunk_id), None)

    def chunks_of(self, source: str) -> list[Chunk]:
        return [c for c in CHUNKS if c.source == source]

    def records(self, kind: str) -> object | None:
        return None  # nothing saved: readers rebuild from the chunks

    def derived(self, key: str, build):  # type: ignore[no-untyped-def]
        return build(self)


def _said(hit_index: int, phrase: str, score: float = 1.0) -> Scored:
    """An evidence sentence: the sentence of CHUNKS[hit_index] that holds `phrase`."""
    text = CHUNKS[hit_index].text
    at = text.index(phrase)
    a = max(text.rfind(ch, 0, at) for ch in "。\n，") + 1
    b = text.index("。", at) + 1
    return Scored(Sentence(hit_index, a, b, text[a:b]), score, True)


def _prep(question: str, *best: Scored, refusal: str = "", sides: tuple[Side, ...] = (Side(),)) -> Prepared:
    return Prepared(question, question, tuple(Hit(c, 1.0) for c in CHUNKS), best, refusal, sides)


def _plain(text: str) -> str:
    return re.sub(r"\[\d+\]|\s", "", text)


def _exact(answer: Answer) -> None:
    for c in answer.citations:
        chunk = next(ch for ch in CHUNKS if ch.chunk_id == c.chunk_id)
        assert c.quote and chunk.text[c.start - chunk.start:c.end - chunk.start] == c.quote


# -- Refusal -------------------------------------------------------------------------------
def test_refusal_answers_only_what_the_gate_refused() -> None:
    refused = Refusal().answer(_prep("温州呢？", refusal="文件中未找到关于温州的内容。"))
    assert refused is not None and refused.refused and refused.text == "文件中未找到关于温州的内容。"
    assert refused.nearest and not refused.citations
    assert Refusal().answer(_prep("全省多少家？", _said(0, "5000家"))) is None


# -- Extractive ----------------------------------------------------------------------------
def test_extractive_quotes_the_evidence_with_exact_citations() -> None:
    a = Extractive().answer(_prep("2025年全省新认定高新技术企业多少家？", _said(0, "5000家")))
    assert a is not None and "5000家" in _plain(a.text) and not a.refused
    _exact(a)


def test_extractive_quote_runs_on_over_the_next_sentence_within_the_window() -> None:
    # the best sentence is the lead; the sentence after it, within WINDOW, is quoted too
    a = Extractive().answer(_prep("全省科技型中小企业和研发经费目标？", _said(0, "1.2万家")))
    assert a is not None and "增长10%" in _plain(a.text)


NEWS = ("省科技厅发布2025年科技型企业培育工作方案，提出进一步壮大科技型企业群体、强化企业创新主体地位、"
        "推动创新要素向企业集聚，引导企业加大研发投入，完善科技金融服务，优化人才引育机制，"
        "加快科技成果转移转化，构建梯次培育体系。"
        "方案明确，2025年全省新认定科技型中小企业1.2万家。")
NEWS_CHUNK = Chunk("n1", "d3", "news.txt", NEWS, 0, len(NEWS), title="科技型企业培育工作方案")


@pytest.mark.parametrize(("chunk_start", "question", "reaches"), [
    (0, "科技型企业培育工作方案提出了什么？", True),  # the document's headline: what follows answers
    (500, "2025年科技型中小企业新认定多少家？", True),  # a lead lacking the figure asked for
    (500, "科技型企业培育工作方案提出了什么？", False),  # an ordinary sentence: WINDOW of its start only
])
def test_a_lead_runs_on_past_the_window_to_what_it_introduces(chunk_start: int, question: str, reaches: bool) -> None:
    chunk = replace(NEWS_CHUNK, start=chunk_start, end=chunk_start + len(NEWS),
                    title="" if chunk_start else NEWS_CHUNK.title)
    end = NEWS.index("。") + 1
    lead = Scored(Sentence(0, 0, end, NEWS[:end]), 1.0, False)
    assert end > WINDOW  # the answer lies beyond the window of the lead's start
    prep = Prepared(question, question, (Hit(chunk, 1.0),), (lead,))
    (_, quote), = quotes(prep)
    assert ("1.2万家" in quote) is reaches


LONG_LEAD = ("为贯彻落实省委省政府关于统筹推进疫情防控和经济社会发展工作的决策部署，帮助中小微企业渡过难关，"
             "经研究，结合本市企业复工复产的实际情况和各部门的意见建议，现就支持中小微企业提出以下措施：")
ITEMS = ("一是减免房租，对承租国有资产类经营用房的企业免收一个月房租。\n"
         "二是延期缴纳社会保险费，最长不超过六个月。\n"
         "三是加大信贷支持，对受疫情影响的企业不抽贷、不断贷、不压贷。")


def test_a_list_question_quotes_the_items_after_a_long_lead() -> None:
    text = LONG_LEAD + "\n" + ITEMS
    chunk = Chunk("l1", "d4", "measures.txt", text, 300, 300 + len(text))
    lead = Scored(Sentence(0, 0, len(LONG_LEAD), LONG_LEAD), 1.0, False)
    prep = Prepared("对中小微企业有哪些支持措施？", "对中小微企业有哪些支持措施？", (Hit(chunk, 1.0),), (lead,))
    quoted = "".join(q for _, q in quotes(prep))
    assert len(LONG_LEAD) + len(ITEMS) > 150  # beyond the reach measured from the lead's start
    assert all(item in quoted for item in ITEMS.split("\n"))


def test_quotes_are_not_repeated_and_neighbours_stand_in_text_order() -> None:
    best, before = _said(0, "增长10%"), _said(0, "5000家", 0.95)
    found = quotes(_prep("研发经费和高新技术企业的目标？", best, before, best))
    # the sentence just before the best one stands before it; the repeat is dropped
    assert [q for _, q in found] == [before.sentence.text, best.sentence.text]


def test_extractive_with_an_llm_answers_comparisons_only() -> None:
    one = _prep("全省新认定高新技术企业多少家？", _said(0, "5000家"))
    assert Extractive(comparisons_only=True).answer(one) is None
    sides = (Side("全省", scope="province"), Side("绍兴市", place="绍兴市"))
    both = _prep("全省和绍兴新认定高新技术企业各多少家？", _said(0, "5000家"), _said(1, "600家"), sides=sides)
    a = Extractive(comparisons_only=True).answer(both)
    assert a is not None and "5000家" in _plain(a.text) and "600家" in _plain(a.text)
    assert {c.source for c in a.citations} == {"plan.txt", "shaoxing.txt"}


def test_extractive_does_not_answer_a_refused_question() -> None:
    assert Extractive().answer(_prep("温州呢？", refusal="文件中未找到关于温州的内容。")) is None


def test_a_list_question_quotes_the_lines_after_its_lead() -> None:
    text = CHUNKS[0].text
    a = text.index("三、重点任务")
    lead = Scored(Sentence(0, a, a + len("三、重点任务"), "三、重点任务"), 1.0, False)
    got = quotes(_prep("重点任务有哪些？", lead))
    assert [q for _, q in got][:2] == ["三、重点任务", "（一）强化企业创新主体地位。"]


# -- Generative ----------------------------------------------------------------------------
def _generative(*replies: str | Exception) -> Generative:
    class Scripted(GenericFakeChatModel):
        def _stream(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            reply = next(script)
            if isinstance(reply, Exception):
                raise reply
            yield from super()._stream(*args, **kwargs)

    script = iter(replies)
    texts = [AIMessage(content=r) for r in replies if isinstance(r, str)]
    return Generative(Scripted(messages=iter(texts)), EvidenceScorer(Tokenizer()))


@pytest.fixture(scope="module")
def figure_question() -> Prepared:
    return _prep("2025年全省新认定高新技术企业多少家？", _said(0, "5000家"))


def test_generative_streams_deltas_then_the_checked_answer(figure_question: Prepared) -> None:
    # the fake model streams word by word, split at spaces
    events = list(_generative("全省 新认定 高新技术企业 5000家[1]。").stream(figure_question))
    assert all(isinstance(e, Delta) for e in events[:-1]) and len(events) > 2
    final = events[-1]
    assert isinstance(final, Answer) and "5000家" in _plain(final.text) and not final.notes
    _exact(final)


def test_generative_quotes_the_evidence_under_a_reworded_answer(figure_question: Prepared) -> None:
    a = _generative("全省认证高新技术企业5000家[1]。").answer(figure_question)
    assert a is not None
    said, evidence = a.text.split("\n")[:2]
    assert said == "全省认证高新技术企业5000家[1]。"  # the model's words, kept
    assert evidence.startswith("原文：全省新认定高新技术企业5000家，新认定科技型中小企业1.2万家[")
    _exact(a)
    # a model that copies the evidence gets no second copy of it
    copied = marked(quotes(figure_question)[0][1], "[1]")
    b = _generative(copied).answer(figure_question)
    assert b is not None and "原文" not in b.text and "5000家" in _plain(b.text)


def test_generative_quotes_a_lead_and_its_items_as_one_line() -> None:
    text = LONG_LEAD + "\n" + ITEMS
    chunk = Chunk("l1", "d4", "measures.txt", text, 300, 300 + len(text))
    lead = Scored(Sentence(0, 0, len(LONG_LEAD), LONG_LEAD), 1.0, False)
    q = "对中小微企业有哪些支持措施？"
    prep = Prepared(q, q, (Hit(chunk, 1.0),), (lead,))
    # the model copies one item and rewords the rest: the stretch is quoted whole, so the
    # items stand together as the document has them
    a = _generative("二是延期缴纳社会保险费，最长不超过六个月[1]。其他还有减免房租[1]。").answer(prep)
    assert a is not None
    evidence = [line for line in a.text.split("\n") if line.startswith("原文：")]
    assert len(evidence) == 1 and all(_plain(item) in _plain(evidence[0]) for item in ITEMS.split("\n"))


def test_generative_replaces_a_figure_no_passage_states(figure_question: Prepared) -> None:
    a = _generative("全省新认定高新技术企业5000家[1]，另有7777家[1]。").answer(figure_question)
    assert a is not None and "7777" not in a.text and "5000家" in _plain(a.text) and REPLACED_NOTE in a.notes


def test_generative_without_the_asked_figure_falls_back_to_the_evidence(figure_question: Prepared) -> None:
    a = _generative("文件对此有明确部署[1]。").answer(figure_question)
    assert a is not None and UNVERIFIABLE_NOTE in a.notes and "5000家" in _plain(a.text)


def test_generative_failure_costs_only_this_answer(figure_question: Prepared) -> None:
    g = _generative(ConnectionResetError("the model process died"), "全省新认定高新技术企业5000家[1]。")
    failed = g.answer(figure_question)
    assert failed is not None and LLM_FAILED_NOTE in failed.notes and "5000家" in _plain(failed.text)
    again = g.answer(figure_question)
    assert again is not None and LLM_FAILED_NOTE not in again.notes


def test_generative_shows_the_model_excerpts_not_whole_passages(figure_question: Prepared) -> None:
    g = Generative(GenericFakeChatModel(messages=iter([])), EvidenceScorer(Tokenizer()), evidence_chars=80)
    pack = g.evidence(figure_question)
    assert "5000家" in pack.text and "强化企业创新主体地位" not in pack.text  # an excerpt around the evidence


# -- TargetFigures -------------------------------------------------------------------------
@pytest.mark.parametrize(("question", "expected"), [
    ("2025年全省新认定高新技术企业目标多少家？", ["5000家"]),
    ("绍兴市2025年新认定高新技术企业多少家？", ["600家"]),
    ("2025年全省新认定高新技术企业和科技型中小企业各多少家？", None),  # two parts: one record answers one
    ("全省有哪些重点任务？", None),  # not a figure question
])
def test_target_figures_answer_a_single_figure(tmp_path, question: str, expected: list[str] | None) -> None:  # type: ignore[no-untyped-def]
    a = TargetFigures(FakeStore(), tmp_path).answer(_prep(question))  # type: ignore[arg-type]
    if expected is None:
        assert a is None
        return
    assert a is not None and all(x in _plain(a.text) for x in expected)
    _exact(a)


def test_target_figures_with_an_llm_leave_single_figures_to_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    answerer = TargetFigures(FakeStore(), tmp_path, single_figures=False)  # type: ignore[arg-type]
    assert answerer.answer(_prep("2025年全省新认定高新技术企业目标多少家？")) is None


def test_target_figures_compare_side_by_side(tmp_path) -> None:  # type: ignore[no-untyped-def]
    sides = (Side("全省", scope="province"), Side("绍兴市", place="绍兴市"))
    a = TargetFigures(FakeStore(), tmp_path).answer(  # type: ignore[arg-type]
        _prep("2025年全省和绍兴市新认定高新技术企业目标分别是多少家？", sides=sides))
    assert a is not None and a.text.count("\n| ") == 4  # header, rule, then one row a side
    rows = a.text.splitlines()[-2:]
    assert "全省" in rows[0] and "5000家" in rows[0] and "绍兴市" in rows[1] and "600家" in rows[1]
    _exact(a)


# -- PolicyMatch ---------------------------------------------------------------------------
def test_policy_match_takes_only_eligibility_questions() -> None:
    store = FakeStore()
    assert PolicyMatch(store).answer(_prep("2025年全省新认定高新技术企业多少家？")) is None
    a = PolicyMatch(store).answer(_prep("我们是绍兴的规上工业企业，能享受哪些政策？"))
    assert a is not None and a.question == "我们是绍兴的规上工业企业，能享受哪些政策？"
    # a kind of enterprise in general, not the asker's own: the evidence answers it
    assert PolicyMatch(store).answer(_prep("绍兴的规上工业企业在研发费用方面有哪些优惠政策？")) is None


@pytest.mark.parametrize(("question", "expected"), [
    ("我们是绍兴的规上工业企业，能享受哪些政策？", True),
    ("我司研发投入占营收3%，有哪些补贴？", True),
    ("营收5000万元的企业能享受哪些政策？", True),  # a profile stated in figures
    ("上海对中小企业房租方面有哪些优惠政策？", False),
    ("高新技术企业能享受哪些政策？", False),
])
def test_describes_itself(question: str, expected: bool) -> None:
    from rag.match import describes_itself

    assert describes_itself(question) is expected


def test_an_evidence_line_leaves_out_a_leading_item_number() -> None:
    from rag.verify import evidence_line

    text = "3.乘客乘坐公共交通工具时应佩戴口罩。铜川市交通运输局"
    chunk = Chunk("t1", "d9", "tc.txt", text, 100, 100 + len(text))
    line, cite = evidence_line(chunk, 0, text.index("铜川"), 7)
    assert line == "原文：乘客乘坐公共交通工具时应佩戴口罩[7]。"  # `3.` would read as a figure
    assert cite.n == 7 and cite.quote == "乘客乘坐公共交通工具时应佩戴口罩。" and cite.start == 102


def test_an_evidence_line_keeps_later_item_numbers_at_the_start_of_a_line() -> None:
    from eval.answers import unsupported_in
    from rag.verify import evidence_line

    text = "本指引适用于中小学校。\n一、开学前的准备工作\n1、制定完善本校传染病防控应急预案。"
    chunk = Chunk("t2", "d9", "guide.txt", text, 0, len(text))
    line, cite = evidence_line(chunk, 0, len(text), 2)
    assert line.splitlines()[1:] == ["一、开学前的准备工作[2]", "1、制定完善本校传染病防控应急预案[2]。"]
    # an item number inside a line would read as a figure the quote does not state
    assert unsupported_in(Answer("问", line, (cite,))) == []


# -- FalsePremise --------------------------------------------------------------------------
@pytest.mark.parametrize(("question", "corrected"), [
    ("听说今年全省要新认定6000家高新技术企业，是真的吗？", True),
    ("全省今年新认定高新技术企业是6000家吧？", True),
    ("全省今年新认定高新技术企业5000家，对吧？", False),  # the documents say the same
    ("全省今年新认定6000家高新技术企业，有什么配套政策？", False),  # a figure, but not asserted for checking
    ("听说全省要新认定高新技术企业，是真的吗？", False),  # no figure asserted
])
def test_false_premise(question: str, corrected: bool) -> None:
    from rag.answerers.false_premise import CORRECTION, FalsePremise

    a = FalsePremise().answer(_prep(question, _said(0, "5000家")))
    if not corrected:
        assert a is None
        return
    assert a is not None and a.text.startswith(CORRECTION)
    assert "5000家" in _plain(a.text) and "6000" not in a.text  # the wrong figure is not repeated
    _exact(a)


def test_false_premise_needs_a_figure_of_the_same_kind() -> None:
    from rag.answerers.false_premise import FalsePremise

    # the evidence states 10%, the question asserts a count: nothing to set against it
    assert FalsePremise().answer(_prep("研发经费要新增6000家企业，对吧？", _said(0, "10%"))) is None
