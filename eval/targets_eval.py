"""Target figures (指标库) measured: extraction precision and recall against the
hand-checked list of every stated target in the sample corpus
(`eval/sets/targets_gold.jsonl`), and comparison questions answered as cited tables
(`eval/sets/compare.jsonl`).

    python -m eval.targets_eval [--index DIR] [--llm extractive] [--json OUT] [-v]

A record counts as correct when it is a target of the gold item's document whose
value sits inside the gold text, with the gold value, unit, year and comparator,
and an indicator name that shares at least `MIN_INDICATOR_DICE` of its character
bigrams with the gold name. Gold items marked `optional` (statements a careful
reader could file either way) count neither for nor against. A comparison is
correct when every expected cell is in the row of its side and cited with a
citation from an expected document whose quote holds the value.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from policyqa.settings import PROJECT_ROOT
from policyqa.types import Answer, Chunk
from policyqa.text.figures import extract_figures, supported
from ingest.document import text_from_chunks
from ingest.targets import TargetRecord, indicator_key

GOLD = PROJECT_ROOT / "eval" / "sets" / "targets_gold.jsonl"
COMPARE = PROJECT_ROOT / "eval" / "sets" / "compare.jsonl"
MIN_INDICATOR_DICE = 0.4
_MARKER = re.compile(r"\[(\d+)\]")


def load_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def document_texts(chunks: Sequence[Chunk]) -> dict[str, str]:
    """Each source's cleaned text, rebuilt from its chunks."""
    by_source: dict[str, list[Chunk]] = {}
    for c in chunks:
        by_source.setdefault(c.source, []).append(c)
    return {source: text_from_chunks(cs) for source, cs in by_source.items()}


def _bigrams(s: str) -> set[str]:
    return {s[i : i + 2] for i in range(len(s) - 1)}


def indicator_dice(a: str, b: str) -> float:
    x, y = _bigrams(indicator_key(a)), _bigrams(indicator_key(b))
    return 2 * len(x & y) / (len(x) + len(y)) if x and y else float(indicator_key(a) == indicator_key(b))


def _spans(text: str, needle: str) -> list[tuple[int, int]]:
    out, at = [], text.find(needle)
    while at >= 0:
        out.append((at, at + len(needle)))
        at = text.find(needle, at + 1)
    return out


def _same_value(r: TargetRecord, g: Mapping) -> bool:
    def close(a: float | None, b: float | None) -> bool:
        return (a is None and b is None) or (a is not None and b is not None and abs(a - b) <= 1e-9 * max(1.0, abs(b)))

    return close(r.value, float(g["value"])) and close(r.value_max, g.get("value_max")) and r.unit == g.get("unit", "")


@dataclass(frozen=True)
class Judged:
    record: TargetRecord
    gold: int | None  # index of the gold item it states, if any
    correct: bool
    why: str = ""  # for a wrong record: what did not agree


@dataclass
class ExtractionScore:
    correct: int = 0
    wrong: int = 0
    found: int = 0  # non-optional gold items stated by a correct record
    gold: int = 0
    ignored: int = 0  # records of optional gold items
    duplicates: int = 0  # correct records of a gold item another record already states
    judged: list[Judged] = field(default_factory=list)
    missed: list[dict] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.correct / (self.correct + self.wrong) if self.correct + self.wrong else 0.0

    @property
    def recall(self) -> float:
        return self.found / self.gold if self.gold else 0.0

    def summary(self) -> dict[str, float | int]:
        return {"precision": round(self.precision, 4), "recall": round(self.recall, 4), "correct": self.correct,
                "wrong": self.wrong, "gold_found": self.found, "gold": self.gold, "optional_ignored": self.ignored,
                "duplicates": self.duplicates}


def score_extraction(records: Sequence[TargetRecord], gold: Sequence[Mapping], texts: Mapping[str, str]) -> ExtractionScore:
    """Target records against the gold list (see the module docstring)."""
    spans = [[s for t in [g["text"], *g.get("also", [])] for s in _spans(texts.get(g["source"], ""), t)] for g in gold]
    score = ExtractionScore(gold=sum(not g.get("optional") for g in gold))
    stated: set[int] = set()
    for r in records:
        if r.kind != "target" or r.source not in {g["source"] for g in gold}:
            continue
        where = [i for i, g in enumerate(gold) if g["source"] == r.source
                 and any(a <= r.value_start < b or a < r.value_end <= b for a, b in spans[i])]
        same = [i for i in where if _same_value(r, gold[i])]
        if not same:
            score.wrong += 1
            why = "no stated target here" if not where else f"value {r.value_text} ≠ {gold[where[0]]['value_text']}"
            score.judged.append(Judged(r, where[0] if where else None, False, why))
            continue
        i = same[0]
        g = gold[i]
        if g.get("optional"):
            score.ignored += 1
            score.judged.append(Judged(r, i, True, "optional"))
            continue
        problems = []
        if (g.get("op") or "=") != r.op:
            problems.append(f"comparator {r.op} ≠ {g.get('op') or '='}")
        if g.get("year") and g["year"] != r.year:
            problems.append(f"year {r.year} ≠ {g['year']}")
        dice = indicator_dice(r.indicator, g["indicator"])
        if dice < MIN_INDICATOR_DICE:
            problems.append(f"indicator {r.indicator!r} vs {g['indicator']!r} ({dice:.2f})")
        if problems:
            score.wrong += 1
            score.judged.append(Judged(r, i, False, "; ".join(problems)))
            continue
        score.correct += 1
        if i in stated:
            score.duplicates += 1
        stated.add(i)
        score.judged.append(Judged(r, i, True))
    score.found = len(stated)
    score.missed = [g for i, g in enumerate(gold) if not g.get("optional") and i not in stated]
    return score


