"""Questions about a document itself, answered from its metadata and the lines that
state each fact."""

from __future__ import annotations

from dataclasses import replace

import pytest

from policyqa.types import Chunk, Hit
from rag.answerers.doc_facts import DocFacts, asked_facts
from rag.prepare import Prepared

HEAD = ("索引号: | 002482090/2025-00123 | 发布机构: | 省科技厅 |\n发文日期: | 2025-09-18 |\n"
        "浙江省科学技术厅关于 省政协十三届三次会议第1号提案的答复\n浙科提〔2025〕315号\n民建省委会:\n贵单位提出的提案收悉。")
TAIL = "衷心感谢贵单位的关心和支持。\n浙江省科学技术厅\n2025年9月12日"
META = dict(title="浙江省科学技术厅关于省政协十三届三次会议第1号提案的答复", issuer="省科技厅", date="2025-09-18",
            doc_number="浙科提〔2025〕315号", region="浙江省")
REPLY = [Chunk("r1", "d1", "reply.txt", HEAD, 0, len(HEAD), **META),
         Chunk("r2", "d1", "reply.txt", TAIL, 500, 500 + len(TAIL), **META)]
DRAFT_TEXT = "科技创新赋能产业高质量发展三年行动方案（意见征求稿）\n为提升企业自主创新能力，特制定本方案。"
DRAFT = [Chunk("l1", "d2", "draft.txt", DRAFT_TEXT, 0, len(DRAFT_TEXT), title="科技创新赋能产业高质量发展三年行动方案",
               region="丽水市")]
BY_SOURCE = {"reply.txt": REPLY, "draft.txt": DRAFT}


def _prep(question: str, *hits: Hit) -> Prepared:
    return Prepared(question, question, hits)


@pytest.fixture
def facts() -> DocFacts:
    return DocFacts(lambda source: BY_SOURCE.get(source, []))


@pytest.mark.parametrize(("question", "expected"), [
    ("浙科提〔2025〕315号是哪个单位发的？", ["issuer"]),
    ("科技厅那份提案答复，落款写的是哪天？", ["date"]),
    ("丽水那份三年行动方案的完整名称是什么？", ["title"]),
    ("这个方案是正式印发的版本吗？", ["status"]),
    ("“项目为王”这句话出自哪份文件？", ["title", "issuer"]),
    ("这份答复的文号是什么？", ["doc_number"]),
    ("第1号提案的题目是什么？", []),  # the proposal's title is in the text, not the document's
    ("2025年全省新认定高新技术企业目标多少家？", []),
    ("广西区工业和信息化厅会同哪个部门进驻了企业？", []),  # 哪个部门, but not who issued the document
])
def test_asked_facts(question: str, expected: list[str]) -> None:
    assert asked_facts(question) == expected


def test_each_fact_is_quoted_from_the_line_that_states_it(facts: DocFacts) -> None:
    answer = facts.answer(_prep("浙科提〔2025〕315号的发布机构和发文日期是什么？", Hit(REPLY[0], 1.0)))
    assert answer is not None
    lines = answer.text.splitlines()
    assert lines[0].startswith("文件名称：浙江省科学技术厅关于省政协十三届三次会议第1号提案的答复[")  # which document
    assert "发布机构：省科技厅[" in answer.text and "发文日期：2025-09-18[" in answer.text
    assert "落款日期：2025年9月12日[" in answer.text  # the signing date at the end
    for c in answer.citations:
        chunk = next(ch for ch in REPLY if ch.chunk_id == c.chunk_id)
        assert chunk.text[c.start - chunk.start:c.end - chunk.start] == c.quote  # exact spans
    by_n = {c.n: c.quote for c in answer.citations}
    assert "2025-09-18" in by_n[int(lines[2].split("[")[1].rstrip("]"))]


def test_a_draft_says_so(facts: DocFacts) -> None:
    answer = facts.answer(_prep("丽水那个三年行动方案，是正式印发的版本吗？", Hit(DRAFT[0], 1.0)))
    assert answer is not None and "文件状态：意见征求稿[" in answer.text


def test_a_fact_the_text_never_states_is_not_answered(facts: DocFacts) -> None:
    # the draft has no 文号 anywhere: no answer rather than an invented one
    assert facts.answer(_prep("这份方案的文号是什么？", Hit(DRAFT[0], 1.0))) is None


def test_a_quoted_phrase_picks_its_document(facts: DocFacts) -> None:
    answer = facts.answer(_prep("“意见征求稿”这句话出自哪份文件？", Hit(REPLY[0], 2.0), Hit(DRAFT[0], 1.0)))
    assert answer is not None and answer.citations[0].source == "draft.txt"


def test_a_news_article_names_the_policy_it_reports() -> None:
    text = "北京八大举措支持信软企业\n本报讯 北京市经济和信息化局近日印发《北京市关于支持信息软件企业加强人工智能应用服务能力行动方案》。"
    chunk = Chunk("b1", "d3", "news.txt", text, 0, len(text), title="北京八大举措支持信软企业", issuer="北京市经济和信息化局")
    answer = DocFacts(lambda source: [chunk]).answer(_prep("北京那个行动方案，全名叫什么？", Hit(chunk, 1.0)))
    assert answer is not None
    assert "文中报道的文件：《北京市关于支持信息软件企业加强人工智能应用服务能力行动方案》[" in answer.text


def test_the_sentence_holding_a_quoted_phrase_follows_the_facts(facts: DocFacts) -> None:
    from rag.evidence import Scored, Sentence

    hit = Hit(REPLY[0], 1.0)
    at = HEAD.index("贵单位")
    said = Scored(Sentence(0, at, len(HEAD), HEAD[at:]), 1.0, False)
    quoting = "“提案收悉”这句话出自哪份文件？"
    answer = facts.answer(Prepared(quoting, quoting, (hit,), best=(said,)))
    assert answer is not None and answer.text.splitlines()[-1] == "原文：贵单位提出的提案收悉[3]。"
    last = answer.citations[-1]
    assert last.quote == "贵单位提出的提案收悉。" and last.start == at
    # a question quoting nothing gets the facts alone: its best sentence may be about anything
    plain = facts.answer(Prepared("这份答复的文号是什么？", "这份答复的文号是什么？", (hit,), best=(said,)))
    assert plain is not None and "原文" not in plain.text


def test_a_title_with_a_qualifier_the_text_lacks_is_still_found() -> None:
    chunk = replace(DRAFT[0], title="科技创新赋能产业高质量发展三年行动方案(2024)")
    answer = DocFacts(lambda source: [chunk]).answer(_prep("丽水那份三年行动方案的完整名称是什么？", Hit(chunk, 1.0)))
    assert answer is not None and answer.text.startswith("文件名称：科技创新赋能产业高质量发展三年行动方案[")
    assert answer.citations[0].quote == "科技创新赋能产业高质量发展三年行动方案（意见征求稿）"
