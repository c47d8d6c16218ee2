"""The evaluation reports (JSON, single-file HTML), `--compare`, and `policyqa eval`
end to end on a two-document corpus with the hash embedding and the extractive
backend."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest

from eval.answers import grade, summarise
from eval.compare import compare, format_comparison
from eval.report import build_report, load_report, render_html, write_html, write_json
from eval.runner import add_parser
from policyqa.app import App
from policyqa.settings import Settings
from policyqa.types import Answer, Citation

HOSTILE = '<script>alert("x")</script>&<b>'


def _report(answers: dict[str, tuple[str, str]], run: dict | None = None) -> dict:
    """A report of two questions; `answers` maps id -> (answer text, quote)."""
    items = {
        "a": {"id": "a", "type": "target", "question": f"全省目标多少家？{HOSTILE}", "must": [["5000家"]],
              "sources": ["wp.txt"]},
        "b": {"id": "b", "type": "fact", "question": "发文机关是？", "must": [["省经信厅"]], "sources": ["wp.txt"]},
    }
    graded = [grade(items[k], Answer("q", text, (Citation(1, "wp.txt", "工作要点", quote),), latency_ms=12.0),
                    ranking=["wp.txt"])
              for k, (text, quote) in answers.items()]
    return build_report(run or {"set": "t", "backend": "extractive"}, summarise(graded), graded)


GOOD_A = ("全省5000家[1]。", "全省新认定5000家。")
BAD_A = (f"全省220家[1]。{HOSTILE}", f"绍兴220家。{HOSTILE}")
GOOD_B = ("省经信厅[1]。", "省经信厅印发。")
BAD_B = ("省科技厅[1]。", "省科技厅印发。")


def test_html_lists_each_failure_with_question_answer_and_quotes_escaped() -> None:
    html = render_html(_report({"a": BAD_A, "b": GOOD_B}))
    assert html.startswith("<!DOCTYPE html>") and "<style>" in html
    assert "<script" not in html and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&lt;b&gt;" in html
    assert not re.search(r"<(link|img|iframe)\b|\bsrc=|https?://", html)  # nothing loaded from elsewhere
    failures = re.findall(r'<section class="fail" id="q-([^"]+)">(.*?)</section>', html, re.S)
    assert [f[0] for f in failures] == ["a"]
    body = failures[0][1]
    assert "全省目标多少家？" in body and "全省220家[1]。" in body and "绍兴220家。" in body
    assert "missing" in body and "5000家" in body and "does not hold the gold text" in body
    assert "1 passed, 1 failed" in html


def test_json_report_round_trips_with_null_for_metrics_that_do_not_apply(tmp_path: Path) -> None:
    report = _report({"a": GOOD_A, "b": BAD_B})
    write_json(tmp_path / "r.json", report)
    text = (tmp_path / "r.json").read_text(encoding="utf-8")
    assert "NaN" not in text
    loaded = load_report(tmp_path / "r.json")
    assert loaded["summary"]["ALL"]["refusal_accuracy"] is None and loaded["summary"]["ALL"]["accuracy"] == 0.5
    assert [(r["id"], r["passed"]) for r in loaded["rows"]] == [("a", True), ("b", False)]
    assert loaded["rows"][0]["citations"][0]["quote"] == "全省新认定5000家。"
    write_html(tmp_path / "r.html", loaded)  # a saved report renders again
    assert "省科技厅[1]。" in (tmp_path / "r.html").read_text(encoding="utf-8")
    (tmp_path / "other.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ValueError):
        load_report(tmp_path / "other.json")


def test_compare_reports_metric_changes_and_flips_both_ways() -> None:
    before = _report({"a": GOOD_A, "b": BAD_B})
    after = _report({"a": BAD_A, "b": GOOD_B}, run={"set": "t", "backend": "local"})
    after["summary"]["ALL"]["latency_median_ms"] = 50.0
    c = compare(before, after, "old.json", "new.json")
    assert [f.id for f in c.to_fail] == ["a"] and [f.id for f in c.to_pass] == ["b"]
    assert "missing" in c.to_fail[0].reason  # why it fails now
    verdicts = {(d.group, d.metric): d.verdict for d in c.deltas}
    assert verdicts[("target", "accuracy")] == "worse" and verdicts[("fact", "accuracy")] == "better"
    assert verdicts[("ALL", "accuracy")] == "same" and verdicts[("ALL", "latency_median_ms")] == "worse"
    assert verdicts[("ALL", "n")] == ""
    text = format_comparison(c)
    assert "backend differs: extractive -> local" in text
    assert "pass -> fail: 1" in text and "fail -> pass: 1" in text
    assert re.search(r"target\s+acc\s+1\.000\s+0\.000\s+-1\.000\s+worse", text)
    assert "ALL         acc" not in text  # unchanged metrics are left out by default
    assert "same" in format_comparison(c, all_metrics=True)


# -- the command, end to end ------------------------------------------------------------

CORPUS = {
    "shaoxing.txt": "绍兴市2025年科技创新工作要点\n\n绍兴市科学技术局\n\n一、主要目标\n"
                    "2025年，全市新认定高新技术企业220家，新增省科技型中小企业1000家。\n",
    "lishui.txt": "丽水市科技创新行动方案（2024—2026年）\n\n丽水市科学技术局\n\n"
                  "到2026年，全市研发经费投入年均增幅达到15%以上。\n",
}
QUESTIONS = [
    {"id": "sx-1", "type": "target", "question": "2025年绍兴市新认定高新技术企业多少家？", "must": [["220家"]],
     "sources": ["shaoxing.txt"], "refuse": False},
    {"id": "ls-1", "type": "target", "question": "丽水市到2026年研发经费投入年均增幅目标是多少？",
     "must": [["15%以上"]], "sources": ["lishui.txt"], "refuse": False},
    # A wrong gold answer, so the run has a failure to report.
    {"id": "sx-2", "type": "target", "question": "绍兴市新增省科技型中小企业多少家？", "must": [["300家"]],
     "sources": ["shaoxing.txt"], "refuse": False},
    {"id": "un-1", "type": "unanswerable", "question": "上海市2025年新认定高新技术企业多少家？", "must": [],
     "sources": [], "refuse": True},
]


@pytest.fixture()
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("POLICYQA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("POLICYQA_EMBEDDING", "hash")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in CORPUS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    App(Settings.from_env(index_dir=tmp_path / "index")).ingestor().run([corpus], progress=False)
    (tmp_path / "set.jsonl").write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in QUESTIONS),
                                        encoding="utf-8")
    return tmp_path


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="policyqa")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_eval_command_prints_the_table_and_writes_both_reports(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tiny / "out"
    assert _run(["eval", "--set", str(tiny / "set.jsonl"), "--llm", "extractive", "--index", str(tiny / "index"),
                 "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"^target\s+3\s", printed, re.M) and re.search(r"^ALL\s+4\s", printed, re.M)
    assert "FAIL sx-2 (target)" in printed and "FAIL sx-1" not in printed
    report = load_report(out / "report.json")
    assert report["run"]["set"] == "set" and report["run"]["backend"] == "extractive"
    overall = report["summary"]["ALL"]
    assert overall["accuracy"] == pytest.approx(2 / 3) and overall["refusal_accuracy"] == 1.0
    assert overall["recall@1"] == 1.0 and overall["unsupported_figures"] == 0.0
    assert {r["id"]: r["passed"] for r in report["rows"]} == {"sx-1": True, "ls-1": True, "sx-2": False, "un-1": True}
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="q-sx-2"' in html and 'id="q-sx-1"' not in html


def test_eval_compare_command(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    common = ["--llm", "extractive", "--index", str(tiny / "index"), "--quiet"]
    assert _run(["eval", "--set", str(tiny / "set.jsonl"), "--out", str(tiny / "a"), *common]) == 0
    fixed = [dict(q, must=[["1000家"]]) if q["id"] == "sx-2" else q for q in QUESTIONS]
    (tiny / "set.jsonl").write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in fixed), encoding="utf-8")
    assert _run(["eval", "--set", str(tiny / "set.jsonl"), "--out", str(tiny / "b"), *common]) == 0
    capsys.readouterr()
    assert _run(["eval", "--compare", str(tiny / "a" / "report.json"), str(tiny / "b" / "report.json")]) == 0
    printed = capsys.readouterr().out
    assert "fail -> pass: 1\n  sx-2 (target)" in printed and "pass -> fail: 0" in printed
