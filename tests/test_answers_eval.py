"""Regression bars on the project's own question set over the sample corpus, with the
real embedding model, run the way `policyqa eval` runs it:

- the extractive backend on the whole set: answer accuracy >= 95%, refusal accuracy
  100%, no figure absent from its quote;
- the local LLM on a fixed 20-question sample (`policyqa eval --llm local --sample 20`
  picks the same questions): at least 85% of the questions pass."""

from __future__ import annotations

import os
import shutil

import pytest

from eval.answers import Graded, summarise
from eval.report import build_report, render_html
from eval.runner import fixed_sample, load_set, run_questions
from eval.retrieval import DEFAULT_BENCH
from policyqa.app import App
from policyqa.settings import PROJECT_ROOT, SAMPLE_CORPUS, Settings

LOCAL_SAMPLE = 20
LOCAL_BAR = 0.85


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> App:
    root = tmp_path_factory.mktemp("eval")
    shutil.copytree(SAMPLE_CORPUS, root / "corpus")
    # The project's embedding cache is shared, so a warm machine skips re-encoding.
    settings = Settings(data_dir=PROJECT_ROOT / "data", index_dir=root / "index", embedding=Settings().embedding, llm="extractive")  # the default model
    a = App(settings)
    a.ingestor().run([root / "corpus"], progress=False)
    return a


@pytest.fixture(scope="module")
def items() -> list[dict]:
    questions, _ = load_set("sample", DEFAULT_BENCH)
    return questions


def _failures(graded: tuple[Graded, ...]) -> list[str]:
    return [f"{g.id}: {g.reason}" for g in graded if not g.passed]


@pytest.mark.model
def test_extractive_backend_meets_the_bars(app: App, items: list[dict]) -> None:
    assert len(items) >= 60 and sum(1 for i in items if i.get("refuse")) >= 8
    run = run_questions(app.chain("extractive"), items)
    summary = summarise(run.graded)
    overall, failures = summary["ALL"], _failures(run.graded)
    assert overall["accuracy"] is not None and overall["accuracy"] >= 0.95, failures
    assert overall["refusal_accuracy"] == 1.0, failures
    assert overall["unsupported_figures"] == 0.0, failures
    # Every type of the set is graded and every failure is in the report a person reads.
    assert set(summary) == {i["type"] for i in items} | {"ALL"}
    html = render_html(build_report({"set": "sample", "backend": "extractive"}, summary, run.graded))
    assert all(f'id="q-{g.id}"' in html for g in run.graded if not g.passed)


@pytest.mark.model
@pytest.mark.slow
def test_local_llm_on_a_fixed_sample_meets_the_bar(app: App, items: list[dict]) -> None:
    if not app.settings.model_path().is_file():
        if os.environ.get("CI"):
            pytest.fail(f"local model missing at {app.settings.model_path()}; `make setup` should have built it")
        pytest.skip("local model not set up (run `make setup`)")
    sample = fixed_sample(items, LOCAL_SAMPLE)
    assert len(sample) == LOCAL_SAMPLE and any(i.get("refuse") for i in sample)
    chain = app.chain("local")
    try:
        run = run_questions(chain, sample)
    finally:
        chain.close()  # no model process outlives the test
    overall = summarise(run.graded)["ALL"]
    assert overall["passed"] is not None and overall["passed"] >= LOCAL_BAR, _failures(run.graded)
