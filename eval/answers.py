"""Answer evaluation on a question set (`eval/sets/*.jsonl`): accuracy, refusals,
citations and unsupported figures, per question type and overall."""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from policyqa.types import Answer
from rag.figures import extract_figures, supported
from rag.verify import parse_claims

_MARKERS = re.compile(r"\[\d+\]")


@dataclass(frozen=True)
class Graded:
    id: str
    type: str
    question: str
    answer: str
    refused: bool
    expect_refusal: bool
    correct: bool
    figures_ok: bool  # every figure in the answer is in a quote the sentence cites
    cited_gold: bool
    citation_precision: float  # cited passages whose quote holds some answer figure or text
    latency_ms: float
    reason: str = ""


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def unsupported_in(answer: Answer) -> list[str]:
    """Figures stated in the answer that no quote of the citations in the same sentence holds."""
    quotes = {c.n: c.quote for c in answer.citations}
    bad = []
    for claim in parse_claims(answer.text, max(quotes, default=0)):
        cited = [quotes[n] for n in claim.refs if n in quotes]
        for f in extract_figures(claim.text):
            if f.kind == "code" and not f.unit:
                continue
            if not any(supported(f, q) for q in cited):
                bad.append(f.text)
    return bad


def grade(item: Mapping, answer: Answer) -> Graded:
    text = _squash(_MARKERS.sub("", answer.text))
    expect_refusal = bool(item.get("refuse"))
    sources = set(item.get("sources") or [])
    cited = {c.source for c in answer.citations}
    cited_gold = bool(cited & sources)
    missing = [g for g in item.get("must") or [] if not any(_squash(s) in text for s in g)]
    bad_figures = [] if answer.refused else unsupported_in(answer)
    if expect_refusal:
        correct, reason = answer.refused, "" if answer.refused else "answered an unanswerable question"
    elif answer.refused:
        correct, reason = False, "wrong refusal"
    else:
        correct = not missing and cited_gold
        reason = "; ".join(
            ([f"missing {missing}"] if missing else []) + ([] if cited_gold else [f"no gold source cited ({sorted(cited)})"])
        )
    precise = [c for c in answer.citations if c.quote and _squash(c.quote)[:20] and _cited_text_overlap(c.quote, text)]
    precision = len(precise) / len(answer.citations) if answer.citations else (1.0 if answer.refused else 0.0)
    return Graded(
        id=str(item.get("id")), type=str(item.get("type", "")), question=str(item["question"]), answer=answer.text,
        refused=answer.refused, expect_refusal=expect_refusal, correct=correct, figures_ok=not bad_figures,
        cited_gold=cited_gold, citation_precision=precision, latency_ms=answer.latency_ms,
        reason=reason + (f"; unsupported figures {bad_figures}" if bad_figures else ""),
    )


def _cited_text_overlap(quote: str, answer: str) -> bool:
    q = _squash(quote)
    grams = {answer[i : i + 4] for i in range(len(answer) - 3)}
    return any(g in q for g in grams)


def summarise(graded: Sequence[Graded]) -> dict[str, dict[str, float]]:
    groups: dict[str, list[Graded]] = defaultdict(list)
    for g in graded:
        groups[g.type].append(g)
        groups["ALL"].append(g)
    out: dict[str, dict[str, float]] = {}
    for name, rows in sorted(groups.items(), key=lambda kv: (kv[0] == "ALL", kv[0])):
        answerable = [g for g in rows if not g.expect_refusal]
        unanswerable = [g for g in rows if g.expect_refusal]
        lat = [g.latency_ms for g in rows]
        out[name] = {
            "n": len(rows),
            "accuracy": _share(g.correct for g in answerable) if answerable else float("nan"),
            "refusal_accuracy": _share(g.refused for g in unanswerable) if unanswerable else float("nan"),
            "wrong_refusal": _share(g.refused for g in answerable) if answerable else float("nan"),
            "unsupported_figures": _share(not g.figures_ok for g in rows),
            "citation_precision": statistics.fmean(g.citation_precision for g in rows if not g.refused)
            if any(not g.refused for g in rows) else float("nan"),
            "latency_median_ms": statistics.median(lat),
            "latency_p95_ms": _p95(lat),
        }
    return out


def _share(flags: Iterable[bool]) -> float:
    flags = list(flags)
    return sum(flags) / len(flags) if flags else float("nan")


def _p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def format_summary(summary: Mapping[str, Mapping[str, float]]) -> str:
    cols = ["n", "accuracy", "refusal_accuracy", "wrong_refusal", "unsupported_figures", "citation_precision",
            "latency_median_ms", "latency_p95_ms"]
    head = f"{'type':<14}" + "".join(f"{c[:14]:>15}" for c in cols)
    lines = [head, "-" * len(head)]
    for name, row in summary.items():
        cells = []
        for c in cols:
            v = row[c]
            cells.append(f"{int(v):>15}" if c == "n" else f"{v:>15.3f}" if v == v else f"{'-':>15}")
        lines.append(f"{name:<14}" + "".join(cells))
    return "\n".join(lines)
