"""`policyqa eval`: answer a question set, grade every answer, print a table per
question type, and write a JSON and a single-file HTML report; `--compare A.json
B.json` shows what changed between two such reports.

Sets: `sample` (the project's own questions over the sample corpus, eval/sets/),
`ncp` (the NCP policy QA benchmark from ../shared, when present, on its own index
data/index-ncp), `ncp-dev` / `ncp-test` (its questions on the dev / test half of
the documents, eval/ncp.py), `ncp-lodo` (the questions of 60 test documents, asked
of data/index-ncp-lodo, built without those documents: each must be refused), or a
JSONL file in either format.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from eval.answers import Graded, format_summary, grade, summarise
from eval.compare import compare, format_comparison
from eval.ncp import SPLIT_FILE, check_split, load_split
from eval.report import build_report, load_report, write_html, write_json
from eval.retrieval import DEFAULT_BENCH, DEFAULT_DEPTH, distinct_documents, identical_documents, peak_rss_mb, read_jsonl
from policyqa.app import App, add_llm_option
from policyqa.errors import PolicyQAError
from policyqa.settings import PROJECT_ROOT, Settings
from policyqa.types import Answer
from rag.answerability import answerability_resource

if TYPE_CHECKING:
    from rag.chain import AnswerChain

SETS = {"sample": PROJECT_ROOT / "eval" / "sets" / "sample.jsonl",
        "formats": PROJECT_ROOT / "eval" / "sets" / "formats.jsonl"}
# The `formats` set's documents are made and ingested afresh on every run: the set
# measures ingest (OCR, tables, 公文, printed PDFs) as much as answers.
FORMATS_DIR = PROJECT_ROOT / "data" / "formats"
NCP_SETS = ("ncp", "ncp-dev", "ncp-test", "ncp-lodo", "ncp-lodo-dev")
NCP_INDEX = PROJECT_ROOT / "data" / "index-ncp"
NCP_LODO_INDEX = {"ncp-lodo": PROJECT_ROOT / "data" / "index-ncp-lodo",
                  "ncp-lodo-dev": PROJECT_ROOT / "data" / "index-ncp-lodo-dev"}
OUT_DIR = PROJECT_ROOT / "out" / "eval"


@dataclass(frozen=True)
class EvalRun:
    graded: tuple[Graded, ...]
    first_token_ms: tuple[float, ...]  # per question: time to the first streamed text
    seconds: float


def as_question(row: Mapping) -> dict:
    """A set line in the project's format; an NCP line (`docid`, `answer` span) is
    turned into one: its gold span must be in the answer, its document cited."""
    if not isinstance(row.get("question"), str) or "id" not in row:
        raise PolicyQAError(f"a question line needs `id` and `question`: {dict(row)!r:.120}")
    if "must" in row or "answer" not in row or "docid" not in row:
        return dict(row)
    return {"id": row["id"], "type": str(row.get("type") or "ncp"), "question": row["question"],
            "span": row["answer"], "sources": [row["docid"]], "refuse": False}


def left_out_question(row: Mapping) -> dict:
    """An NCP question whose document is not in the index: only a refusal is right.
    No gold span or source, so no answer is scored against the missing document;
    `left_out` records it."""
    return {"id": row["id"], "type": str(row.get("type") or "ncp"), "question": row["question"],
            "sources": [], "refuse": True, "left_out": str(row["docid"])}


def load_set(name: str, bench: Path, split_file: Path = SPLIT_FILE) -> tuple[list[dict], dict[str, str]]:
    """The questions of a set, and the map of documents with identical text (NCP)."""
    if name in NCP_SETS:
        qa, corpus = bench / "qa.jsonl", bench / "corpus.jsonl"
        if not qa.is_file() or not corpus.is_file():
            raise PolicyQAError(f"the NCP benchmark is not in {bench} (give its folder with --bench)")
        rows = read_jsonl(qa)
        if name == "ncp":
            return [as_question(r) for r in rows], identical_documents(corpus)
        split = load_split(split_file)
        check_split(split, (str(r["docid"]) for r in read_jsonl(corpus)))
        docs = split.half(name.removeprefix("ncp-"))
        make = left_out_question if name.startswith("ncp-lodo") else as_question
        return [make(r) for r in rows if str(r["docid"]) in docs], identical_documents(corpus)
    path = SETS.get(name, Path(name))
    if not path.is_file():
        raise PolicyQAError(f"no question set {name!r}: use sample, {', '.join(NCP_SETS)} or a JSONL file")
    return [as_question(r) for r in read_jsonl(path)], {}


def build_index_without(app: App, corpus: Path, left_out: set[str]) -> None:
    """Ingest `corpus` minus the `left_out` documents, exactly as the full NCP index
    is built. The kept lines are copied unchanged, so their text (and the embedding
    cache's keys) are the same as in the full index."""
    with tempfile.TemporaryDirectory(prefix="policyqa-lodo-") as tmp:
        kept = Path(tmp) / corpus.name
        with open(corpus, encoding="utf-8") as src, open(kept, "w", encoding="utf-8") as dst:
            for line in src:
                if line.strip() and str(json.loads(line).get("docid")) not in left_out:
                    dst.write(line)
        app.ingestor().run([kept])


def build_formats_index(app: App, corpus: Path) -> None:
    """Make the formats corpus and ingest it into a fresh index, reporting what
    ingest said of each file (an OCR'd page, a refused file)."""
    from eval.format_docs import build_corpus

    shutil.rmtree(corpus, ignore_errors=True)
    shutil.rmtree(app.settings.index_dir, ignore_errors=True)
    files = build_corpus(corpus)
    report = app.ingestor().run(files, progress=False)
    for problem in (*report.skipped, *report.warnings):
        print(f"ingest: {problem}", file=sys.stderr)


def refusal_line(graded: Sequence[Graded]) -> str:
    """The one figure of `ncp-lodo`: the share of questions about left-out documents
    that were refused (the summary's `refusal_accuracy`, spelt out as a count)."""
    asked = [g for g in graded if g.expect_refusal]
    refused = sum(g.refused for g in asked)
    share = refused / len(asked) if asked else 0.0
    return f"REFUSED {refused}/{len(asked)} = {share:.1%} of the questions whose document is not in the index"


def fixed_sample(items: Sequence[dict], n: int, seed: int = 0) -> list[dict]:
    """`n` questions spread over the question types (one of each type in turn, each
    type in a seeded shuffled order), kept in set order: the same seed always gives
    the same questions, and a small sample still has every type."""
    if n <= 0 or n >= len(items):
        return list(items)
    rng = random.Random(seed)
    by_type: dict[str, list[int]] = defaultdict(list)
    for i, item in enumerate(items):
        by_type[str(item.get("type") or "")].append(i)
    queues = [rng.sample(idx, len(idx)) for _, idx in sorted(by_type.items())]
    chosen: list[int] = []
    while len(chosen) < n:
        for q in queues:
            if q and len(chosen) < n:
                chosen.append(q.pop())
    return [items[i] for i in sorted(chosen)]


def run_questions(chain: "AnswerChain", items: Iterable[dict], same_as: Mapping[str, str] | None = None,
                  depth: int = DEFAULT_DEPTH, progress: bool | None = False, desc: str = "eval") -> EvalRun:
    """Answer and grade every question. Retrieval rank is measured apart from the
    answer (the standalone question, `depth` chunks, distinct documents), so the
    answer's latency is the chain's alone."""
    items = list(items)
    graded: list[Graded] = []
    first_token: list[float] = []
    t0 = time.perf_counter()
    for item in tqdm(items, desc=desc, unit="q", disable=None if progress is None else not progress):
        start = time.perf_counter()
        answer: Answer | None = None
        first: float | None = None
        for event in chain.stream(item["question"], item.get("history") or []):
            if isinstance(event, Answer):
                answer = event
            elif first is None:
                first = (time.perf_counter() - start) * 1000
        assert answer is not None
        if first is not None:
            first_token.append(first)
        hits = chain.retriever.retrieve(answer.standalone_question or item["question"], k=depth)
        ranking = distinct_documents([h.chunk.source for h in hits], same_as)
        graded.append(grade(item, answer, ranking, same_as))
    return EvalRun(tuple(graded), tuple(first_token), time.perf_counter() - t0)


def by_answerer(graded: Sequence[Graded]) -> dict[str, dict[str, float]]:
    """Questions and pass rate per answerer (rag.answerers), most used first."""
    groups: dict[str, list[Graded]] = {}
    for g in graded:
        groups.setdefault(g.answerer or "?", []).append(g)
    return {name: {"n": len(rows), "passed": round(sum(g.passed for g in rows) / len(rows), 3)}
            for name, rows in sorted(groups.items(), key=lambda kv: -len(kv[1]))}


def _commit() -> str:
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=PROJECT_ROOT, capture_output=True,
                             text=True, timeout=10)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _failure_line(g: Graded, width: int = 70) -> str:
    answer = " ".join(g.answer.split())
    answer = answer if len(answer) <= width else answer[:width] + "…"
    return f"FAIL {g.id} ({g.type}): {g.question} -> {answer} ({g.reason})"


