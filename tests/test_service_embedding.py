"""Uploads through the service the page uses: searchable by keyword at once, their
vectors computed by a background thread, the documents list and the progress telling
which is which. The embedder here is held back by an event, so the test decides when
the vectors land."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import pytest

import rag.service
from ingest.embeddings import HashEmbeddings
from ingest.pipeline import Ingestor
from policyqa.app import App
from policyqa.settings import SAMPLE_CORPUS, Settings
from policyqa.types import Answer
from rag.service import PolicyQA

BASE = "zhejiang-2025-hightech-workplan-brief.txt"
UPLOAD = "qingtian-2026.txt"
UPLOAD_TEXT = (
    "青田县2026年科技工作要点\n"
    "一、工作目标\n青田县2026年新认定科技型中小企业88家，培育省级研发机构12家。\n"
    "二、重点任务\n推动侨乡企业数字化改造，全县规上工业企业研发活动覆盖率达到60%。\n"
)
QUESTION = "青田县2026年新认定科技型中小企业多少家？"


class HeldEmbeddings(HashEmbeddings):
    """The hash embedding, whose passage encoding waits until the test releases it."""

    def __init__(self, release: threading.Event) -> None:
        self.release = release
        self.started = threading.Event()

    def encode(self, texts: Sequence[str], query: bool) -> np.ndarray:
        if not query:
            self.started.set()
            assert self.release.wait(60), "the test never released the embedder"
        return super().encode(texts, query)


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldEmbeddings]:
    release = threading.Event()
    emb = HeldEmbeddings(release)
    monkeypatch.setattr(rag.service.PolicyQA, "_background_model", lambda self: emb)
    yield emb
    release.set()  # never leave the thread waiting, whatever the test did


@pytest.fixture
def service(tmp_path: Path, held: HeldEmbeddings) -> Iterator[PolicyQA]:
    settings = Settings(data_dir=tmp_path / "data", index_dir=tmp_path / "index", embedding="hash",
                        llm="extractive", embed_save_s=0.5)
    Ingestor(settings, HashEmbeddings()).run([SAMPLE_CORPUS / BASE], progress=False)
    svc = App(settings).service()
    yield svc
    held.release.set()
    svc.stop_embedding(timeout=30)
    assert not svc.embedding_progress().running


def _upload(service: PolicyQA, tmp_path: Path) -> None:
    path = tmp_path / UPLOAD
    path.write_text(UPLOAD_TEXT, encoding="utf-8")
    report = service.add_files([path])
    assert UPLOAD in report.added
    assert report.chunks_pending > 0


def _doc(service: PolicyQA, source: str):  # type: ignore[no-untyped-def]
    return next(d for d in service.documents() if d.source == source)


def _wait_until_ready(service: PolicyQA, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        p = service.embedding_progress()
        if p.pending == 0 and not p.running:
            return
        time.sleep(0.05)
    pytest.fail(f"vectors still pending after {timeout:g} s: {service.embedding_progress()}")


def _answer(service: PolicyQA, question: str) -> Answer:
    return next(e for e in service.ask(question) if isinstance(e, Answer))


def test_an_upload_is_answerable_by_keyword_before_its_vectors_land(service: PolicyQA, held: HeldEmbeddings,
                                                                     tmp_path: Path) -> None:
    assert service.embedding_progress().pending == 0
    assert _doc(service, BASE).embedding_label == "就绪"

    _upload(service, tmp_path)
    assert held.started.wait(30)  # the background thread is at work, and held
    doc = _doc(service, UPLOAD)
    assert doc.uploaded and doc.chunks > 0
    assert doc.embedded == 0 and doc.embedding_label == "仅关键词检索（向量计算中）"
    progress = service.embedding_progress()
    assert progress.running and progress.pending == doc.chunks
    assert progress.total == sum(d.chunks for d in service.documents())

    answer = _answer(service, QUESTION)  # keyword search finds it while its vectors wait
    assert not answer.refused, answer.text
    assert "88" in answer.text
    assert UPLOAD in {c.source for c in answer.citations}

    held.release.set()
    _wait_until_ready(service)
    doc = _doc(service, UPLOAD)
    assert doc.embedded == doc.chunks and doc.embedding_label == "就绪"
    assert service._embedder is not None
    service._embedder.join(10)
    assert not service._embedder.is_alive()  # the thread ends once nothing waits

    answer = _answer(service, QUESTION)  # and after, with its vectors too
    assert not answer.refused and UPLOAD in {c.source for c in answer.citations}


def test_an_upload_while_the_embedder_works_is_embedded_too(service: PolicyQA, held: HeldEmbeddings,
                                                            tmp_path: Path) -> None:
    _upload(service, tmp_path)
    assert held.started.wait(30)
    second = tmp_path / "jingning-2026.txt"
    second.write_text("景宁县2026年科技工作要点\n景宁县2026年新认定科技型中小企业31家。\n", encoding="utf-8")
    report = service.add_files([second])
    assert report.chunks_pending > 0 and service.embedding_progress().running
    held.release.set()
    _wait_until_ready(service)
    assert {d.embedding_label for d in service.documents()} == {"就绪"}


def test_stopping_keeps_what_is_pending_for_the_next_start(service: PolicyQA, held: HeldEmbeddings,
                                                           tmp_path: Path) -> None:
    _upload(service, tmp_path)
    assert held.started.wait(30)
    service._stop.set()  # what stop_embedding does first; the held batch then finishes and is saved
    held.release.set()
    service.stop_embedding(timeout=30)
    assert not service.embedding_progress().running
    assert service.start_embedding() is (service.embedding_progress().pending > 0)
    _wait_until_ready(service)
    assert _doc(service, UPLOAD).embedding_label == "就绪"
