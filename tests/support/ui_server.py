"""Starts the real web page on 127.0.0.1 for client, browser and load tests, over a
copy of the sample corpus indexed with the model-free `hash` embedding."""

from __future__ import annotations

import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from ingest.embeddings import HashEmbeddings
from ingest.pipeline import Ingestor
from policyqa.settings import SAMPLE_CORPUS, Settings

PASSWORD = "test-admin-密码"


@dataclass
class Server:
    url: str
    settings: Settings
    demo: gr.Blocks

    def close(self) -> None:
        self.demo.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(root: Path, extra_docs: dict[str, str] | None = None, **overrides: object) -> Server:
    from ui.app import launch

    settings = Settings(data_dir=root / "data", index_dir=root / "index", embedding="hash", llm="extractive",
                        admin_password=PASSWORD).with_(**overrides)
    if not (root / "index").exists():
        corpus = root / "corpus"
        shutil.copytree(SAMPLE_CORPUS, corpus, dirs_exist_ok=True)
        for name, text in (extra_docs or {}).items():
            (corpus / name).write_text(text, encoding="utf-8")
        Ingestor(settings, HashEmbeddings()).run([corpus], progress=False)
    port = free_port()
    demo = launch(settings, host="127.0.0.1", port=port, block=False)
    return Server(f"http://127.0.0.1:{port}/", settings, demo)
