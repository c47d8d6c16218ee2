"""Document-level retrieval evaluation: recall@k and MRR@10 over DISTINCT documents,
plus per-query latency, and the `policyqa eval-retrieval` command that runs it on a
benchmark folder (`corpus.jsonl` + `qa.jsonl`).

A question's gold documents come from its `docid` field or its `sources` list; a
question with neither (an unanswerable one) is skipped. The ranking of a question
is the list of distinct documents in the order of their best chunk, taken from
`depth` retrieved chunks. recall@k is 1 when any gold document is among the first
k distinct documents (the sample set lists alternative sources, any of which
counts), so for single-gold questions it is the usual hit rate.

Documents whose text is identical cannot be told apart by any retriever; pass
`same_as` (source -> canonical source) to count them as one document. The command
builds that map from the corpus and reports both the strict and the merged figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import statistics
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from tqdm import tqdm

from policyqa.settings import PROJECT_ROOT, Settings
from policyqa.types import Hit

DEFAULT_BENCH = PROJECT_ROOT.parent / "shared" / "benchmarks" / "ncp-policy-qa"
DEFAULT_DEPTH = 50  # chunks retrieved per question before de-duplicating by document
MRR_CUTOFF = 10


class Retriever(Protocol):
    def retrieve(self, query: str, k: int = 5) -> list[Hit]: ...


def gold_sources(question: Mapping[str, object]) -> list[str]:
    """The gold document ids of a question: `docid`, or the `sources` list."""
    docid = question.get("docid")
    if isinstance(docid, str) and docid:
        return [docid]
    sources = question.get("sources")
    if isinstance(sources, (list, tuple)):
        return [str(s) for s in sources if s]
    return []


def distinct_documents(sources: Iterable[str], same_as: Mapping[str, str] | None = None) -> list[str]:
    """Documents in order of first appearance (i.e. of their best chunk), each once."""
    seen: set[str] = set()
    out: list[str] = []
    for s in sources:
        s = same_as.get(s, s) if same_as else s
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def first_gold_rank(ranking: Sequence[str], gold: Iterable[str]) -> int | None:
    """1-based rank of the first gold document in `ranking`, None if absent."""
    wanted = set(gold)
    for rank, doc in enumerate(ranking, 1):
        if doc in wanted:
            return rank
    return None


def rank_metrics(ranks: Sequence[int | None], ks: Sequence[int] = (1, 5, 10), mrr_cutoff: int = MRR_CUTOFF) -> dict[str, float]:
    """recall@k and MRR@cutoff from each question's first gold rank (None = missed)."""
    n = len(ranks)
    out: dict[str, float] = {}
    for k in ks:
        out[f"recall@{k}"] = sum(1 for r in ranks if r is not None and r <= k) / n if n else 0.0
    out[f"mrr@{mrr_cutoff}"] = sum(1.0 / r for r in ranks if r is not None and r <= mrr_cutoff) / n if n else 0.0
    return out


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100]."""
    if not values:
        return 0.0
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def evaluate_retrieval(
    retriever: Retriever,
    questions: list[dict],
    ks: Sequence[int] = (1, 5, 10),
    depth: int = DEFAULT_DEPTH,
    same_as: Mapping[str, str] | None = None,
    progress: bool = False,
    desc: str = "questions",
) -> dict:
    """Run every question with gold documents through `retriever` and score the
    distinct-document ranking. Returns the metrics, latency (ms) and, per question,
    the gold rank (`ranks`, None = not within `depth` chunks) for error analysis.
    With `same_as`, `merged` holds the same metrics counting identical documents once."""
    rows: list[dict] = []
    ranks: list[int | None] = []
    merged_ranks: list[int | None] = []
    latencies: list[float] = []
    for q in tqdm(questions, desc=desc, unit="q", disable=not progress):
        gold = gold_sources(q)
        if not gold:
            continue
        t0 = time.perf_counter()
        hits = retriever.retrieve(str(q["question"]), k=depth)
        latencies.append((time.perf_counter() - t0) * 1000.0)
        sources = [h.chunk.source for h in hits]
        rank = first_gold_rank(distinct_documents(sources), gold)
        ranks.append(rank)
        row = {"id": q.get("id"), "rank": rank}
        if same_as:
            merged = first_gold_rank(distinct_documents(sources, same_as), [same_as.get(g, g) for g in gold])
            merged_ranks.append(merged)
            row["merged_rank"] = merged
        rows.append(row)
    result: dict = {
        "questions": len(ranks),
        "skipped": len(questions) - len(ranks),
        "depth": depth,
        **rank_metrics(ranks, ks),
        "latency_ms": {
            "median": statistics.median(latencies) if latencies else 0.0,
            "p95": percentile(latencies, 95),
            "mean": statistics.fmean(latencies) if latencies else 0.0,
        },
        "ranks": rows,
    }
    if same_as:
        result["merged"] = rank_metrics(merged_ranks, ks)
    return result


# -- benchmark helpers ------------------------------------------------------------------


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def identical_documents(corpus: Path) -> dict[str, str]:
    """source -> canonical source (the first with the same text), for documents
    whose whole text is identical to an earlier one."""
    first: dict[str, str] = {}
    same_as: dict[str, str] = {}
    for row in read_jsonl(corpus):
        docid, text = str(row.get("docid", "")), str(row.get("text", ""))
        key = " ".join(text.split())
        if key in first:
            same_as[docid] = first[key]
        else:
            first[key] = docid
    return same_as


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return usage / (1024.0 * 1024.0) if sys.platform == "darwin" else usage / 1024.0


def format_table(results: Mapping[str, Mapping], ks: Sequence[int] = (1, 5, 10), key: str | None = None) -> str:
    """One row per mode: recall@k, MRR@10, latency median / p95 (ms). With `key`
    (e.g. "merged"), the metrics are read from that sub-dict (latency stays)."""
    head = ["mode"] + [f"R@{k}" for k in ks] + [f"MRR@{MRR_CUTOFF}", "lat med ms", "lat p95 ms"]
    lines = ["  ".join(f"{h:>10}" for h in head)]
    for mode, r in results.items():
        m = r[key] if key else r
        cells = [mode] + [f"{m[f'recall@{k}']:.3f}" for k in ks] + [
            f"{m[f'mrr@{MRR_CUTOFF}']:.3f}", f"{r['latency_ms']['median']:.1f}", f"{r['latency_ms']['p95']:.1f}"
        ]
        lines.append("  ".join(f"{c:>10}" for c in cells))
    return "\n".join(lines)


# -- command line -------------------------------------------------------------------------


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Register `eval-retrieval` on the `policyqa` sub-command parser."""
    p = subparsers.add_parser(
        "eval-retrieval",
        help="document recall@k / MRR@10 / latency on a benchmark (corpus.jsonl + qa.jsonl)",
    )
    p.add_argument("--bench", type=Path, default=DEFAULT_BENCH, help=f"benchmark folder (default: {DEFAULT_BENCH})")
    p.add_argument("--index", type=Path, default=None,
                   help="index folder for the benchmark corpus (default: data/index-ncp); built when absent")
    p.add_argument("--embedding", help="embedding provider (default: the POLICYQA_EMBEDDING setting)")
    p.add_argument("--modes", default="keyword,dense,hybrid", help="comma-separated: keyword,dense,hybrid")
    p.add_argument("--limit", type=int, default=0, help="only the first N questions")
    p.add_argument("--depth", type=int, default=DEFAULT_DEPTH, help="chunks retrieved per question")
    p.add_argument("--json", type=Path, dest="json_out", help="write all figures to this JSON file")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_eval_retrieval)
    return p


