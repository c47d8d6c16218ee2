"""The JSON the CLI prints for a hit and an answer (`search --json`, `ask --json`,
`ask --batch`, `match --question --json`): one contract, one writer."""

from __future__ import annotations

from policyqa.types import Answer, Hit


def hit_json(hit: Hit, with_text: bool = True) -> dict:
    c = hit.chunk
    row = {"source": c.source, "title": c.title, "score": round(hit.score, 6)}
    if with_text:
        row["text"] = c.text
    row.update(
        {"heading_path": c.heading_path, "region": c.region, "page": c.page, "start": c.start, "end": c.end,
         "chunk_id": c.chunk_id}
    )
    return row


def answer_json(qid: object, answer: Answer) -> dict:
    """One line of the `ask --batch` contract."""
    cites = []
    for c in answer.citations:
        row: dict = {"source": c.source, "title": c.title, "quote": c.quote}
        if c.page is not None:
            row["page"] = c.page
        if c.start is not None:
            row["start"], row["end"] = c.start, c.end
        cites.append(row)
    out = {"id": qid, "answer": answer.text, "refused": answer.refused, "citations": cites,
           "latency_ms": round(answer.latency_ms, 1)}
    if answer.notes:
        out["notes"] = list(answer.notes)
    if answer.refused:
        out["nearest"] = [hit_json(h) for h in answer.nearest]
    if answer.standalone_question and answer.standalone_question != answer.question:
        out["standalone_question"] = answer.standalone_question
    return out
