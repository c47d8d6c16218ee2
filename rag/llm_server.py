"""The local LLM's own process: llama.cpp's OpenAI-compatible HTTP server, run by
xllamacpp on 127.0.0.1, started and watched by rag.llm_supervisor.

Run as `python -m rag.llm_server`; the parent writes one JSON line of settings
(`ServerConfig`) on stdin and keeps the pipe open. The child answers with one JSON
line on stdout, `{"address": "http://127.0.0.1:PORT", "system_info": "..."}`, once
the model is loaded, and exits when the pipe closes (the parent went away) or on
SIGTERM.

Why a child process: a native crash of the runtime (SIGILL on an instruction the CPU
lacks, SIGSEGV, an out-of-memory kill) takes only this process down, never the page.
Why xllamacpp: its Linux wheel is prebuilt with a fixed AVX2/FMA/F16C baseline, so it
never executes an instruction chosen for another machine, and installs in seconds
(README: "The local LLM").
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import sys
from dataclasses import asdict, dataclass

PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class ServerConfig:
    model_path: str
    n_ctx: int = 4096  # per slot
    parallel: int = 2  # slots: requests decoded side by side
    threads: int = 2
    memory_mb: int = 0  # address-space cap for this process; 0 = none

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, line: str) -> ServerConfig:
        return cls(**json.loads(line))


def _die_with_parent() -> None:
    """Ask the kernel to kill us when the parent dies, even by SIGKILL; the closed
    stdin pipe covers the same case for a parent that died before this call."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def _limit(config: ServerConfig) -> None:
    # A crash must not write a core file the size of the model.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if config.memory_mb > 0:
        cap = config.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    # Under memory pressure the kernel should pick this process, not the page.
    try:
        with open("/proc/self/oom_score_adj", "w") as fh:
            fh.write("800")
    except OSError:
        pass


def serve(config: ServerConfig) -> None:
    import xllamacpp as xlc

    params = xlc.CommonParams()
    params.model.path = config.model_path
    params.n_parallel = config.parallel
    params.n_ctx = config.n_ctx * config.parallel  # the server splits it between slots
    params.cpuparams.n_threads = config.threads
    params.cpuparams_batch.n_threads = config.threads
    params.cache_prompt = True  # the fixed system prompt's KV is reused across requests
    params.hostnames = ["127.0.0.1"]
    params.port = 0  # any free port; the address is reported to the parent
    params.verbosity = -1
    params.endpoint_slots = True
    server = xlc.Server(params)
    print(json.dumps({"address": server.listening_address, "system_info": xlc.get_system_info()}), flush=True)
    sys.stdin.read()  # returns when the parent closes the pipe or dies


def main() -> None:
    _die_with_parent()
    config = ServerConfig.from_json(sys.stdin.readline())
    _limit(config)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    serve(config)
    os._exit(0)  # the server's threads do not need an orderly shutdown


if __name__ == "__main__":
    main()
