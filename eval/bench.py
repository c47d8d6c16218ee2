"""`policyqa bench`: ingest throughput, retrieval latency against corpus size, and
end-to-end answer latency, printed as tables and saved as JSON plus a PNG plot.

Ingest. The pipeline itself (ingest/pipeline.py's `Ingestor`) ingests a corpus into
a scratch folder, with an empty embedding cache so the model really runs, and reports
each stage's seconds through its `on_stage` hook: parse (the loaders), clean
(cleaning, metadata, article split), chunk, embed, tokenize (the BM25 tokens), index
(store add, BM25 build and the atomic save) and records (target figures). Loading the
embedding model is reported apart and is not part of the throughput.

Retrieval at 1k, 10k, 100k and 1M chunks, on a synthetic corpus grown from real
chunks, because encoding 1M texts with e5-small on 2 CPU cores would take days:

* base: the chunks of the NCP benchmark corpus (the sample corpus when NCP is absent,
  or with --quick), embedded once through the pipeline's embedding cache
  (<data_dir>/cache/embeddings/<model>/vectors.npy + keys.json, no pickles) and
  tokenised once with the BM25 tokenizer;
* the first B chunks (B = base size) are the real chunks, unchanged. Synthetic chunk
  i >= B copies base chunk j = i mod B (copy number c = i // B), takes a random
  partner chunk p and a share beta ~ U(0, 0.5), and gets
    vector = normalise((1 - beta) v_j + beta v_p + 0.01 * N(0, I)),
    tokens = j's tokens with a share beta of them replaced by random tokens of p,
             and every token containing a digit replaced by a term of its own for
             copy c (so "2020" in copy 3 is a different word from "2020").
  Noise alone is a poor model of e5 vectors: noise small enough to keep a copy as
  close to its origin as real neighbours are (cosine 0.97) makes B tight clusters of
  near-duplicates, and larger noise puts copies further from their origin than two
  random real chunks are (cosine 0.88). Mixing with a partner keeps the vectors in
  the region real chunks occupy. BM25 is a bag of words, so token order is not
  shuffled; the perturbation is applied to token lists rather than text because
  jieba over 1M texts would take longer than everything else here.

Dense search is timed per single query (as the retriever searches) for FAISS flat
(exact; with FAISS's default threads and with one thread) and HNSW (parameters from
ingest/store.py, and efSearch variants), with recall@10 and @50 of HNSW against flat
and the similarity lost: at large sizes the synthetic corpus holds hundreds of
near-copies of each real chunk, so HNSW can miss exact top-10 members while finding
others that are all but equally similar. Keyword search uses bm25s's own scoring on a
score matrix built with vectorised numpy (same Lucene BM25, k1 1.5, b 0.75), since
`bm25s.BM25.index` (the store's path) loops in Python over every token; that path is
timed too up to --store-bm25-max chunks. Hybrid = the same query's measured dense
search + BM25 top-k + score fusion of the candidates, run one after the other in one
loop as `HybridRetriever.retrieve` runs them, minus the query embedding (timed apart:
it does not depend on corpus size) and minus the whole-document BM25 term.

Embedders: chunks/s of each embedding engine on a fixed sample of real chunks, each in
a child process of its own, against a numpy matmul reference measured in the same run
(eval/embed_bench.py describes the method).

End to end: answers over the sample corpus (indexed by the ingest step) per backend:
extractive always, local when its GGUF file and xllamacpp are installed,
openai only when configured; latency and time to first streamed token.

Timings are wall-clock on a shared machine; the load average is recorded with them.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import random
import re
import shutil
import sys
import tempfile
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import bm25s
import faiss
import numpy as np
import psutil
import scipy.sparse as sp
from langchain_core.embeddings import Embeddings

from eval import embed_bench
from eval.embed_bench import EmbedReport
from eval.retrieval import DEFAULT_BENCH
from ingest.chunker import chunk_document
from ingest.document import build_document
from ingest.embeddings import EmbeddingCache, encode, encode_passages
from ingest.loaders import iter_files, load_file
from ingest.pipeline import STAGES, Ingestor
from ingest.store import HNSW_EF_SEARCH, build_dense_index, intern_tokens
from ingest.tokenize import Tokenizer
from policyqa.app import App
from policyqa.settings import PROJECT_ROOT, SAMPLE_CORPUS, Settings
from policyqa.types import Answer, Chunk
from rag.llm import LocalChatModel
from rag.retriever import score_sum

if TYPE_CHECKING:
    from rag.chain import AnswerChain

DEFAULT_SIZES = (1_000, 10_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 5_000)
NOISE = 0.01  # std of the Gaussian added to each synthetic vector component
MAX_BETA = 0.5  # largest share of a synthetic chunk taken from its partner
EF_SEARCH_VARIANTS = (64, 128, 256, 512)
BM25_K1, BM25_B = 1.5, 0.75  # bm25s defaults, which the store uses
SAMPLE_SET = PROJECT_ROOT / "eval" / "sets" / "sample.jsonl"
MB = 1024 * 1024
VECTOR_BLOCK = 65536


# -- results -------------------------------------------------------------------------
@dataclass(frozen=True)
class IngestResult:
    corpus: str
    embedding: str
    documents: int
    chunks: int
    megabytes: float
    seconds: float
    stages: dict[str, float]  # seconds per stage
    model_load_s: float

    @property
    def docs_per_s(self) -> float:
        return self.documents / self.seconds if self.seconds else 0.0

    @property
    def chunks_per_s(self) -> float:
        return self.chunks / self.seconds if self.seconds else 0.0

    @property
    def mb_per_s(self) -> float:
        return self.megabytes / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class DenseResult:
    size: int
    index: str  # "flat", "hnsw" or "hnsw ef=N"
    build_s: float
    index_mb: float
    p50_ms: float
    p95_ms: float
    recall_at_10: float  # against flat (1.0 for flat itself)
    recall_at_50: float
    # Mean over queries of (mean true top-10 similarity - mean found top-10 similarity):
    # near-duplicates make recall drop while what is found is as similar as what is missed.
    similarity_loss_at_10: float


@dataclass(frozen=True)
class KeywordResult:
    size: int
    build_s: float  # the vectorised score matrix
    store_build_s: float | None  # bm25s.BM25.index on token lists, as the store builds it
    index_mb: float
    p50_ms: float
    p95_ms: float


@dataclass(frozen=True)
class HybridResult:
    size: int
    dense_index: str
    p50_ms: float
    p95_ms: float


@dataclass(frozen=True)
class AnswerResult:
    backend: str
    questions: int
    model_load_s: float
    ttft_p50_ms: float
    latency_p50_ms: float
    latency_p95_ms: float
    refused: int
    prompt_tokens_p50: float = 0.0  # LLM backends: tokens in the prompt, of which cached (KV reuse)
    cached_tokens_p50: float = 0.0
    tokens_per_s_p50: float = 0.0  # generated tokens per second after the first
    two_users_ttft_p50_ms: float = 0.0  # two questions sent at once
    two_users_p50_ms: float = 0.0
    runtime: str = ""  # the local runtime's CPU features as llama.cpp reports them


@dataclass(frozen=True)
class BenchReport:
    started: str
    machine: dict[str, object]
    settings: dict[str, object]
    synthetic: str
    ingest: list[IngestResult] = field(default_factory=list)
    query_embedding: dict[str, float] = field(default_factory=dict)
    dense: list[DenseResult] = field(default_factory=list)
    keyword: list[KeywordResult] = field(default_factory=list)
    hybrid: list[HybridResult] = field(default_factory=list)
    memory_per_million_mb: dict[str, float] = field(default_factory=dict)
    answers: list[AnswerResult] = field(default_factory=list)
    embedders: list[EmbedReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# -- pure helpers (tested) -------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Base:
    """The real chunks a synthetic corpus is grown from: vectors, and BM25 tokens as
    ids into `vocab` (row r's tokens are ids[starts[r] : starts[r] + lengths[r]])."""

    vectors: np.ndarray
    ids: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray
    vocab: tuple[str, ...]
    numeric: np.ndarray  # per vocab id: the token contains a digit

    def __len__(self) -> int:
        return len(self.lengths)

    @classmethod
    def build(cls, vectors: np.ndarray, tokens: Sequence[Sequence[str]]) -> "Base":
        vocab: dict[str, int] = {}
        flat = [vocab.setdefault(t, len(vocab)) for toks in tokens for t in toks]
        lengths = np.array([len(t) for t in tokens], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        words = tuple(vocab)
        numeric = np.array([bool(re.search(r"\d", w)) for w in words], dtype=bool)
        return cls(np.ascontiguousarray(vectors, dtype=np.float32), np.array(flat, dtype=np.int32), starts, lengths,
                   words, numeric)


@dataclass(frozen=True, eq=False)
class Plan:
    """Which base chunk, partner and mixing share each synthetic chunk takes."""

    n_base: int
    partner: np.ndarray
    beta: np.ndarray
    seed: int

    def __len__(self) -> int:
        return len(self.partner)

    @property
    def copies(self) -> int:
        return math.ceil(len(self) / self.n_base)


def synthetic_plan(n: int, n_base: int, seed: int = 0) -> Plan:
    rng = np.random.default_rng(seed)
    partner = rng.integers(0, n_base, n)
    beta = rng.uniform(0.0, MAX_BETA, n).astype(np.float32)
    beta[: min(n, n_base)] = 0.0  # the real chunks, unchanged
    return Plan(n_base, partner, beta, seed)


def synthetic_vectors(base: np.ndarray, plan: Plan) -> np.ndarray:
    n, dim = len(plan), base.shape[1]
    out = np.empty((n, dim), dtype=np.float32)
    for lo in range(0, n, VECTOR_BLOCK):  # a fixed block: the noise is drawn per block
        hi = min(n, lo + VECTOR_BLOCK)
        j = np.arange(lo, hi) % plan.n_base
        beta = plan.beta[lo:hi, None]
        rng = np.random.default_rng([plan.seed, 1, lo])
        v = (1 - beta) * base[j] + beta * base[plan.partner[lo:hi]]
        v += (NOISE * (np.arange(lo, hi) >= plan.n_base))[:, None] * rng.standard_normal((hi - lo, dim), dtype=np.float32)
        out[lo:hi] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def synthetic_tokens(base: Base, plan: Plan, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """Token ids of synthetic chunks lo..hi-1: (lengths, concatenated ids). Ids from
    len(base.vocab) on are the per-copy number terms (see `token_text`)."""
    i = np.arange(lo, hi)
    j = i % plan.n_base
    lengths = base.lengths[j]
    total = int(lengths.sum())
    within = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    ids = base.ids[np.repeat(base.starts[j], lengths) + within]
    # Random draws keyed by (chunk, position), so any split into blocks gives the same tokens.
    position = (np.repeat(i, lengths).astype(np.uint64) << np.uint64(20)) | within.astype(np.uint64)
    swap = _uniform(position, 2 * plan.seed + 1) < np.repeat(plan.beta[lo:hi], lengths)
    if swap.any():
        p = np.repeat(plan.partner[lo:hi], lengths)[swap]
        pick = base.starts[p] + (_uniform(position[swap], 2 * plan.seed + 2) * base.lengths[p]).astype(np.int64)
        ids[swap] = base.ids[pick]
    copy = np.repeat(i // plan.n_base, lengths)
    renumber = base.numeric[ids] & (copy > 0)
    if renumber.any():
        rank = np.cumsum(base.numeric) - 1  # each number term's place among number terms
        ids = ids.astype(np.int64)
        ids[renumber] = len(base.vocab) + rank[ids[renumber]] * (plan.copies - 1) + copy[renumber] - 1
    return lengths, ids.astype(np.int32)


def _uniform(keys: np.ndarray, salt: int) -> np.ndarray:
    """Uniform [0, 1) numbers as a pure function of uint64 keys (SplitMix64)."""
    with np.errstate(over="ignore"):
        z = keys * np.uint64(0x9E3779B97F4A7C15) + np.uint64(salt * 0x632BE59BD9B4E019 % 2**64)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53


def vocab_size(base: Base, plan: Plan) -> int:
    return len(base.vocab) + int(base.numeric.sum()) * max(0, plan.copies - 1)


def token_text(base: Base, plan: Plan, token_id: int) -> str:
    if token_id < len(base.vocab):
        return base.vocab[token_id]
    k, c = divmod(token_id - len(base.vocab), plan.copies - 1)
    return f"{base.vocab[np.flatnonzero(base.numeric)[k]]}~{c + 1}"


def synthetic_keyword_index(base: Base, plan: Plan, block: int = 20_000) -> bm25s.BM25:
    """A bm25s index of the synthetic token lists, its score matrix computed with
    numpy (Lucene BM25, as bm25s computes it) instead of bm25s's per-token loops.
    Queries use the base vocabulary, so per-copy number terms are never matched."""
    n, v = len(plan), vocab_size(base, plan)
    if v >= 2**31:
        raise ValueError(f"{v} terms do not fit bm25s's int32 ids; use a smaller size or base")
    cols, tfs, row_nnz, doc_len = [], [], [], np.empty(n, dtype=np.float32)
    for lo in range(0, n, block):
        hi = min(n, lo + block)
        lengths, ids = synthetic_tokens(base, plan, lo, hi)
        doc_len[lo:hi] = lengths
        key = np.repeat(np.arange(hi - lo, dtype=np.int64), lengths) * v + ids
        uniq, tf = np.unique(key, return_counts=True)  # sorted by row, then term: CSR order
        cols.append((uniq % v).astype(np.int32))
        tfs.append(tf.astype(np.float32))
        row_nnz.append(np.bincount(uniq // v, minlength=hi - lo))
        del key, uniq, tf, ids
    indices = np.concatenate(cols)
    data = np.concatenate(tfs)
    del cols, tfs
    indptr = np.concatenate([[0], np.cumsum(np.concatenate(row_nnz))]).astype(np.int64)
    df = np.bincount(indices, minlength=v).astype(np.float64)
    idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
    norm = (BM25_K1 * (1 - BM25_B + BM25_B * doc_len / doc_len.mean())).astype(np.float32)
    for lo in range(0, n, block):  # in place, a block of rows at a time
        hi = min(n, lo + block)
        a, b = indptr[lo], indptr[hi]
        tf = data[a:b]
        rows = np.repeat(norm[lo:hi], np.diff(indptr[lo : hi + 1]))
        data[a:b] = idf[indices[a:b]] * tf / (tf + rows)  # bm25s's "lucene": no (k1 + 1) factor
    csc = sp.csr_matrix((data, indices, indptr), shape=(n, v)).tocsc()
    del data, indices, indptr
    bm25 = bm25s.BM25()
    bm25.scores = {"data": csc.data.astype(np.float32, copy=False), "indices": csc.indices.astype(np.int32, copy=False),
                   "indptr": csc.indptr, "num_docs": n}
    bm25.vocab_dict = {w: i for i, w in enumerate(base.vocab)}
    bm25.nonoccurrence_array = None
    return bm25


def recall_at(truth: np.ndarray, found: np.ndarray, k: int) -> float:
    """Mean share of each query's true top k (rows of `truth`) found in its top k."""
    shares = [len(set(t[:k].tolist()) & set(f[:k].tolist()) - {-1}) / k for t, f in zip(truth, found)]
    return float(np.mean(shares)) if shares else 0.0


def parse_size(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if len(values) else float("nan")


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    def cell(v: object) -> str:
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"
        return str(v)

    body = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in body]
    return "\n".join(lines)


# -- ingest ------------------------------------------------------------------------------
def bench_ingest(name: str, paths: Sequence[Path], settings: Settings, emb: Embeddings, model_load_s: float,
                 tokenizer: Tokenizer, index_dir: Path) -> IngestResult:
    """Ingest `paths` with the pipeline itself into index_dir, timed stage by stage
    through its hook. Its embedding cache lives in a fresh folder beside the index, so
    the model really encodes every chunk."""
    stages = dict.fromkeys(STAGES, 0.0)  # the table's columns, in the pipeline's order

    def on_stage(stage: str, seconds: float) -> None:
        stages[stage] = stages.get(stage, 0.0) + seconds

    scratch = settings.with_(index_dir=index_dir, data_dir=index_dir.with_name(index_dir.name + "-data"))
    report = Ingestor(scratch, emb, tokenizer, on_stage=on_stage).run(paths, rebuild=True, progress=False)
    documents = len(report.added) + len(report.replaced)
    return IngestResult(name, str(getattr(emb, "name", type(emb).__name__)), documents, report.chunks_added,
                        report.bytes_read / MB, sum(stages.values()), stages, model_load_s)


def ncp_slice(corpus: Path, n_docs: int, folder: Path) -> Path:
    """The first n_docs documents of the NCP corpus as a JSONL file of their own."""
    out = folder / f"ncp-first-{n_docs}.jsonl"
    with open(corpus, encoding="utf-8") as fin, open(out, "w", encoding="utf-8") as fout:
        for i, line in enumerate(fin):
            if i >= n_docs:
                break
            fout.write(line)
    return out


# -- retrieval ----------------------------------------------------------------------------
def corpus_chunks(settings: Settings, path: Path) -> list[Chunk]:
    """The chunks ingest would make of `path`, in corpus order."""
    max_bytes = int(settings.max_file_mb * MB)
    docs = [build_document(d) for p in iter_files([path]) for d in load_file(p, max_bytes=max_bytes).documents]
    return [c for d in docs for c in chunk_document(d, settings.chunk_size, settings.chunk_max, settings.chunk_overlap)]


def base_corpus(settings: Settings, emb: Embeddings, tokenizer: Tokenizer, path: Path) -> tuple[Base, list[Chunk], list[list[str]]]:
    """Chunks of `path`, their vectors through the pipeline's embedding cache (computed
    once, then read back) and their BM25 tokens."""
    chunks = corpus_chunks(settings, path)
    texts = [c.match_text() for c in chunks]
    model, dim = str(getattr(emb, "name", type(emb).__name__)), len(encode(emb, ["维度"], query=False)[0])
    cache = EmbeddingCache(settings.data_dir / "cache" / "embeddings", model, dim)
    vectors = encode_passages(emb, texts, cache, settings.embed_batch_size)
    cache.save()
    tokens = [tokenizer.index_tokens(t) for t in texts]
    return Base.build(vectors, tokens), chunks, tokens


def load_questions(source: Path, n: int, seed: int = 0) -> list[str]:
    """A fixed random sample of a question set's questions."""
    questions = [json.loads(line)["question"] for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
    return random.Random(seed).sample(questions, min(n, len(questions)))


def dense_bytes(index: faiss.Index) -> int:
    size = index.ntotal * index.d * 4
    if isinstance(index, faiss.IndexHNSWFlat):
        h = index.hnsw
        size += h.neighbors.size() * 4 + h.offsets.size() * 8 + h.levels.size() * 4 + h.assign_probas.size() * 8
    return size


def flat_view(index: faiss.IndexFlat) -> np.ndarray:
    """The flat index's own copy of the vectors, without another copy."""
    return faiss.rev_swig_ptr(index.get_xb(), index.ntotal * index.d).reshape(index.ntotal, index.d)


def keyword_top(bm25: bm25s.BM25, tokens: list[str], k: int) -> list[tuple[int, float]]:
    """What FaissBm25Store.keyword_search does with bm25s."""
    ids = bm25.get_tokens_ids(tokens)
    if not ids:
        return []
    scores = bm25.get_scores_from_ids(ids)
    k = min(k, len(scores))
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top], kind="stable")]
    return [(int(i), float(scores[i])) for i in top if scores[i] > 0]


def fuse(dense: list[tuple[int, float]], keyword: list[tuple[int, float]], vectors: np.ndarray, q: np.ndarray,
         settings: Settings, k: int) -> list[int]:
    """HybridRetriever's score fusion without the whole-document term."""
    fused = score_sum(dense, keyword, q, vectors.__getitem__, settings.dense_weight, settings.keyword_weight)
    return sorted(fused, key=lambda i: (-fused[i], i))[:k]


def bench_size(n: int, base: Base, queries: np.ndarray, query_tokens: list[list[str]], settings: Settings,
               store_bm25_max: int, seed: int, log) -> tuple[list[DenseResult], KeywordResult, list[HybridResult]]:
    k = settings.candidates
    plan = synthetic_plan(n, len(base), seed)
    t0 = time.perf_counter()
    vectors = synthetic_vectors(base.vectors, plan)
    log(f"  {n:,} chunks: synthetic vectors in {time.perf_counter() - t0:.1f}s")
    t0 = time.perf_counter()
    flat = build_dense_index(vectors, approximate=False)
    flat_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    hnsw = build_dense_index(vectors, approximate=True)
    hnsw_s = time.perf_counter() - t0
    log(f"  {n:,} chunks: flat built in {flat_s:.2f}s, HNSW in {hnsw_s:.1f}s")
    del vectors
    vectors = flat_view(flat)
    t0 = time.perf_counter()
    bm25 = synthetic_keyword_index(base, plan)
    kw_s = time.perf_counter() - t0
    kw_mb = sum(bm25.scores[a].nbytes for a in ("data", "indices", "indptr")) / MB
    store_s = None
    if n <= store_bm25_max:
        lists = synthetic_token_lists(base, plan)
        t0 = time.perf_counter()
        bm25s.BM25().index(lists, show_progress=False)
        store_s = time.perf_counter() - t0
        del lists
    log(f"  {n:,} chunks: BM25 matrix in {kw_s:.1f}s" + (f", bm25s.index in {store_s:.1f}s" if store_s else ""))

    # Every search of a query runs in one loop iteration, so load from other processes
    # falls on all of them alike rather than on whichever ran during a busy minute.
    efs = sorted(set(EF_SEARCH_VARIANTS) | {HNSW_EF_SEARCH})
    # "flat 1 thread": one query is too little work for two OpenMP threads to share,
    # and on a busy machine their hand-offs cost more than the scan (see the results).
    kinds: list[tuple[str, faiss.Index, faiss.SearchParameters | None]] = [("flat", flat, None),
                                                                           ("flat 1 thread", flat, None)] + [
        ("hnsw" if ef == HNSW_EF_SEARCH else f"hnsw ef={ef}", hnsw, faiss.SearchParametersHNSW(efSearch=ef)) for ef in efs]
    threads = faiss.omp_get_max_threads()
    ms: dict[str, list[float]] = {label: [] for label, _, _ in kinds}
    found = {label: np.full((len(queries), k), -1, dtype=np.int64) for label, _, _ in kinds}
    sims = {label: np.full((len(queries), k), np.nan, dtype=np.float32) for label, _, _ in kinds}
    kw_ms: list[float] = []
    hybrid_ms: dict[str, list[float]] = {"flat": [], "hnsw": []}
    for index in (flat, hnsw):
        index.search(queries[:1], k)  # warm-up
    for r, (q, toks) in enumerate(zip(queries, query_tokens)):
        hits: dict[str, list[tuple[int, float]]] = {}
        for label, index, params in kinds:
            faiss.omp_set_num_threads(1 if label == "flat 1 thread" else threads)
            t0 = time.perf_counter()
            scores, ids = index.search(q[None, :], k, params=params)
            hits[label] = [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]
            ms[label].append((time.perf_counter() - t0) * 1000)
            found[label][r] = ids[0]
            sims[label][r] = np.where(ids[0] >= 0, scores[0], np.nan)
        faiss.omp_set_num_threads(threads)
        t0 = time.perf_counter()
        keyword = keyword_top(bm25, toks, k)
        kw_ms.append((time.perf_counter() - t0) * 1000)
        for label in hybrid_ms:
            t0 = time.perf_counter()
            fuse(hits[label], keyword, vectors, q, settings, settings.top_k)
            hybrid_ms[label].append(ms[label][-1] + kw_ms[-1] + (time.perf_counter() - t0) * 1000)
    truth = found["flat"]
    top10 = {label: np.nanmean(v[:, :10], axis=1) for label, v in sims.items()}
    dense = [DenseResult(n, label, flat_s if index is flat else hnsw_s, dense_bytes(index) / MB,
                         percentile(ms[label], 50), percentile(ms[label], 95), recall_at(truth, found[label], 10),
                         recall_at(truth, found[label], min(50, k)), float(np.mean(top10["flat"] - top10[label])))
             for label, index, _ in kinds]
    hybrid = [HybridResult(n, label, percentile(v, 50), percentile(v, 95)) for label, v in hybrid_ms.items()]
    keyword_result = KeywordResult(n, kw_s, store_s, kw_mb, percentile(kw_ms, 50), percentile(kw_ms, 95))
    del vectors, bm25, hnsw, flat, kinds  # the view first: it points into the flat index
    gc.collect()
    return dense, keyword_result, hybrid


def synthetic_token_lists(base: Base, plan: Plan, block: int = 20_000) -> list[list[str]]:
    words = [token_text(base, plan, i) for i in range(vocab_size(base, plan))]
    out: list[list[str]] = []
    for lo in range(0, len(plan), block):
        lengths, ids = synthetic_tokens(base, plan, lo, min(len(plan), lo + block))
        ends = np.cumsum(lengths)
        for a, b in zip(ends - lengths, ends):
            out.append([words[t] for t in ids[a:b]])
    return out


def store_python_bytes(chunks: Sequence[Chunk], tokens: Sequence[list[str]]) -> dict[str, float]:
    """Bytes per chunk of what FaissBm25Store.load keeps as Python objects (Chunk
    objects, token lists), read back from JSON lines as the store reads them."""
    chunk_lines = [json.dumps(asdict(c), ensure_ascii=False) for c in chunks]
    token_lines = [json.dumps(t, ensure_ascii=False) for t in tokens]
    out = {}
    for name, lines, make in (("chunk objects", chunk_lines, lambda row: Chunk(**row)), ("token lists", token_lines, intern_tokens)):
        gc.collect()
        tracemalloc.start()
        kept = [make(json.loads(line)) for line in lines]
        size, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out[name] = size / max(1, len(kept))
        del kept
    return out


# -- end to end ----------------------------------------------------------------------------
def bench_answers(settings: Settings, backends: Sequence[str], questions: dict[str, list[str]]) -> list[AnswerResult]:
    results = []
    for backend in backends:
        app = App(settings.with_(llm=backend))
        t0 = time.perf_counter()
        chain = app.chain(backend)
        if chain.backend != backend:  # a local model that failed its self-test
            continue
        chain.answer("预热")  # loads the embedding model and the jieba dictionary once
        load_s = time.perf_counter() - t0
        try:
            result = _time_backend(chain, backend, questions[backend], load_s)
        finally:
            chain.close()  # one model process at a time
        results.append(result)
    return results


def _time_backend(chain: "AnswerChain", backend: str, questions: Sequence[str], load_s: float) -> AnswerResult:
    asked, paired = list(questions), []
    if backend != "extractive":  # the second half goes in pairs, never asked before (no cached prompt)
        asked, paired = asked[: len(asked) // 2], asked[len(asked) // 2 :]
    runs = [_timed(chain, q) for q in asked]
    pairs: list[Run] = []
    # Two users at once: with the server's parallel slots their prompts are evaluated
    # in one batch, neither waits for the other's whole answer.
    for a, b in zip(paired[0::2], paired[1::2]):
        with ThreadPoolExecutor(2) as pool:
            pairs += list(pool.map(lambda q: _timed(chain, q, usage=False), (a, b)))
    usage = [r for r in runs if r.prompt_tokens]
    return AnswerResult(
        backend, len(runs), load_s, percentile([r.ttft_ms for r in runs], 50),
        percentile([r.total_ms for r in runs], 50), percentile([r.total_ms for r in runs], 95),
        sum(r.refused for r in runs),
        prompt_tokens_p50=percentile([r.prompt_tokens for r in usage], 50) if usage else 0.0,
        cached_tokens_p50=percentile([r.cached_tokens for r in usage], 50) if usage else 0.0,
        tokens_per_s_p50=percentile([r.tokens_per_s for r in usage], 50) if usage else 0.0,
        two_users_ttft_p50_ms=percentile([r.ttft_ms for r in pairs], 50) if pairs else 0.0,
        two_users_p50_ms=percentile([r.total_ms for r in pairs], 50) if pairs else 0.0,
        runtime=chain.llm.supervisor.system_info if isinstance(chain.llm, LocalChatModel) else "",
    )


@dataclass(frozen=True)
class Run:
    ttft_ms: float
    total_ms: float
    refused: bool
    prompt_tokens: int = 0
    cached_tokens: int = 0
    tokens_per_s: float = 0.0


def _timed(chain: "AnswerChain", question: str, usage: bool = True) -> Run:
    start = time.perf_counter()
    first = None
    final = None
    for event in chain.stream(question):
        if isinstance(event, Answer):
            final = event
        elif first is None:
            first = time.perf_counter()
    end = time.perf_counter()
    ttft = ((first or end) - start) * 1000
    # Only the local model keeps its last request's token counts.
    stats = chain.llm.last_usage if usage and isinstance(chain.llm, LocalChatModel) else None
    if not stats or final is None or final.refused or first is None:
        return Run(ttft, (end - start) * 1000, bool(final and final.refused))
    generating = max(end - first, 1e-3)
    return Run(ttft, (end - start) * 1000, False, int(stats.get("input_tokens", 0)),
               int((stats.get("input_token_details") or {}).get("cache_read", 0)),
               stats.get("output_tokens", 0) / generating)


def available_backends(settings: Settings) -> tuple[list[str], list[str]]:
    from rag.llm import resolve_backend

    backends, notes = ["extractive"], []
    if resolve_backend(settings.with_(llm="auto")) == "local":  # its model file and runtime are installed
        backends.append("local")
    else:
        notes.append(f"local backend skipped: no {settings.model_path()} or no xllamacpp")
    if settings.openai_base_url and settings.openai_model:
        backends.append("openai")
    else:
        notes.append("openai backend skipped: POLICYQA_OPENAI_BASE_URL / POLICYQA_OPENAI_MODEL not set")
    return backends, notes


# -- output -------------------------------------------------------------------------------
def render(report: BenchReport) -> str:
    parts = [f"policyqa bench  {report.started}  " + "  ".join(f"{k}={v}" for k, v in report.machine.items())]
    if report.ingest:
        parts.append("\nIngest (stage seconds; throughput over all stages, model load excluded)")
        stage_names = list(report.ingest[0].stages)
        parts.append(format_table(
            ["corpus", "embedding", "docs", "chunks", "MB", "seconds", "docs/s", "chunks/s", "MB/s", *stage_names, "model load"],
            [[r.corpus, r.embedding, r.documents, r.chunks, r.megabytes, r.seconds, r.docs_per_s, r.chunks_per_s,
              r.mb_per_s, *(r.stages[s] for s in stage_names), r.model_load_s] for r in report.ingest]))
    for e in report.embedders:
        parts.append("\nEmbedders (passages through encode_passages, no cache; one child process per row)")
        parts.append(format_table(*embed_bench.table(e)))
        parts += embed_bench.summary_lines(e)
    if report.query_embedding:
        parts.append("\nQuery embedding (ms per query, independent of corpus size): "
                     + "  ".join(f"{k}={v:.1f}" for k, v in report.query_embedding.items()))
    if report.dense:
        parts.append(f"\nDense search, single query, top {report.settings['candidates']} (recall against flat)")
        parts.append(format_table(
            ["chunks", "index", "build s", "index MB", "p50 ms", "p95 ms", "recall@10", "recall@50", "sim loss@10"],
            [[r.size, r.index, r.build_s, r.index_mb, r.p50_ms, r.p95_ms, r.recall_at_10, r.recall_at_50,
              f"{r.similarity_loss_at_10:.5f}"] for r in report.dense]))
    if report.keyword:
        parts.append("\nBM25 (bm25s scoring, top-k as the store does it)")
        parts.append(format_table(["chunks", "build s", "bm25s.index s", "index MB", "p50 ms", "p95 ms"],
                                  [[r.size, r.build_s, r.store_build_s, r.index_mb, r.p50_ms, r.p95_ms]
                                   for r in report.keyword]))
    if report.hybrid:
        parts.append("\nHybrid (dense + BM25 + fusion; query embedding and document term excluded)")
        parts.append(format_table(["chunks", "dense index", "p50 ms", "p95 ms"],
                                  [[r.size, r.dense_index, r.p50_ms, r.p95_ms] for r in report.hybrid]))
    if report.memory_per_million_mb:
        parts.append("\nMemory per 1M chunks (MB)")
        parts.append(format_table(["part", "MB"], list(report.memory_per_million_mb.items())))
    if report.answers:
        parts.append("\nEnd to end (sample corpus)")
        parts.append(format_table(
            ["backend", "questions", "load s", "TTFT p50 ms", "p50 ms", "p95 ms", "refused", "prompt tok p50",
             "cached tok p50", "gen tok/s p50", "2 users TTFT p50 ms", "2 users p50 ms"],
            [[r.backend, r.questions, r.model_load_s, r.ttft_p50_ms, r.latency_p50_ms, r.latency_p95_ms, r.refused,
              r.prompt_tokens_p50, r.cached_tokens_p50, r.tokens_per_s_p50, r.two_users_ttft_p50_ms,
              r.two_users_p50_ms] for r in report.answers]))
        parts += [f"runtime ({r.backend}): {r.runtime}" for r in report.answers if r.runtime]
    parts += [f"note: {n}" for n in report.notes]
    return "\n".join(parts)


def plot(report: BenchReport, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    series: dict[str, list[tuple[int, float]]] = {}
    for r in report.dense:
        if r.index in ("flat", "flat 1 thread", "hnsw"):
            series.setdefault(f"dense {r.index}", []).append((r.size, r.p50_ms))
    for r in report.keyword:
        series.setdefault("BM25", []).append((r.size, r.p50_ms))
    for r in report.hybrid:
        series.setdefault(f"hybrid ({r.dense_index})", []).append((r.size, r.p50_ms))
    for label, points in series.items():
        xs, ys = zip(*sorted(points))
        ax.plot(xs, ys, marker="o", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("chunks in the index (synthetic)")
    ax.set_ylabel("median latency per query (ms)")
    ax.set_title("policyqa retrieval latency against corpus size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _to_json(report: BenchReport) -> dict:
    data = asdict(report)
    data["ingest"] = [{**asdict(r), "docs_per_s": r.docs_per_s, "chunks_per_s": r.chunks_per_s, "mb_per_s": r.mb_per_s}
                      for r in report.ingest]
    data["embedders"] = [embed_bench.to_json(e) for e in report.embedders]
    return data


# -- command --------------------------------------------------------------------------------
def cmd_bench(args: argparse.Namespace) -> int:
    settings = Settings.from_env(embedding=args.embedding)
    if args.threads:
        faiss.omp_set_num_threads(args.threads)
    if args.sizes is not None:
        sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    else:
        sizes = list(QUICK_SIZES if args.quick else DEFAULT_SIZES)
    n_queries = args.queries or (20 if args.quick else 50)
    if args.embedders is not None:
        embedders = [e.strip() for e in args.embedders.split(",") if e.strip()]
    elif args.quick:  # the configured engine, and hash for a child's floor
        embedders = list(dict.fromkeys([settings.embedding, "hash"]))
    else:
        embedders = list(embed_bench.DEFAULT_EMBEDDERS)
    n_texts = args.embed_texts or (embed_bench.QUICK_TEXTS if args.quick else embed_bench.DEFAULT_TEXTS)
    ncp = args.bench / "corpus.jsonl"
    use_ncp = ncp.is_file() and not args.quick
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="work-", dir=out))
    loads = [os.getloadavg()]

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    synthetic = (f"base: {'NCP corpus' if use_ncp else 'sample corpus'} chunks (real); chunk i >= B mixes base chunk "
                 f"i mod B with a random partner by beta ~ U(0, {MAX_BETA}) plus N(0, {NOISE}^2) noise per component, "
                 "renormalised; tokens: share beta replaced by the partner's, numbers renamed per copy")
    report = BenchReport(
        started=time.strftime("%Y-%m-%d %H:%M:%S"),
        machine={"cpus": os.cpu_count(), "faiss_threads": faiss.omp_get_max_threads(),
                 "ram_gb": round(psutil.virtual_memory().total / 2**30, 1), "python": platform.python_version()},
        settings={"embedding": settings.embedding, "ann_threshold": settings.ann_threshold,
                  "candidates": settings.candidates, "sizes": sizes, "queries": n_queries, "seed": args.seed,
                  "embedders": embedders, "embed_texts": n_texts},
        synthetic=synthetic,
    )
    try:
        if embedders:
            # First, while this process holds no model and runs no threads of its own.
            corpus = ncp if use_ncp else SAMPLE_CORPUS
            texts = embed_bench.sample_texts([c.match_text() for c in corpus_chunks(settings, corpus)], n_texts,
                                             args.seed)
            report.embedders.append(embed_bench.bench_embedders(
                texts, embedders, work / "embedders", corpus="NCP corpus" if use_ncp else "sample corpus",
                seed=args.seed, batch_size=settings.embed_batch_size,
                reference_n=1024 if args.quick else embed_bench.REFERENCE_N, log=log))
            loads.append(os.getloadavg())
        if args.skip_ingest and not args.answers and not sizes:
            return _finish(report, out, loads)  # embedders only: no model to load here
        app = App(settings)
        t0 = time.perf_counter()
        emb = app.embeddings
        encode(emb, ["预热"], query=False)
        model_load_s = time.perf_counter() - t0
        tokenizer = app.tokenizer
        tokenizer.index_tokens("预热")  # jieba's dictionary loads on first use
        sample_index = work / "index-sample"
        if not args.skip_ingest or args.answers:
            log("ingest: sample corpus")
            report.ingest.append(
                bench_ingest("sample", [SAMPLE_CORPUS], settings, emb, model_load_s, tokenizer, sample_index))
        if use_ncp and args.ncp_docs and not args.skip_ingest:
            log(f"ingest: first {args.ncp_docs} NCP documents")
            path = ncp_slice(ncp, args.ncp_docs, work)
            report.ingest.append(bench_ingest(f"ncp[:{args.ncp_docs}]", [path], settings, emb, model_load_s,
                                              tokenizer, work / "index-ncp"))
        loads.append(os.getloadavg())

        if sizes:
            log("retrieval: base corpus (embeddings from the cache, computed on first run)")
            base, chunks, tokens = base_corpus(settings, emb, tokenizer, ncp if use_ncp else SAMPLE_CORPUS)
            questions = load_questions(args.bench / "qa.jsonl" if use_ncp else SAMPLE_SET, n_queries, args.seed)
            q_ms, q_vecs = [], []
            for question in questions:
                t0 = time.perf_counter()
                q_vecs.append(encode(emb, [tokenizer.expand_aliases(question)], query=True)[0])
                q_ms.append((time.perf_counter() - t0) * 1000)
            report.query_embedding.update({"p50": percentile(q_ms, 50), "p95": percentile(q_ms, 95)})
            queries = np.ascontiguousarray(np.vstack(q_vecs), dtype=np.float32)
            query_tokens = [tokenizer.index_tokens(q) for q in questions]
            for n in sizes:
                dense, keyword, hybrid = bench_size(n, base, queries, query_tokens, settings, args.store_bm25_max,
                                                    args.seed, log)
                report.dense.extend(dense)
                report.keyword.append(keyword)
                report.hybrid.extend(hybrid)
                loads.append(os.getloadavg())
            _memory(report, settings, store_python_bytes(chunks, tokens), base.vectors.shape[1])
            report.notes.append(f"synthetic corpus: {synthetic}; base has {len(base)} chunks")

        if args.answers:
            backends, notes = available_backends(settings)
            if args.quick:
                backends = ["extractive"]
                notes = ["--quick: extractive backend only"]
            report.notes.extend(notes)
            targets = [json.loads(line) for line in SAMPLE_SET.read_text(encoding="utf-8").splitlines() if line.strip()]
            targets = [t["question"] for t in targets if t.get("type") == "target"]
            per_backend = {b: targets[: (2 * args.llm_questions if b != "extractive" else args.questions_extractive)]
                           for b in backends}
            log("end to end: " + ", ".join(f"{b} x{len(q)}" for b, q in per_backend.items()))
            report.answers.extend(bench_answers(settings.with_(index_dir=sample_index), backends, per_backend))
            loads.append(os.getloadavg())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return _finish(report, out, loads)


def _finish(report: BenchReport, out: Path, loads: list[tuple[float, float, float]]) -> int:
    """Print the report and save it (JSON, text, and the plot when there is one)."""
    report.machine["loadavg_1m_seen"] = [round(l[0], 2) for l in loads]
    report.notes.append("load average (1 min) at start, after each section and size: "
                        + ", ".join(f"{l[0]:.2f}" for l in loads) + f" on {os.cpu_count()} CPUs")
    text = render(report)
    print(text)
    (out / "bench.json").write_text(json.dumps(_to_json(report), ensure_ascii=False, indent=1), encoding="utf-8")
    (out / "bench.txt").write_text(text + "\n", encoding="utf-8")
    if report.dense:
        plot(report, out / "retrieval_latency.png")
        print(f"plot: {out / 'retrieval_latency.png'}", file=sys.stderr, flush=True)
    print(f"report: {out / 'bench.json'}", file=sys.stderr, flush=True)
    return 0


def _memory(report: BenchReport, settings: Settings, python_bytes: dict[str, float], dim: int) -> None:
    """Per 1M chunks, from the largest size measured (linear in chunks)."""
    largest = max(r.size for r in report.keyword)
    scale = 1_000_000 / largest
    hnsw = next(r for r in report.dense if r.size == largest and r.index == "hnsw")
    kw = next(r for r in report.keyword if r.size == largest)
    mem = report.memory_per_million_mb
    mem["store vectors (numpy, kept by the store)"] = 1_000_000 * dim * 4 / MB
    mem["FAISS flat (its own copy)"] = 1_000_000 * dim * 4 / MB
    mem["FAISS HNSW (vectors + graph)"] = hnsw.index_mb * scale
    mem["BM25 score matrix"] = kw.index_mb * scale
    for name, per_chunk in python_bytes.items():
        mem[f"{name} (Python, as loaded)"] = per_chunk * 1_000_000 / MB
    report.notes.append(f"memory per 1M chunks scaled from {largest:,} chunks; Python objects measured with tracemalloc "
                        f"on the base chunks read back from JSON as FaissBm25Store.load does")


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    p = subparsers.add_parser("bench", help="ingest throughput, retrieval latency by corpus size, answer latency")
    p.add_argument("--sizes", help="corpus sizes in chunks, e.g. 1k,10k,100k,1M (default; --quick: 1k,5k; '' for none)")
    p.add_argument("--quick", action="store_true", help="a CI-sized run: sample corpus only, small sizes, extractive only")
    p.add_argument("--out", type=Path, default=PROJECT_ROOT / "out" / "bench", help="output folder (default out/bench)")
    p.add_argument("--queries", type=int, default=0, help="queries per size (default 50; --quick 20)")
    p.add_argument("--ncp-docs", type=int, default=30, help="NCP documents in the ingest timing (0: none)")
    p.add_argument("--store-bm25-max", type=int, default=100_000,
                   help="time bm25s.BM25.index (the store's build) up to this many chunks")
    p.add_argument("--no-answers", dest="answers", action="store_false", help="skip the end-to-end answer timing")
    p.add_argument("--skip-ingest", action="store_true", help="skip the ingest timing (the sample index is still built "
                   "when answers are timed)")
    p.add_argument("--llm-questions", type=int, default=10, help="questions per LLM backend, asked one at a time; as many again are asked two at once")
    p.add_argument("--questions-extractive", type=int, default=20, help="questions for the extractive backend")
    p.add_argument("--embedders", help="embedding engines to time, comma-separated (default "
                   f"{','.join(embed_bench.DEFAULT_EMBEDDERS)}; --quick: the configured one and hash; '' for none)")
    p.add_argument("--embed-texts", type=int, default=0,
                   help=f"chunks each engine encodes (default {embed_bench.DEFAULT_TEXTS}; --quick {embed_bench.QUICK_TEXTS})")
    p.add_argument("--embedding", help="embedding provider (default POLICYQA_EMBEDDING, e5-small-int8)")
    p.add_argument("--bench", type=Path, default=DEFAULT_BENCH, help="NCP benchmark folder (base corpus and questions)")
    p.add_argument("--threads", type=int, default=0, help="FAISS (OpenMP) threads (default: all cores)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_bench)
    return p
