"""Support measures (ingest.measures) and matching them to enterprise profiles (rag.match):
extraction on each sample document, region scoping, type and activity criteria,
unknowns, the chat entry point, the evaluation set and the `policyqa match` command."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
import pytest

from eval.match_eval import PROFILES, load, run
from ingest.chunker import chunk_document
from ingest.document import build_document
from ingest.loaders import load_file
from ingest.store import FaissBm25Store, FileRecord
from policyqa.settings import SAMPLE_CORPUS
from policyqa.types import Chunk, DocMeta, Document, Article
from policyqa.text.figures import unsupported_figures
from rag.match import MET, UNKNOWN, UNMET, Matcher, Profile, answer_match, check, parse_profile
from ingest.measures import Criterion, Measure, extract_measures
from tests.support.corpus import ALL, BRIEF, LISHUI, NEWSPAPER, REPLY, SHAOXING


@pytest.fixture(scope="module")
def corpus() -> tuple[dict[str, Document], list[Chunk]]:
    docs, chunks = {}, []
    for name in ALL:
        doc = build_document(load_file(SAMPLE_CORPUS / name, 10**8).documents[0])
        docs[name] = doc
        chunks += chunk_document(doc)
    return docs, chunks


@pytest.fixture(scope="module")
def measures(corpus: tuple[dict[str, Document], list[Chunk]]) -> list[Measure]:
    return extract_measures(corpus[1])


@pytest.fixture(scope="module")
def matcher(measures: list[Measure]) -> Matcher:
    return Matcher(measures=measures)


def _of(measures: list[Measure], source: str) -> list[Measure]:
    return [m for m in measures if m.source == source]


def _named(measures: list[Measure], text: str) -> Measure:
    found = [m for m in measures if text in m.name]
    assert found, f"no measure named like {text!r}: {[m.name for m in measures]}"
    return found[0]


def _kinds(m: Measure, kind: str) -> set[str]:
    return {v for c in m.criteria if c.kind == kind for v in c.values}


# --------------------------------------------------------------------------- extraction


def test_every_span_is_exact_and_inside_one_chunk(corpus, measures) -> None:
    docs, chunks = corpus
    by_id = {c.chunk_id: c for c in chunks}
    assert measures
    for m in measures:
        c = by_id[m.chunk_id]
        assert c.start <= m.start < m.end <= c.end
        assert c.text[m.start - c.start : m.end - c.start] == m.quote
        assert docs[m.source].text[m.start : m.end] == m.quote
        for amount in m.amounts:  # figures come from the span itself
            assert amount in m.quote


def test_every_document_but_none_of_its_targets(measures) -> None:
    counts = {name: len(_of(measures, name)) for name in ALL}
    assert all(n >= 5 for n in counts.values()), counts
    # a target is not a measure: 全省新认定高新技术企业5000家 offers nothing
    assert not any("新认定高新技术企业5000家" in m.quote for m in measures)


def test_provincial_work_plan_tax_measures_each_with_their_own_beneficiary(measures) -> None:
    for source in (BRIEF, NEWSPAPER):
        ms = _of(measures, source)
        vat = _named(ms, "先进制造业企业增值税加计抵减")
        rnd = _named(ms, "企业研发费用加计扣除")
        cit = _named(ms, "高新技术企业所得税优惠")
        assert vat.category == rnd.category == cit.category == "税费优惠"
        assert _kinds(vat, "type") == {"先进制造业企业"}
        assert _kinds(rnd, "activity") == {"研发投入"} and not _kinds(rnd, "type")
        assert _kinds(cit, "type") == {"高新技术企业"}
        assert vat.quote == rnd.quote == cit.quote and vat.id != rnd.id
        assert _kinds(_named(ms, "研发准备金"), "region") == {"浙江省"}


def test_newspaper_articles_keep_their_own_region(measures) -> None:
    ms = _of(measures, NEWSPAPER)
    regions = {m.region for m in ms}
    assert {"浙江省", "北京市"} <= regions
    assert all("安徽" not in m.region for m in ms)  # road-test rules offer enterprises nothing
    software = _named(ms, "信息软件企业")
    assert software.region == "北京市" and "信息软件企业" in _kinds(software, "type")
    assert all("辽宁" in m.quote or m.region != "浙江省" for m in ms if "专精特新" in m.quote)


def test_shaoxing_award_financing_and_conditions(measures) -> None:
    ms = _of(measures, SHAOXING)
    assert {m.region for m in ms} == {"绍兴市"}
    award = _named(ms, "分档奖励")
    assert award.category == "奖励" and _kinds(award, "activity") == {"研发投入"}
    assert any(c.kind == "condition" and "纳统" in c.text for c in award.criteria)
    assert _named(ms, "科创保").category == "金融支持"
    loan = _named(ms, "低息贷款")
    assert any(c.kind == "condition" and "共建研究院" in c.text for c in loan.criteria)


def test_lishui_programmes_and_cultivation_aims(measures) -> None:
    ms = _of(measures, LISHUI)
    assert {m.region for m in ms} == {"丽水市"}
    retrofit = _named(ms, "技术改造补助")
    assert retrofit.category == "资金补助" and _kinds(retrofit, "activity") == {"技术改造"}
    aims = [c for c in _named(ms, "双倍增").criteria if c.kind == "type"]
    assert aims and aims[0].aim and "高新技术企业" in aims[0].values
    # the 对…的 clause says who qualifies and stays with the offer after it
    talent = _named(ms, "科技特派员")
    assert talent.quote.startswith("对高校青年人才") and any(c.kind == "condition" for c in talent.criteria)


def test_reply_skips_past_work_and_keeps_conditions(corpus, measures) -> None:
    docs, _ = corpus
    ms = _of(measures, REPLY)
    next_steps = docs[REPLY].text.index("二、下一步工作安排")
    assert all(m.start > next_steps for m in ms)  # 一、前期工作情况 reports, it does not offer
    ipo = _named(ms, "科技型企业上市")
    assert _kinds(ipo, "type") == {"科技型企业"} and _kinds(ipo, "activity") == {"上市融资"}
    assert any(c.kind == "condition" and "符合条件" in c.text for c in ipo.criteria)


def test_thresholds_amounts_and_unstated_region_come_from_the_span() -> None:
    text = "一、支持政策\n对年营业收入2000万元以上的企业，给予最高50万元奖励。对研发费用占营业收入比重3%以上的企业，给予研发投入后补助。"
    doc = Document("d", "x.txt", text, DocMeta(), (Article(0, len(text), ""),))
    ms = extract_measures(chunk_document(doc))
    award = _named(ms, "奖励")
    assert award.amounts == ("50万元",)
    revenue = next(c for c in award.criteria if c.kind == "revenue")
    assert revenue.minimum == 2000 and revenue.text in award.quote
    sub = _named(ms, "后补助")
    assert next(c for c in sub.criteria if c.kind == "rd_ratio").minimum == 3.0
    region = next(c for c in award.criteria if c.kind == "region")
    assert region.values == ()  # the document does not say where it applies
    p = Profile(region="绍兴市", revenue=3000, rd_ratio=2.0)
    assert check(revenue, p) == MET and check(region, p) == UNKNOWN
    assert check(next(c for c in sub.criteria if c.kind == "rd_ratio"), p) == UNMET
    assert check(revenue, Profile(revenue=None)) == UNKNOWN


# --------------------------------------------------------------------------- matching


def _sources(results) -> set[str]:
    return {c.source for r in results for c in (r.citation, *r.also)}


def test_shaoxing_profile_sees_shaoxing_and_province_only(matcher) -> None:
    results = matcher.match(Profile(region="绍兴市", types=("规上工业企业",), rd_ratio=3.0))
    regions = {r.measure.region for r in results}
    assert regions == {"绍兴市", "浙江省"}
    assert LISHUI not in _sources(results)
    assert not any(r.measure.region in ("北京市", "辽宁省", "安徽省") for r in results)
    names = [r.measure.name for r in results]
    assert any("研发费用税前加计扣除" in n for n in names) and any("企业研发费用加计扣除" == n for n in names)


def test_county_profile_inherits_its_city_and_lishui_sees_no_shaoxing(matcher) -> None:
    xinchang = matcher.match(Profile(region="新昌县", types=("规上工业企业",), activities=("研发投入",)))
    assert SHAOXING in _sources(xinchang) and LISHUI not in _sources(xinchang)
    lishui = matcher.match(Profile(region="青田县", activities=("技术改造",)))
    assert LISHUI in _sources(lishui) and SHAOXING not in _sources(lishui)
    beijing = matcher.match(Profile(region="北京市", types=("信息软件企业",), activities=("数字化转型",)))
    assert beijing and {r.measure.region for r in beijing} == {"北京市"}


def test_type_criteria_closed_open_and_negated(matcher) -> None:
    def cit(profile: Profile):
        return [r for r in matcher.match(profile) if "所得税" in r.measure.name]

    assert cit(Profile(region="杭州市", types=("高新技术企业",)))  # holds the type
    assert not cit(Profile(region="杭州市", types=("规上工业企业",)))  # a form: not ticked, not held
    open_ = cit(Profile(region="杭州市", types=("规上工业企业",), closed=False))
    assert open_ and all(r.status == "待确认" for r in open_)
    assert any(c.kind == "type" for r in open_ for c in r.unknown)
    assert not cit(Profile(region="杭州市", not_types=("高新技术企业",), closed=False))


def test_cultivation_aims_take_earlier_stages(matcher) -> None:
    def cultivation(profile: Profile) -> list[str]:
        return [r.measure.name for r in matcher.match(profile) if "高新技术企业三年培育" in r.measure.name]

    assert cultivation(Profile(region="绍兴市", types=("科技型中小企业",)))
    assert not cultivation(Profile(region="绍兴市", types=("国有企业",), size="大型"))


def test_unknowns_are_listed_not_dropped(matcher) -> None:
    results = matcher.match(Profile(types=("高新技术企业",), activities=("研发投入",)))
    assert results and all(any(c.kind == "region" for c in r.unknown) for r in results)
    sx = matcher.match(Profile(region="绍兴市", activities=("研发投入",)))
    award = next(r for r in sx if "分档奖励" in r.measure.name)
    assert award.status == "待确认" and [c.kind for c in award.unknown] == ["condition"]
    assert all(c.kind != "condition" for c in award.met)


def test_the_same_measure_in_two_documents_is_listed_once(matcher) -> None:
    results = matcher.match(Profile(region="宁波市", activities=("研发投入",)))
    deduction = [r for r in results if r.measure.name == "企业研发费用加计扣除"]
    assert len(deduction) == 1
    assert {deduction[0].citation.source, *(c.source for c in deduction[0].also)} == {BRIEF, NEWSPAPER, REPLY}


def test_profile_json_reads_aliases_and_rejects_unknown_names() -> None:
    p = Profile.from_dict({"region": "绍兴市", "types": ["高企", "规模以上工业企业"], "activities": ["技改"]})
    assert p.types == ("高新技术企业", "规上工业企业") and p.activities == ("技术改造",)
    assert "科技型企业" in p.held() and p.places() == ("绍兴市", "浙江省")
    assert Profile(region="武汉市").places() == ("武汉市", "湖北省")
    with pytest.raises(ValueError):
        Profile.from_dict({"types": ["外星企业"]})
    with pytest.raises(ValueError):
        Profile.from_dict({"regoin": "绍兴市"})


# --------------------------------------------------------------------------- chat


QUESTION = "我们是绍兴的规上工业企业，研发投入占营收3%，能享受哪些政策？"


def test_parse_profile_reads_the_enterprise() -> None:
    p = parse_profile(QUESTION)
    assert p is not None
    assert (p.region, p.types, p.rd_ratio, p.closed) == ("绍兴市", ("规上工业企业",), 3.0, False)
    assert "研发投入" in p.does()
    q = parse_profile("我们还不是高新技术企业，是新昌县的科技型中小企业，可以申请什么补贴？")
    assert q is not None and q.region == "新昌县"
    assert q.types == ("科技型中小企业",) and q.not_types == ("高新技术企业",)


@pytest.mark.parametrize("question", [
    "2025年全省新认定高新技术企业多少家？",
    "绍兴市科创保是什么？",
    "绍兴有哪些政策？",  # about a place, not an enterprise
    "能享受哪些政策？",  # nothing to match on
])
def test_parse_profile_leaves_other_questions(question: str) -> None:
    assert parse_profile(question) is None


def test_answer_match_lists_cited_measures(corpus, matcher) -> None:
    docs, chunks = corpus
    by_id = {c.chunk_id: c for c in chunks}
    answer = answer_match(QUESTION, matcher)
    assert answer is not None and not answer.refused and answer.backend == "match"
    items = [ln for ln in answer.text.splitlines() if re.match(r"^\d+\. ", ln)]
    assert 3 <= len(items) <= 8
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    assert markers == {c.n for c in answer.citations}
    for c in answer.citations:
        chunk = by_id[c.chunk_id]
        assert c.quote in chunk.text and docs[c.source].text[c.start : c.end] == c.quote
        assert c.source != LISHUI
    # every figure the text states is in a cited quote (list numbers aside)
    body = re.sub(r"^\d+\. ", "", answer.text, flags=re.M)
    assert not unsupported_figures(re.sub(r"\[\d+\]", "", body), [c.quote for c in answer.citations])
    assert re.search(r"[\u4e00-\u9fff]", answer.text)


def test_answer_match_filters_by_asked_kind_and_refuses_when_nothing_applies(matcher) -> None:
    subsidies = answer_match("我们是丽水的企业，正在做技术改造，有哪些补贴？", matcher)
    assert subsidies is not None and "技术改造补助" in subsidies.text and "科创保" not in subsidies.text
    assert answer_match("2025年全省新认定高新技术企业多少家？", matcher) is None
    nothing = answer_match("我们是上海的独角兽企业，能享受哪些政策？", matcher)
    assert nothing is not None and nothing.refused and not nothing.citations
    assert "未找到" in nothing.text


# --------------------------------------------------------------------------- evaluation and CLI


def test_profile_set_scores_and_never_crosses_regions(matcher) -> None:
    items = load(PROFILES)
    assert sum("profile" in i for i in items) >= 10
    rows, summary = run(matcher, items)
    assert summary["wrong_region"] == 0
    assert summary["precision"] >= 0.8 and summary["recall"] >= 0.75, summary


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory, corpus) -> Path:
    """An index of the sample corpus with dummy vectors: matching reads chunks only."""
    docs, chunks = corpus
    store = FaissBm25Store("test-dummy", 4, "")
    for name, doc in docs.items():
        own = [c for c in chunks if c.source == name]
        store.add(FileRecord(name, f"h-{name}", doc.doc_id, len(own)), own,
                  np.zeros((len(own), 4), dtype=np.float32), [[] for _ in own])
    path = tmp_path_factory.mktemp("index")
    store.save(path)
    return path


def test_cli_match_profile_json_and_eval(index_dir: Path, tmp_path: Path, capsys) -> None:
    from policyqa.cli import main

    profile = tmp_path / "p.json"
    profile.write_text(json.dumps({"region": "绍兴市", "types": ["规上工业企业"], "rd_ratio": 3}), encoding="utf-8")
    assert main(["match", str(profile), "--json", "--index", str(index_dir)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["profile"]["region"] == "绍兴市" and out["results"]
    assert all(r["source"] != LISHUI and r["quote"] for r in out["results"])
    assert main(["match", "--eval", "--index", str(index_dir)]) == 0
    assert "micro precision" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text('{"types": ["外星企业"]}', encoding="utf-8")
    assert main(["match", str(bad), "--index", str(index_dir)]) == 1


NCP_INDEX = Path(__file__).resolve().parent.parent / "data" / "index-ncp"


@pytest.mark.skipif(not (NCP_INDEX / "CURRENT").exists(), reason="no NCP index")
def test_extraction_on_the_ncp_index_is_bounded() -> None:
    store = FaissBm25Store.load(NCP_INDEX)
    t0 = time.perf_counter()
    ms = extract_measures(store.chunk(i) for i in range(len(store)))
    assert time.perf_counter() - t0 < 60
    per_doc: dict[str, int] = {}
    for m in ms:
        per_doc[m.source] = per_doc.get(m.source, 0) + 1
    assert 0 < len(ms) < 3 * len(store)  # fewer measures than sentences, by far
    assert max(per_doc.values()) < 200
    assert all(m.quote and m.end > m.start for m in ms)


def test_criterion_labels_are_chinese() -> None:
    for c in (Criterion("region", ("绍兴市",)), Criterion("type", ("高新技术企业",), aim=True),
              Criterion("activity", ("研发投入",)), Criterion("condition", (), "符合条件的企业")):
        assert re.search(r"[\u4e00-\u9fff]", c.label())
