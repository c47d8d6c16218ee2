"""The `formats` set: documents as users bring them (browser-printed and 公文 PDFs, a
scanned page, tables in DOCX and PDF, a two-column page), made by eval/format_docs.py,
ingested, and asked in users' words with the page each answer stands on."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from eval.answers import summarise
from eval.format_docs import DOCUMENTS, SOURCES, build_corpus
from eval.retrieval import read_jsonl
from eval.runner import run_questions
from policyqa.app import App
from policyqa.settings import PROJECT_ROOT, Settings

FORMATS = PROJECT_ROOT / "eval" / "sets" / "formats.jsonl"
# Measured 0.656 before OCR, tables, radicals and columns were read (eval/README.md);
# the bar sits under what main passes now, so a regression in any one format fails it.
BAR = 0.90


def _sources_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(SOURCES.iterdir()))


def test_formats_set_schema_and_must_strings_in_the_sources() -> None:
    items = read_jsonl(FORMATS)
    assert len(items) >= 20 and sum(1 for i in items if i.get("refuse")) >= 3
    text = "".join(_sources_text().split())
    for item in items:
        assert set(item["sources"]) <= set(DOCUMENTS), item["id"]
        assert bool(item.get("refuse")) == (not item["sources"]), item["id"]
        if "page" in item:
            assert item["sources"][0].endswith(".pdf") and item["page"] >= 1, item["id"]
        for group in item["must"]:
            assert any(s in text for s in group), (item["id"], group)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> App:
    if not shutil.which("chromium"):
        pytest.skip("chromium is needed to print the formats corpus (.ci/run installs it)")
    root: Path = tmp_path_factory.mktemp("formats")
    files = build_corpus(root / "corpus")
    settings = Settings(data_dir=PROJECT_ROOT / "data", index_dir=root / "index", embedding=Settings().embedding, llm="extractive")  # the default model
    a = App(settings)
    report = a.ingestor().run(files, progress=False)
    assert not report.skipped, [str(e) for e in report.skipped]
    return a


@pytest.mark.model
@pytest.mark.browser
def test_formats_set_meets_the_bar(app: App) -> None:
    run = run_questions(app.chain("extractive"), read_jsonl(FORMATS))
    overall = summarise(run.graded)["ALL"]
    failures = [f"{g.id}: {g.reason}" for g in run.graded if not g.passed]
    assert overall["passed"] is not None and overall["passed"] >= BAR, failures
    # Every answerable question is answered (29 of 29). Two of the three to refuse are
    # answered (a reward and a 租房 subsidy the documents do not state, answered with the
    # targets sentence and the 购房 table): the evidence gate's open problem (issue 11).
    assert overall["wrong_refusal"] is not None and overall["wrong_refusal"] <= 0.05, failures
    assert overall["unsupported_figures"] == 0.0, failures


@pytest.mark.parametrize(
    ("truth", "read", "accuracy"),
    [("关于支持 企业", "关于支持企业", 1.0), ("一二三四", "一二四", 0.75), ("一二三四", "", 0.0), ("", "x", 1.0)],
)
def test_ocr_bench_char_accuracy(truth: str, read: str, accuracy: float) -> None:
    from eval.ocr_bench import char_accuracy

    assert char_accuracy(truth, read) == accuracy
