"""The index store: FAISS (dense, inner product on normalised vectors) plus bm25s
(keyword, over jieba tokens), behind the narrow `Store` interface that ingest and
the chain use, so another backend (e.g. Milvus) can replace it.

On disk an index folder holds generations and a pointer file:

    index/CURRENT            -> "gen-20251123T040000-ab12cd"
    index/gen-…/manifest.json   format version, model, dimension, counts, file hashes
    index/gen-…/chunks.jsonl    one Chunk per line (JSON, never pickle)
    index/gen-…/tokens.jsonl    BM25 tokens per chunk, so a rebuild needs no jieba
    index/gen-…/vectors.npy     float32 matrix, row i = chunk i
    index/gen-…/embedded.npy    which rows hold a vector yet, only while some do not
    index/gen-…/dense.faiss     the HNSW graph, only when the index is approximate
    index/gen-…/bm25/           bm25s arrays (numpy, allow_pickle=False) and JSON

A chunk is searchable by keyword as soon as it is saved; its vector may come later
(ingest/background.py). Until it has one, its row is zeros and dense search skips it.

A save writes a new generation, fsyncs it, then swaps CURRENT with os.replace, so
a crash at any point leaves the previous generation loadable.

The dense index is exact (flat inner product) up to `ann_threshold` chunks and HNSW
above it (`Settings.ann_threshold`, measured by `policyqa bench`). A flat index is
rebuilt from vectors.npy in a moment, so it is never saved; an HNSW graph over a
million chunks takes minutes to build, so it is saved with its generation.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Protocol, Sequence, TypeVar

import bm25s
import faiss
import numpy as np

from policyqa.errors import IndexLockedError, IndexStoreError
from policyqa.settings import Settings
from policyqa.types import Chunk, Filters

T = TypeVar("T")

FORMAT_VERSION = 1
POINTER = "CURRENT"
REBUILD_HINT = "rebuild it with `policyqa ingest --rebuild [PATH ...] --index {dir}`"
DENSE_FILE = "dense.faiss"
EMBEDDED_FILE = "embedded.npy"
# HNSW parameters, chosen with `policyqa bench` (synthetic corpora up to 1M chunks,
# e5-small vectors): see eval/bench.py for the recall and latency they gave.
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 64
HNSW_EF_SEARCH = 256  # recall@10 0.994 at 100k chunks (0.986 at 128), about 0.5 ms a query
# Below this share of allowed chunks a filtered search scores the allowed rows
# exactly: HNSW walks its graph through disallowed nodes and can return fewer than k.
EXACT_FILTER_SHARE = 0.2


@dataclass(frozen=True)
class FileRecord:
    """One ingested source (a file, or a JSONL document)."""

    source: str
    sha256: str
    doc_id: str
    chunks: int
    title: str = ""
    issuer: str = ""
    date: str = ""
    region: str = ""
    doc_number: str = ""
    path: str = ""
    # The reading rules (ingest.pipeline.READER_VERSION) that made this record: a file
    # read by older rules is read again, so OCR or table support reaches files that
    # did not change. Records from before this field have "".
    reader: str = ""


class Store(Protocol):
    """What ingest and retrieval need from an index backend."""

    model: str
    dim: int

    def files(self) -> dict[str, FileRecord]: ...
    def chunk(self, i: int) -> Chunk: ...
    def __len__(self) -> int: ...
    def add(self, record: FileRecord, chunks: Sequence[Chunk], vectors: np.ndarray, tokens: Sequence[list[str]],
            embedded: np.ndarray | None = None) -> None: ...
    def delete(self, source: str) -> int: ...
    def dense_search(self, query: np.ndarray, k: int, filters: Filters | None = None) -> list[tuple[int, float]]: ...
    def keyword_search(self, tokens: list[str], k: int, filters: Filters | None = None) -> list[tuple[int, float]]: ...
    def save(self, index_dir: Path) -> None: ...


class FaissBm25Store:
    def __init__(self, model: str, dim: int, tokenizer: str = "", ann_threshold: int = Settings.ann_threshold) -> None:
        self.model = model
        self.dim = dim
        self.tokenizer = tokenizer  # the token scheme the BM25 tokens were made with
        self.ann_threshold = ann_threshold  # above this many chunks the dense index is HNSW
        self._chunks: list[Chunk] = []
        self._tokens: list[list[str]] = []
        self._vectors = np.zeros((0, dim), dtype=np.float32)
        self._embedded = np.zeros(0, dtype=bool)  # row i has its dense vector
        self._files: dict[str, FileRecord] = {}
        self._faiss: faiss.Index | None = None
        self._bm25: bm25s.BM25 | None = None
        self._by_id: dict[str, Chunk] | None = None
        self._by_source: dict[str, list[Chunk]] | None = None
        self.migrated_from = ""  # the embedding model whose vectors reset_vectors dropped
        # Records derived from the documents at ingest (target figures), by kind: JSON
        # payloads saved as <kind>.json inside the same generation.
        self._records: dict[str, object] = {}
        # What readers compute from the contents (decoded records, measures), dropped
        # whenever the contents change: the one cache key is this store's contents.
        self._derived: dict[str, object] = {}

    # -- reading ---------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._chunks)

    def files(self) -> dict[str, FileRecord]:
        return dict(self._files)

    def chunk(self, i: int) -> Chunk:
        return self._chunks[i]

    def chunk_by_id(self, chunk_id: str) -> Chunk | None:
        """A chunk by its id (citations carry ids); the lookup table is built on first use."""
        if self._by_id is None:
            self._by_id = {c.chunk_id: c for c in self._chunks}
        return self._by_id.get(chunk_id)

    def chunks(self) -> Iterator[Chunk]:
        return iter(self._chunks)

    def chunks_of(self, source: str) -> list[Chunk]:
        """A document's chunks in reading order; the lookup table is built on first use."""
        if self._by_source is None:
            by_source: dict[str, list[Chunk]] = {}
            for c in self._chunks:
                by_source.setdefault(c.source, []).append(c)
            self._by_source = {k: sorted(v, key=lambda c: c.start) for k, v in by_source.items()}
        return list(self._by_source.get(source, ()))

    def vector(self, i: int) -> np.ndarray:
        return self._vectors[i]

    def has_vector(self, i: int) -> bool:
        return bool(self._embedded[i])

    def pending(self) -> list[int]:
        """Rows still waiting for their dense vector, in index order."""
        return np.flatnonzero(~self._embedded).tolist()

    def embedding_state(self) -> dict[str, tuple[int, int]]:
        """Per source: (chunks with a vector, chunks)."""
        state: dict[str, list[int]] = {s: [0, 0] for s in self._files}
        for c, done in zip(self._chunks, self._embedded):
            counts = state.setdefault(c.source, [0, 0])
            counts[0] += int(done)
            counts[1] += 1
        return {s: (a, b) for s, (a, b) in state.items()}

    def reset_vectors(self, model: str, dim: int) -> None:
        """Drop every vector for another embedding model's: the chunks stay searchable
        by keyword and wait for the background embedder."""
        self.migrated_from = self.model
        self.model, self.dim = model, dim
        self._vectors = np.zeros((len(self._chunks), dim), dtype=np.float32)
        self._embedded = np.zeros(len(self._chunks), dtype=bool)
        self._faiss = None

    def fill(self, rows: Sequence[int], vectors: np.ndarray) -> None:
        """Give waiting rows their vectors (the background embedder's write)."""
        if vectors.shape != (len(rows), self.dim):
            raise IndexStoreError(f"{len(rows)} rows but vectors {vectors.shape}")
        if len(rows):
            idx = np.asarray(rows, dtype=np.int64)
            self._vectors[idx] = vectors
            self._embedded[idx] = True
            self._faiss = None

    def tokens(self) -> Sequence[list[str]]:
        """The BM25 tokens of every chunk, in chunk order."""
        return self._tokens

    # -- writing ---------------------------------------------------------------
    def add(self, record: FileRecord, chunks: Sequence[Chunk], vectors: np.ndarray, tokens: Sequence[list[str]],
            embedded: np.ndarray | None = None) -> None:
        """Add a source's chunks. `embedded` marks the rows whose vector is real; the
        others (zeros) wait for the background embedder. None means all are real."""
        if vectors.shape != (len(chunks), self.dim) or len(tokens) != len(chunks):
            raise IndexStoreError(f"{record.source}: {len(chunks)} chunks but vectors {vectors.shape}, {len(tokens)} token lists")
        done = np.ones(len(chunks), dtype=bool) if embedded is None else np.asarray(embedded, dtype=bool)
        if done.shape != (len(chunks),):
            raise IndexStoreError(f"{record.source}: {len(chunks)} chunks but embedded mask {done.shape}")
        self.delete(record.source)  # a changed file replaces all its old chunks
        self._chunks.extend(chunks)
        self._tokens.extend(intern_tokens(t) for t in tokens)
        self._vectors = np.vstack([self._vectors, np.where(done[:, None], vectors, 0).astype(np.float32, copy=False)])
        self._embedded = np.concatenate([self._embedded, done])
        self._files[record.source] = record
        self._invalidate()

    def delete(self, source: str) -> int:
        if source not in self._files:
            return 0
        keep = [i for i, c in enumerate(self._chunks) if c.source != source]
        removed = len(self._chunks) - len(keep)
        self._chunks = [self._chunks[i] for i in keep]
        self._tokens = [self._tokens[i] for i in keep]
        self._vectors = self._vectors[keep] if keep else np.zeros((0, self.dim), dtype=np.float32)
        self._embedded = self._embedded[keep] if keep else np.zeros(0, dtype=bool)
        del self._files[source]
        self._invalidate()
        return removed

    # -- derived records ------------------------------------------------------------
    def records(self, kind: str) -> object | None:
        """The saved payload of one kind of derived record, or None."""
        return self._records.get(kind)

    def set_records(self, kind: str, payload: object) -> None:
        """Records to save with the next generation as <kind>.json (the caller owns
        their format)."""
        if not kind.isidentifier():  # it names a file inside the generation
            raise ValueError(f"record kind {kind!r} must be a plain name such as 'targets'")
        self._records[kind] = payload
        self._derived.clear()

    def derived(self, key: str, build: Callable[["FaissBm25Store"], T]) -> T:
        """`build(self)`, computed once until the store's contents change."""
        if key not in self._derived:
            self._derived[key] = build(self)
        return self._derived[key]  # type: ignore[return-value]

    def _invalidate(self) -> None:
        self._derived.clear()
        self._faiss = None
        self._bm25 = None
        self._by_id = None
        self._by_source = None

    # -- search ------------------------------------------------------------------
    def _allowed(self, filters: Filters | None) -> np.ndarray | None:
        if filters is None or filters.is_empty():
            return None
        return np.fromiter((filters.accepts(c) for c in self._chunks), dtype=bool, count=len(self._chunks))

    def _dense_allowed(self, filters: Filters | None) -> np.ndarray | None:
        """The filter, less the rows that have no vector yet (their zeros would match nothing)."""
        allowed = self._allowed(filters)
        if self._embedded.all():
            return allowed
        return self._embedded if allowed is None else allowed & self._embedded

    def approximate(self) -> bool:
        """Whether the dense index is HNSW (above the threshold) rather than flat."""
        return len(self._chunks) > self.ann_threshold

    def _dense(self) -> faiss.Index:
        # The threshold may have been set after a load, so the kind is checked too.
        if self._faiss is None or isinstance(self._faiss, faiss.IndexHNSWFlat) != self.approximate():
            self._faiss = build_dense_index(self._vectors, self.approximate())
        return self._faiss

    def dense_search(self, query: np.ndarray, k: int, filters: Filters | None = None) -> list[tuple[int, float]]:
        if not self._chunks:
            return []
        q = np.ascontiguousarray(query.reshape(1, -1).astype(np.float32))
        allowed = self._dense_allowed(filters)
        params = None
        if allowed is not None:
            ids = np.flatnonzero(allowed).astype(np.int64)
            if not len(ids):
                return []
            share = len(ids) / len(self._chunks)
            if self.approximate() and share < EXACT_FILTER_SHARE:
                return _exact_top(self._vectors, ids, q[0], k)
            sel = faiss.IDSelectorBatch(ids)
            if self.approximate():
                # Disallowed nodes fill HNSW's candidate list; a wider search makes up for them.
                params = faiss.SearchParametersHNSW(sel=sel, efSearch=int(max(k, HNSW_EF_SEARCH) / share))
            else:
                params = faiss.SearchParameters(sel=sel)
        k = min(k, len(self._chunks))
        scores, ids = self._dense().search(q, k, params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def _keyword(self) -> bm25s.BM25:
        if self._bm25 is None:
            bm25 = bm25s.BM25()
            # An empty token list would be dropped by bm25s and shift every row after it.
            bm25.index([t or ["\u2205"] for t in self._tokens], show_progress=False)
            self._bm25 = bm25
        return self._bm25

    def keyword_search(self, tokens: list[str], k: int, filters: Filters | None = None) -> list[tuple[int, float]]:
        if not self._chunks:
            return []
        bm25 = self._keyword()
        ids = bm25.get_tokens_ids(tokens)
        if not ids:
            return []
        allowed = self._allowed(filters)
        mask = None if allowed is None else allowed.astype(np.float32)
        scores = bm25.get_scores_from_ids(ids, weight_mask=mask)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]

    # -- persistence ---------------------------------------------------------------
    def manifest(self) -> dict:
        return {
            "format_version": FORMAT_VERSION,
            "embedding_model": self.model,
            "dimension": self.dim,
            "tokenizer": self.tokenizer,
            "chunk_count": len(self._chunks),
            "pending_chunks": int((~self._embedded).sum()),
            "dense_index": "hnsw" if self.approximate() else "flat",
            "files": {s: dataclasses.asdict(r) for s, r in sorted(self._files.items())},
            "records": sorted(self._records),  # <kind>.json files of derived records
        }

    def save(self, index_dir: Path) -> None:
        index_dir.mkdir(parents=True, exist_ok=True)
        previous = current_generation(index_dir)
        name = f"gen-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"
        tmp = index_dir / f".tmp-{name}"
        tmp.mkdir()
        try:
            _write_jsonl(tmp / "chunks.jsonl", (dataclasses.asdict(c) for c in self._chunks))
            _write_jsonl(tmp / "tokens.jsonl", self._tokens)
            with open(tmp / "vectors.npy", "wb") as f:
                np.save(f, self._vectors, allow_pickle=False)
            if self._chunks:
                self._keyword().save(str(tmp / "bm25"), show_progress=False)
            checked = ["chunks.jsonl", "tokens.jsonl", "vectors.npy"]
            if not self._embedded.all():
                with open(tmp / EMBEDDED_FILE, "wb") as f:
                    np.save(f, self._embedded, allow_pickle=False)
                checked.append(EMBEDDED_FILE)
            if self.approximate():
                faiss.write_index(self._dense(), str(tmp / DENSE_FILE))
                checked.append(DENSE_FILE)
            for kind, payload in sorted(self._records.items()):
                (tmp / f"{kind}.json").write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
                checked.append(f"{kind}.json")
            manifest = self.manifest()
            manifest["checksums"] = {n: _sha256_file(tmp / n) for n in checked}
            (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
            _fsync_tree(tmp)
            os.replace(tmp, index_dir / name)
            _fsync_dir(index_dir)
            pointer_tmp = index_dir / f".{POINTER}.{name}"
            with open(pointer_tmp, "w", encoding="utf-8") as f:
                f.write(name)
                f.flush()
                os.fsync(f.fileno())
            os.replace(pointer_tmp, index_dir / POINTER)
            _fsync_dir(index_dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _remove_stale(index_dir, keep={name, previous.name if previous else name})

    @classmethod
    def load(cls, index_dir: Path, model: str | None = None, dim: int | None = None,
             tokenizer: str | None = None, ann_threshold: int = Settings.ann_threshold) -> "FaissBm25Store":
        gen = current_generation(index_dir)
        if gen is None:
            raise IndexStoreError(f"no index in {index_dir}; build one with `policyqa ingest --index {index_dir}`")
        hint = REBUILD_HINT.format(dir=index_dir)
        try:
            manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IndexStoreError(f"index manifest in {gen} is unreadable ({exc}); {hint}") from exc
        if manifest.get("format_version") != FORMAT_VERSION:
            raise IndexStoreError(f"index format {manifest.get('format_version')} is not {FORMAT_VERSION}; {hint}")
        if model is not None and manifest.get("embedding_model") != model:
            raise IndexStoreError(
                f"index was built with embedding model {manifest.get('embedding_model')!r}, "
                f"but the setting is {model!r}; {hint}"
            )
        if dim is not None and manifest.get("dimension") != dim:
            raise IndexStoreError(f"index dimension {manifest.get('dimension')} does not match the model's {dim}; {hint}")
        if tokenizer is not None and manifest.get("tokenizer") != tokenizer:
            raise IndexStoreError(
                f"index keyword tokens were made by tokenizer {manifest.get('tokenizer')!r}, "
                f"this version uses {tokenizer!r}; {hint}"
            )
        for name, digest in manifest.get("checksums", {}).items():
            if _sha256_file(gen / name) != digest:
                raise IndexStoreError(f"index file {gen / name} is damaged (checksum mismatch); {hint}")
        store = cls(manifest["embedding_model"], int(manifest["dimension"]), manifest.get("tokenizer", ""), ann_threshold)
        try:
            store._chunks = [Chunk(**row) for row in _read_jsonl(gen / "chunks.jsonl")]
            store._tokens = [intern_tokens(t) for t in _read_jsonl(gen / "tokens.jsonl")]
            store._vectors = np.load(gen / "vectors.npy", allow_pickle=False)
            # A generation without the mask (all older ones) has every vector.
            store._embedded = (np.load(gen / EMBEDDED_FILE, allow_pickle=False).astype(bool)
                               if (gen / EMBEDDED_FILE).is_file() else np.ones(len(store._chunks), dtype=bool))
            store._files = {s: FileRecord(**r) for s, r in manifest["files"].items()}
            if (gen / "bm25").is_dir():
                store._bm25 = bm25s.BM25.load(str(gen / "bm25"), allow_pickle=False, show_progress=False)
            store._records = {k: json.loads((gen / f"{k}.json").read_text(encoding="utf-8"))
                              for k in manifest.get("records", [])}
            if "records" not in manifest:
                store._records = _legacy_records(gen)
            if (gen / DENSE_FILE).is_file() and store.approximate():
                store._faiss = _read_hnsw(gen / DENSE_FILE, len(store._chunks), store.dim)
        except (OSError, ValueError, TypeError, KeyError, RuntimeError) as exc:
            raise IndexStoreError(f"index in {gen} could not be read ({exc}); {hint}") from exc
        n = int(manifest["chunk_count"])
        if not (len(store._chunks) == len(store._tokens) == store._vectors.shape[0] == len(store._embedded) == n):
            raise IndexStoreError(f"index in {gen} holds inconsistent counts (manifest says {n} chunks); {hint}")
        if store._vectors.ndim != 2 or store._vectors.shape[1] != store.dim:
            raise IndexStoreError(f"index vectors in {gen} have shape {store._vectors.shape}; {hint}")
        return store


def _legacy_records(gen: Path) -> dict[str, object]:
    """Generations written before the manifest listed its records kept targets.json
    beside it, unchecked: one that does not parse is rebuilt by its reader."""
    try:
        return {"targets": json.loads((gen / "targets.json").read_text(encoding="utf-8"))}
    except (OSError, ValueError):
        return {}


def embedding_label(done: int, total: int) -> str:
    """A document's dense-vector state as `policyqa docs` shows it."""
    if total and done >= total:
        return "ready"
    if not done:
        return "keyword only"
    return f"embedding {100 * done // max(total, 1)}%"


def embedding_counts(index_dir: Path) -> tuple[int, int]:
    """(chunks, chunks waiting for a vector) of the current generation, from its
    manifest alone: cheap enough to poll. (0, 0) when there is no index or the
    manifest cannot be read."""
    gen = current_generation(index_dir)
    if gen is None:
        return 0, 0
    try:
        manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
        return int(manifest.get("chunk_count", 0)), int(manifest.get("pending_chunks", 0))
    except (OSError, ValueError, TypeError):
        return 0, 0


def pending_in(index_dir: Path) -> int:
    """Chunks of the current generation still waiting for a vector."""
    return embedding_counts(index_dir)[1]


def build_dense_index(vectors: np.ndarray, approximate: bool) -> faiss.Index:
    """The dense index over normalised vectors: exact inner product, or HNSW."""
    dim = vectors.shape[1]
    if approximate:
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        index = faiss.IndexFlatIP(dim)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def _read_hnsw(path: Path, n: int, dim: int) -> faiss.Index:
    index = faiss.read_index(str(path))
    if not isinstance(index, faiss.IndexHNSWFlat) or index.ntotal != n or index.d != dim:
        raise ValueError(f"{path.name} holds {index.ntotal} vectors of dimension {index.d}, not {n} of {dim}")
    index.hnsw.efSearch = HNSW_EF_SEARCH  # not a property of the file: the current setting applies
    return index


def _exact_top(vectors: np.ndarray, ids: np.ndarray, q: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Top k of the rows `ids` by inner product, in blocks so a large selection
    never copies the whole matrix at once."""
    best_ids, best_scores = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    for b in range(0, len(ids), 65536):
        block = ids[b : b + 65536]
        best_ids = np.concatenate([best_ids, block])
        best_scores = np.concatenate([best_scores, vectors[block] @ q])
        if len(best_ids) > k:
            keep = np.argpartition(-best_scores, k - 1)[:k]
            best_ids, best_scores = best_ids[keep], best_scores[keep]
    order = np.argsort(-best_scores, kind="stable")
    return [(int(best_ids[i]), float(best_scores[i])) for i in order]


def current_generation(index_dir: Path) -> Path | None:
    try:
        name = (index_dir / POINTER).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    gen = index_dir / name
    return gen if name.startswith("gen-") and gen.is_dir() else None


class IndexLock:
    """An exclusive lock on the index folder for writers; a second ingest refuses
    at once with a clear message rather than racing the first."""

    def __init__(self, index_dir: Path, wait_s: float = 0.0, name: str = ".lock") -> None:
        self.path = index_dir / name
        # The background embedder holds the lock for a few seconds per save; a writer
        # that may meet it waits that long rather than failing.
        self.wait_s = wait_s
        self._fd: int | None = None

    def __enter__(self) -> "IndexLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError as exc:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise IndexLockedError(f"another ingest is writing {self.path.parent}; wait for it to finish") from exc
                time.sleep(0.05)
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def intern_tokens(tokens: Sequence[str]) -> list[str]:
    """One string object per distinct token: the same words recur across chunks, and
    separate copies cost about 8x the memory (measured by `policyqa bench`)."""
    return [sys.intern(t) for t in tokens]


def _write_jsonl(path: Path, rows) -> None:  # type: ignore[no-untyped-def]
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False))
            f.write("\n")


def _read_jsonl(path: Path) -> Iterator:  # type: ignore[type-arg]
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fsync_tree(folder: Path) -> None:
    for p in sorted(folder.rglob("*"), reverse=True):
        if p.is_file():
            with open(p, "rb") as f:
                os.fsync(f.fileno())
        elif p.is_dir():
            _fsync_dir(p)
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_stale(index_dir: Path, keep: set[str]) -> None:
    """Drop older generations and leftovers of interrupted saves. The previous
    generation is kept so a reader that just read the old pointer can still load it.
    Only a writer that holds the lock calls save, so nothing else is writing here."""
    for p in index_dir.iterdir():
        if p.name in keep or p.name in (POINTER, ".lock"):
            continue
        if p.name.startswith(("gen-", ".tmp-gen-")) and p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        elif p.name.startswith(f".{POINTER}."):
            p.unlink(missing_ok=True)