# -- comparisons ---------------------------------------------------------------------------


def _squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


def table_rows(text: str) -> list[list[str]]:
    """The body rows of a Markdown table, as cells (header and rule left out)."""
    rows = [ln.strip().strip("|").split("|") for ln in text.splitlines() if ln.strip().startswith("|")]
    return [[c.strip() for c in row] for row in rows[2:]]


def cells_cited(answer: Answer) -> bool:
    """Every table cell that states a figure carries a marker whose quote holds it."""
    quotes = {c.n: c.quote for c in answer.citations}
    for row in table_rows(answer.text):
        for cell in row[1:]:
            figures = [f for f in extract_figures(_MARKER.sub("", cell)) if f.kind != "code" or f.unit]
            if not figures:
                continue
            cited = [quotes[int(n)] for n in _MARKER.findall(cell) if int(n) in quotes]
            if not cited or not all(any(supported(f, q) for q in cited) for f in figures):
                return False
    return True


def grade_comparison(item: Mapping, answer: Answer) -> dict:
    """Whether each expected cell is in its side's row, cited from an expected document."""
    rows = table_rows(answer.text)
    by_n = {c.n: c for c in answer.citations}
    misses = []
    for cell in item["cells"]:
        ok = False
        for row in rows:
            if not row or cell["side"] not in row[0]:
                continue
            body = "".join(row[1:])
            marks = [by_n[int(n)] for n in _MARKER.findall(body) if int(n) in by_n]
            if _squash(cell["value"]) in _squash(_MARKER.sub("", body)) and any(
                c.source in cell["sources"] and _squash(cell["value"]) in _squash(c.quote) for c in marks
            ):
                ok = True
        if not ok:
            misses.append(f"{cell['side']}: {cell['value']}")
    table = bool(rows)
    return {"id": item["id"], "question": item["question"], "answer": answer.text, "table": table,
            "cells_cited": table and cells_cited(answer), "correct": table and not misses and not answer.refused,
            "missing": misses}


# -- runner ------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    from policyqa.app import App
    from policyqa.settings import Settings
    from rag.targets import load_targets

    p = argparse.ArgumentParser(prog="python -m eval.targets_eval", description=__doc__.split("\n\n")[0])
    p.add_argument("--index", type=Path, help="index folder (default: the sample index)")
    p.add_argument("--gold", type=Path, default=GOLD)
    p.add_argument("--compare", type=Path, default=COMPARE)
    p.add_argument("--llm", default="extractive", help="answer backend for the comparison questions")
    p.add_argument("--json", type=Path, help="write the full report here")
    p.add_argument("-v", "--verbose", action="store_true", help="list every wrong and missed record")
    args = p.parse_args(argv)

    app = App(Settings.from_env(index_dir=args.index, llm=args.llm))
    store = app.store()
    records = load_targets(store)
    gold = load_jsonl(args.gold)
    texts = document_texts(list(store.chunks()))
    score = score_extraction(records, gold, texts)
    kinds = {k: sum(r.kind == k for r in records) for k in ("target", "achievement")}
    print(f"records: {len(records)} ({kinds['target']} targets, {kinds['achievement']} achievements) "
          f"in {len(store.files())} documents")
    s = score.summary()
    print(f"targets vs {args.gold.name}: precision {s['precision']:.3f} ({s['correct']}/{s['correct'] + s['wrong']}), "
          f"recall {s['recall']:.3f} ({s['gold_found']}/{s['gold']}); "
          f"{s['optional_ignored']} optional, {s['duplicates']} duplicates")
    if args.verbose:
        for j in score.judged:
            if not j.correct:
                print(f"  WRONG {j.record.source[:24]} {j.record.indicator} {j.record.value_text}: {j.why}")
        for g in score.missed:
            print(f"  MISSED {g['source'][:24]} {g['indicator']} {g['value_text']} «{g['text']}»")

    chain = app.chain(args.llm)
    graded = [grade_comparison(item, chain.answer(item["question"])) for item in load_jsonl(args.compare)]
    n = len(graded)
    correct = sum(g["correct"] for g in graded)
    tables = sum(g["table"] for g in graded)
    cited = sum(g["cells_cited"] for g in graded)
    print(f"comparisons ({chain.backend}): accuracy {correct / n:.3f} ({correct}/{n}); "
          f"answered as tables {tables}/{n}, every cell cited in {cited}/{tables}")
    for g in graded:
        if not g["correct"]:
            print(f"  FAIL {g['id']}: {g['question']} missing {g['missing']} -> {g['answer'][:60]!r}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        report = {"extraction": s, "comparisons": {"accuracy": correct / n, "n": n, "rows": graded},
                  "wrong": [{"record": j.record.to_json(), "why": j.why} for j in score.judged if not j.correct],
                  "missed": score.missed}
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"report: {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
