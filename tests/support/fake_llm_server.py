"""A stand-in for rag.llm_server with the same protocol (settings line on stdin,
address line on stdout, exit when stdin closes), serving canned answers through
OpenAIStub, so the supervisor's start, self-test and restarts can be tested in
seconds. `python -m tests.support.fake_llm_server ok|sigill|silent`."""

from __future__ import annotations

import json
import os
import signal
import sys

from tests.support.openai_stub import OpenAIStub


def main(mode: str) -> None:
    sys.stdin.readline()  # the ServerConfig line
    if mode == "sigill":  # what a runtime built for another CPU does on its first kernel
        os.kill(os.getpid(), signal.SIGILL)
    if mode == "silent":  # never says where it listens
        sys.stdin.read()
        return
    with OpenAIStub(lambda messages: "全省新认定高新技术企业5000家[1]。") as stub:
        print(json.dumps({"address": stub.address, "system_info": "fake"}), flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main(sys.argv[1])
