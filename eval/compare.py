"""`policyqa eval --compare A.json B.json`: what got better and what got worse from
run A to run B: each metric's change per question type, and the questions whose
result flipped (pass -> fail, fail -> pass)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from eval.answers import LOWER_IS_BETTER, format_value, metric_label

EPSILON = 1e-9


@dataclass(frozen=True)
class Delta:
    group: str
    metric: str
    before: float | None
    after: float | None

    @property
    def change(self) -> float | None:
        return None if self.before is None or self.after is None else self.after - self.before

    @property
    def verdict(self) -> str:
        """better / worse / same, or "" for counts and metrics present in one run only."""
        change = self.change
        if change is None or self.metric == "n":
            return ""
        if abs(change) <= EPSILON:
            return "same"
        return "better" if (change < 0) == (self.metric in LOWER_IS_BETTER) else "worse"


@dataclass(frozen=True)
class Flip:
    id: str
    type: str
    question: str
    reason: str  # why it fails in the run where it fails


@dataclass(frozen=True)
class Comparison:
    a: str
    b: str
    notes: tuple[str, ...]  # e.g. the runs used different sets or backends
    deltas: tuple[Delta, ...]
    to_fail: tuple[Flip, ...]  # passed in A, failed in B
    to_pass: tuple[Flip, ...]  # failed in A, passed in B
    only_a: tuple[str, ...]
    only_b: tuple[str, ...]


def compare(a: Mapping, b: Mapping, name_a: str = "A", name_b: str = "B") -> Comparison:
    notes = []
    for key in ("set", "backend", "embedding", "index"):
        va, vb = a.get("run", {}).get(key), b.get("run", {}).get(key)
        if va != vb:
            notes.append(f"{key} differs: {va} -> {vb}")
    deltas = []
    for group, row_a in a["summary"].items():
        row_b = b["summary"].get(group)
        if row_b is None:
            continue
        for metric in row_a:
            if metric in row_b and (row_a[metric] is not None or row_b[metric] is not None):
                deltas.append(Delta(group, metric, row_a[metric], row_b[metric]))
    rows_a = {str(r["id"]): r for r in a["rows"]}
    rows_b = {str(r["id"]): r for r in b["rows"]}
    to_fail, to_pass = [], []
    for qid, ra in rows_a.items():
        rb = rows_b.get(qid)
        if rb is None or ra["passed"] == rb["passed"]:
            continue
        failing = rb if ra["passed"] else ra
        flip = Flip(qid, str(ra.get("type", "")), str(ra.get("question", "")), str(failing.get("reason") or ""))
        (to_fail if ra["passed"] else to_pass).append(flip)
    return Comparison(
        a=name_a, b=name_b, notes=tuple(notes), deltas=tuple(deltas), to_fail=tuple(to_fail), to_pass=tuple(to_pass),
        only_a=tuple(sorted(set(rows_a) - set(rows_b))), only_b=tuple(sorted(set(rows_b) - set(rows_a))),
    )


def format_comparison(c: Comparison, all_metrics: bool = False) -> str:
    """Metric changes (only those that moved, unless `all_metrics`), then the flips."""
    lines = [f"A = {c.a}", f"B = {c.b}"] + [f"note: {n}" for n in c.notes]
    shown = [d for d in c.deltas if all_metrics or d.verdict in ("better", "worse") or d.metric == "n" and d.change]
    if shown:
        width = max(len(d.group) for d in shown) + 2
        lines.append("")
        lines.append(f"{'type':<{width}}{'metric':<12}{'A':>10}{'B':>10}{'change':>10}  verdict")
        for d in shown:
            change = "-" if d.change is None else f"{d.change:+.3f}" if not d.metric.startswith("latency") \
                else f"{d.change:+.0f}"
            lines.append(f"{d.group:<{width}}{metric_label(d.metric):<12}{format_value(d.metric, d.before):>10}"
                         f"{format_value(d.metric, d.after):>10}{change:>10}  {d.verdict}")
    else:
        lines.append("\nno metric changed")
    for title, flips in (("pass -> fail", c.to_fail), ("fail -> pass", c.to_pass)):
        lines.append(f"\n{title}: {len(flips)}")
        for f in flips:
            lines.append(f"  {f.id} ({f.type}) {f.question}" + (f"  [{f.reason}]" if f.reason else ""))
    if c.only_a or c.only_b:
        lines.append(f"\nquestions only in A: {len(c.only_a)}, only in B: {len(c.only_b)}")
    return "\n".join(lines)
