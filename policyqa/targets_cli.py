"""`policyqa targets`: the target figures and reported figures of the indexed
documents (指标库), filtered, as a table, JSON or CSV."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import sys
from pathlib import Path

from policyqa.app import App
from policyqa.settings import Settings
from rag.targets import TargetRecord, list_targets

KIND_LABEL = {"target": "目标", "achievement": "实绩"}
LEVEL_LABEL = {"province": "省", "city": "市", "county": "县", "national": "国家"}


def _line(r: TargetRecord) -> str:
    where = " > ".join(p for p in (r.title, r.heading_path) if p)
    return (f"{r.region or '-'}\t{r.year or '-'}\t{KIND_LABEL.get(r.kind, r.kind)}\t{r.indicator}\t{r.value_text}"
            f"\t{r.source}\t{where}\n    “{r.quote}”")


def cmd_targets(args: argparse.Namespace) -> int:
    app = App(Settings.from_env(index_dir=args.index, embedding=args.embedding))
    records = list_targets(app.listing_store(), region=args.region, indicator=args.indicator, kind=args.kind, level=args.level,
                           source=args.source, year=args.year)
    if args.json:
        print(json.dumps([r.to_json() for r in records], ensure_ascii=False, indent=1))
    elif args.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=[f.name for f in dataclasses.fields(TargetRecord)])
        writer.writeheader()
        writer.writerows(r.to_json() for r in records)
    else:
        if not records:
            print("no matching figures")
        for r in records:
            print(_line(r))
        print(f"{len(records)} records", file=sys.stderr)
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    p = subparsers.add_parser("targets", help="list the quantitative targets and reported figures of the documents")
    p.add_argument("--region", default="", help="only this region, e.g. 绍兴市 or 绍兴")
    p.add_argument("--indicator", default="", help="only this indicator, by its words, e.g. 高企 or 高新技术产业增加值占比")
    p.add_argument("--kind", choices=["target", "achievement"], default="", help="targets or achievements (default: both)")
    p.add_argument("--level", choices=sorted(LEVEL_LABEL), default="", help="only this administrative level")
    p.add_argument("--source", default="", help="only this source file / docid")
    p.add_argument("--year", default="", help="only this target year")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="JSON: every field of every record")
    out.add_argument("--csv", action="store_true", help="CSV with a header row")
    p.add_argument("--index", type=Path, help="index folder (default: data/index, or POLICYQA_INDEX_DIR)")
    p.add_argument("--embedding", help="embedding provider the index was built with (default: the setting)")
    p.set_defaults(func=cmd_targets)
    return p
