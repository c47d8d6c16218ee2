"""Matching precision and recall on hand-made enterprise profiles (政策匹配).

eval/sets/profiles.jsonl: one profile a line, either
  {"id", "profile": {...Profile fields...}, "expected": [...], "note"}      every result is scored
  {"id", "question": "我们是…能享受哪些政策？", "scored": "符合", "expected": [...]}
      the profile is parsed from the question; only results whose every criterion
      is met are scored (the others are listed as 待确认 and not claimed to apply).
Each expected measure is {"key", "text": [alternatives], "sources": [file names]}:
the span stating it holds one of the texts, in one of the sources (a measure that two
documents state lists both). The sets were made by reading the sample documents.

    policyqa match --eval [--set FILE] [--index DIR] [--json OUT] [--verbose]
    python -m eval.match_eval
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Collection, Sequence

from policyqa.app import open_matcher
from policyqa.errors import PolicyQAError
from policyqa.settings import PROJECT_ROOT, Settings
from rag.match import Matcher, MatchResult, Profile, parse_profile

PROFILES = PROJECT_ROOT / "eval" / "sets" / "profiles.jsonl"


@dataclass(frozen=True)
class Expected:
    key: str
    texts: tuple[str, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Scored:
    id: str
    true_positives: int
    predicted: int
    expected: int
    missed: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    wrong_region: tuple[str, ...] = ()  # results from a region the profile is not in

    @property
    def precision(self) -> float:
        return self.true_positives / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.expected if self.expected else 1.0


def load(path: Path) -> list[dict]:
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if "id" not in item or not ("profile" in item or "question" in item) or "expected" not in item:
                raise KeyError("id, profile|question, expected")
        except (ValueError, KeyError) as exc:
            raise PolicyQAError(f"{path}:{n}: not a profile item ({exc})") from exc
        items.append(item)
    return items


def score(pid: str, results: Sequence[MatchResult], expected: Sequence[Expected],
          allowed_regions: Collection[str] = ()) -> Scored:
    """A one-to-one assignment of results to expected measures. A result matches an
    expected measure when one of its citations comes from an expected source and
    quotes one of its texts; a text in the result's name beats one only in its quote
    (the three measures of 落实A、B、C等政策 share one quote)."""
    pairs: list[tuple[int, int, int]] = []
    for i, r in enumerate(results):
        cites = (r.citation, *r.also)
        for j, e in enumerate(expected):
            hits = [t for t in e.texts if any(c.source in e.sources and t in c.quote for c in cites)]
            if hits:
                pairs.append((2 if any(t in r.measure.name for t in hits) else 1, i, j))
    pairs.sort(key=lambda p: -p[0])
    used_r: set[int] = set()
    used_e: set[int] = set()
    for _, i, j in pairs:
        if i not in used_r and j not in used_e:
            used_r.add(i)
            used_e.add(j)
    wrong = tuple(
        f"{r.measure.name}（{r.measure.region}）" for r in results
        if allowed_regions and r.measure.region and r.measure.region not in allowed_regions
        and "全国" not in r.measure.region
    )
    return Scored(
        id=pid, true_positives=len(used_r), predicted=len(results), expected=len(expected),
        missed=tuple(e.key for j, e in enumerate(expected) if j not in used_e),
        extra=tuple(f"{r.measure.name}（{r.measure.source}）" for i, r in enumerate(results) if i not in used_r),
        wrong_region=wrong,
    )


def run(matcher: Matcher, items: Sequence[dict]) -> tuple[list[Scored], dict[str, float]]:
    rows: list[Scored] = []
    for item in items:
        if "profile" in item:
            profile = Profile.from_dict(item["profile"])
        else:
            parsed = parse_profile(item["question"])
            if parsed is None:
                raise PolicyQAError(f"{item['id']}: the question was not read as an eligibility question")
            profile = parsed
        results = matcher.match(profile)
        if item.get("scored") == "符合":
            results = [r for r in results if r.status == "符合"]
        expected = [Expected(e.get("key", ""), tuple(_texts(e["text"])), tuple(e["sources"])) for e in item["expected"]]
        rows.append(score(item["id"], results, expected, profile.places()))
    tp = sum(r.true_positives for r in rows)
    pred = sum(r.predicted for r in rows)
    exp = sum(r.expected for r in rows)
    summary = {
        "profiles": len(rows), "true_positives": tp, "predicted": pred, "expected": exp,
        "precision": tp / pred if pred else 1.0, "recall": tp / exp if exp else 1.0,
        "macro_precision": sum(r.precision for r in rows) / len(rows) if rows else 1.0,
        "macro_recall": sum(r.recall for r in rows) / len(rows) if rows else 1.0,
        "wrong_region": sum(len(r.wrong_region) for r in rows),
    }
    return rows, summary


def _texts(v: str | list[str]) -> list[str]:
    return [v] if isinstance(v, str) else list(v)


def report(rows: Sequence[Scored], summary: dict[str, float], verbose: bool = False) -> str:
    lines = [f"{'profile':<24} {'TP':>3} {'pred':>4} {'exp':>4} {'P':>6} {'R':>6}  wrong-region"]
    for r in rows:
        lines.append(f"{r.id:<24} {r.true_positives:>3} {r.predicted:>4} {r.expected:>4} "
                     f"{r.precision:>6.2f} {r.recall:>6.2f}  {len(r.wrong_region)}")
        if verbose:
            lines += [f"    missed: {k}" for k in r.missed]
            lines += [f"    extra:  {x}" for x in r.extra]
            lines += [f"    WRONG REGION: {x}" for x in r.wrong_region]
    s = summary
    lines.append(
        f"micro precision {s['precision']:.3f} ({s['true_positives']}/{s['predicted']})  "
        f"recall {s['recall']:.3f} ({s['true_positives']}/{s['expected']})  "
        f"macro P {s['macro_precision']:.3f} R {s['macro_recall']:.3f}  "
        f"wrong-region results {s['wrong_region']}  profiles {s['profiles']}"
    )
    return "\n".join(lines)


def cmd_eval(matcher: Matcher, path: Path, json_out: Path | None, verbose: bool) -> int:
    t0 = time.perf_counter()
    rows, summary = run(matcher, load(path))
    summary["seconds"] = round(time.perf_counter() - t0, 3)
    summary["measures"] = len(matcher.measures)
    print(report(rows, summary, verbose))
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps({"summary": summary, "rows": [asdict(r) for r in rows]},
                                       ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"report: {json_out}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.match_eval", description=__doc__.split("\n")[0])
    p.add_argument("--set", type=Path, default=PROFILES)
    p.add_argument("--index", type=Path)
    p.add_argument("--json", type=Path)
    p.add_argument("--verbose", "-v", action="store_true")
    args = p.parse_args(argv)
    return cmd_eval(open_matcher(Settings.from_env(index_dir=args.index)), args.set, args.json, args.verbose)


if __name__ == "__main__":
    sys.exit(main())
