"""Regression bars on the project's own question set over the sample corpus, with the
real embedding model: the extractive backend must stay at or above the bars the
closing notes report (answer accuracy >= 95%, refusal accuracy 100%, no figure
absent from its quote)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from eval.answers import grade, summarise
from policyqa.app import App
from policyqa.settings import PROJECT_ROOT, SAMPLE_CORPUS, Settings

SAMPLE_SET = PROJECT_ROOT / "eval" / "sets" / "sample.jsonl"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> App:
    root = tmp_path_factory.mktemp("eval")
    shutil.copytree(SAMPLE_CORPUS, root / "corpus")
    # The project's embedding cache is shared, so a warm machine skips re-encoding.
    settings = Settings(data_dir=PROJECT_ROOT / "data", index_dir=root / "index", embedding="e5-small", llm="extractive")
    a = App(settings)
    a.ingestor().run([root / "corpus"], progress=False)
    return a


@pytest.mark.model
def test_extractive_backend_meets_the_bars(app: App) -> None:
    chain = app.chain("extractive")
    items = [json.loads(line) for line in SAMPLE_SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(items) >= 60 and sum(1 for i in items if i.get("refuse")) >= 8
    graded = [grade(item, chain.answer(item["question"], item.get("history") or [])) for item in items]
    overall = summarise(graded)["ALL"]
    failures = [f"{g.id}: {g.reason}" for g in graded if not g.correct or not g.figures_ok]
    assert overall["accuracy"] >= 0.95, failures
    assert overall["refusal_accuracy"] == 1.0, failures
    assert overall["unsupported_figures"] == 0.0, failures
