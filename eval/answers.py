"""Answer grading on a question set: accuracy, refusals, retrieval rank, citation
precision, unsupported figures and character F1, per question type and overall.

A question (a dict, one line of a set) may carry:
- `must`: groups of acceptable strings; every group must appear in the answer;
- `must_not`: strings the answer must not contain (the wrong figure of a false premise);
- `span`: a gold answer span (the NCP benchmark); it must be contained in the answer;
- `sources`: acceptable gold documents; the answer must cite one;
- `page`: with `sources`, the PDF page the answer stands on; the citation of a gold
  document must point at it (the `formats` set);
- `refuse`: true when the documents do not answer the question.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from eval.retrieval import MRR_CUTOFF, first_gold_rank, percentile
from policyqa.types import Answer
from policyqa.text.figures import extract_figures, supported
from rag.verify import parse_claims

_MARKERS = re.compile(r"\[\d+\]")
_PUNCT = re.compile(r"[\s，。、；：！？,.;:!?“”\"'‘’（）()《》【】\[\]]")
SPAN_OVERLAP = 0.5  # share of the shorter of (quote, gold span) that must be shared verbatim
SPAN_MIN_CHARS = 8  # ... and at least this many characters, so stock phrases do not count


@dataclass(frozen=True)
class Cited:
    """A passage the answer cites, and whether its quote holds the supporting text
    (None when the question has none to look for, e.g. an unanswerable one)."""

    n: int
    source: str
    title: str
    quote: str
    supports: bool | None


@dataclass(frozen=True)
class Graded:
    id: str
    type: str
    question: str
    history: tuple[tuple[str, ...], ...]
    standalone: str
    answer: str
    refused: bool
    expect_refusal: bool
    correct: bool
    figures_ok: bool  # every figure in the answer is in a quote the sentence cites
    unsupported: tuple[str, ...]
    cited_gold: bool
    citations: tuple[Cited, ...]
    must: tuple[tuple[str, ...], ...]
    span: str
    sources: tuple[str, ...]
    gold_rank: int | None  # 1-based rank of the first gold document retrieved; None = missed / not run
    retrieved: tuple[str, ...]  # distinct documents retrieved, best first (the first ten)
    span_contained: bool | None
    char_f1: float | None
    latency_ms: float
    reason: str = ""
    answerer: str = ""  # the component that answered (rag.answerers)

    @property
    def passed(self) -> bool:
        return self.correct and self.figures_ok

    @property
    def judged_citations(self) -> list[Cited]:
        """Citations that count for precision: those of an answer to an answerable question."""
        if self.expect_refusal or self.refused:
            return []
        return [c for c in self.citations if c.supports is not None]


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def normalise(text: str) -> str:
    """For span matching: no markers, NFKC, no whitespace or punctuation."""
    return _PUNCT.sub("", unicodedata.normalize("NFKC", _MARKERS.sub("", text)))


def char_f1(prediction: str, gold: str) -> float:
    p, g = Counter(normalise(prediction)), Counter(normalise(gold))
    common = sum((p & g).values())
    if not common:
        return 0.0
    precision, recall = common / sum(p.values()), common / sum(g.values())
    return 2 * precision * recall / (precision + recall)


def holds_span(quote: str, span: str) -> bool:
    """A quote holds a gold span when it contains it, or, for a span longer than one
    sentence, shares a verbatim stretch with it of at least half the shorter text."""
    q, s = normalise(quote), normalise(span)
    if not q or not s:
        return False
    if s in q:
        return True
    match = SequenceMatcher(None, q, s, autojunk=False).find_longest_match(0, len(q), 0, len(s))
    return match.size >= max(SPAN_MIN_CHARS, SPAN_OVERLAP * min(len(q), len(s)))


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


def _supports(quote: str, must: Sequence[Sequence[str]], span: str) -> bool | None:
    if not must and not span:
        return None
    q = squash(quote)
    return any(squash(s) in q for group in must for s in group) or (bool(span) and holds_span(quote, span))


def grade(item: Mapping, answer: Answer, ranking: Sequence[str] | None = None,
          same_as: Mapping[str, str] | None = None) -> Graded:
    """Grade one answer. `ranking` is the distinct documents retrieval returned for the
    question (best first); `same_as` maps documents with identical text to one name,
    so citing either counts."""
    same = same_as or {}
    text = squash(_MARKERS.sub("", answer.text))
    expect_refusal = bool(item.get("refuse"))
    must = tuple(tuple(str(s) for s in g) for g in item.get("must") or [])
    span = str(item.get("span") or "")
    sources = tuple(str(s) for s in item.get("sources") or [])
    gold = {same.get(s, s) for s in sources}
    page = item.get("page")
    cited_gold = any(same.get(c.source, c.source) in gold and (page is None or c.page == page)
                     for c in answer.citations)
    missing = [list(g) for g in must if not any(squash(s) in text for s in g)]
    forbidden = [str(s) for s in item.get("must_not") or [] if squash(str(s)) in text]
    contained = normalise(span) in normalise(answer.text) if span else None
    bad_figures = [] if answer.refused else unsupported_in(answer)
    if expect_refusal:
        correct, reasons = answer.refused, ([] if answer.refused else ["answered an unanswerable question"])
    elif answer.refused:
        correct, reasons = False, ["wrong refusal"]
    else:
        reasons = [f"missing {missing}"] if missing else []
        if forbidden:
            reasons.append(f"contains must_not {forbidden}")
        if span and not contained:
            reasons.append("gold span not in the answer")
        if sources and not cited_gold:
            cited = sorted({f"{c.source} p.{c.page}" if page is not None else c.source for c in answer.citations})
            reasons.append(f"no gold source{f' page {page}' if page is not None else ''} cited ({cited})")
        correct = not reasons
    if bad_figures:
        reasons.append(f"unsupported figures {bad_figures}")
    citations = tuple(
        Cited(c.n, c.source, c.title, c.quote, None if expect_refusal else _supports(c.quote, must, span))
        for c in answer.citations
    )
    docs = list(ranking) if ranking is not None else []
    return Graded(
        id=str(item.get("id")), type=str(item.get("type") or "all"), question=str(item["question"]),
        history=tuple(tuple(str(t) for t in turn) for turn in item.get("history") or []),
        standalone=answer.standalone_question, answer=answer.text, refused=answer.refused,
        expect_refusal=expect_refusal, correct=correct, figures_ok=not bad_figures, unsupported=tuple(bad_figures),
        cited_gold=cited_gold, citations=citations, must=must, span=span, sources=sources,
        gold_rank=first_gold_rank(docs, gold) if gold and ranking is not None else None,
        retrieved=tuple(docs[:10]), span_contained=contained,
        char_f1=char_f1(answer.text, span) if span else None,
        latency_ms=answer.latency_ms, reason="; ".join(reasons), answerer=answer.answerer,
    )


# -- summaries ---------------------------------------------------------------------------

# Lower is better for these; for the rest (but `n`) higher is better.
LOWER_IS_BETTER = frozenset({"unsupported_figures", "wrong_refusal", "latency_median_ms", "latency_p95_ms"})


def _share(flags: Iterable[bool]) -> float | None:
    flags = list(flags)
    return sum(flags) / len(flags) if flags else None


def summarise_group(rows: Sequence[Graded], k: int = 5, retrieval: bool = True) -> dict[str, float | None]:
    """The metrics of one group of graded answers; None where a metric does not apply
    (no answerable questions, no unanswerable ones, no gold spans, `retrieval` false)."""
    answerable = [g for g in rows if not g.expect_refusal]
    unanswerable = [g for g in rows if g.expect_refusal]
    ranked = [g for g in answerable if g.sources] if retrieval else []
    judged = [c for g in rows for c in g.judged_citations]
    spans = [g.char_f1 for g in rows if g.char_f1 is not None]
    lat = [g.latency_ms for g in rows]
    ranks = [g.gold_rank for g in ranked]
    return {
        "n": len(rows),
        "passed": _share(g.passed for g in rows),
        "accuracy": _share(g.correct for g in answerable),
        "recall@1": _share(r is not None and r <= 1 for r in ranks),
        f"recall@{k}": _share(r is not None and r <= k for r in ranks),
        f"mrr@{MRR_CUTOFF}": statistics.fmean(1 / r if r is not None and r <= MRR_CUTOFF else 0.0 for r in ranks)
        if ranks else None,
        "citation_precision": _share(bool(c.supports) for c in judged),
        "unsupported_figures": _share(not g.figures_ok for g in rows),
        "refusal_accuracy": _share(g.refused for g in unanswerable),
        "wrong_refusal": _share(g.refused for g in answerable),
        "char_f1": statistics.fmean(spans) if spans else None,
        "latency_median_ms": statistics.median(lat) if lat else None,
        "latency_p95_ms": percentile(lat, 95) if lat else None,
    }


def summarise(graded: Sequence[Graded], k: int = 5) -> dict[str, dict[str, float | None]]:
    """Per question type (sorted), then `ALL`. A set with one type has `ALL` only.
    Retrieval metrics only when the answers were graded with a ranking."""
    retrieval = any(g.retrieved for g in graded)
    groups: dict[str, list[Graded]] = defaultdict(list)
    for g in graded:
        groups[g.type].append(g)
    out = {} if len(groups) < 2 else {name: summarise_group(groups[name], k, retrieval) for name in sorted(groups)}
    out["ALL"] = summarise_group(graded, k, retrieval)
    return out


_HEADS = {"passed": "pass", "accuracy": "acc", f"mrr@{MRR_CUTOFF}": "MRR",
          "citation_precision": "cite prec", "unsupported_figures": "unsup fig", "refusal_accuracy": "refuse acc",
          "wrong_refusal": "wrong ref", "char_f1": "char F1", "latency_median_ms": "lat med ms",
          "latency_p95_ms": "lat p95 ms"}


def metric_label(name: str) -> str:
    return _HEADS.get(name, name.replace("recall", "R"))


def table_columns(summary: Mapping[str, Mapping[str, float | None]]) -> list[str]:
    """Metrics in table order (the order of the first group), dropping those no group has."""
    first = next(iter(summary.values()), {})
    return [m for m in first if any(row.get(m) is not None for row in summary.values())]


def format_value(name: str, value: float | None) -> str:
    if value is None:
        return "-"
    if name == "n":
        return str(int(value))
    if name.startswith("latency"):
        return f"{value:.0f}"
    return f"{value:.3f}"


def format_summary(summary: Mapping[str, Mapping[str, float | None]]) -> str:
    """A plain-text table; columns that no group has a value for are left out."""
    cols = table_columns(summary)
    width = max([len("type")] + [len(name) for name in summary]) + 2
    head = f"{'type':<{width}}" + "".join(f"{metric_label(c):>11}" for c in cols)
    lines = [head, "-" * len(head)]
    for name, row in summary.items():
        lines.append(f"{name:<{width}}" + "".join(f"{format_value(c, row.get(c)):>11}" for c in cols))
    return "\n".join(lines)
