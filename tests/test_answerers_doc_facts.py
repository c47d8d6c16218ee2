"""Questions about a document itself, answered from its metadata and the lines that
state each fact."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ingest.store import FaissBm25Store, FileRecord, current_generation
from policyqa.types import Answer, Chunk, Hit
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
    assert "成文日期：2025年9月12日[" in answer.text  # the signing date under the signature
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


# ------------------------------------------------------------------ 公文 head and tail

from ingest.chunker import chunk_document  # noqa: E402
from ingest.document import build_document  # noqa: E402
from policyqa.types import RawDocument  # noqa: E402

from tests.support.gongwen import DRAFT as DRAFT_GW, MEASURES, NOTICE, REPORT  # noqa: E402

# small overlapping chunks, so a fact and its document's head and tail lie in different ones
GONGWEN = {
    name: chunk_document(build_document(RawDocument(source=name, text=text)), size=120, max_size=160, overlap=30)
    for name, text in {"report.txt": REPORT, "notice.txt": NOTICE, "measures.txt": MEASURES,
                       "draft-gw.txt": DRAFT_GW}.items()
}


@pytest.fixture
def gongwen() -> DocFacts:
    return DocFacts(lambda source: GONGWEN.get(source, []))


@pytest.mark.parametrize(("question", "expected"), [
    ("这份报告的签发人是谁？", ["signer"]),
    ("这份报告是谁签发的？", ["signer"]),
    ("这个通知主送哪些单位？", ["recipients"]),
    ("这份通知下发给哪些单位？", ["recipients"]),
    ("这份通知的成文日期是哪天？", ["date"]),
    ("这份通知什么时候印发？", ["date", "printed"]),
    ("这个通知有哪些附件？", ["attachments"]),
    ("这份文件抄送给哪些部门？", ["cc"]),
    ("这个办法的有效期到什么时候？", ["validity"]),
    ("该办法什么时候开始施行？", ["validity"]),
    ("这个办法是征求意见稿吗？", ["status"]),
    ("这个办法还有效吗？", ["status", "validity"]),
    ("这份通知里说许可证有效期多久？", []),  # a licence's term, not the document's
    ("这份通知附件1的申报表要填哪些内容？", []),  # what an attachment says, not which ones there are
    ("这个政策实施后效果如何？", []),
    ("这个政策的补贴发给哪些企业？", []),  # who gets the subsidy, not the 主送机关
    ("这个细则里考核结果抄送给谁？", []),  # what the body says, not the 版记
])
def test_asked_gongwen_facts(question: str, expected: list[str]) -> None:
    assert asked_facts(question) == expected


def _ask(facts: DocFacts, source: str, question: str) -> Answer:
    answer = facts.answer(_prep(question, Hit(GONGWEN[source][0], 1.0)))
    assert answer is not None
    for c in answer.citations:  # every quote is the chunk's own text
        chunk = next(ch for ch in GONGWEN[source] if ch.chunk_id == c.chunk_id)
        assert chunk.text[c.start - chunk.start : c.end - chunk.start] == c.quote
    return answer


def _cited(answer: Answer, label: str) -> str:
    """The quote cited for the answer line `label：…[n]`."""
    line = next(ln for ln in answer.text.splitlines() if ln.startswith(label + "："))
    n = int(line.rsplit("[", 1)[1].rstrip("]"))
    return next(c.quote for c in answer.citations if c.n == n)


@pytest.mark.parametrize(("source", "question", "lines", "quotes"), [
    ("report.txt", "这份报告是谁签发的？", ["签发人：王建国、李华"], {"签发人": "王建国\n李华"}),
    ("notice.txt", "这个通知主送哪些单位？", ["主送机关：各市、县（市、区）科技局，省级有关单位"],
     {"主送机关": "各市、县（市、区）科技局，\n省级有关单位"}),
    ("notice.txt", "这份通知什么时候印发？",
     ["成文日期：2025年3月12日", "印发机关：浙江省科学技术厅办公室", "印发日期：2025年3月14日"],
     {"成文日期": "2025年3月12日", "印发日期": "浙江省科学技术厅办公室2025年3月14日印发"}),
    ("notice.txt", "这个通知有哪些附件？",
     ["附件：2025年度高新技术企业认定工作日程安排；高新技术企业认定申报材料清单"],
     # the list runs on into the next chunk: the quote is its part in the chunk it starts in
     {"附件": "附件：1.2025年度高新技术企业认定工作日程安排"}),
    ("notice.txt", "这份通知抄送给谁了？", ["抄送：科技部火炬中心，省财政厅，国家税务总局浙江省税务局"], {}),
    ("measures.txt", "这个办法的有效期到什么时候？", ["施行日期：2025年4月1日", "有效期：至2027年12月31日"],
     {"有效期": "第三十一条本办法自2025年4月1日起施行，有效期至2027年12月31日。"}),
    ("draft-gw.txt", "这个办法是征求意见稿吗？", ["文件状态：征求意见稿"], {"文件状态": "（征求意见稿）"}),
    ("draft-gw.txt", "这个办法还有效吗？", ["文件状态：征求意见稿", "施行日期：2025年7月1日", "有效期：5年"], {}),
])
def test_gongwen_facts_are_answered_and_quoted(gongwen: DocFacts, source: str, question: str,
                                               lines: list[str], quotes: dict[str, str]) -> None:
    answer = _ask(gongwen, source, question)
    shown = [ln.rsplit("[", 1)[0] for ln in answer.text.splitlines()]
    assert shown[0].startswith("文件名称：")  # which document
    assert [ln for ln in shown if not ln.startswith(("文件名称：", "文中报道的文件："))] == lines
    for label, quote in quotes.items():
        assert _cited(answer, label) == quote


@pytest.mark.parametrize(("source", "question"), [
    ("notice.txt", "这份通知是谁签发的？"),  # a 下行文 has no 签发人
    ("report.txt", "这份报告有哪些附件？"),
    ("report.txt", "这份报告抄送给谁了？"),
    ("notice.txt", "这份通知的有效期到什么时候？"),
    ("measures.txt", "这个办法是征求意见稿吗？"),
])
def test_a_gongwen_fact_the_text_never_states_is_not_answered(gongwen: DocFacts, source: str, question: str) -> None:
    assert gongwen.answer(_prep(question, Hit(GONGWEN[source][0], 1.0))) is None


# The chunk rows and file records of an index built before the 公文 fields existed.
_OLD_CHUNK_KEYS = {"chunk_id", "doc_id", "source", "text", "start", "end", "title", "heading_path", "region", "level",
                   "issuer", "date", "doc_number", "page"}
_OLD_FILE_KEYS = {"source", "sha256", "doc_id", "chunks", "title", "issuer", "date", "region", "doc_number", "path"}


def test_an_old_index_loads_and_answers_gongwen_facts(tmp_path: Path) -> None:
    """The 公文 facts are read from the chunks' text, not stored in the index, so an
    index built before they existed (rows with only the old keys, its manifest
    checked on load) loads and answers them."""
    chunks = GONGWEN["report.txt"]
    store = FaissBm25Store("test-model", 4)
    store.add(FileRecord("report.txt", "h", chunks[0].doc_id, len(chunks), title=chunks[0].title), chunks,
              np.ones((len(chunks), 4), dtype=np.float32) / 2, [["报告"]] * len(chunks))
    store.save(tmp_path)
    gen = current_generation(tmp_path)
    assert gen is not None
    rows = [json.loads(line) for line in (gen / "chunks.jsonl").read_text(encoding="utf-8").splitlines()]
    old_rows = "".join(json.dumps({k: v for k, v in r.items() if k in _OLD_CHUNK_KEYS}, ensure_ascii=False) + "\n"
                       for r in rows)
    (gen / "chunks.jsonl").write_text(old_rows, encoding="utf-8")
    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"] = {s: {k: v for k, v in r.items() if k in _OLD_FILE_KEYS} for s, r in manifest["files"].items()}
    manifest["checksums"]["chunks.jsonl"] = hashlib.sha256(old_rows.encode("utf-8")).hexdigest()
    (gen / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    loaded = FaissBm25Store.load(tmp_path, model="test-model", dim=4)
    assert [c.text for c in loaded.chunks()] == [c.text for c in chunks]
    answer = DocFacts(loaded.chunks_of).answer(_prep("这份报告是谁签发的？", Hit(loaded.chunk(0), 1.0)))
    assert answer is not None and "签发人：王建国、李华[" in answer.text