def cmd_eval_retrieval(args: argparse.Namespace) -> int:
    from ingest.store import current_generation
    from policyqa.app import App
    from policyqa.errors import PolicyQAError

    bench: Path = args.bench
    corpus, qa = bench / "corpus.jsonl", bench / "qa.jsonl"
    for f in (corpus, qa):
        if not f.is_file():
            raise PolicyQAError(f"benchmark file {f} not found (give the folder with --bench)")
    base = Settings.from_env(embedding=args.embedding)
    settings = base.with_(index_dir=args.index or base.data_dir / "index-ncp")
    app = App(settings)
    show = not args.quiet
    report: dict = {"bench": str(bench), "index": str(settings.index_dir), "embedding": settings.embedding}

    if current_generation(settings.index_dir) is None:
        print(f"no index in {settings.index_dir}: ingesting {corpus}", file=sys.stderr)
        ing = app.ingestor().run([corpus], progress=show)
        print(ing.summary(), file=sys.stderr)
        secs = max(ing.seconds, 1e-9)
        report["ingest"] = {
            "documents": ing.total_documents,
            "chunks": ing.total_chunks,
            "chunks_encoded": ing.chunks_encoded,
            "seconds": round(ing.seconds, 2),
            "documents_per_s": round(ing.total_documents / secs, 2),
            "chunks_per_s": round(ing.total_chunks / secs, 2),
            "timings": {k: round(v, 2) for k, v in ing.timings.items()},
            "peak_rss_mb": round(peak_rss_mb(), 1),
        }
        r = report["ingest"]
        print(
            f"ingest: {r['documents']} documents, {r['chunks']} chunks ({r['chunks_encoded']} encoded) in "
            f"{r['seconds']:.1f}s = {r['documents_per_s']:.1f} documents/s, {r['chunks_per_s']:.1f} chunks/s; "
            f"peak RSS {r['peak_rss_mb']:.0f} MB"
        )

    questions = read_jsonl(qa)
    if args.limit:
        questions = questions[: args.limit]
    same_as = identical_documents(corpus)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    for m in modes:
        if m not in ("keyword", "dense", "hybrid"):
            raise PolicyQAError(f"unknown mode {m!r}; use keyword, dense, hybrid")
    store = app.store()
    results: dict[str, dict] = {}
    configs: dict[str, dict] = {}
    for mode in modes:
        retriever = app.retriever(mode, store)
        configs[mode] = dataclasses.asdict(retriever.config)
        retriever.retrieve("预热", k=1)  # load the index and model outside the timings
        results[mode] = evaluate_retrieval(
            retriever, questions, depth=args.depth, same_as=same_as, progress=show, desc=mode
        )
    report["config"] = configs
    report["results"] = results
    report["peak_rss_mb"] = round(peak_rss_mb(), 1)

    n = next(iter(results.values()))["questions"] if results else 0
    print(f"\n{n} questions, distinct documents from the top {args.depth} chunks")
    print(format_table(results))
    if same_as:
        print(f"\nidentical-text documents counted as one ({len(same_as)} duplicates in the corpus):")
        print(format_table(results, key="merged"))
    print(f"\npeak RSS {report['peak_rss_mb']:.0f} MB")
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"wrote {args.json_out}", file=sys.stderr)
    return 0
