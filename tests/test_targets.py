"""Target figures (指标库): extraction on each sample document and on sentences from
no document in the corpus, value and indicator normalisation, persistence at ingest,
listing, the `targets` command, and comparison questions answered as cited tables."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from eval.targets_eval import cells_cited, grade_comparison, score_extraction, table_rows
from ingest.chunker import chunk_document
from ingest.document import build_document
from ingest.embeddings import HashEmbeddings
from ingest.loaders import load_file
from ingest.pipeline import Ingestor, open_store, remove_sources
from ingest.store import FaissBm25Store, current_generation
from policyqa.errors import IndexStoreError
from ingest.tokenize import Tokenizer
from policyqa import cli
from policyqa.app import App
from policyqa.settings import SAMPLE_CORPUS, Settings
from policyqa.types import Answer, Citation, Filters, RawDocument
from rag.chain import AnswerChain
from rag.retriever import HybridRetriever, RetrievalConfig
from ingest.records import BySource, decode, from_chunks
from ingest.targets import TARGETS, TargetRecord, document_targets, indicator_key, same_indicator
from rag.targets import best_match, list_targets, load_targets
from tests.support.corpus import BRIEF, LISHUI, NEWSPAPER, REPLY, SHAOXING


def _doc_records(name: str) -> tuple[str, list[TargetRecord]]:
    raw = load_file(SAMPLE_CORPUS / name, max_bytes=10**8).documents[0]
    doc = build_document(raw)
    return doc.text, document_targets(doc, chunk_document(doc, 400, 500, 80))


def _records_of_text(text: str, title: str = "2025年某市科技创新工作要点", date: str = "2025-03-01") -> list[TargetRecord]:
    doc = build_document(RawDocument(source="held-out.txt", text=text, meta={"title": title, "date": date}))
    return document_targets(doc, chunk_document(doc, 400, 500, 80))


@pytest.fixture(scope="module")
def sample() -> dict[str, tuple[str, list[TargetRecord]]]:
    return {name: _doc_records(name) for name in (BRIEF, NEWSPAPER, SHAOXING, LISHUI, REPLY)}


def _find(records: list[TargetRecord], value_text: str, words: str = "") -> list[TargetRecord]:
    return [r for r in records if r.value_text == value_text and words in r.indicator]


def _one(records: list[TargetRecord], value_text: str, words: str = "") -> TargetRecord:
    found = _find(records, value_text, words)
    assert len(found) == 1, (value_text, words, found)
    return found[0]


# -------------------------------------------------------------------------------- spans


def test_every_record_is_its_exact_source_span(sample: dict) -> None:
    for name, (text, records) in sample.items():
        assert records, name
        for r in records:
            assert text[r.start : r.end] == r.quote, r
            assert text[r.value_start : r.value_end] == r.value_text, r
            assert r.start <= r.value_start and r.value_end <= r.end, r
            assert r.kind in ("target", "achievement") and r.indicator and r.source == name


# ---------------------------------------------------------------------- each document


def test_provincial_work_plan(sample: dict) -> None:
    _, records = sample[BRIEF]
    share = _one(records, "超过67.5%")
    assert (share.value, share.unit, share.op, share.kind, share.year) == (67.5, "%", ">", "target", "2025")
    assert share.indicator_key == "高新技术产业增加值占比" and share.region == "浙江省" and share.level == "province"
    # a list shares its verb: 全省新认定A 5000家、B 1.2万家、C 20家
    small = _one(records, "1.2万家")
    assert small.indicator == "新认定科技型中小企业数" and small.value == 12000 and small.unit == "家"
    assert "新认定" in small.quote and small.quote.endswith("1.2万家")
    assert _one(records, "220家").indicator == "新认定省企业研究院数"
    # a clause opening with 占 takes the subject before it
    assert _one(records, "16%左右").indicator == "高新技术产业投资占固定资产比重"
    assert _one(records, "16%左右").op == "~"
    assert {r.kind for r in records} == {"target"} and len(records) == 16


def test_newspaper_page_keeps_each_article_apart(sample: dict) -> None:
    _, records = sample[NEWSPAPER]
    zhejiang = [r for r in records if r.region == "浙江省"]
    assert len(_find(zhejiang, "5000家")) == 1  # the side box repeats it: kept once
    training = _one(records, "1万人次")
    assert training.region == "北京市" and training.kind == "target" and training.year == "2025"
    assert not [r for r in records if r.region == "辽宁省" and r.kind == "target"]
    # regulatory thresholds are no targets: 不少于240小时或1000公里的道路测试
    assert not _find(records, "不少于240小时") and not _find(records, "1000公里")


def test_city_work_plan_with_damaged_text(sample: dict) -> None:
    _, records = sample[SHAOXING]
    rd = _one(records, "3.3%左右")
    assert rd.hedge == "争取" and rd.op == "~" and rd.indicator_key == "全社会研发投入占比"
    hightech = _one(records, "220")  # 新增高新技术企220、: the unit was lost
    assert hightech.unit == "" and hightech.indicator_key == "新增高新技术企业"
    assert _one(records, "1200家").indicator == "新增省科技型中小企业数"
    alliance = _one(records, "1-2")
    assert (alliance.value, alliance.value_max) == (1, 2)
    assert _one(records, "260人年").unit == "人年"  # stated twice, kept once
    assert _one(records, "65%").indicator_key == _one(sample[BRIEF][1], "超过67.5%").indicator_key
    assert not [r for r in records if r.value_text.startswith("4") and "X" in r.quote]  # 4+X模式
    assert all(r.kind == "target" and r.year == "2025" and r.region == "绍兴市" for r in records)


def test_three_year_plan_years_and_parallel_lists(sample: dict) -> None:
    _, records = sample[LISHUI]
    assert (_one(records, "85%").year, _one(records, "超过90%").year) == ("2024", "2026")
    # A、B累计达到3家、10家以上
    assert _one(records, "3家").indicator == "科技领军企业数量"
    assert _one(records, "10家以上").indicator == "科技“小巨人”企业数量"
    assert _one(records, "10家以上").op == ">="
    # 实现产业链5千万元以上制造业企业无研发机构清零: a threshold, not a value
    assert not [r for r in records if r.unit == "元"]
    assert _one(records, "不少于1场").period == "每年"


def test_reply_tells_achievements_from_targets(sample: dict) -> None:
    _, records = sample[REPLY]
    stock = _one(records, "突破4.7万家")
    assert stock.kind == "achievement" and stock.op == ">" and stock.value == 47000
    assert stock.heading_path.startswith("一、前期工作情况")
    target = _one(records, "5000家", "高新技术企业")
    assert target.kind == "target" and target.heading_path.startswith("二、下一步工作安排")
    lab = _one(records, "1家")
    assert lab.hedge == "力争" and "国家实验室基地" in lab.indicator
    assert not _find(records, "8个", "先进制造业集群") or all(r.kind == "achievement" for r in _find(records, "8个", "集群"))
    assert not [r for r in records if "任务举措" in r.indicator]  # 推进…32项任务举措: counts what follows


# ------------------------------------------------------------- sentences from no document


def test_held_out_plan_sentences() -> None:
    records = _records_of_text(
        "二、主要目标\n到2027年，全市规上工业企业研发费用占营业收入比重达到3.5%以上，"
        "新增国家级专精特新“小巨人”企业30家、省级专精特新中小企业200家。\n"
        "对年营业收入5000万元以上的企业给予奖励。\n1.加强组织领导。2.强化要素保障。"
    )
    by_value = {r.value_text: r for r in records}
    assert set(by_value) == {"3.5%以上", "30家", "200家"}
    assert by_value["3.5%以上"].year == "2027" and by_value["3.5%以上"].kind == "target"
    assert by_value["3.5%以上"].indicator_key == "规上工业企业研发投入占比"
    assert by_value["200家"].indicator == "新增省级专精特新中小企业数"


def test_held_out_report_sentences_are_achievements() -> None:
    records = _records_of_text(
        "一、2024年工作情况\n截至2024年底，全县累计培育高新技术企业156家，技术合同成交额较上年增长12.5%。",
        title="某县科技局2024年工作总结", date="2025-01-10",
    )
    assert {r.value_text for r in records} == {"156家", "12.5%"}
    assert all(r.kind == "achievement" and r.year == "2024" for r in records)


# ------------------------------------------------------------------------ normalisation


def test_indicator_keys_name_the_same_indicator_alike() -> None:
    assert indicator_key("高新技术产业增加值占规上工业比重") == indicator_key("高新技术产业增加值占规上工业增加值比重")
    assert indicator_key("高新技术产业增加值占比") == "高新技术产业增加值占比"
    assert indicator_key("新认定高企数") == indicator_key("新增高新技术企业") == "新增高新技术企业"
    assert indicator_key("规上工业企业研发费用支出占营业收入比重") == indicator_key("规上工业企业研发投入占营收比重")
    assert indicator_key("全社会R&D经费占GDP比重") == indicator_key("全社会研发经费占地区生产总值的比重")
    assert indicator_key("高新技术产业投资占固定资产比重") != indicator_key("高新技术产业增加值占比")
    assert same_indicator("新增高新技术企", "高新技术企业")
    assert not same_indicator("新认定高新技术企业数", "新认定科技型中小企业数")


@pytest.mark.parametrize(
    ("sentence", "value", "unit", "op"),
    [
        ("全年新增科技型中小企业1.2万家。", 12000, "家", "="),
        ("力争技术交易额达到450亿元。", 4.5e10, "元", "="),
        ("推进人才认定5万名以上。", 50000, "人", ">="),
        ("每万名就业人员中研发人员数达260人年。", 260, "人年", "="),
        ("国有企业研发投入增幅高于平均水平2个百分点以上。", 2, "百分点", ">="),
        ("数字产业营收3.2万亿元左右。", 3.2e12, "元", "~"),
    ],
)
def test_values_are_normalised(sentence: str, value: float, unit: str, op: str) -> None:
    records = _records_of_text("二、工作目标\n" + sentence)
    assert [(r.value, r.unit, r.op) for r in records] == [(pytest.approx(value), unit, op)]


# ------------------------------------------------------------------ persistence, listing


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer()


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory, tokenizer: Tokenizer) -> Settings:
    root = tmp_path_factory.mktemp("targets")
    shutil.copytree(SAMPLE_CORPUS, root / "corpus")
    s = Settings(data_dir=root / "data", index_dir=root / "index", embedding="hash")
    report = Ingestor(s, HashEmbeddings(), tokenizer).run([root / "corpus"], progress=False)
    assert report.total_targets > 100
    return s


def _saved(index_dir: Path) -> BySource[TargetRecord]:
    return decode(TARGETS, FaissBm25Store.load(index_dir).records(TARGETS.name))


def test_records_are_saved_with_the_generation_and_match_the_chunks(settings: Settings) -> None:
    gen = current_generation(settings.index_dir)
    assert gen is not None
    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    # written inside the generation before its pointer swap, and checked on load like every other file
    assert manifest["records"] == ["measures", "targets"]
    assert {"targets.json", "measures.json"} <= set(manifest["checksums"])
    saved = _saved(settings.index_dir)
    store = FaissBm25Store.load(settings.index_dir)
    assert set(saved) == set(store.files())
    rebuilt = from_chunks(TARGETS, store.chunks())
    for source, (sha, records) in saved.items():
        assert sha == store.files()[source].sha256 and records == rebuilt[source]
    chunks = {c.chunk_id: c for c in store.chunks()}
    for records in rebuilt.values():
        for r in records:  # the span lies in its chunk, at its offsets
            c = chunks[r.chunk_id]
            assert c.text[r.start - c.start : r.end - c.start] == r.quote


def test_list_targets_filters(settings: Settings) -> None:
    app = App(settings).listing_store()
    everything = list_targets(app)
    shaoxing = list_targets(app, region="绍兴")
    assert shaoxing and {r.region for r in shaoxing} == {"绍兴市"} and len(shaoxing) < len(everything)
    hightech = list_targets(app, indicator="高企", kind="target")
    assert {r.value_text for r in hightech} >= {"5000家", "220"}
    assert all(r.kind == "target" for r in hightech)
    assert list_targets(app, indicator="高新技术产业增加值占比", level="city")[0].value_text == "65%"
    assert list_targets(open_store(settings, HashEmbeddings()), region="丽水") == list_targets(app, region="丽水市")


def test_removal_keeps_the_other_records_and_a_stale_file_is_rebuilt(tmp_path: Path, tokenizer: Tokenizer) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in (SHAOXING, LISHUI):
        shutil.copy(SAMPLE_CORPUS / name, corpus / name)
    s = Settings(data_dir=tmp_path / "data", index_dir=tmp_path / "index", embedding="hash")
    Ingestor(s, HashEmbeddings(), tokenizer).run([corpus], progress=False)
    remove_sources(s, HashEmbeddings(), [LISHUI])
    assert set(_saved(s.index_dir)) == {SHAOXING}
    # records of another extractor version are not trusted: they come from the chunks
    store = FaissBm25Store.load(s.index_dir)
    payload = dict(store.records(TARGETS.name))  # type: ignore[arg-type]
    payload["version"] = -1
    store.set_records(TARGETS.name, payload)
    assert len(load_targets(store)) == len(from_chunks(TARGETS, store.chunks())[SHAOXING]) > 20


def test_a_damaged_records_file_fails_the_checksum(tmp_path: Path, tokenizer: Tokenizer) -> None:
    s = Settings(data_dir=tmp_path / "data", index_dir=tmp_path / "index", embedding="hash")
    Ingestor(s, HashEmbeddings(), tokenizer).run([SAMPLE_CORPUS / SHAOXING], progress=False)
    gen = current_generation(s.index_dir)
    assert gen is not None
    (gen / "targets.json").write_text("{}", encoding="utf-8")
    with pytest.raises(IndexStoreError, match="targets.json"):
        FaissBm25Store.load(s.index_dir)


def test_a_generation_from_before_the_manifest_listed_records_keeps_them(tmp_path: Path, tokenizer: Tokenizer) -> None:
    s = Settings(data_dir=tmp_path / "data", index_dir=tmp_path / "index", embedding="hash")
    Ingestor(s, HashEmbeddings(), tokenizer).run([SAMPLE_CORPUS / SHAOXING], progress=False)
    before = _saved(s.index_dir)
    gen = current_generation(s.index_dir)
    assert gen is not None
    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    del manifest["records"], manifest["checksums"]["targets.json"]  # how older generations were written
    (gen / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert _saved(s.index_dir) == before != {}
    (gen / "targets.json").write_text("not json", encoding="utf-8")  # unchecked then: rebuilt from the chunks
    store = FaissBm25Store.load(s.index_dir)
    assert store.records(TARGETS.name) is None and load_targets(store) == before[SHAOXING][1]


def test_targets_command_json_and_csv(settings: Settings, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLICYQA_DATA_DIR", str(settings.data_dir))
    args = ["targets", "--index", str(settings.index_dir), "--embedding", "hash", "--region", "绍兴市"]
    assert cli.main([*args, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(r["region"] == "绍兴市" for r in rows)
    assert {"indicator", "value", "unit", "comparator", "year", "kind", "quote", "start", "end", "chunk_id"} <= set(rows[0])
    assert cli.main([*args, "--csv", "--indicator", "技术交易额"]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["value_text"], r["unit"]) for r in table] == [("450亿元", "元")]


# ------------------------------------------------------------------------- comparisons


def _chain(settings: Settings, tokenizer: Tokenizer, llm=None, backend: str = "extractive") -> AnswerChain:  # type: ignore[no-untyped-def]
    store = open_store(settings, HashEmbeddings())
    retriever = HybridRetriever(store, HashEmbeddings(), tokenizer, RetrievalConfig.from_settings(settings))
    return AnswerChain(retriever, tokenizer, settings, llm, backend)


def _assert_cells_are_exact_spans(settings: Settings, answer: Answer) -> None:
    chunks = {c.chunk_id: c for c in open_store(settings, HashEmbeddings()).chunks()}
    for c in answer.citations:
        chunk = chunks[c.chunk_id]
        assert c.start is not None and chunk.text[c.start - chunk.start : c.end - chunk.start] == c.quote
    assert cells_cited(answer)


def test_comparison_is_a_table_cited_cell_by_cell(settings: Settings, tokenizer: Tokenizer) -> None:
    a = _chain(settings, tokenizer).answer("浙江省和绍兴市的高新技术产业增加值占比目标分别是多少？")
    rows = table_rows(a.text)
    assert [row[0] for row in rows] == ["浙江省", "绍兴市"]
    assert "67.5%" in rows[0][2] and "65%" in rows[1][2] and "67.5" not in rows[1][2]
    for row in rows:
        assert re.search(r"\[\d+\]", row[2])
    assert {c.source for c in a.citations} >= {BRIEF, SHAOXING}
    _assert_cells_are_exact_spans(settings, a)
    item = {"id": "t", "question": "", "cells": [{"side": "浙江省", "value": "67.5%", "sources": [BRIEF, NEWSPAPER]},
                                                  {"side": "绍兴市", "value": "65%", "sources": [SHAOXING]}]}
    assert grade_comparison(item, a)["correct"]


def test_comparison_by_scope_word_and_alias(settings: Settings, tokenizer: Tokenizer) -> None:
    a = _chain(settings, tokenizer).answer("省里和绍兴对新认定高企的目标各是多少？")
    rows = table_rows(a.text)
    assert len(rows) == 2 and "浙江省" in rows[0][0] and "5000家" in rows[0][2] and "220" in rows[1][2]
    assert {c.source for c in a.citations if "5000" in c.quote} == {BRIEF, NEWSPAPER, REPLY}
    _assert_cells_are_exact_spans(settings, a)


def test_comparison_of_years_cites_the_year(settings: Settings, tokenizer: Tokenizer) -> None:
    a = _chain(settings, tokenizer).answer("丽水市2024年和2026年规上企业技术改造覆盖率目标分别是多少？")
    rows = table_rows(a.text)
    assert [row[0] for row in rows] == ["2024年", "2026年"] and "85%" in rows[0][2] and "90%" in rows[1][2]
    assert [c.quote[:5] for c in a.citations] == ["2024年", "2026年"]
    _assert_cells_are_exact_spans(settings, a)


def test_comparison_is_the_table_for_an_llm_backend_too(settings: Settings, tokenizer: Tokenizer) -> None:
    llm = GenericFakeChatModel(messages=iter([AIMessage(content="全省65%，绍兴67.5%[1]。")]))
    a = _chain(settings, tokenizer, llm, "fake").answer("规上工业企业研发投入占营收比重，全省和绍兴的目标各是多少？")
    rows = table_rows(a.text)
    assert "3.15%" in rows[0][2] and "4.0%" in rows[1][2]
    _assert_cells_are_exact_spans(settings, a)


def test_no_table_when_a_side_has_no_clear_record(settings: Settings, tokenizer: Tokenizer) -> None:
    a = _chain(settings, tokenizer).answer("上海市和绍兴市的高新技术产业增加值占比目标分别是多少？")
    assert not table_rows(a.text)
    records = load_targets(open_store(settings, HashEmbeddings()))
    # 2024 and 2026 both state a coverage rate: without a year the question is open
    assert best_match("丽水规上企业技术改造覆盖率目标是多少？", records, place="丽水市") is None
    assert best_match("丽水2026年规上企业技术改造覆盖率目标是多少？", records, place="丽水市", years={"2026"}) is not None


def test_figure_question_is_answered_from_its_record(settings: Settings, tokenizer: Tokenizer) -> None:
    a = _chain(settings, tokenizer).answer("绍兴市技术交易额目标是多少？")
    assert "450亿元" in a.text and not a.refused
    assert a.citations and all("450亿元" in c.quote and c.source == SHAOXING for c in a.citations)
    _assert_cells_are_exact_spans(settings, a)


def test_records_obey_the_filters(settings: Settings, tokenizer: Tokenizer) -> None:
    a = _chain(settings, tokenizer).answer("绍兴市技术交易额目标是多少？", filters=Filters(region="丽水市"))
    assert SHAOXING not in {c.source for c in a.citations}


# -------------------------------------------------------------------------- the scorer


def test_scoring_counts_wrong_missed_and_optional_records() -> None:
    text = "全省新认定高新技术企业5000家、科技型中小企业1.2万家。推进8个集群建设。"
    gold = [
        {"source": "d", "indicator": "新认定高新技术企业数", "text": "新认定高新技术企业5000家", "value_text": "5000家",
         "value": 5000, "unit": "家", "year": "2025"},
        {"source": "d", "indicator": "新认定科技型中小企业数", "text": "科技型中小企业1.2万家", "value_text": "1.2万家",
         "value": 12000, "unit": "家", "year": "2025"},
        {"source": "d", "indicator": "集群数", "text": "推进8个集群建设", "value_text": "8个", "value": 8, "unit": "个",
         "optional": True},
    ]

    def rec(value_text: str, value: float, unit: str, indicator: str, year: str = "2025") -> TargetRecord:
        at = text.index(value_text)
        return TargetRecord(indicator=indicator, indicator_key=indicator_key(indicator), value=value, unit=unit,
                            value_text=value_text, kind="target", year=year, source="d", value_start=at,
                            value_end=at + len(value_text))

    records = [rec("5000家", 5000, "家", "新认定高新技术企业数"), rec("1.2万家", 1200, "家", "科技型中小企业数"),
               rec("8个", 8, "个", "集群数")]
    score = score_extraction(records, gold, {"d": text})
    assert (score.correct, score.wrong, score.found, score.gold, score.ignored) == (1, 1, 1, 2, 1)
    assert score.precision == 0.5 and score.recall == 0.5
    assert [g["value_text"] for g in score.missed] == ["1.2万家"]
    wrong_year = score_extraction([rec("5000家", 5000, "家", "新认定高新技术企业数", year="2026")], gold, {"d": text})
    assert wrong_year.correct == 0 and "year" in wrong_year.judged[0].why


def test_cells_cited_needs_the_figure_in_the_quote() -> None:
    cite = Citation(n=1, source="d", title="", quote="全省新认定高新技术企业5000家")
    good = Answer("q", "| 地区 | 指标 | 目标值 |\n| --- | --- | --- |\n| 浙江省 | 高企[1] | 5000家[1] |", (cite,))
    bad = Answer("q", "| 地区 | 指标 | 目标值 |\n| --- | --- | --- |\n| 浙江省 | 高企[1] | 6000家[1] |", (cite,))
    assert cells_cited(good) and not cells_cited(bad)
