"""Starts the real web page on 127.0.0.1 for client, browser and load tests, over a
copy of the sample corpus indexed with the model-free `hash` embedding (or the
embedding the settings name).

`start_server` runs the page in this process; `spawn_server` runs it in a child
process, so its output can be captured whole and its memory measured alone."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, fields
from pathlib import Path
from typing import IO

import gradio as gr

from ingest.embeddings import HashEmbeddings, make_embeddings
from ingest.pipeline import Ingestor
from policyqa.settings import PROJECT_ROOT, SAMPLE_CORPUS, Settings

PASSWORD = "test-admin-密码"


@dataclass
class Server:
    url: str
    settings: Settings
    demo: gr.Blocks

    def close(self) -> None:
        self.demo.close()


@dataclass
class SpawnedServer:
    url: str
    settings: Settings
    process: subprocess.Popen
    log: Path  # the child's stdout and stderr together

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(root: Path, extra_docs: dict[str, str] | None = None, **overrides: object) -> Settings:
    """The settings for a test page under `root`, with its index built on first use."""
    settings = Settings(data_dir=root / "data", index_dir=root / "index", embedding="hash", llm="extractive",
                        admin_password=PASSWORD).with_(**overrides)
    if not (root / "index").exists():
        corpus = root / "corpus"
        shutil.copytree(SAMPLE_CORPUS, corpus, dirs_exist_ok=True)
        for name, text in (extra_docs or {}).items():
            (corpus / name).write_text(text, encoding="utf-8")
        embeddings = HashEmbeddings() if settings.embedding == "hash" else make_embeddings(settings.embedding)
        Ingestor(settings, embeddings).run([corpus], progress=False)
    return settings


def start_server(root: Path, extra_docs: dict[str, str] | None = None, **overrides: object) -> Server:
    from policyqa.app import App
    from ui.app import launch

    settings = prepare(root, extra_docs, **overrides)
    port = free_port()
    demo = launch(App(settings).service(), host="127.0.0.1", port=port, block=False)
    return Server(f"http://127.0.0.1:{port}/", settings, demo)


def spawn_server(root: Path, extra_docs: dict[str, str] | None = None, log_level: str = "",
                 sessions: int | None = None, start_timeout: float = 300.0, **overrides: object) -> SpawnedServer:
    """The page in a child process (`python -m tests.support.ui_server`), its output in
    `root/server.log`. With `log_level` the child also sends Python logging at that
    level to its stderr; `sessions` is how many visitor sessions the page keeps."""
    settings = prepare(root, extra_docs, **overrides)
    port = free_port()
    log = root / "server.log"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "PYTHONUNBUFFERED": "1"}
    with open(log, "wb") as out:
        # The settings go through a pipe, not argv or a file: they may hold a secret.
        process = subprocess.Popen([sys.executable, "-m", "tests.support.ui_server", str(port), log_level],
                                   stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT,
                                   env=env)
    stdin: IO[bytes] = process.stdin  # type: ignore[assignment]
    stdin.write(json.dumps({"settings": _settings_to_json(settings), "sessions": sessions}).encode())
    stdin.close()
    server = SpawnedServer(f"http://127.0.0.1:{port}/", settings, process, log)
    deadline = time.monotonic() + start_timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the page exited with {process.returncode}:\n{server.output()[-3000:]}")
        try:
            with urllib.request.urlopen(server.url + "config", timeout=5):
                return server
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline:
                server.close()
                raise RuntimeError(f"the page did not start in {start_timeout:g} s:\n{server.output()[-3000:]}")
            time.sleep(0.5)


def _settings_to_json(settings: Settings) -> dict:
    return {f.name: str(v) if isinstance(v, Path) else v for f in fields(settings) for v in [getattr(settings, f.name)]}


def _settings_from_json(row: dict) -> Settings:
    paths = {f.name for f in fields(Settings) if "Path" in str(f.type)}
    return Settings(**{k: Path(v) if k in paths and v is not None else v for k, v in row.items()})


def _child(port: int, log_level: str) -> None:
    import logging

    from policyqa.app import App
    from ui.app import SESSIONS, launch

    message = json.loads(sys.stdin.buffer.read())
    settings, sessions = _settings_from_json(message["settings"]), message["sessions"]
    if log_level:
        logging.basicConfig(level=log_level.upper(), stream=sys.stderr)
    launch(App(settings).service(), host="127.0.0.1", port=port, block=True, sessions=sessions or SESSIONS)


if __name__ == "__main__":
    _child(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "")
