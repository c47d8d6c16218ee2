"""Figure questions answered from the target-figure records (指标库): a comparison as
a table, one row a side, every cell cited; a single figure question by the record
that states it. Nothing when the records do not clearly answer."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ingest.store import FaissBm25Store
from policyqa.types import Answer, Citation
from rag.evidence import expected_units, is_multipart, needs_figure, question_places, question_scope, question_years
from rag.prepare import Prepared, Side
from rag.targets import TargetMatch, TargetRecord, best_match, load_targets


class TargetFigures:
    name = "target_figures"

    def __init__(self, store: FaissBm25Store, index_dir: Path, single_figures: bool = True) -> None:
        self.store = store
        self.index_dir = index_dir
        # With an LLM, a single figure is left to the evidence and the model: a record
        # states the figure without the sentence around it.
        self.single_figures = single_figures

    def answer(self, prep: Prepared) -> Answer | None:
        filters = prep.filters
        if filters is not None and filters.year:
            return None  # a filter on the document's date: records carry the target year
        records = self._records(prep)
        if prep.compare:
            return self._compare(prep, records)
        if self.single_figures and not prep.refusal and needs_figure(prep.standalone) \
                and not is_multipart(prep.standalone):  # one record answers one part
            return self._figure(prep, records)
        return None

    def _records(self, prep: Prepared) -> list[TargetRecord]:
        records = load_targets(self.store)
        f = prep.filters
        if f is None or f.is_empty():
            return records
        return [r for r in records if (not f.region or f.region in r.region)
                and (not f.level or r.level == f.level) and (not f.issuer or f.issuer in r.issuer)
                and (not f.source or r.source == f.source)]

    @staticmethod
    def _match(q: str, side: Side, places: Sequence[str], records: Sequence[TargetRecord]) -> TargetMatch | None:
        place = side.place or (places[0] if len(places) == 1 and not side.scope else "")
        scope = side.scope or ("" if place else question_scope(q))
        years = {side.year} if side.year else question_years(q)
        return best_match(q, records, place=place, scope=scope, years=years, units=expected_units(q), places=places)

    def _figure(self, prep: Prepared, records: Sequence[TargetRecord]) -> Answer | None:
        q = prep.standalone
        places = question_places(q)
        if len(places) > 1:
            return None
        m = self._match(q, Side(), places, records)
        # A single answer must name the indicator the question names, nearly word for word.
        if m is None or m.question_share < 0.8 or m.indicator_share < 0.5:
            return None
        best = m.records[0]
        citations = [c for n, r in enumerate(m.records, 1) if (c := self._citation(r, n)) is not None]
        marks = "".join(f"[{c.n}]" for c in citations)
        what = "目标" if best.kind == "target" else ""
        text = f"{best.region}{best.indicator}{what}：{best.value_text}{marks}。"
        return Answer(prep.question, text, tuple(citations), standalone_question=prep.standalone)

    def _compare(self, prep: Prepared, records: Sequence[TargetRecord]) -> Answer | None:
        q = prep.standalone
        places = question_places(q)
        matches = [self._match(q, side, places, records) for side in prep.sides]
        if any(m is None for m in matches):
            return None
        firsts = [m.records[0] for m in matches if m is not None]
        if len({(r.source, r.start) for r in firsts}) < len(firsts):
            return None  # one statement answers two sides: it answers neither
        by_year = any(side.year for side in prep.sides)
        lines = ["按文件原文对比如下（表中每个数字都引自所注出处）：", "",
                 f"| {'年份' if by_year else '地区'} | 指标 | {'目标值' if firsts[0].kind == 'target' else '数值'} |",
                 "| --- | --- | --- |"]
        citations: list[Citation] = []
        for side, m in zip(prep.sides, matches):
            assert m is not None
            best = m.records[0]
            row = []
            for r in m.records:
                c = self._citation(r, len(citations) + 1, year=side.year)
                if c is None:
                    return None  # a year label must stand in its quote
                citations.append(c)
                row.append(c)
            marks = "".join(f"[{c.n}]" for c in row)
            label = side.label if side.place or side.year else (best.region or side.label)
            if side.scope and best.region:
                label = f"{best.region}（{side.label}）"
            lines.append(f"| {label} | {best.indicator}{marks} | {best.value_text}{marks} |")
        return Answer(prep.question, "\n".join(lines), tuple(citations), standalone_question=prep.standalone)

    def _citation(self, r: TargetRecord, n: int, year: str = "") -> Citation | None:
        """A record's source span as a citation; with `year`, widened back to where its
        sentence names that year (2024年，规上企业技术改造覆盖率达到85%)."""
        start = r.start
        if year:
            chunk = self.store.chunk_by_id(r.chunk_id)
            if chunk is None:
                return None
            head = chunk.text[: r.start - chunk.start]
            cut = max(head.rfind(ch) for ch in "。；！？\n") + 1
            at = head.rfind(f"{year}年", cut)
            if at < 0:
                return None
            start = chunk.start + at
            quote = chunk.text[at : r.end - chunk.start]
        else:
            quote = r.quote
        return Citation(n=n, source=r.source, title=r.title, quote=quote, heading_path=r.heading_path, page=r.page,
                        start=start, end=r.end, chunk_id=r.chunk_id)
