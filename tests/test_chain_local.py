"""The chain with the real local LLM (llama.cpp, Qwen2.5-Coder-1.5B GGUF): a cited
target figure, a refusal, a follow-up, and token-by-token streaming. The model is set
up by `make setup`; in CI its absence is a failure, elsewhere a skip."""

from __future__ import annotations

import os
import re
import shutil

import pytest

from policyqa.app import App
from policyqa.settings import PROJECT_ROOT, SAMPLE_CORPUS, Settings
from policyqa.types import Answer, Delta

pytestmark = [pytest.mark.model, pytest.mark.slow]

WORKPLAN = {"zhejiang-2025-hightech-workplan-brief.txt", "zhejiang-2025-hightech-workplan-newspaper.txt",
            "zhejiang-sci-tech-dept-reply-2025-315.txt"}


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=PROJECT_ROOT / "data", index_dir=tmp_path_factory.mktemp("local") / "index",
                        llm="local", llm_max_tokens=160)
    if not settings.model_path().is_file():
        if os.environ.get("CI"):
            pytest.fail(f"local model missing at {settings.model_path()}; `make setup` should have built it")
        pytest.skip("local model not set up (run `make setup`)")
    root = tmp_path_factory.mktemp("corpus")
    shutil.copytree(SAMPLE_CORPUS, root / "corpus")
    app = App(settings)
    app.ingestor().run([root / "corpus"], progress=False)
    chain = app.chain("local")
    yield chain
    chain.close()  # no model process outlives the module


def _plain(text: str) -> str:
    return re.sub(r"\[\d+\]|\s", "", text)


def test_local_answer_streams_and_cites_the_work_plan(chain) -> None:  # type: ignore[no-untyped-def]
    events = list(chain.stream("2025年全省新认定高新技术企业目标多少家？"))
    deltas, final = [e.text for e in events if isinstance(e, Delta)], events[-1]
    assert isinstance(final, Answer) and final.backend == "local"
    assert len(deltas) > 3  # token by token
    assert "5000家" in _plain(final.text)
    assert {c.source for c in final.citations} & WORKPLAN


def test_local_backend_refuses_what_the_documents_do_not_say(chain) -> None:  # type: ignore[no-untyped-def]
    a = chain.answer("上海市2025年高新技术企业认定目标是多少家？")
    assert a.refused and a.text.startswith("文件中未找到")


def test_local_follow_up(chain) -> None:  # type: ignore[no-untyped-def]
    history = [["2025年全省新认定高新技术企业目标多少家？", "全省新认定高新技术企业5000家[1]。"]]
    a = chain.answer("那科技型中小企业呢？", history)
    assert "1.2万家" in _plain(a.text) or "12000家" in _plain(a.text)
    assert a.citations