def cmd_eval(args: argparse.Namespace) -> int:
    if args.compare:
        return cmd_compare(args)
    ncp, lodo = args.set in NCP_SETS, args.set in NCP_LODO_INDEX
    formats = args.set == "formats"
    index = args.index or (NCP_LODO_INDEX[args.set] if lodo else NCP_INDEX if ncp else
                           FORMATS_DIR / "index" if formats else None)
    items, same_as = load_set(args.set, args.bench, args.split)
    left_out = {str(i["left_out"]) for i in items if i.get("left_out")}
    settings = Settings.from_env(index_dir=index, llm=args.llm, min_evidence=args.min_evidence)
    app = App(settings)
    if ncp and not (settings.index_dir / "CURRENT").exists():
        print(f"building the NCP index in {settings.index_dir} (first run only)", file=sys.stderr)
        if lodo:
            build_index_without(app, args.bench / "corpus.jsonl", left_out)
        else:
            app.ingestor().run([args.bench / "corpus.jsonl"])
    if formats:
        build_formats_index(app, FORMATS_DIR / "corpus")
    t0 = time.perf_counter()
    chain = app.chain(args.llm)
    if lodo and (present := left_out & set(chain.retriever.store.files())):
        # e.g. `--index data/index-ncp`: the questions would not be unanswerable at all
        raise PolicyQAError(f"{len(present)} left-out documents are in {settings.index_dir}; "
                            "ncp-lodo needs an index built without them")
    chain.retriever.retrieve("预热", k=1)  # index and embedding model load outside the timings
    load_s = time.perf_counter() - t0
    items = fixed_sample(items, args.sample, args.seed)
    set_name = args.set if args.set in (*NCP_SETS, *SETS) else Path(args.set).stem
    result = run_questions(chain, items, same_as, progress=None if not args.quiet else False,
                           desc=f"eval {set_name} ({chain.backend})")
    summary = summarise(result.graded, k=args.k)
    run = {
        "set": set_name, "backend": chain.backend, "questions": len(result.graded),
        "sample": args.sample or None, "seed": args.seed if args.sample else None,
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "commit": _commit(),
        "index": str(settings.index_dir), "embedding": settings.embedding, "k": args.k, "depth": DEFAULT_DEPTH,
        "min_evidence": settings.min_evidence,
        "llm_model": settings.model_path().name if chain.backend == "local" else
        settings.openai_model if chain.backend == "openai" else "",
        "llm_max_tokens": settings.llm_max_tokens if chain.backend != "extractive" else None,
        "model_load_s": round(load_s, 2), "seconds": round(result.seconds, 1),
        "first_token_median_ms": round(statistics.median(result.first_token_ms), 1) if result.first_token_ms else None,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    if lodo:
        run["refused"] = summary["ALL"]["refusal_accuracy"]
    run["answerers"] = by_answerer(result.graded)
    print(format_summary(summary))
    failures = [g for g in result.graded if not g.passed]
    for g in failures[: args.show_failures]:
        print(_failure_line(g))
    if len(failures) > args.show_failures:
        print(f"… and {len(failures) - args.show_failures} more failures in the HTML report")
    if lodo:  # after the failures, so it is not scrolled away
        print(refusal_line(result.graded))
    print("  ".join(f"{k}={v}" for k, v in run.items() if k in (
        "backend", "set", "questions", "seconds", "model_load_s", "first_token_median_ms", "peak_rss_mb")))
    print("answered by: " + ", ".join(f"{name} {row['n']} (pass {row['passed']:.2f})"
                                      for name, row in run["answerers"].items()))
    calibration = answerability_resource()
    chosen = next((p for p in calibration.get("curve", ()) if p["threshold"] == calibration["threshold"]), None)
    if chosen and settings.min_evidence is None:
        print(f"answer-or-refuse threshold {chosen['threshold']} ({calibration['fitted_on']}); there: "
              f"answered with gold {chosen['answered_gold']:.3f}, wrong refusals {chosen['wrong_refusals']:.3f}, "
              f"unanswerable refused {chosen['refused_unanswerable']:.3f} (curve in the HTML report)")
    report = build_report(run, summary, result.graded, calibration)
    out = args.out or OUT_DIR / f"{set_name}-{chain.backend}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    write_json(out / "report.json", report)
    write_html(out / "report.html", report)
    print(f"report: {out / 'report.json'}\nreport: {out / 'report.html'}")
    if args.json:
        write_json(args.json, report)
        print(f"report: {args.json}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    a_path, b_path = args.compare
    try:
        a, b = load_report(a_path), load_report(b_path)
    except (OSError, ValueError) as exc:
        raise PolicyQAError(str(exc)) from exc
    print(format_comparison(compare(a, b, str(a_path), str(b_path)), all_metrics=args.all_metrics))
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "eval", help="answer a question set, grade the answers, write JSON + HTML reports; or compare two reports"
    )
    p.add_argument("--set", default="sample",
                   help="sample | ncp | ncp-dev | ncp-test | ncp-lodo | ncp-lodo-dev | path to a JSONL set (default: sample)")
    add_llm_option(p)
    p.add_argument("--out", type=Path, help=f"report folder (default: {OUT_DIR}/SET-BACKEND-TIME)")
    p.add_argument("--json", type=Path, help="also write the JSON report to this file")
    p.add_argument("--index", type=Path,
                   help="index folder (default: data/index; ncp*: data/index-ncp; ncp-lodo(-dev): data/index-ncp-lodo(-dev))")
    p.add_argument("--bench", type=Path, default=DEFAULT_BENCH, help="NCP benchmark folder")
    p.add_argument("--split", type=Path, default=SPLIT_FILE, help="document split of ncp-dev/-test/-lodo")
    p.add_argument("--sample", type=int, default=0, help="a fixed sample of N questions spread over the types")
    p.add_argument("--seed", type=int, default=0, help="seed of --sample")
    p.add_argument("--k", type=int, default=5, help="cut-off of retrieval recall@k (default: 5)")
    p.add_argument("--min-evidence", type=float, default=None, help="override the refusal threshold (for calibration)")
    p.add_argument("--show-failures", type=int, default=20, metavar="N", help="failures printed in the terminal")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--compare", type=Path, nargs=2, metavar=("A.json", "B.json"),
                   help="show what got better and worse from report A to report B, then exit")
    p.add_argument("--all-metrics", action="store_true", help="with --compare: list unchanged metrics too")
    p.set_defaults(func=cmd_eval)
    return p
