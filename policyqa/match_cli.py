"""`policyqa match`: which support measures apply to an enterprise.

    policyqa match PROFILE.json [--json] [--category 税费优惠] [--limit N]
    policyqa match --question "我们是绍兴的规上工业企业，研发投入占营收3%，能享受哪些政策？"
    policyqa match --list                    every extracted measure, by document
    policyqa match --eval [--set FILE] [-v]  precision / recall on eval/sets/profiles.jsonl

PROFILE.json (or `-` for stdin), e.g.
    {"region": "绍兴市", "types": ["规上工业企业"], "activities": ["研发投入"], "rd_ratio": 3.0}
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from policyqa.app import open_matcher
from policyqa.errors import PolicyQAError
from policyqa.output import answer_json
from policyqa.settings import Settings
from rag.match import Matcher, MatchResult, Profile, answer_match
from ingest.measures import ACTIVITIES, CATEGORIES, ENTERPRISE_TYPES


def load_matcher(index: Path | None = None) -> Matcher:
    return open_matcher(Settings.from_env(index_dir=index))


def _read_profile(path: str) -> Profile:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        return Profile.from_dict(data)
    except (OSError, ValueError) as exc:
        raise PolicyQAError(f"{path}: not a usable profile ({exc})") from exc


def _print_results(profile: Profile, results: list[MatchResult], limit: int) -> None:
    print(f"企业：{profile.summary() or '（未填写）'}")
    if not results:
        print("文件中未找到适用的支持措施。")
        return
    for i, r in enumerate(results[:limit] if limit else results, 1):
        m = r.measure
        print(f"{i}. [{r.status}] {m.name}（{'、'.join(m.categories)}，{m.region or '地区未注明'}）")
        met = [c.label() for c in r.met]
        if met:
            print("   满足：" + "，".join(met))
        if r.unknown:
            print("   待确认：" + "，".join(c.label() for c in r.unknown))
        for c in (r.citation, *r.also):
            print(f"   {c.source} [{c.start}:{c.end}] “{c.quote}”")
    if limit and len(results) > limit:
        print(f"（另有 {len(results) - limit} 项，用 --limit 0 全部列出）")


def cmd_match(args: argparse.Namespace) -> int:
    if args.eval:
        from eval.match_eval import PROFILES, cmd_eval

        return cmd_eval(load_matcher(args.index), args.set or PROFILES, args.json_out, args.verbose)
    if args.vocabulary:
        print("types: " + " ".join(ENTERPRISE_TYPES))
        print("activities: " + " ".join(ACTIVITIES))
        print("categories: " + " ".join(CATEGORIES))
        return 0
    matcher = load_matcher(args.index)
    if args.list:
        for m in matcher.measures:
            crit = "；".join(c.label() for c in m.criteria)
            print(f"{m.id}\t{m.source}\t{'、'.join(m.categories)}\t{m.name}\t{crit}")
        counts = Counter(m.source for m in matcher.measures)
        print(f"{len(matcher.measures)} measures in {len(counts)} documents", file=sys.stderr)
        return 0
    if args.question:
        answer = answer_match(args.question, matcher, limit=args.limit or 8)
        if answer is None:
            raise PolicyQAError("这不是一个“能享受哪些政策”类的问题；请用 policyqa ask")
        if args.json:
            print(json.dumps(answer_json(None, answer), ensure_ascii=False, indent=1))
            return 0
        print(answer.text)
        for c in answer.citations:
            print(f"[{c.n}] {c.source} [{c.start}:{c.end}] “{c.quote}”")
        return 0
    if not args.profile:
        raise PolicyQAError("give PROFILE.json, --question, --list or --eval")
    profile = _read_profile(args.profile)
    results = matcher.match(profile, args.category or ())
    if args.json:
        out = {"profile": profile.to_dict(), "results": [r.to_dict() for r in results]}
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return 0
    _print_results(profile, results, args.limit)
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    p = subparsers.add_parser("match", help="support measures that apply to an enterprise profile (政策匹配)")
    p.add_argument("profile", nargs="?", help="enterprise profile as JSON (file, or - for stdin)")
    p.add_argument("--question", help="a chat question describing the enterprise")
    p.add_argument("--category", action="append", choices=list(CATEGORIES), help="only these kinds (repeatable)")
    p.add_argument("--limit", type=int, default=20, help="results to print (0: all)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--list", action="store_true", help="list every extracted measure")
    p.add_argument("--vocabulary", action="store_true", help="the type, activity and category names profiles use")
    p.add_argument("--eval", action="store_true", help="precision/recall on the hand-made profiles")
    p.add_argument("--set", type=Path, help="profile set for --eval (default eval/sets/profiles.jsonl)")
    p.add_argument("--json-out", type=Path, help="--eval: write the full report here")
    p.add_argument("--verbose", "-v", action="store_true", help="--eval: list misses and extras")
    p.add_argument("--index", type=Path, help="index folder (default: data/index, or POLICYQA_INDEX_DIR)")
    p.set_defaults(func=cmd_match)
    return p
