"""Fit the answerability score (rag/answerability.py) on development data only.

    python -m eval.calibrate            # features from ncp-dev, ncp-lodo-dev and sample; fit; print the curve
    python -m eval.calibrate --write    # ... and commit the fit to rag/resources/answerability.json

Each question of `ncp-dev` (its document indexed: answerable), `ncp-lodo-dev` (its
document left out of the index: must be refused) and the sample set (answerable
and unanswerable questions over the sample corpus) is retrieved as the chain
retrieves it; every evidence sentence gets its match features and the constraints
it breaks. The fit picks the bigram weight and the penalties by coordinate ascent,
then the threshold, maximising the sum over the sets of

    share of answerable questions answered with the gold in the top sentence
    + share of unanswerable questions refused

among the thresholds with at most MAX_WRONG_REFUSALS wrong refusals on the
answerable questions. NCP's questions all concern 2020 and mostly their own
province, so the sample set is what teaches the fit that a year or a place the
corpus does not cover means "not in the documents". The test half is never read.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from eval.answers import holds_span
from eval.ncp import SPLIT_FILE
from eval.retrieval import DEFAULT_BENCH
from eval.runner import NCP_INDEX, NCP_LODO_INDEX, load_set
from policyqa.app import App
from policyqa.settings import PROJECT_ROOT, Settings
from rag.answerability import VIOLATIONS, Calibration, Constraints, load_calibration

RESOURCE = PROJECT_ROOT / "rag" / "resources" / "answerability.json"
FEATURES = PROJECT_ROOT / "out" / "calibration-features.json"
PENALTY_GRID = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 99.0)  # 99: a hard constraint
BIGRAM_GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0)
SIMILARITY_GRID = (0.0, 1.0, 2.0, 4.0, 6.0, 8.0, 10.0, 15.0, 20.0, 30.0, 40.0)
# Wrong refusals allowed on answerable development questions: the threshold is the
# strictest one that stays within it (users ask answerable questions far more often).
MAX_WRONG_REFUSALS = 0.05
# The sample set's unanswerable questions (places, years and measures the sample
# corpus does not have) must all be refused: the product's promise, kept as a constraint.
MUST_REFUSE_ALL = "sample"
RANDOM_STARTS, SEED = 12, 2020


@dataclass(frozen=True)
class Features:
    """One row per evidence sentence; `question` maps rows to questions."""

    question: np.ndarray  # int, sorted
    terms: np.ndarray
    bigrams: np.ndarray
    similarity: np.ndarray  # of the sentence's passage to the question; NaN without a vector
    broken: np.ndarray  # bool, rows x len(VIOLATIONS)
    gold: np.ndarray  # bool: the sentence holds the gold span
    answerable: np.ndarray  # bool per question: its document is indexed
    group: np.ndarray  # int per question: which set it comes from (an index into `sets`)
    sets: tuple[str, ...]
    n_questions: int


def _holds(text: str, item: dict) -> bool:
    """The sentence holds the gold: the NCP span, or one of a sample item's expected strings."""
    if item.get("span"):
        return holds_span(text, str(item["span"]))
    return any(alt in text for group in item.get("must") or () for alt in group)


