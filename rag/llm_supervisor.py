"""Starts the local LLM's process (rag.llm_server), checks it with a one-token
self-test, and restarts it when it dies or stops answering.

The page and the CLI never run the model in their own process: a crash, a hang or an
out-of-memory kill of the model costs the answer in flight (the chain falls back to
extractive), and the next question finds a restarted model.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence

from policyqa.errors import ModelError
from policyqa.settings import PROJECT_ROOT
from rag.llm_server import ServerConfig

log = logging.getLogger(__name__)



def describe_exit(code: int | None) -> str:
    """Why a child ended, in words a log reader can act on."""
    if code is None:
        return "still running"
    if code >= 0:
        return f"exited with code {code}"
    sig = signal.Signals(-code)
    why = {
        signal.SIGILL: "illegal instruction: the runtime used a CPU instruction this machine cannot execute",
        signal.SIGKILL: "killed (out of memory, or by hand)",
        signal.SIGSEGV: "segmentation fault in the runtime",
        signal.SIGABRT: "aborted by the runtime",
        signal.SIGBUS: "bus error (the model file changed or the disk failed)",
    }.get(sig, "killed by a signal")
    return f"killed by {sig.name} ({why})"


class LlmSupervisor:
    """One model process on 127.0.0.1, kept alive. Thread-safe."""

    def __init__(self, config: ServerConfig, *, command: Sequence[str] | None = None,
                 start_timeout: float = 180.0, health_interval: float = 2.0, health_timeout: float = 5.0,
                 max_restarts: int = 5, restart_window: float = 300.0) -> None:
        self.config = config
        self.command = list(command or [sys.executable, "-m", "rag.llm_server"])
        self.start_timeout = start_timeout
        self.health_interval = health_interval
        self.health_timeout = health_timeout
        self.max_restarts = max_restarts  # within restart_window: a model that keeps dying backs off
        self.restart_window = restart_window
        self.system_info = ""
        self.restarts = 0
        self.last_failure = ""
        self._lock = threading.RLock()
        self._ready = threading.Event()
        self._closed = threading.Event()
        self._wake = threading.Event()  # check the process now rather than at the next tick
        self._process: subprocess.Popen[bytes] | None = None
        self._address = ""
        self._stderr: collections.deque[str] = collections.deque(maxlen=40)
        self._recent_restarts: collections.deque[float] = collections.deque()
        self._monitor: threading.Thread | None = None

    # -- public ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start the model and run the self-test; ModelError says why it failed."""
        with self._lock:
            self._spawn()
        if self._monitor is None:
            self._monitor = threading.Thread(target=self._watch, name="llm-supervisor", daemon=True)
            self._monitor.start()

    def address(self, wait: float) -> str:
        """The server's base address, waiting up to `wait` seconds for a restart."""
        process = self._process
        if self._ready.is_set() and (process is None or process.poll() is not None):
            self._ready.clear()  # died since the last check: restart now, not at the next tick
            self._wake.set()
        if not self._ready.wait(wait):
            raise ModelError("本地大模型正在重启，暂时不可用。")
        return self._address

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def report_failure(self, reason: str) -> None:
        """A request failed: restart the model unless it is healthy (a bad request is
        not a dead model). Returns at once; the restart happens on the monitor thread."""
        if self._closed.is_set() or not self._ready.is_set() or self._healthy():
            return
        self.last_failure = reason
        self._kill("a request failed and the model does not answer its health check")
        self._wake.set()

    def close(self) -> None:
        self._closed.set()
        self._wake.set()
        self._kill("closing")

    # -- process --------------------------------------------------------------------------
    def _spawn(self) -> None:
        self._ready.clear()
        self._stderr.clear()
        env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "PYTHONUNBUFFERED": "1"}
        # A new session, so the whole group can be stopped at once and a signal sent
        # to the page's group never reaches the model by accident.
        process = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, env=env, cwd=PROJECT_ROOT, start_new_session=True)
        self._process = process
        threading.Thread(target=self._drain, args=(process,), daemon=True).start()
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write((self.config.to_json() + "\n").encode())
            process.stdin.flush()
        except OSError:
            pass  # it died at once; reported below
        line = self._read_line(process, self.start_timeout)
        try:
            hello = json.loads(line) if line else {}
        except ValueError:
            hello = {}
        if "address" not in hello:
            raise ModelError(self._startup_failure(process, "did not report its address"))
        self._address = str(hello["address"]).rstrip("/")
        self.system_info = str(hello.get("system_info", "")).strip()
        try:
            self._self_test()
        except ModelError as exc:
            raise ModelError(self._startup_failure(process, str(exc))) from None
        self._ready.set()
        log.info("local LLM ready at %s (pid %d; %s)", self._address, process.pid, self.system_info)

    def _read_line(self, process: subprocess.Popen[bytes], timeout: float) -> str:
        assert process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([process.stdout], [], [], 0.5)
            if ready:
                return process.stdout.readline().decode("utf-8", "replace").strip()
            if process.poll() is not None:
                return ""
        return ""

    def _self_test(self) -> None:
        """One generated token, through the same HTTP route the answers use."""
        body = {"model": "local", "messages": [{"role": "user", "content": "你好"}], "max_tokens": 1,
                "temperature": 0}
        try:
            reply = _post_json(self._address + "/v1/chat/completions", body, timeout=self.start_timeout)
            if not reply.get("choices"):
                raise ModelError("self-test: no choices in the reply")
        except (OSError, ValueError) as exc:
            raise ModelError(f"self-test request failed: {type(exc).__name__}: {exc}") from None

    def _startup_failure(self, process: subprocess.Popen[bytes], what: str) -> str:
        """Why the start failed, then the process is stopped."""
        try:
            process.wait(timeout=2)  # a crashing child is usually gone by now
        except subprocess.TimeoutExpired:
            pass
        state = describe_exit(process.poll())
        self._kill_process(process)
        time.sleep(0.1)  # the stderr reader catches the last lines
        tail = " | ".join(list(self._stderr)[-5:])
        return f"the local LLM process failed to start: {what}; {state}" + (f"; its last output: {tail}" if tail else "")

    def _drain(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stderr is not None
        for raw in process.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                self._stderr.append(line)
                log.debug("llm_server: %s", line)

    def _kill(self, why: str) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            log.warning("stopping the local LLM process (pid %d): %s", process.pid, why)
            self._kill_process(process)

    @staticmethod
    def _kill_process(process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)  # also ends a stopped (SIGSTOP) process
            except (ProcessLookupError, PermissionError):
                pass
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for pipe in (process.stdin, process.stdout):
            try:
                if pipe is not None:
                    pipe.close()
            except OSError:
                pass

    # -- watching -------------------------------------------------------------------------
    def _healthy(self) -> bool:
        process = self._process
        if process is None or process.poll() is not None or not self._address:
            return False
        try:
            with urllib.request.urlopen(self._address + "/health", timeout=self.health_timeout) as resp:
                return resp.status == 200
        except (OSError, ValueError):
            return False

    def _watch(self) -> None:
        misses = 0
        while not self._closed.is_set():
            self._wake.wait(self.health_interval)
            self._wake.clear()
            if self._closed.is_set():
                return
            process = self._process
            if process is None:
                continue
            if process.poll() is None:
                if self._healthy():
                    misses = 0
                    continue
                misses += 1
                if misses < 2:
                    continue
                self.last_failure = "the model stopped answering"
                self._kill(f"no answer to two health checks of {self.health_timeout:g} s")
            misses = 0
            self._ready.clear()
            if not self.last_failure:
                self.last_failure = describe_exit(process.poll())
            self._restart(process)

    def _restart(self, dead: subprocess.Popen[bytes]) -> None:
        now = time.monotonic()
        while self._recent_restarts and now - self._recent_restarts[0] > self.restart_window:
            self._recent_restarts.popleft()
        if len(self._recent_restarts) >= self.max_restarts:
            return  # tried again once the oldest restart leaves the window
        self._recent_restarts.append(now)
        log.error("the local LLM process (pid %d) %s; restarting it", dead.pid, describe_exit(dead.poll()))
        try:
            with self._lock:
                if self._closed.is_set():
                    return
                self._spawn()
            self.restarts += 1
            self.last_failure = ""
        except ModelError as exc:
            self.last_failure = str(exc)
            log.error("restarting the local LLM failed: %s", exc)


def _post_json(url: str, body: dict, timeout: float) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        raise ValueError(f"HTTP {exc.code}: {exc.read()[:300]!r}") from None
