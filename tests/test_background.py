"""Searchable first, embedded next: an ingest that leaves vectors to the background,
the embedder that adds them (interrupted, killed, resumed, raced by another ingest),
and retrieval while some chunks have no vector yet."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import pytest

from ingest.background import EMBED_LOCK, BackgroundEmbedder
from ingest.embeddings import HashEmbeddings
from ingest.pipeline import Ingestor, open_store
from ingest.store import FaissBm25Store, IndexLock, current_generation, embedding_label, pending_in
from ingest.tokenize import Tokenizer
from policyqa.settings import PROJECT_ROOT, SAMPLE_CORPUS, Settings
from rag.retriever import HybridRetriever, RetrievalConfig, score_sum
from ingest.targets import TARGETS

BRIEF = "zhejiang-2025-hightech-workplan-brief.txt"


class CountingEmbeddings(HashEmbeddings):
    """Hash vectors that count every text the model is asked to encode, and can be
    told to fail after some batches (a crash in the middle of embedding)."""

    def __init__(self, fail_after: int | None = None, gate: threading.Event | None = None) -> None:
        self.encoded: list[str] = []
        self.batches = 0
        self.fail_after = fail_after
        self.gate = gate

    def encode(self, texts: Sequence[str], query: bool) -> np.ndarray:
        if not query:
            if self.gate is not None:
                assert self.gate.wait(30), "the test never opened the gate"
            if self.fail_after is not None and self.batches >= self.fail_after:
                raise RuntimeError("simulated crash")
            self.batches += 1
            self.encoded.extend(texts)
        return super().encode(texts, query)


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer()


def _settings(tmp_path: Path, **changes: object) -> Settings:
    base = Settings(data_dir=tmp_path / "data", index_dir=tmp_path / "index", embedding="hash",
                    embed_batch_size=4, embed_save_s=0.0)
    return base.with_(**changes)


def _corpus(tmp_path: Path, names: Sequence[str] = ()) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir(exist_ok=True)
    for p in SAMPLE_CORPUS.glob("*.txt"):
        if not names or p.name in names:
            shutil.copy(p, folder / p.name)
    return folder


def test_later_ingest_is_searchable_by_keyword_and_skipped_by_dense_search(tmp_path: Path, tokenizer) -> None:
    settings = _settings(tmp_path)
    emb = CountingEmbeddings()
    report = Ingestor(settings, emb, tokenizer).run([_corpus(tmp_path)], progress=False, embed="later")
    assert report.chunks_pending == report.total_chunks > 20 and not emb.encoded  # the model never ran
    assert "searchable by keyword now" in report.summary()
    store = open_store(settings, emb)
    assert all(embedding_label(*s) == "keyword only" for s in store.embedding_state().values())
    assert store.dense_search(emb.encode(["高新技术企业"], query=True)[0], 10) == []  # zeros match nothing
    hits = HybridRetriever(store, emb, tokenizer, RetrievalConfig()).retrieve("2025年全省新认定高新技术企业多少家", k=5)
    assert any("5000家" in h.chunk.text.replace(" ", "") for h in hits[:3])
    assert pending_in(settings.index_dir) == report.total_chunks


def test_embedder_fills_every_row_with_the_vectors_an_immediate_ingest_would_give(tmp_path: Path, tokenizer) -> None:
    later, now = _settings(tmp_path / "a"), _settings(tmp_path / "b")
    corpus = _corpus(tmp_path)
    Ingestor(later, CountingEmbeddings(), tokenizer).run([corpus], progress=False, embed="later")
    targets_before = FaissBm25Store.load(later.index_dir).records(TARGETS.name)
    emb = CountingEmbeddings()
    seen: list[tuple[int, int]] = []
    report = BackgroundEmbedder(later, emb).run(progress=lambda d, t: seen.append((d, t)))
    assert report.pending == 0 and not report.busy and report.saves >= 2  # saved as it went (embed_save_s=0)
    assert seen[-1][0] == seen[-1][1] and len(emb.encoded) == len(set(emb.encoded))  # each text once
    Ingestor(now, HashEmbeddings(), tokenizer).run([corpus], progress=False)
    a, b = open_store(later, HashEmbeddings()), open_store(now, HashEmbeddings())
    assert [c.chunk_id for c in a.chunks()] == [c.chunk_id for c in b.chunks()]
    assert np.allclose(np.vstack([a.vector(i) for i in range(len(a))]), np.vstack([b.vector(i) for i in range(len(b))]))
    assert all(embedding_label(*s) == "ready" for s in a.embedding_state().values())
    # the target records of the documents survive the embedder's saves
    assert FaissBm25Store.load(later.index_dir).records(TARGETS.name) == targets_before is not None
    assert "embedded.npy" not in {p.name for p in current_generation(later.index_dir).iterdir()}


def test_a_crash_while_embedding_loses_nothing_and_the_next_run_resumes(tmp_path: Path, tokenizer) -> None:
    settings = _settings(tmp_path)
    Ingestor(settings, HashEmbeddings(), tokenizer).run([_corpus(tmp_path)], progress=False, embed="later")
    total = pending_in(settings.index_dir)
    first = CountingEmbeddings(fail_after=3)
    with pytest.raises(RuntimeError, match="simulated crash"):
        BackgroundEmbedder(settings, first).run()
    left = pending_in(settings.index_dir)
    assert 0 < left < total  # what was saved before the crash stays saved
    store = open_store(settings, HashEmbeddings())
    assert len(store) == total  # and nothing else changed
    saved = {store.chunk(i).match_text() for i in range(len(store)) if store.has_vector(i)}
    second = CountingEmbeddings()
    assert BackgroundEmbedder(settings, second).run().pending == 0
    # The resumed run encodes only what was still waiting: the saved work is not redone.
    assert second.encoded and not saved & set(second.encoded)
    assert set(second.encoded) == {store.chunk(i).match_text() for i in store.pending()}


def test_sigkill_during_background_embedding_then_resume(tmp_path: Path, tokenizer) -> None:
    settings = _settings(tmp_path)
    Ingestor(settings, HashEmbeddings(), tokenizer).run([_corpus(tmp_path)], progress=False, embed="later")
    total = pending_in(settings.index_dir)
    # A child that embeds slowly (one batch of 4 chunks a tenth of a second), saving after each batch.
    script = f"""
