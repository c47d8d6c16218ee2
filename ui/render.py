"""Pure functions that turn answers into what the page shows: the chat message
(Markdown with clickable [n]), the sources panel (HTML built here, with every piece
of document text escaped) and the Markdown export.

Document text is data, never markup: a `<script>` in a policy file must show as the
characters `<script>`.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Callable, Sequence

from rag.service import Answer, Chunk, Citation, Hit, MatchResult, TargetRecord

if TYPE_CHECKING:
    from rag.service import DocumentInfo, EmbeddingProgress

MARKER = re.compile(r"\\\[(\d+)\\\]")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]~])")
_LINE_START = re.compile(r"^(\s*)(#+|(\d+)(?=\.))", re.M)
CONTEXT = 120  # characters of the passage shown either side of the quote
FULL_DOC_MAX = 60_000  # longer documents are shown around the quote only
OCR_NOTE = "扫描件OCR识别，请核对原件"  # beside the page of a quote read from a scan


def escape_markdown(text: str) -> str:
    """Text that Markdown renders literally, table pipes excepted (answers may be tables)."""
    text = html.escape(text, quote=False)
    text = _MD_SPECIAL.sub(r"\\\1", text)
    # "7." opening a line would become a renumbered list item, "#" a heading.
    return _LINE_START.sub(lambda m: m.group(1) + (m.group(2) + "\\" if m.group(3) else "\\" + m.group(2)), text)


def cite_anchor(turn: int, n: int) -> str:
    return f"cite-{turn}-{n}"


def answer_markdown(answer: Answer, turn: int) -> str:
    """The chat message: escaped text whose [n] markers link to the sources panel."""
    body = MARKER.sub(lambda m: f"[\\[{m.group(1)}\\]](#{cite_anchor(turn, int(m.group(1)))})",
                      escape_markdown(answer.text))
    lines = [body]
    lines += [f"\n*（{escape_markdown(note)}）*" for note in answer.notes]
    if answer.refused and answer.nearest:
        lines.append(f"\n*以下是最接近的 {len(answer.nearest)} 个段落，见右侧“来源”，供参考。*")
    return "\n".join(lines)


def streaming_markdown(partial: str) -> str:
    return escape_markdown(partial) + " ▌"


@dataclass(frozen=True)
class Passage:
    """What one source card shows: where the passage is from and its text with the
    supporting span marked."""

    title: str
    issuer: str
    date: str
    page: int | None
    heading_path: str
    source: str
    before: str
    quote: str
    after: str
    doc_before: str = ""  # the full document around the quote, for the document view
    doc_after: str = ""
    ocr: bool = False  # the page was read from a scan: the reader should check the original


def passage_for(quote: str, start: int | None, end: int | None, chunk: Chunk | None, doc_text: str,
                source: str, title: str, heading_path: str, page: int | None) -> Passage:
    meta = chunk or Chunk("", "", source, "", 0, 0, title=title, heading_path=heading_path, page=page)
    if start is not None and end is not None and doc_text[start:end] == quote:
        a, b = start, end
    else:
        a = max(doc_text.find(quote), 0) if quote else 0
        b = a + len(quote) if quote in doc_text else a
    if chunk is not None and chunk.start <= a <= b <= chunk.end:
        lo, hi = chunk.start, chunk.end  # the passage as it was retrieved
    else:
        lo, hi = max(a - CONTEXT, 0), b + CONTEXT
    before, after = doc_text[lo:a], doc_text[b:hi]
    d_lo = 0 if len(doc_text) <= FULL_DOC_MAX else max(a - FULL_DOC_MAX // 2, 0)
    d_hi = len(doc_text) if len(doc_text) <= FULL_DOC_MAX else min(b + FULL_DOC_MAX // 2, len(doc_text))
    return Passage(
        title=meta.title or title, issuer=meta.issuer, date=meta.date, page=page if page is not None else meta.page,
        heading_path=heading_path or meta.heading_path, source=source,
        before=before, quote=doc_text[a:b] if doc_text else quote, after=after,
        doc_before=doc_text[d_lo:a], doc_after=doc_text[b:d_hi], ocr=meta.ocr,
    )


def _meta_line(p: Passage) -> str:
    bits = [p.issuer, p.date, f"第{p.page}页" if p.page else "", OCR_NOTE if p.ocr else "", p.source]
    return " · ".join(html.escape(b) for b in bits if b)


def _card(anchor: str, label: str, p: Passage, open_: bool, extra: str = "") -> str:
    """One source card. `extra` is HTML the caller built from escaped text."""
    e = html.escape
    title = e(p.title or p.source)
    path = f'<div class="pq-path">{e(p.heading_path)}</div>' if p.heading_path else ""
    doc = ""
    if p.doc_before or p.doc_after:
        doc = (
            f'<details class="pq-doc"><summary>查看全文</summary><div class="pq-full">{e(p.doc_before)}'
            f'<mark class="pq-span" id="{anchor}-doc">{e(p.quote)}</mark>{e(p.doc_after)}</div></details>'
        )
    return (
        f'<details class="pq-card" id="{anchor}"{" open" if open_ else ""}>'
        f'<summary><b>{e(label)}</b> {title}</summary>'
        f'<div class="pq-meta">{_meta_line(p)}</div>{path}{extra}'
        f'<div class="pq-passage">{e(p.before)}<mark class="pq-span">{e(p.quote)}</mark>{e(p.after)}</div>'
        f"{doc}</details>"
    )


def sources_html(answer: Answer, turn: int, chunk_of: Callable[[str], Chunk | None],
                 text_of: Callable[[str], str], latest: bool = True) -> str:
    """One conversation turn's sources: a card per citation, or the nearest passages
    of a refusal. `turn` keeps anchors unique across the conversation."""
    e = html.escape
    cards = []
    for c in answer.citations:
        p = citation_passage(c, chunk_of, text_of)
        cards.append(_card(cite_anchor(turn, c.n), f"[{c.n}]", p, open_=latest))
    if answer.refused:
        for i, h in enumerate(answer.nearest, 1):
            cards.append(_near_card(turn, i, h))
    if not cards:
        cards.append('<div class="pq-empty">本回答没有引用文件段落。</div>')
    head = "最接近的段落（未找到答案）" if answer.refused else "引用来源"
    return (
        f'<section class="pq-turn" id="turn-{turn}"><div class="pq-q">第{turn}问：{e(answer.question)}'
        f' <span class="pq-head">{head}</span></div>{"".join(cards)}</section>'
    )


def _near_card(turn: int, i: int, hit: Hit) -> str:
    c = hit.chunk
    p = Passage(c.title, c.issuer, c.date, c.page, c.heading_path, c.source, c.text, "", "", ocr=c.ocr)
    return _card(f"near-{turn}-{i}", f"近{i}", p, open_=False).replace('<mark class="pq-span"></mark>', "")


def panel_html(sections: Sequence[str]) -> str:
    """The newest turn first; older turns stay so their [n] links still open."""
    if not sections:
        return '<div class="pq-empty">提问后，这里显示回答引用的原文段落。点击回答中的 [n] 可跳转到对应段落。</div>'
    return '<div class="pq-sources">' + "".join(reversed(sections)) + "</div>"


def conversation_markdown(turns: Sequence[dict], now: datetime | None = None) -> str:
    """A conversation with its citations, for download. Each turn: the dict that
    `turn_record` made."""
    stamp = (now or datetime.now()).strftime("%Y-%m-%d %H:%M")
    out = [f"# policyqa 对话记录（{stamp}）", ""]
    for i, t in enumerate(turns, 1):
        out += [f"## 问 {i}：{t['question']}", "", t["answer"], ""]
        for note in t.get("notes", []):
            out += [f"> {note}", ""]
        if t["citations"]:
            out.append("**引用：**")
            out.append("")
            for c in t["citations"]:
                where = "，".join(x for x in (c["title"], c.get("heading_path", ""),
                                             f"第{c['page']}页" if c.get("page") else "",
                                             OCR_NOTE if c.get("ocr") else "", c["source"]) if x)
                out.append(f"- [{c['n']}] {where}：“{c['quote']}”")
            out.append("")
        out.append(f"*回答方式：{t.get('backend', '')}*")
        out.append("")
    return "\n".join(out)


def turn_record(answer: Answer) -> dict:
    """What the page keeps per answer (JSON-friendly): for export and feedback."""
    return {
        "question": answer.question,
        "answer": answer.text,
        "refused": answer.refused,
        "notes": list(answer.notes),
        "backend": answer.backend,
        "citations": [
            {"n": c.n, "source": c.source, "title": c.title, "quote": c.quote, "heading_path": c.heading_path,
             "page": c.page, "start": c.start, "end": c.end, "ocr": c.ocr}
            for c in answer.citations
        ],
    }


def citation_passage(c: Citation, chunk_of: Callable[[str], Chunk | None], text_of: Callable[[str], str]) -> Passage:
    return passage_for(c.quote, c.start, c.end, chunk_of(c.chunk_id), text_of(c.source), c.source, c.title,
                       c.heading_path, c.page)


def match_html(results: Sequence[MatchResult], chunk_of: Callable[[str], Chunk | None],
               text_of: Callable[[str], str]) -> str:
    """Policy-matching results: per measure, what it needs that the enterprise meets,
    what is still to confirm, and the passage that states it."""
    e = html.escape
    if not results:
        return '<div class="pq-empty">没有找到适用于该企业的政策措施。可以补充企业类型、所在地区或研发等活动后再试。</div>'
    cards = []
    for i, r in enumerate(results, 1):
        m = r.measure
        rows = [f'<li class="pq-met">✔ {e(c.label())}</li>' for c in r.met]
        rows += [f'<li class="pq-unknown">？ 待确认：{e(c.label())}</li>' for c in r.unknown]
        also = "".join(f"<li>{e(c.title or c.source)}：“{e(c.quote)}”</li>" for c in r.also)
        extra = (
            f'<div class="pq-meta">类别：{e("、".join(m.categories))} · 适用地区：{e(m.region or "未注明")}</div>'
            f'<ul class="pq-criteria">{"".join(rows)}</ul>'
            + (f'<div class="pq-meta">其他文件中的同一措施：</div><ul class="pq-also">{also}</ul>' if also else "")
        )
        p = citation_passage(r.citation, chunk_of, text_of)
        cards.append(_card(f"match-{i}", f"{i}. {r.status}", replace(p, title=m.name), open_=i <= 3, extra=extra))
    return f'<div class="pq-sources"><div class="pq-q">共 {len(results)} 项措施</div>{"".join(cards)}</div>'


KIND_ZH = {"target": "目标", "achievement": "已达成"}
LEVEL_ORDER = {"national": 0, "province": 1, "city": 2, "county": 3}


def _number(value: float, unit: str) -> str:
    text = f"{value:,.10g}" if abs(value) < 1e15 else f"{value:.4g}"
    return f"{text}{unit}"


def targets_html(records: Sequence[TargetRecord], chunk_of: Callable[[str], Chunk | None],
                 text_of: Callable[[str], str]) -> str:
    """The 指标 table: every figure with its indicator, value as written and normalised,
    kind, year, region and document, each row linking to the passage that states it;
    above it, indicators that several regions set targets for, side by side."""
    e = html.escape
    if not records:
        return '<div class="pq-empty">没有符合条件的指标。</div>'
    n_target = sum(r.kind == "target" for r in records)
    rows, cards = [], []
    for i, r in enumerate(records, 1):
        link = f'<a href="#tgt-{i}">[{i}]</a>'
        rows.append(
            f"<tr><td>{e(r.indicator)}</td><td>{e(r.value_text)}</td><td>{e(_number(r.value, r.unit))}"
            + (f"–{e(_number(r.value_max, r.unit))}" if r.value_max is not None else "")
            + f"</td><td>{e(KIND_ZH.get(r.kind, r.kind))}</td><td>{e(r.year or r.period)}</td><td>{e(r.region)}</td>"
            f"<td>{e(r.title or r.source)}</td><td>{link}</td></tr>"
        )
        p = passage_for(r.quote, r.start, r.end, chunk_of(r.chunk_id), text_of(r.source), r.source, r.title,
                        r.heading_path, r.page)
        cards.append(_card(f"tgt-{i}", f"[{i}]", replace(p, title=f"{r.indicator}：{r.value_text}", doc_before="",
                                                          doc_after=""), open_=False))
    table = (
        '<table class="pq-table"><thead><tr><th>指标</th><th>原文数值</th><th>归一化数值</th><th>类型</th><th>年份</th>'
        f'<th>地区</th><th>文件</th><th>出处</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )
    return (
        f'<div class="pq-targets"><div class="pq-q">共 {len(records)} 条：目标 {n_target} 条，'
        f'已达成 {len(records) - n_target} 条。点击 [n] 查看原文。</div>'
        f"{_comparison(records)}{table}<div class=\"pq-q\">原文段落</div>{''.join(cards)}</div>"
    )


def _comparison(records: Sequence[TargetRecord]) -> str:
    """Indicators whose targets are set by two or more regions, one column per region."""
    e = html.escape
    groups: dict[str, dict[str, list[int]]] = {}
    level: dict[str, int] = {}
    for i, r in enumerate(records, 1):
        if r.kind == "target" and r.region:
            groups.setdefault(r.indicator_key, {}).setdefault(r.region, []).append(i)
            level[r.region] = LEVEL_ORDER.get(r.level, 9)
    shared = {k: g for k, g in groups.items() if len(g) >= 2}
    if not shared:
        return ""
    regions = sorted({reg for g in shared.values() for reg in g}, key=lambda reg: (level.get(reg, 9), reg))
    head = "".join(f"<th>{e(reg)}</th>" for reg in regions)
    body = []
    for key, g in sorted(shared.items()):
        cells = []
        for reg in regions:
            items = [records[i - 1] for i in g.get(reg, [])]
            cells.append("<td>" + "<br>".join(
                f'{e(r.value_text)}{("（" + e(r.year) + "年）") if r.year else ""} <a href="#tgt-{i}">[{i}]</a>'
                for i, r in zip(g.get(reg, []), items)) + "</td>")
        body.append(f"<tr><td>{e(key)}</td>{''.join(cells)}</tr>")
    return (
        '<div class="pq-q">各地区目标对比</div><table class="pq-table pq-compare"><thead><tr><th>指标</th>'
        f'{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    )


# -- the knowledge-base tab --------------------------------------------------------------
# The vector state sits beside the name: the table is wider than the page and scrolls.
DOCS_HEADERS = ["文件", "向量", "标题", "发文机关", "日期", "地区", "文号", "段落数", "来源"]


def docs_rows(documents: Sequence[DocumentInfo]) -> list[list[object]]:
    """The rows of the knowledge-base table, in DOCS_HEADERS order."""
    return [[d.source, d.embedding_label, d.title, d.issuer, d.date, d.region, d.doc_number, d.chunks,
             "上传" if d.uploaded else "自带"] for d in documents]


def embedding_html(progress: EmbeddingProgress) -> str:
    """The vector progress above the table: a bar while chunks wait for their vectors,
    a line saying all is ready otherwise (nothing for an empty index). Only numbers
    go into it."""
    done, total = int(progress.done), int(progress.total)
    if not total:
        return ""
    if done >= total:
        return '<div class="pq-embed pq-ready">全部文件已就绪：关键词检索和语义检索均可使用。</div>'
    percent = 100 * done // total
    bar = f'<progress class="pq-embed-bar" max="{total}" value="{done}">{percent}%</progress>'
    if progress.running:
        text = (f"向量计算中：已完成 {done} / {total} 个段落（{percent}%）；"
                "在此期间新文件已可按关键词检索。")
    else:
        text = (f"尚有 {total - done} 个段落的向量未计算（已完成 {done} / {total}）：这些段落暂时只能按关键词检索；"
                "重新启动页面服务或运行 policyqa embed 可继续计算。")
    return f'<div class="pq-embed">{bar} <span class="pq-embed-text">{text}</span></div>'


def embedding_status(progress: EmbeddingProgress) -> str:
    """The short note the status line carries while vectors are pending ("" otherwise)."""
    if progress.done >= progress.total:
        return ""
    return f" · **向量计算中** {int(progress.done)}/{int(progress.total)}"
