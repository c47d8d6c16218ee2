"""The evaluation report: a JSON document (run facts, per-type metrics, one row per
question) and a single-file HTML rendering of it that lists every failure with its
question, answer and cited passages, so a reader can see why it failed.

The HTML is built from the JSON form alone, so a saved report can be rendered again;
every piece of text in it is escaped, and it loads nothing from anywhere else.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path

from eval.answers import Graded, format_value, metric_label, table_columns

REPORT_VERSION = 1


def row_json(g: Graded) -> dict:
    return {**dataclasses.asdict(g), "passed": g.passed}


def build_report(run: Mapping[str, object], summary: Mapping[str, Mapping[str, float | None]],
                 graded: Sequence[Graded], answerability: Mapping[str, object] | None = None) -> dict:
    """`answerability`: the answer-or-refuse calibration in use, with its trade-off curve
    on the development data it was fitted on (rag/resources/answerability.json)."""
    report = {"version": REPORT_VERSION, "run": dict(run), "summary": {k: dict(v) for k, v in summary.items()},
              "rows": [row_json(g) for g in graded]}
    if answerability:
        report["answerability"] = dict(answerability)
    return report


def _finite(value: object) -> object:
    """JSON has no NaN: a metric that does not apply is null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def write_json(path: Path, report: Mapping) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_finite(report), ensure_ascii=False, indent=1, allow_nan=False) + "\n",
                    encoding="utf-8")


def load_report(path: Path) -> dict:
    report = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(report, dict) or "summary" not in report or "rows" not in report:
        raise ValueError(f"{path} is not a `policyqa eval` report (no summary / rows)")
    return report


# -- HTML -----------------------------------------------------------------------------------