def collect(set_name: str, settings: Settings, index: Path, bench: Path = DEFAULT_BENCH) -> list[dict]:
    """Per question: its sentences' features, as the chain computes them."""
    items, _ = load_set(set_name, bench, SPLIT_FILE)
    app = App(settings.with_(index_dir=index, llm="extractive"))
    if not (app.settings.index_dir / "CURRENT").exists():
        raise SystemExit(f"{index} is not built: run `policyqa eval --set {set_name}` once first")
    chain = app.chain("extractive")
    rows = []
    t0 = time.perf_counter()
    for n, item in enumerate(items):
        q = chain.preparer.condense(item["question"], item.get("history") or [])
        hits = chain.preparer.retrieve(q)
        constraints = Constraints.of(q, hits)
        sentences = []
        for s in chain.preparer.scorer.score(q, hits):
            broken = constraints.broken(q, s, hits)
            similarity = hits[s.sentence.hit_index].similarity
            sentences.append([round(s.score, 4), round(s.coverage, 4), [v in broken for v in VIOLATIONS],
                              _holds(s.sentence.text, item), None if similarity is None else round(similarity, 5)])
        rows.append({"id": item["id"], "set": set_name, "answerable": not item.get("refuse"), "sentences": sentences,
                     "model": chain.retriever.store.model})
        if n % 100 == 99:
            print(f"  {set_name}: {n + 1}/{len(items)} questions, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    chain.close()
    return rows


def as_arrays(rows: Sequence[dict]) -> Features:
    q, t, b, sim, br, g = [], [], [], [], [], []
    for i, row in enumerate(rows):
        for terms, bigrams, broken, gold, *more in row["sentences"] or [[-9.0, 0.0, [False] * len(VIOLATIONS), False]]:
            q.append(i), t.append(terms), b.append(bigrams), br.append(broken), g.append(gold)
            sim.append(np.nan if not more or more[0] is None else more[0])  # features saved before it: none
    sets = sorted({r["set"] for r in rows})
    return Features(np.array(q), np.array(t, float), np.array(b, float), np.array(sim, float),
                    np.array(br, bool), np.array(g, bool),
                    np.array([r["answerable"] for r in rows], bool),
                    np.array([sets.index(r["set"]) for r in rows]), tuple(sets), len(rows))


def outcomes(f: Features, cal: Calibration) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per question: best score, whether the best sentence holds the gold span, and
    whether any sentence does."""
    penalties = np.array([cal.penalties.get(v, 0.0) for v in VIOLATIONS])
    semantic = np.nan_to_num(cal.w_similarity * (f.similarity - cal.similarity_center))  # no vector: 0
    score = cal.w_terms * f.terms + cal.w_bigrams * f.bigrams + semantic - f.broken @ penalties
    order = np.lexsort((-score, f.question))  # by question, best first
    starts = np.searchsorted(f.question[order], np.arange(f.n_questions))
    top = order[starts]
    any_gold = np.zeros(f.n_questions, bool)
    np.logical_or.at(any_gold, f.question, f.gold)
    return score[top], f.gold[top], any_gold


def curve(f: Features, cal: Calibration, thresholds: Sequence[float]) -> list[dict[str, float]]:
    """Per threshold: on answerable questions, the share answered with the gold span
    on top, and the wrong refusals (refused though a sentence held the span); on
    unanswerable ones, the share refused."""
    best, top_gold, any_gold = outcomes(f, cal)
    pos, neg = f.answerable, ~f.answerable
    groups = [f.group == g for g in np.unique(f.group)]
    out = []
    for tau in thresholds:
        answered = best >= tau
        right = np.where(pos, answered & top_gold, ~answered)
        # the objective: per set, the answerable and the unanswerable shares, summed
        score = sum(float(right[m & part].mean()) for m in groups for part in (pos, neg) if (m & part).any())
        strict = f.group == f.sets.index(MUST_REFUSE_ALL) if MUST_REFUSE_ALL in f.sets else np.zeros_like(pos)
        out.append({"threshold": round(float(tau), 3),
                    "answered_gold": float((answered & top_gold)[pos].mean()),
                    "wrong_refusals": float((~answered & any_gold)[pos].mean()),
                    "refused_unanswerable": float((~answered)[neg].mean()) if neg.any() else 0.0,
                    "objective": round(score, 4),
                    "all_refused": bool((~answered)[strict & neg].all())})
    return out


def objective(point: dict[str, float]) -> float:
    """The point's objective; a point that answers an unanswerable question of the
    sample set ranks below every point that refuses them all."""
    return point["objective"] - (0.0 if point["all_refused"] else 10.0)


def best_threshold(f: Features, cal: Calibration, cap: float = MAX_WRONG_REFUSALS) -> tuple[float, dict[str, float]]:
    """The threshold with the best objective among those within `cap` wrong refusals
    that refuse every unanswerable question of the sample set (when any does)."""
    best, _, _ = outcomes(f, cal)
    grid = np.unique(np.quantile(best, np.linspace(0.0, 1.0, 401)))
    points = [p for p in curve(f, cal, grid) if p["wrong_refusals"] <= cap] or curve(f, cal, grid[:1])
    point = max(points, key=objective)
    return point["threshold"], point


def fit(f: Features, start: Calibration, cap: float = MAX_WRONG_REFUSALS, rounds: int = 3,
        similarity: bool = True) -> Calibration:
    """Coordinate ascent over the bigram and (unless `similarity` is off) similarity
    weights and each penalty, the threshold re-chosen at every step."""
    cal = start

    def value(c: Calibration) -> float:
        return objective(best_threshold(f, c, cap)[1])

    current = value(cal)
    for _ in range(rounds):
        improved = False
        for w in BIGRAM_GRID:
            trial = replace(cal, w_bigrams=w)
            if (v := value(trial)) > current + 1e-9:
                cal, current, improved = trial, v, True
        for w in SIMILARITY_GRID if similarity else ():
            trial = replace(cal, w_similarity=w)
            if (v := value(trial)) > current + 1e-9:
                cal, current, improved = trial, v, True
        for name in VIOLATIONS:
            for p in PENALTY_GRID:
                trial = replace(cal, penalties={**cal.penalties, name: p})
                if (v := value(trial)) > current + 1e-9:
                    cal, current, improved = trial, v, True
        if not improved:
            break
    tau, _ = best_threshold(f, cal, cap)
    return replace(cal, threshold=tau)


def _best_fit(f: Features, start: Calibration, committed: Calibration, cap: float, similarity: bool) -> Calibration:
    """The best of several coordinate ascents (each finds a local optimum): from
    uniform and random penalties, and from the committed fit, so a refit never does
    worse than what it replaces (a constraint it does not know yet starts at no penalty)."""
    rng = np.random.default_rng(SEED)
    starts = [{v: p for v in VIOLATIONS} for p in (0.0, 1.0, 99.0)]
    starts += [{v: float(rng.choice(PENALTY_GRID)) for v in VIOLATIONS} for _ in range(RANDOM_STARTS)]
    fits = [fit(f, replace(start, penalties=p), cap, similarity=similarity) for p in starts]
    known = {v: committed.penalties.get(v, 0.0) for v in VIOLATIONS}
    fits.append(fit(f, replace(start, w_terms=committed.w_terms, w_bigrams=committed.w_bigrams,
                               w_similarity=committed.w_similarity if similarity else 0.0, penalties=known),
                    cap, similarity=similarity))
    return max(fits, key=lambda c: objective(best_threshold(f, c, cap)[1]))


def format_curve(points: Sequence[dict[str, float]], mark: float) -> str:
    lines = ["threshold  answered+gold  wrong refusals  refused (left-out docs)"]
    for p in points:
        star = "  <- chosen" if abs(p["threshold"] - mark) < 1e-9 else ""
        lines.append(f"{p['threshold']:9.3f}  {p['answered_gold']:13.3f}  {p['wrong_refusals']:14.3f}"
                     f"  {p['refused_unanswerable']:23.3f}{star}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.calibrate", description=__doc__.split("\n\n")[0])
    p.add_argument("--write", action="store_true", help=f"write the fit to {RESOURCE.relative_to(PROJECT_ROOT)}")
    p.add_argument("--refresh", action="store_true", help="recompute the features (else reuse out/calibration-features.json)")
    p.add_argument("--max-wrong-refusals", type=float, default=MAX_WRONG_REFUSALS,
                   help="wrong refusals allowed on answerable development questions (default %(default)s)")
    args = p.parse_args(argv)
    if args.refresh or not FEATURES.is_file():
        settings = Settings.from_env()
        rows = (collect("ncp-dev", settings, NCP_INDEX)
                + collect("ncp-lodo-dev", settings, NCP_LODO_INDEX["ncp-lodo-dev"])
                + collect("sample", settings, settings.index_dir))
        FEATURES.parent.mkdir(parents=True, exist_ok=True)
        FEATURES.write_text(json.dumps(rows), encoding="utf-8")
    rows = json.loads(FEATURES.read_text(encoding="utf-8"))
    f = as_arrays(rows)
    # The similarity is centred on its development mean, so a passage without a vector
    # (scored as if at the centre) is neither favoured nor held back.
    center = round(float(np.nanmean(f.similarity)), 4) if np.isfinite(f.similarity).any() else 0.0
    models = {r.get("model", "") for r in rows}
    if len(models) != 1:
        raise SystemExit(f"the features come from indexes made by different embedding models ({sorted(models)}): "
                         "rebuild them with one (`--refresh` after re-running `policyqa eval` on each set)")
    model = models.pop()
    # The hard filters (every constraint prohibitive), where each fit starts.
    start = Calibration(fitted_on="", similarity_center=center, similarity_model=model)
    cap = args.max_wrong_refusals
    before_tau, before = best_threshold(f, start, cap)
    sizes = ", ".join(f"{name} {n}" for name, n in sorted(Counter(r["set"] for r in rows).items()))
    committed = load_calibration()
    # The fit without the similarity scores indexes made by another embedding model.
    lexical = _best_fit(f, replace(start, similarity_model=""), committed.lexical or committed, cap, similarity=False)
    cal = _best_fit(f, start, committed, cap, similarity=True)
    _, after = best_threshold(f, cal, cap)
    cal = replace(cal, fitted_on=f"at most {cap:.0%} wrong refusals; questions: {sizes}",
                  lexical=replace(lexical, fitted_on=f"without the similarity; at most {cap:.0%} wrong refusals; "
                                                     f"questions: {sizes}"))
    print(f"without the similarity, at its threshold: {best_threshold(f, lexical, cap)[1]}")
    thresholds = sorted({round(cal.threshold * k, 3) for k in np.linspace(0.7, 1.3, 25)} | {cal.threshold})
    points = curve(f, cal, thresholds)
    print(f"hard filters, best threshold {before_tau:.3f}: {before}")
    print(f"calibrated: {json.dumps(cal.to_mapping(), ensure_ascii=False)}")
    print(f"calibrated, at its threshold: {after}")
    print(format_curve(points, cal.threshold))
    if args.write:
        RESOURCE.write_text(json.dumps({**cal.to_mapping(), "curve": points}, ensure_ascii=False, indent=1) + "\n",
                            encoding="utf-8")
        print(f"wrote {RESOURCE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
