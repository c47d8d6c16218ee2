"""`policyqa ingest` and `policyqa remove`: files in, index updated atomically.

Incremental by content hash: an unchanged source costs a hash and nothing more; a
changed one replaces all of its old chunks; nothing is written until the whole run
has succeeded, so a failed or interrupted ingest leaves the previous index as it was.

With `embed="later"` the run saves its chunks without the vectors the embedding cache
does not hold: they are searchable by keyword at once, and ingest/background.py
computes the rest. `embed="now"` (the library default) encodes everything first.
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
from langchain_core.embeddings import Embeddings
from tqdm import tqdm

from ingest.chunker import chunk_document
from ingest.document import build_document
from ingest.embeddings import EmbeddingCache, cached_passages, encode_passages
from ingest.loaders import iter_files, load_file
from ingest.pdf_worker import PdfLimits, unread_warning
from ingest.store import FaissBm25Store, FileRecord, IndexLock, current_generation
from ingest.measures import MEASURES
from ingest.records import RecordKind, attach
from ingest.targets import TARGETS
from ingest.tokenize import TOKENIZER_VERSION, Tokenizer
from policyqa.errors import IngestError, PolicyQAError
from policyqa.settings import Settings
from policyqa.text.injection import injection_spans
from policyqa.types import Chunk, Document

# Bump when reading a file gives different text, metadata or chunks (a loader, the
# cleaning, the 公文 rules, the chunker): unchanged files indexed by older rules are
# read again on the next ingest. 2: OCR, tables as tables, radicals, 公文 head and tail.
READER_VERSION = "2"
EMBED_MODES = ("now", "later")


@dataclass(frozen=True)
class IngestReport:
    added: tuple[str, ...] = ()
    replaced: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    skipped: tuple[IngestError, ...] = ()
    warnings: tuple[IngestError, ...] = ()  # indexed, but worth a look (e.g. prompt injection)
    chunks_added: int = 0
    chunks_encoded: int = 0  # chunks that needed the model (the rest came from the cache)
    chunks_pending: int = 0  # chunks saved without a vector yet (embed="later"), index-wide
    total_documents: int = 0
    total_chunks: int = 0
    total_targets: int = 0  # target and reported-figure records (policyqa targets)
    total_measures: int = 0  # support measures (policyqa match)
    bytes_read: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [
            f"documents: {len(self.added)} added, {len(self.replaced)} replaced, "
            f"{len(self.unchanged)} unchanged, {len(self.skipped)} skipped",
            f"chunks: {self.chunks_added} added ({self.chunks_encoded} encoded); "
            f"index now holds {self.total_documents} documents, {self.total_chunks} chunks, "
            f"{self.total_targets} target/figure records, {self.total_measures} support measures",
            *([f"embedding: {self.chunks_pending} chunks searchable by keyword now, their vectors come "
               "in the background (`policyqa docs` shows progress)"] if self.chunks_pending else []),
            f"time: {self.seconds:.1f}s ("
            + ", ".join(f"{k} {v:.1f}s" for k, v in self.timings.items())
            + ")",
        ]
        lines += [f"skipped {e.source}: {e.reason}" for e in self.skipped]
        lines += [f"warning {e.source}: {e.reason}" for e in self.warnings]
        return "\n".join(lines)


def _embedding_identity(emb: Embeddings) -> tuple[str, int]:
    name = str(getattr(emb, "name", type(emb).__name__))
    dim = int(getattr(emb, "dim", 0)) or len(emb.embed_query("维度"))
    return name, dim


def open_store(settings: Settings, emb: Embeddings, rebuild: bool = False, migrate: bool = False) -> FaissBm25Store:
    """The current index, checked against the embedding setting, or an empty one. With
    `migrate` (an ingest), an index made with another embedding model keeps its chunks
    and drops its vectors, which the background embedder then computes again."""
    name, dim = _embedding_identity(emb)
    if rebuild or current_generation(settings.index_dir) is None:
        return FaissBm25Store(name, dim, TOKENIZER_VERSION, ann_threshold=settings.ann_threshold)
    store = FaissBm25Store.load(settings.index_dir, model=None if migrate else name, dim=None if migrate else dim,
                                tokenizer=TOKENIZER_VERSION, ann_threshold=settings.ann_threshold)
    if (store.model, store.dim) != (name, dim):
        store.reset_vectors(name, dim)
    return store


# Told each stage's seconds once per run (bench times the real pipeline through it).
StageHook = Callable[[str, float], None]
STAGES = ("parse", "clean", "chunk", "embed", "tokenize", "index", "records")
# What is derived from each document at ingest and saved with the index.
RECORD_KINDS: tuple[RecordKind, ...] = (TARGETS, MEASURES)


class Ingestor:
    def __init__(self, settings: Settings, embeddings: Embeddings, tokenizer: Tokenizer | None = None,
                 on_stage: StageHook | None = None) -> None:
        self.settings = settings
        self.embeddings = embeddings
        self.tokenizer = tokenizer or Tokenizer()
        self.on_stage = on_stage

    def run(self, paths: Sequence[Path], rebuild: bool = False, progress: bool | None = None,
            embed: str = "now") -> IngestReport:
        if embed not in EMBED_MODES:
            raise PolicyQAError(f"unknown embed mode {embed!r}; use {' or '.join(EMBED_MODES)}")
        show = sys.stderr.isatty() if progress is None else progress
        started = time.perf_counter()
        timings: dict[str, float] = defaultdict(float)
        with IndexLock(self.settings.index_dir, wait_s=self.settings.lock_wait_s):
            store = open_store(self.settings, self.embeddings, rebuild=rebuild, migrate=True)
            known = store.files()
            added: list[str] = []
            replaced: list[str] = []
            unchanged: list[str] = []
            skipped: list[IngestError] = []
            warnings: list[IngestError] = []
            if store.migrated_from:
                warnings.append(IngestError(str(self.settings.index_dir), (
                    f"the index's vectors were made by embedding model {store.migrated_from!r}; they are computed "
                    f"again with {store.model!r} (keyword search works meanwhile)")))
            pending: list[tuple[Document, list[Chunk]]] = []
            fresh: dict[str, dict[str, list]] = {k.name: {} for k in RECORD_KINDS}  # records of the documents read now
            seen: dict[str, str] = {}
            bytes_read = 0
            max_bytes = int(self.settings.max_file_mb * 1024 * 1024)
            pdf = PdfLimits.from_settings(self.settings, progress=show)
            files = list(iter_files(paths))
            for path in tqdm(files, desc="reading", unit="file", disable=not show):
                t0 = time.perf_counter()
                result = load_file(path, max_bytes=max_bytes, pdf=pdf)
                timings["parse"] += time.perf_counter() - t0
                skipped.extend(result.errors)
                if result.documents:
                    bytes_read += _size(path)
                for raw in result.documents:
                    unread = unread_warning(raw.pages)
                    if unread:  # a scan over the OCR page cap or time budget: indexed in part
                        warnings.append(IngestError(raw.source, unread))
                    if raw.source in seen:
                        skipped.append(IngestError(raw.source, f"duplicate source name (already read from {seen[raw.source]})"))
                        continue
                    seen[raw.source] = raw.path or str(path)
                    old = known.get(raw.source)
                    if old is not None and old.sha256 == raw.sha256 and old.reader == READER_VERSION:
                        unchanged.append(raw.source)
                        continue
                    try:
                        t0 = time.perf_counter()
                        doc = build_document(raw)
                        t1 = time.perf_counter()
                        chunks = chunk_document(
                            doc, self.settings.chunk_size, self.settings.chunk_max, self.settings.chunk_overlap
                        )
                        timings["clean"] += t1 - t0
                        timings["chunk"] += time.perf_counter() - t1
                    except PolicyQAError as exc:
                        skipped.append(exc if isinstance(exc, IngestError) else IngestError(raw.source, str(exc)))
                        continue
                    if not chunks:
                        skipped.append(IngestError(raw.source, "no text left after cleaning"))
                        continue
                    suspicious = injection_spans(doc.text)
                    if suspicious:
                        a, b = suspicious[0]
                        warnings.append(IngestError(raw.source, (
                            f"{len(suspicious)} instruction-like passage(s), e.g. {doc.text[a:b][:40]!r} "
                            "(possible prompt injection); indexed as content, never followed as instructions")))
                    t0 = time.perf_counter()
                    for kind in RECORD_KINDS:
                        fresh[kind.name][raw.source] = kind.extract(doc.text, chunks)
                    timings["records"] += time.perf_counter() - t0
                    pending.append((doc, chunks))
                    (replaced if old is not None else added).append(raw.source)

            all_chunks = [c for _, chunks in pending for c in chunks]
            texts = [c.match_text() for c in all_chunks]
            t0 = time.perf_counter()
            cache = EmbeddingCache(self.settings.data_dir / "cache" / "embeddings", store.model, store.dim)
            before = len(cache)
            if embed == "later":
                vectors, embedded = cached_passages(texts, cache, store.dim)
            else:
                with tqdm(total=len(texts), desc="embedding", unit="chunk", disable=not show or not texts) as bar:
                    vectors = encode_passages(
                        self.embeddings, texts, cache, self.settings.embed_batch_size, progress=bar.update
                    )
                embedded = np.ones(len(texts), dtype=bool)
            encoded = len(cache) - before
            timings["embed"] += time.perf_counter() - t0

            t0 = time.perf_counter()
            offset = 0
            for doc, chunks in pending:
                n = len(chunks)
                tokens = [self.tokenizer.index_tokens(t) for t in texts[offset : offset + n]]
                store.add(_record(doc, n), chunks, vectors[offset : offset + n], tokens, embedded[offset : offset + n])
                offset += n
            timings["tokenize"] += time.perf_counter() - t0
            if embed == "now" and (rows := store.pending()):  # left by an earlier ingest or a model change
                t0 = time.perf_counter()
                waiting = [store.chunk(i).match_text() for i in rows]
                store.fill(rows, encode_passages(self.embeddings, waiting, cache, self.settings.embed_batch_size))
                encoded = len(cache) - before
                timings["embed"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            records_changed, counts = _attach_records(store, fresh)
            timings["records"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            if (pending or rebuild or store.migrated_from or records_changed
                    or current_generation(self.settings.index_dir) is None):
                store.save(self.settings.index_dir)
                cache.save()
            timings["index"] += time.perf_counter() - t0

        if self.on_stage is not None:
            for stage in STAGES:
                self.on_stage(stage, timings.get(stage, 0.0))
        return IngestReport(
            added=tuple(added),
            replaced=tuple(replaced),
            unchanged=tuple(unchanged),
            skipped=tuple(skipped),
            warnings=tuple(warnings),
            chunks_added=len(all_chunks),
            chunks_encoded=encoded,
            chunks_pending=len(store.pending()),
            total_documents=len(store.files()),
            total_chunks=len(store),
            total_targets=counts[TARGETS.name],
            total_measures=counts[MEASURES.name],
            bytes_read=bytes_read,
            seconds=time.perf_counter() - started,
            timings=dict(timings),
        )


def remove_sources(settings: Settings, emb: Embeddings, sources: Iterable[str]) -> dict[str, int]:
    """Delete documents by source name; returns chunks removed per source. Unknown
    names raise, so a typo is never mistaken for a successful removal."""
    with IndexLock(settings.index_dir, wait_s=settings.lock_wait_s):
        store = open_store(settings, emb)
        known = store.files()
        missing = [s for s in sources if s not in known]
        if missing:
            raise PolicyQAError(f"not in the index: {', '.join(missing)} (see `policyqa docs`)")
        removed = {s: store.delete(s) for s in sources}
        save_keeping_records(settings.index_dir, store)
    return removed


def save_keeping_records(index_dir: Path, store: FaissBm25Store) -> None:
    """Save a new generation of a store whose documents were not read again, with the
    derived records of the current generation carried over. The caller holds the lock."""
    _attach_records(store, {})
    store.save(index_dir)


def _attach_records(store: FaissBm25Store, fresh: dict[str, dict[str, list]]) -> tuple[bool, dict[str, int]]:
    """Give the store every kind of derived record of every indexed document, to be
    saved in its next generation. Returns whether any differ from what the store
    already held, and how many records of each kind the index holds."""
    changed = False
    counts: dict[str, int] = {}
    for kind in RECORD_KINDS:
        differs, counts[kind.name] = attach(kind, store, fresh.get(kind.name, {}))
        changed |= differs
    return changed, counts


def _record(doc: Document, n: int) -> FileRecord:
    m = doc.meta
    return FileRecord(
        source=doc.source, sha256=doc.sha256, doc_id=doc.doc_id, chunks=n, title=m.title,
        issuer=m.issuer, date=m.date, region=m.region, doc_number=m.doc_number, path=doc.path,
        reader=READER_VERSION,
    )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