_CSS = """tr.chosen td{font-weight:bold}
body{font-family:system-ui,-apple-system,"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;
 margin:2rem auto;max-width:72rem;padding:0 1rem;color:#222;line-height:1.5}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #ddd;padding:.25rem .5rem;vertical-align:top}
th{background:#f4f4f4;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
.fail{border:1px solid #e0b4b4;border-left:4px solid #c0392b;margin:1rem 0;padding:.5rem 1rem;background:#fffafa}
.fail h3{margin:.2rem 0;font-size:1rem}.reason{color:#a02020}
.label{color:#666;font-size:.85rem;margin-top:.5rem}
.text{white-space:pre-wrap;background:#f8f8f8;padding:.4rem .6rem;border-radius:3px}
ol.cites{padding-left:1.2rem}ol.cites li{margin:.3rem 0}
.yes{color:#1e7e34}.no{color:#c0392b}.na{color:#888}
.pass{color:#1e7e34}.failed{color:#c0392b;font-weight:bold}
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _summary_table(summary: Mapping[str, Mapping[str, float | None]]) -> str:
    cols = table_columns(summary)
    head = "".join(f"<th>{_e(metric_label(c))}</th>" for c in cols)
    body = "".join(
        f"<tr><th>{_e(name)}</th>" + "".join(f'<td class="num">{_e(format_value(c, row.get(c)))}</td>' for c in cols)
        + "</tr>"
        for name, row in summary.items()
    )
    return f"<table><tr><th>type</th>{head}</tr>{body}</table>"


def _run_table(run: Mapping[str, object]) -> str:
    def shown(v: object) -> str:
        if isinstance(v, dict):  # answerers: name n (pass x)
            return ", ".join(f"{k} {d['n']} (pass {d['passed']:.2f})" if isinstance(d, dict) else f"{k} {d}"
                             for k, d in v.items())
        return str(v)

    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(shown(v))}</td></tr>" for k, v in run.items() if v not in (None, ""))
    return f"<table>{rows}</table>"


def _supports(flag: object) -> str:
    if flag is None:
        return '<span class="na">not judged</span>'
    return '<span class="yes">holds the gold text</span>' if flag else '<span class="no">does not hold the gold text</span>'


def _gold(row: Mapping) -> str:
    parts = []
    if row.get("expect_refusal"):
        parts.append("expected: a refusal (the documents do not answer this)")
    if row.get("must"):
        groups = " AND ".join("(" + " | ".join(g) + ")" for g in row["must"])
        parts.append(f"must contain: {groups}")
    if row.get("span"):
        parts.append(f"gold span: {row['span']}")
    if row.get("sources"):
        parts.append(f"gold sources: {', '.join(row['sources'])}")
    return "<br>".join(_e(p) for p in parts)


def _failure(row: Mapping) -> str:
    out = [f'<section class="fail" id="q-{_e(row["id"])}">',
           f"<h3>{_e(row['id'])} <small>({_e(row['type'])})</small></h3>",
           f'<div class="reason">{_e(row.get("reason") or "failed")}</div>']
    for turn in row.get("history") or []:
        out.append(f'<div class="label">earlier turn</div><div class="text">{_e(" / ".join(turn))}</div>')
    out.append(f'<div class="label">question</div><div class="text">{_e(row["question"])}</div>')
    if row.get("standalone") and row["standalone"] != row["question"]:
        out.append(f'<div class="label">standalone question</div><div class="text">{_e(row["standalone"])}</div>')
    kind = "answer (refusal)" if row.get("refused") else "answer"
    out.append(f'<div class="label">{kind}</div><div class="text">{_e(row["answer"])}</div>')
    out.append(f'<div class="label">gold</div><div>{_gold(row)}</div>')
    if row.get("retrieved"):
        rank = row.get("gold_rank")
        where = f"gold document at rank {rank}" if rank else "gold document not retrieved"
        out.append(f'<div class="label">retrieval ({_e(where)})</div><div>{_e(" > ".join(row["retrieved"][:5]))}</div>')
    cites = row.get("citations") or []
    if cites:
        items = "".join(
            f"<li>[{_e(c['n'])}] <b>{_e(c['source'])}</b> {_e(c.get('title') or '')} — {_supports(c.get('supports'))}"
            f'<div class="text">{_e(c["quote"])}</div></li>'
            for c in cites
        )
        out.append(f'<div class="label">cited passages</div><ol class="cites">{items}</ol>')
    else:
        out.append('<div class="label">cited passages</div><div class="na">none</div>')
    out.append("</section>")
    return "".join(out)


def _all_rows(rows: Sequence[Mapping]) -> str:
    body = []
    for r in rows:
        status = '<span class="pass">pass</span>' if r["passed"] else \
            f'<a class="failed" href="#q-{_e(r["id"])}">fail</a>'
        body.append(f"<tr><td>{_e(r['id'])}</td><td>{_e(r['type'])}</td><td>{status}</td>"
                    f"<td>{_e(r['question'])}</td><td class=\"num\">{r['latency_ms']:.0f}</td></tr>")
    return ("<table><tr><th>id</th><th>type</th><th>result</th><th>question</th><th>latency ms</th></tr>"
            + "".join(body) + "</table>")


def _curve(cal: Mapping | None) -> str:
    """The answer-or-refuse trade-off of the calibration in use: per threshold, on the
    development data it was fitted on."""
    if not cal or not cal.get("curve"):
        return ""
    chosen = cal.get("threshold")
    rows = []
    for p in cal["curve"]:
        mark = ' class="chosen"' if p["threshold"] == chosen else ""
        cells = "".join(f'<td class="num">{p[k]:.3f}</td>'
                        for k in ("threshold", "answered_gold", "wrong_refusals", "refused_unanswerable"))
        rows.append(f"<tr{mark}>{cells}</tr>")
    return (f"<h2>Answer or refuse: the calibrated trade-off</h2><p>Fitted on {_e(cal.get('fitted_on', ''))}; "
            f"threshold in use {_e(chosen)} (bold). Per threshold: answerable questions answered with the gold in "
            "the top sentence, wrong refusals, and unanswerable questions refused.</p><table><tr><th>threshold</th>"
            "<th>answered + gold</th><th>wrong refusals</th><th>refused (unanswerable)</th></tr>" + "".join(rows)
            + "</table>")


def render_html(report: Mapping) -> str:
    run, rows = report.get("run", {}), report["rows"]
    failures = [r for r in rows if not r["passed"]]
    title = f"policyqa eval: {run.get('set', '')} ({run.get('backend', '')})"
    return "".join([
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f"<p>{len(rows)} questions, {len(rows) - len(failures)} passed, {len(failures)} failed.</p>",
        "<h2>Metrics</h2>", _summary_table(report["summary"]),
        "<p class=\"label\">pass: correct and no unsupported figure; acc: answerable questions answered correctly "
        "(every must group / the gold span in the answer, a gold source cited); R@k, MRR: gold document among the "
        "distinct documents retrieved; cite prec: cited quotes that hold the gold text; unsup fig: answers with a "
        "figure their cited quote lacks; refuse acc: unanswerable questions refused; wrong ref: answerable "
        "questions refused.</p>",
        "<h2>Run</h2>", _run_table(run),
        _curve(report.get("answerability")),
        f"<h2>Failures ({len(failures)})</h2>",
        "".join(_failure(r) for r in failures) if failures else "<p>None.</p>",
        "<h2>All questions</h2>", _all_rows(rows),
        "</body></html>\n",
    ])


def write_html(path: Path, report: Mapping) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(_finite(report)), encoding="utf-8")  # type: ignore[arg-type]