import sys, time
sys.path.insert(0, {str(PROJECT_ROOT)!r})
from pathlib import Path
from ingest.background import BackgroundEmbedder
from ingest.embeddings import HashEmbeddings
from policyqa.settings import Settings
class Slow(HashEmbeddings):
    def encode(self, texts, query):
        time.sleep(0.1)
        return super().encode(texts, query)
s = Settings(data_dir=Path({str(settings.data_dir)!r}), index_dir=Path({str(settings.index_dir)!r}),
             embedding="hash", embed_batch_size=4, embed_save_s=0.0)
print("go", flush=True)
BackgroundEmbedder(s, Slow()).run()
"""
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, start_new_session=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == b"go"
        deadline = time.monotonic() + 60
        while pending_in(settings.index_dir) > total - 8 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(child.pid, signal.SIGKILL)
    finally:
        child.wait(10)
    left = pending_in(settings.index_dir)
    assert 0 < left <= total - 8
    store = open_store(settings, HashEmbeddings())  # the index the kill left loads, checksums and all
    assert len(store) == total
    report = BackgroundEmbedder(settings, HashEmbeddings()).run()  # the lock died with its holder
    assert report.pending == 0 and not report.busy


def test_only_one_embedder_works_on_an_index(tmp_path: Path, tokenizer) -> None:
    settings = _settings(tmp_path)
    Ingestor(settings, HashEmbeddings(), tokenizer).run([_corpus(tmp_path, [BRIEF])], progress=False, embed="later")
    with IndexLock(settings.index_dir, name=EMBED_LOCK):
        report = BackgroundEmbedder(settings, CountingEmbeddings()).run()
    assert report.busy and report.embedded == 0 and report.pending > 0


def test_rows_an_ingest_adds_while_the_embedder_works_are_embedded_too(tmp_path: Path, tokenizer) -> None:
    settings = _settings(tmp_path)
    corpus = _corpus(tmp_path, [BRIEF])
    Ingestor(settings, HashEmbeddings(), tokenizer).run([corpus], progress=False, embed="later")
    gate = threading.Event()
    emb = CountingEmbeddings(gate=gate)
    result: list = []
    worker = threading.Thread(target=lambda: result.append(BackgroundEmbedder(settings, emb).run()))
    worker.start()
    try:
        for p in SAMPLE_CORPUS.glob("shaoxing*.txt"):
            shutil.copy(p, corpus / p.name)
        report = Ingestor(settings, HashEmbeddings(), tokenizer).run([corpus], progress=False, embed="later")
        assert len(report.added) == 1 and report.chunks_pending > 0
    finally:
        gate.set()
        worker.join(60)
    assert result and result[0].pending == 0
    assert pending_in(settings.index_dir) == 0
    assert len(open_store(settings, HashEmbeddings()).files()) == 2


def test_a_writer_waits_for_the_lock_for_up_to_its_wait(tmp_path: Path) -> None:
    held = IndexLock(tmp_path)
    held.__enter__()
    threading.Timer(0.3, held.__exit__, args=(None, None, None)).start()
    t0 = time.monotonic()
    with IndexLock(tmp_path, wait_s=10):
        assert 0.2 < time.monotonic() - t0 < 5


@pytest.mark.parametrize(
    ("dense", "keyword", "known", "expected"),
    [
        # two candidates with vectors scale to 1 and 0; the one without gets their mean
        ([(0, 0.9), (1, 0.5)], [(2, 4.0)], {}, {0: 1.0, 1: 0.0, 2: 0.5 + 2.0}),
        # a keyword-only hit whose vector exists gets its cosine computed
        ([(0, 0.9), (1, 0.5)], [(3, 4.0)], {3: 0.7}, {0: 1.0, 1: 0.0, 3: 0.5 + 2.0}),
        # no vector anywhere: the dense term is left out
        ([], [(2, 4.0), (3, 2.0)], {}, {2: 2.0, 3: 1.0}),
    ],
)
def test_score_sum_treats_a_missing_vector_as_unknown(dense, keyword, known, expected) -> None:
    q = np.array([1.0, 0.0], dtype=np.float32)
    vector = lambda i: np.array([known[i], 0.0], dtype=np.float32) if i in known else None  # noqa: E731
    fused = score_sum(dense, keyword, q, vector, dense_weight=1.0, keyword_weight=2.0)
    assert fused == pytest.approx(expected)


def test_cli_ingest_returns_searchable_and_a_detached_embedder_finishes(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path, [BRIEF])
    env = {**os.environ, "POLICYQA_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"}
    env.pop("POLICYQA_INDEX_DIR", None)
    out = subprocess.run([sys.executable, "-m", "policyqa", "ingest", str(corpus), "--index", str(tmp_path / "index"),
                          "--embedding", "hash", "--quiet"], env=env, cwd=PROJECT_ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "background embedding started" in out.stdout
    deadline = time.monotonic() + 120
    while pending_in(tmp_path / "index") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert pending_in(tmp_path / "index") == 0, (tmp_path / "data" / "logs" / "embed.log").read_text()
    # wait for the child to let go of the embed lock, so the folder can be removed
    with IndexLock(tmp_path / "index", wait_s=60, name=EMBED_LOCK):
        pass
    assert "embedded" in (tmp_path / "data" / "logs" / "embed.log").read_text()


class OtherModel(HashEmbeddings):
    """Another embedding model: another name and dimension."""

    name = "hash-128"
    dim = 128

    def encode(self, texts: Sequence[str], query: bool) -> np.ndarray:
        return super().encode(texts, query)[:, :128] * 2**0.5


@pytest.mark.parametrize("embed", ["later", "now"])
def test_an_ingest_under_another_embedding_model_keeps_the_chunks_and_recomputes_the_vectors(
        tmp_path: Path, tokenizer, embed: str) -> None:
    settings = _settings(tmp_path)
    corpus = _corpus(tmp_path, [BRIEF])
    first = Ingestor(settings, HashEmbeddings(), tokenizer).run([corpus], progress=False)
    report = Ingestor(settings, OtherModel(), tokenizer).run([corpus], progress=False, embed=embed)
    assert report.unchanged == (BRIEF,)  # nothing read again
    assert any("made by embedding model 'hash'" in w.reason for w in report.warnings)
    store = open_store(settings, OtherModel())  # the model check passes: the index is the new model's
    assert store.model == "hash-128" and store.dim == 128 and len(store) == first.total_chunks
    if embed == "later":
        assert report.chunks_pending == first.total_chunks
        hits = HybridRetriever(store, OtherModel(), tokenizer, RetrievalConfig()).retrieve("新认定高新技术企业", k=3)
        assert hits  # by keyword meanwhile
        assert BackgroundEmbedder(settings, OtherModel()).run().pending == 0
        store = open_store(settings, OtherModel())
    assert report.chunks_pending == (first.total_chunks if embed == "later" else 0)
    assert np.allclose(store.vector(0), OtherModel().encode([store.chunk(0).match_text()], query=False)[0])
