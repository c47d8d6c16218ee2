"""The local model's supervisor, with a stand-in server process that speaks the same
protocol (tests/support/fake_llm_server.py): start and self-test, restart after a
crash or a hang, and a start-up failure that names its cause. The real runtime is
covered in tests/test_local_model.py and tests/test_llm_crash.py."""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from policyqa.errors import ModelError
from policyqa.settings import Settings
from rag.llm import LocalChatModel, open_backend
from rag.llm_server import ServerConfig
from rag.llm_supervisor import LlmSupervisor, describe_exit


def _supervisor(mode: str, **kw: float) -> LlmSupervisor:
    command = [sys.executable, "-m", "tests.support.fake_llm_server", mode]
    options = {"start_timeout": 20.0, "health_interval": 0.2, "health_timeout": 0.5, **kw}
    return LlmSupervisor(ServerConfig(model_path="unused.gguf"), command=command, **options)  # type: ignore[arg-type]


def _wait_for(check, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


@pytest.fixture
def running():  # type: ignore[no-untyped-def]
    sup = _supervisor("ok")
    sup.start()
    yield sup
    sup.close()


@pytest.mark.parametrize(("code", "words"), [
    (-signal.SIGILL, "SIGILL (illegal instruction"),
    (-signal.SIGKILL, "SIGKILL (killed (out of memory"),
    (-signal.SIGSEGV, "SIGSEGV"),
    (3, "exited with code 3"),
    (None, "still running"),
])
def test_describe_exit(code: int | None, words: str) -> None:
    assert words in describe_exit(code)


def test_start_self_test_and_answer(running: LlmSupervisor) -> None:
    settings = Settings(llm_timeout_s=5)
    model = LocalChatModel(supervisor=running, settings=settings, model_name="fake")
    assert "5000家" in model.invoke("2025年全省新认定高新技术企业目标多少家？").content
    assert "".join(str(c.content) for c in model.stream("问")).startswith("全省")
    assert running.system_info == "fake" and running.restarts == 0


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGILL, signal.SIGSEGV])
def test_a_dead_model_is_restarted(running: LlmSupervisor, sig: signal.Signals) -> None:
    old = running.pid
    assert old is not None
    os.kill(old, sig)
    _wait_for(lambda: running.restarts == 1 and running.pid not in (None, old))
    assert running.address(wait=5).startswith("http://127.0.0.1:")


def test_a_hung_model_is_killed_and_restarted(running: LlmSupervisor) -> None:
    old = running.pid
    assert old is not None
    os.kill(old, signal.SIGSTOP)  # alive but silent: only the health check can tell
    _wait_for(lambda: running.restarts == 1 and running.pid not in (None, old))
    with pytest.raises(ProcessLookupError):
        os.kill(old, 0)  # the stopped process was killed, not left behind


def test_a_request_to_a_hung_model_fails_fast_and_the_next_one_is_answered(running: LlmSupervisor) -> None:
    model = LocalChatModel(supervisor=running, settings=Settings(llm_timeout_s=1), model_name="fake")
    os.kill(running.pid or 0, signal.SIGSTOP)
    started = time.monotonic()
    with pytest.raises(ModelError, match="本地大模型本次生成失败"):
        model.invoke("问")
    assert time.monotonic() - started < 5
    _wait_for(lambda: running.restarts >= 1)
    assert "5000家" in model.invoke("问").content


def test_start_failure_names_sigill() -> None:
    sup = _supervisor("sigill")
    with pytest.raises(ModelError, match="SIGILL.*illegal instruction"):
        sup.start()
    assert sup.pid is None


def test_start_failure_when_the_child_never_reports() -> None:
    sup = _supervisor("silent", start_timeout=1.0)
    with pytest.raises(ModelError, match="did not report its address"):
        sup.start()
    assert sup.pid is None


def test_restarts_back_off_when_the_model_keeps_dying(running: LlmSupervisor) -> None:
    running.max_restarts = 1
    running.command[-1] = "sigill"  # every restart now dies at once
    os.kill(running.pid or 0, signal.SIGKILL)
    _wait_for(lambda: "SIGILL" in running.last_failure)
    time.sleep(1.0)
    assert running.restarts == 0 and running.pid is None  # one try in the window, no loop
    with pytest.raises(ModelError, match="正在重启"):
        running.address(wait=0.2)


@pytest.mark.model
def test_self_test_failure_falls_back_to_extractive(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The real runtime on a file it cannot load: the start-up self-test fails, the
    log says why, and the backend is extractive instead of a crash later."""
    pytest.importorskip("xllamacpp")
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\x00" * 4096)
    settings = Settings(data_dir=tmp_path, llm="local", llm_model_path=bad)
    with caplog.at_level(logging.ERROR, logger="rag.llm"):
        backend = open_backend(settings)
    assert backend.name == "extractive" and backend.llm is None
    line = next(r.getMessage() for r in caplog.records if r.name == "rag.llm")
    assert "local LLM unavailable, answering with the extractive backend" in line
    assert "failed to start" in line and "exited with code" in line
