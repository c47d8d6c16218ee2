"""The NCP split by document (eval/ncp.py), the `ncp-dev` / `ncp-test` / `ncp-lodo`
sets, and `policyqa eval --set ncp-lodo` end to end on a six-document benchmark
with the hash embedding and the extractive backend."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from eval.ncp import (SPLIT_FILE, NcpSplit, answered_elsewhere, check_split, compute_split, load_split,
                      pick_left_out, split_documents, write_split)
from eval.report import load_report
from eval.retrieval import DEFAULT_BENCH, read_jsonl
from eval.runner import add_parser, load_set
from policyqa.app import App
from policyqa.errors import PolicyQAError
from policyqa.settings import Settings

DOCS = {
    "d1": "杭州市关于支持小微企业渡过难关的若干措施。对承租国有资产类经营用房的中小微企业，免收2个月房租。",
    "d2": "宁波市人力社保局通知：受疫情影响的企业，可申请缓缴社会保险费，缓缴期限最长不超过6个月。",
    "d3": "温州市对疫情防控重点保障企业给予贷款贴息支持，贴息比例为实际贷款利率的50%。",
    "d4": "绍兴市科技局明确，科技型中小企业研发投入按20%给予奖励，单个企业最高不超过100万元。",
    "d5": "嘉兴市交通运输局决定，疫情期间对运输防疫物资的车辆免收高速公路通行费。",
    "d6": "湖州市商务局对参加线上展会的外贸企业，按展位费的70%给予补助。",
}
QA = [
    {"id": "q1", "docid": "d1", "question": "杭州市对承租国有资产类经营用房的中小微企业免收几个月房租？", "answer": "免收2个月房租"},
    {"id": "q2", "docid": "d2", "question": "宁波市社会保险费缓缴期限最长多久？", "answer": "最长不超过6个月"},
    {"id": "q3", "docid": "d3", "question": "温州市贷款贴息比例是多少？", "answer": "实际贷款利率的50%"},
    {"id": "q4", "docid": "d4", "question": "绍兴市科技型中小企业研发投入奖励比例是多少？", "answer": "按20%给予奖励"},
    {"id": "q5", "docid": "d5", "question": "嘉兴市对运输防疫物资的车辆有什么政策？", "answer": "免收高速公路通行费"},
    {"id": "q6", "docid": "d6", "question": "湖州市对参加线上展会的外贸企业补助多少？", "answer": "按展位费的70%给予补助"},
    {"id": "q7", "docid": "d6", "question": "湖州市哪个部门负责线上展会补助？", "answer": "湖州市商务局"},
]


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture()
def bench(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("POLICYQA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("POLICYQA_EMBEDDING", "hash")
    folder = tmp_path / "bench"
    folder.mkdir()
    _jsonl(folder / "corpus.jsonl", [{"docid": d, "text": t} for d, t in DOCS.items()])
    _jsonl(folder / "qa.jsonl", QA)
    write_split(folder, tmp_path / "split.json", lodo=1)
    return folder


# -- the split ----------------------------------------------------------------------------


def test_split_is_deterministic_disjoint_complete_and_half_half() -> None:
    ids = [f"doc{i:03d}" for i in range(101)]
    dev, test = split_documents(ids)
    assert (dev, test) == split_documents(reversed(ids))  # input order does not matter
    assert not set(dev) & set(test) and sorted(dev + test) == ids
    assert (len(dev), len(test)) == (50, 51)
    assert split_documents(ids, seed=1) != (dev, test)  # the seed decides


def test_left_out_documents_come_from_test_and_have_no_answer_elsewhere() -> None:
    corpus = {"a": "甲市免收房租3个月。", "b": "乙市转载：甲市免收房租3个月。", "c": "丙市补助50万元。", "d": "丁市贴息。"}
    qa = [{"docid": "a", "answer": "房租3个月"}, {"docid": "c", "answer": "50万元"}, {"docid": "d", "answer": "贴息"}]
    assert answered_elsewhere(corpus, qa) == {"a"}  # b repeats a's answer
    assert pick_left_out(["a", "b", "c", "d"], corpus, qa, n=2) == ["c", "d"]  # b has no question
    with pytest.raises(PolicyQAError):
        pick_left_out(["a", "b", "c"], corpus, qa, n=2)


def test_check_split_refuses_another_corpus() -> None:
    split = NcpSplit(0, ("a",), ("b", "c"), ("c",))
    check_split(split, ["a", "b", "c"])
    with pytest.raises(PolicyQAError, match="does not match"):
        check_split(split, ["a", "b", "c", "new"])


@pytest.mark.skipif(not (DEFAULT_BENCH / "corpus.jsonl").is_file(), reason="NCP benchmark not present")
def test_committed_split_is_what_the_function_computes_from_the_corpus() -> None:
    committed = load_split(SPLIT_FILE)
    assert committed == compute_split(DEFAULT_BENCH, committed.seed)
    check_split(committed, (r["docid"] for r in read_jsonl(DEFAULT_BENCH / "corpus.jsonl")))
    assert len(committed.lodo) == 60


# -- the sets -----------------------------------------------------------------------------


def test_load_set_keeps_the_questions_of_each_half(bench: Path, tmp_path: Path) -> None:
    split = load_split(tmp_path / "split.json")
    by_id = {q["id"]: q["docid"] for q in QA}
    dev, _ = load_set("ncp-dev", bench, tmp_path / "split.json")
    test, _ = load_set("ncp-test", bench, tmp_path / "split.json")
    lodo, _ = load_set("ncp-lodo", bench, tmp_path / "split.json")
    assert {by_id[q["id"]] for q in dev} <= set(split.dev) and {by_id[q["id"]] for q in test} <= set(split.test)
    assert sorted(q["id"] for q in dev + test) == sorted(by_id)
    assert {q["id"] for q in lodo} == {i for i, d in by_id.items() if d in split.lodo} and lodo
    assert all(q["refuse"] and not q["sources"] and q["left_out"] in split.lodo for q in lodo)
    assert not any(q["refuse"] for q in dev + test)
    full, _ = load_set("ncp", bench)
    assert len(full) == len(QA)


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="policyqa")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_lodo_run_asks_an_index_without_the_left_out_documents(
    bench: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    split = load_split(tmp_path / "split.json")
    common = ["--bench", str(bench), "--split", str(tmp_path / "split.json"), "--llm", "extractive", "--quiet"]
    index = tmp_path / "index-lodo"
    assert _run(["eval", "--set", "ncp-lodo", "--index", str(index), "--out", str(tmp_path / "out"), *common]) == 0
    printed = capsys.readouterr().out
    indexed = set(App(Settings.from_env(index_dir=index)).store().files())
    assert indexed == set(DOCS) - set(split.lodo)  # built on first use, without the left-out document
    report = load_report(tmp_path / "out" / "report.json")
    rows = report["rows"]
    assert {r["id"] for r in rows} == {q["id"] for q in QA if q["docid"] in split.lodo}
    assert all(r["expect_refusal"] and not set(r["retrieved"]) & set(split.lodo) for r in rows)
    refused = sum(r["refused"] for r in rows)
    assert f"REFUSED {refused}/{len(rows)} = " in printed
    assert report["run"]["refused"] == report["summary"]["ALL"]["refusal_accuracy"] == refused / len(rows)

    # the same questions against the full index would be answerable: refused outright
    full = tmp_path / "index-full"
    App(Settings.from_env(index_dir=full)).ingestor().run([bench / "corpus.jsonl"], progress=False)
    with pytest.raises(PolicyQAError, match="left-out documents are in"):
        _run(["eval", "--set", "ncp-lodo", "--index", str(full), "--out", str(tmp_path / "out2"), *common])


def test_sample_works_on_the_split_sets(bench: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _run(["eval", "--set", "ncp-test", "--sample", "1", "--bench", str(bench), "--split",
                 str(tmp_path / "split.json"), "--index", str(tmp_path / "index"), "--llm", "extractive",
                 "--out", str(out), "--quiet"]) == 0
    report = load_report(out / "report.json")
    assert report["run"]["set"] == "ncp-test" and report["run"]["questions"] == 1
    test_docs = load_split(tmp_path / "split.json").test
    assert {q["docid"] for q in QA if q["id"] == report["rows"][0]["id"]} <= set(test_docs)
