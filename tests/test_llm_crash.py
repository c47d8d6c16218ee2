"""The page survives its model: the real local LLM process (as `make setup` installs
it) is killed with SIGILL or SIGKILL, or stopped with SIGSTOP, while it is answering.
That question is answered from the evidence with a Chinese note and its citations,
the next one by a restarted model, and the page process never exits."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.request

import psutil
import pytest
from gradio_client import Client

from policyqa.settings import Settings
from rag.answerers.generative import LLM_FAILED_NOTE
from tests.support.ui_server import SpawnedServer, spawn_server

pytestmark = [pytest.mark.model, pytest.mark.slow]

QUESTION = "2025年全省新认定高新技术企业目标多少家？"
ALL = "全部"


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    model = Settings.from_env().model_path()
    if not model.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"local model missing at {model}; `make setup` should have installed it")
        pytest.skip("local model not set up (run `make setup`)")
    srv = spawn_server(tmp_path_factory.mktemp("crash"), log_level="INFO", llm="local", llm_model_path=model,
                       llm_timeout_s=20.0)
    yield srv
    llm = _llm_process(srv, wait=False)
    srv.close()
    if llm is not None:  # the model's process does not outlive the page
        psutil.wait_procs([llm], timeout=10)
        assert not llm.is_running() or llm.status() == psutil.STATUS_ZOMBIE


def _llm_process(srv: SpawnedServer, wait: bool = True, not_pid: int | None = None) -> psutil.Process | None:
    deadline = time.monotonic() + (120 if wait else 0)
    while True:
        for child in psutil.Process(srv.pid).children(recursive=True):
            try:
                if "rag.llm_server" in " ".join(child.cmdline()) and child.pid != not_pid and child.status() != "zombie":
                    if not wait or _port(child):
                        return child
            except psutil.NoSuchProcess:
                continue
        if time.monotonic() > deadline:
            return None
        time.sleep(0.5)


def _port(process: psutil.Process) -> int | None:
    listening = [c for c in process.net_connections("tcp") if c.status == psutil.CONN_LISTEN]
    return listening[0].laddr.port if listening else None


def _generating(port: int) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/slots", timeout=5) as resp:
        return any(slot.get("is_processing") for slot in json.loads(resp.read()))


def _text(message: dict) -> str:
    content = message["content"]
    return "".join(p.get("text", "") for p in content) if isinstance(content, list) else str(content)


def _ask(client: Client, question: str) -> str:
    _, chat, _ = client.predict(question, [], ALL, ALL, ALL, ALL, api_name="/ask")
    return _text(chat[-1])


@pytest.mark.parametrize("sig", [signal.SIGILL, signal.SIGKILL, signal.SIGSTOP], ids=["SIGILL", "SIGKILL", "SIGSTOP"])
def test_a_model_crash_costs_only_the_answer_in_flight(page: SpawnedServer, sig: signal.Signals) -> None:
    llm = _llm_process(page)
    assert llm is not None, page.output()[-3000:]
    port = _port(llm)
    assert port is not None
    client = Client(page.url, verbose=False)
    answer: list[str] = []
    asking = threading.Thread(target=lambda: answer.append(_ask(client, QUESTION)))
    asking.start()
    deadline = time.monotonic() + 60
    while not _generating(port):  # the question has reached the model
        assert time.monotonic() < deadline, "the model never started on the question"
        time.sleep(0.05)
    os.kill(llm.pid, sig)
    asking.join(timeout=120)
    assert answer, "the page did not answer the question in flight"
    assert LLM_FAILED_NOTE in answer[0] and "5000" in answer[0] and "(#cite-" in answer[0]

    restarted = _llm_process(page, not_pid=llm.pid)
    assert restarted is not None, page.output()[-3000:]
    following = _ask(client, QUESTION)
    assert LLM_FAILED_NOTE not in following and "5000" in following and "(#cite-" in following
    assert page.process.poll() is None  # the page never went down
    assert "restarting it" in page.output()
