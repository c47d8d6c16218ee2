"""`policyqa eval`: answers on a question set, graded, with a table and a JSON report.

Sets: `sample` (the project's own questions over the sample corpus, eval/sets/) and
`ncp` (the NCP policy QA benchmark from ../shared, when present): for NCP the figures
are gold document cited, gold span contained in the answer, and character F1.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import statistics
import sys
import time
import unicodedata
from collections import Counter
from pathlib import Path

from tqdm import tqdm

from eval.answers import format_summary, grade, summarise
from eval.retrieval import DEFAULT_BENCH
from policyqa.app import App
from policyqa.cli import add_llm_option
from policyqa.settings import PROJECT_ROOT, Settings
from policyqa.types import Answer

SETS = {"sample": PROJECT_ROOT / "eval" / "sets" / "sample.jsonl"}
NCP_INDEX = PROJECT_ROOT / "data" / "index-ncp"


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", re.sub(r"\[\d+\]", "", text))
    return re.sub(r"[\s，。、；：！？,.;:!?“”\"'（）()《》]", "", text)


def char_f1(prediction: str, gold: str) -> float:
    p, g = Counter(_norm(prediction)), Counter(_norm(gold))
    common = sum((p & g).values())
    if not common:
        return 0.0
    precision, recall = common / sum(p.values()), common / sum(g.values())
    return 2 * precision * recall / (precision + recall)


def grade_ncp(item: dict, answer: Answer) -> dict:
    cited = {c.source for c in answer.citations}
    return {
        "id": item["id"], "question": item["question"], "answer": answer.text, "refused": answer.refused,
        "gold": item["answer"], "gold_doc": item["docid"],
        "cited_gold": item["docid"] in cited,
        "span_contained": _norm(item["answer"]) in _norm(answer.text),
        "char_f1": char_f1(answer.text, item["answer"]),
        "latency_ms": answer.latency_ms,
    }


def summarise_ncp(rows: list[dict]) -> dict[str, float]:
    lat = sorted(r["latency_ms"] for r in rows)
    return {
        "n": len(rows),
        "gold_doc_cited": statistics.fmean(r["cited_gold"] for r in rows),
        "span_contained": statistics.fmean(r["span_contained"] for r in rows),
        "char_f1": statistics.fmean(r["char_f1"] for r in rows),
        "refused": statistics.fmean(r["refused"] for r in rows),
        "latency_median_ms": statistics.median(lat),
        "latency_p95_ms": lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))],
    }


def _load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def cmd_eval(args: argparse.Namespace) -> int:
    ncp = args.set == "ncp"
    index = args.index or (NCP_INDEX if ncp else None)
    settings = Settings.from_env(index_dir=index, llm=args.llm, min_evidence=args.min_evidence)
    app = App(settings)
    if ncp and not (index / "CURRENT").exists():
        print(f"building the NCP index in {index} (first run only)", file=sys.stderr)
        app.ingestor().run([args.bench / "corpus.jsonl"])
    t0 = time.perf_counter()
    chain = app.chain(args.llm)
    load_s = time.perf_counter() - t0
    items = _load(args.bench / "qa.jsonl") if ncp else _load(SETS.get(args.set, Path(args.set)))
    if args.sample:
        items = random.Random(args.seed).sample(items, min(args.sample, len(items)))
    rows: list[dict] = []
    graded = []
    first_token: list[float] = []
    for item in tqdm(items, desc=f"eval {args.set} ({chain.backend})", unit="q", disable=not sys.stderr.isatty()):
        start = time.perf_counter()
        answer = None
        for event in chain.stream(item["question"], item.get("history") or []):
            if isinstance(event, Answer):
                answer = event
            elif not first_token or len(first_token) < len(rows) + 1:
                first_token.append((time.perf_counter() - start) * 1000)
        assert answer is not None
        if ncp:
            rows.append(grade_ncp(item, answer))
        else:
            g = grade(item, answer)
            graded.append(g)
            rows.append(vars(g))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    summary: dict = summarise_ncp(rows) if ncp else summarise(graded)
    extra = {
        "backend": chain.backend, "set": args.set, "questions": len(rows), "model_load_s": round(load_s, 2),
        "first_token_median_ms": statistics.median(first_token) if first_token else None,
        "peak_rss_mb": round(peak_mb, 1),
    }
    if ncp:
        print("  ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in summary.items()))
    else:
        print(format_summary(summary))
        for g in graded:
            if not g.correct or not g.figures_ok:
                print(f"FAIL {g.id}: {g.question} -> {g.answer[:80]!r} ({g.reason})")
    print("  ".join(f"{k}={v}" for k, v in extra.items()))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"summary": summary, "run": extra, "rows": rows}, ensure_ascii=False, indent=1),
                             encoding="utf-8")
        print(f"report: {args.json}", file=sys.stderr)
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    p = subparsers.add_parser("eval", help="answer a question set and grade the answers")
    p.add_argument("--set", default="sample", help="sample | ncp | path to a JSONL set")
    add_llm_option(p)
    p.add_argument("--index", type=Path, help="index folder (ncp default: data/index-ncp)")
    p.add_argument("--bench", type=Path, default=DEFAULT_BENCH, help="NCP benchmark folder")
    p.add_argument("--sample", type=int, default=0, help="a fixed random sample of N questions")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--min-evidence", type=float, default=None, help="override the refusal threshold (for calibration)")
    p.add_argument("--json", type=Path, help="write the full report here")
    p.set_defaults(func=cmd_eval)
    return p
