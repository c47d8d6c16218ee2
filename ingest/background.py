"""The background embedder: computes the dense vectors of chunks that an ingest saved
without one (`Ingestor.run(embed="later")`), and saves them as they complete.

Those chunks are already searchable by keyword; dense search skips them until their
vectors land. The embedder encodes outside the index lock, collecting vectors in the
embedding cache (keyed by model and text), and every `Settings.embed_save_s` seconds
takes the lock, reopens the current generation (an ingest may have changed it in the
meantime), fills the rows whose text it has a vector for, and saves a new generation
atomically. A crash therefore loses at most the vectors of the last interval, and a
restart resumes with the rows still waiting: the cache serves what was encoded.

One embedder works on an index at a time (`.embed.lock` beside the index lock); a
second one returns at once, and the first picks up rows that arrive while it works.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from langchain_core.embeddings import Embeddings

from ingest.embeddings import EmbeddingCache, cached_passages, encode, text_key
from ingest.pipeline import open_store, save_keeping_records
from ingest.store import FaissBm25Store, IndexLock, current_generation, pending_in
from policyqa.errors import IndexLockedError
from policyqa.settings import Settings

EMBED_LOCK = ".embed.lock"
SORT_WINDOW = 256
SAVE_SPACING = 5.0


@dataclass(frozen=True)
class EmbedReport:
    embedded: int = 0  # chunks whose vectors this run saved
    saves: int = 0  # generations written
    pending: int = 0  # chunks still waiting when the run stopped
    busy: bool = False  # another embedder was already working on the index
    seconds: float = 0.0


class BackgroundEmbedder:
    def __init__(self, settings: Settings, embeddings: Embeddings, save_every_s: float | None = None) -> None:
        self.settings = settings
        self.embeddings = embeddings
        self.save_every_s = settings.embed_save_s if save_every_s is None else save_every_s
        self._save_cost = 0.0  # seconds the last save took
        self._cache: EmbeddingCache | None = None

    def run(self, stop: threading.Event | None = None, progress: Callable[[int, int], None] | None = None
            ) -> EmbedReport:
        """Embed until no chunk waits or `stop` is set. `progress(done, total)` is called
        after each batch, with the counts of this run."""
        stop = stop or threading.Event()
        started = time.perf_counter()
        embedded = saves = 0
        busy = False
        while not stop.is_set():
            try:
                with IndexLock(self.settings.index_dir, name=EMBED_LOCK):
                    while not stop.is_set():
                        n, saved = self._round(stop, progress)
                        embedded, saves = embedded + n, saves + saved
                        if not n:
                            break
            except IndexLockedError:
                busy = True  # the embedder holding the lock takes the waiting rows
                break
            # Rows saved by an ingest between the last look and the lock's release
            # would find that embedder busy and be left: look once more, unlocked.
            if not pending_in(self.settings.index_dir):
                break
        return EmbedReport(embedded, saves, pending_in(self.settings.index_dir), busy,
                           time.perf_counter() - started)

    def _round(self, stop: threading.Event, progress: Callable[[int, int], None] | None) -> tuple[int, int]:
        """Encode the waiting rows of the current generation until the save interval
        ends, then save what was encoded. Returns (rows filled, generations saved)."""
        store = _load(self.settings, self.embeddings)
        if store is None or not store.pending():
            return 0, 0
        cache = self._cache_for(store.model, store.dim)
        texts = [store.chunk(i).match_text() for i in store.pending()]
        todo = [t for t in dict.fromkeys(texts) if cache.get(text_key(t)) is None]
        # Shortest first within windows of a few hundred: batches pad little, and
        # documents still complete roughly in the order they were added.
        todo = [t for w in range(0, len(todo), SORT_WINDOW) for t in sorted(todo[w : w + SORT_WINDOW], key=len)]
        batch = max(1, self.settings.embed_batch_size)
        # A save rewrites the generation (and above the ANN threshold its HNSW graph):
        # spacing saves by several times their cost keeps encoding most of the work.
        deadline = time.monotonic() + max(self.save_every_s, SAVE_SPACING * self._save_cost)
        done = len(texts) - len(todo)
        for b in range(0, len(todo), batch):
            part = todo[b : b + batch]
            for text, vec in zip(part, encode(self.embeddings, part, query=False)):
                cache.put(text_key(text), vec)
            done += len(part)
            if progress:
                progress(done, len(texts))
            if stop.is_set() or time.monotonic() >= deadline:
                break
        t0 = time.monotonic()
        filled = self._save(cache)
        self._save_cost = time.monotonic() - t0
        return filled, int(filled > 0)

    def _cache_for(self, model: str, dim: int) -> EmbeddingCache:
        """The embedding cache, read from disk once per run and model."""
        if self._cache is None or (self._cache.model, self._cache.dim) != (model, dim):
            self._cache = EmbeddingCache(self.settings.data_dir / "cache" / "embeddings", model, dim)
        return self._cache

    def _save(self, cache: EmbeddingCache) -> int:
        """Under the index lock: fill every waiting row the cache has a vector for and
        save a generation. Returns the rows filled."""
        settings = self.settings
        with IndexLock(settings.index_dir, wait_s=settings.lock_wait_s):
            store = _load(settings, self.embeddings)
            if store is None:
                return 0
            waiting = store.pending()
            vectors, found = cached_passages([store.chunk(i).match_text() for i in waiting], cache, store.dim)
            if found.any():
                store.fill([i for i, ok in zip(waiting, found) if ok], vectors[found])
                save_keeping_records(settings.index_dir, store)
            cache.save()
            return int(found.sum())


def _load(settings: Settings, embeddings: Embeddings) -> FaissBm25Store | None:
    if current_generation(settings.index_dir) is None:
        return None
    return open_store(settings, embeddings)


def embedder_running(index_dir: Path) -> bool:
    """Whether some embedder (this process's or another's) is working on the index."""
    try:
        with IndexLock(index_dir, name=EMBED_LOCK):
            return False
    except IndexLockedError:
        return True


def spawn_embedder(settings: Settings, log: Path | None = None) -> subprocess.Popen[bytes]:
    """Start `policyqa embed` as a detached process that outlives the caller (the
    ingest command returns as soon as the index is searchable). Its output goes to
    `log` (default <data_dir>/logs/embed.log)."""
    log = log or settings.data_dir / "logs" / "embed.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "policyqa", "embed", "--quiet", "--index", str(settings.index_dir),
           "--embedding", settings.embedding]
    with open(log, "ab") as out:
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, env={**os.environ, "POLICYQA_DATA_DIR": str(settings.data_dir)})
