"""The answer chain (LangChain LCEL):

question + history -> condense -> hybrid retrieval -> evidence gate -> prompt with
numbered passages -> LLM (streamed) -> citation check -> figure check -> Answer.

The evidence gate runs for every backend: when the passages do not answer the
question the chain refuses before an LLM can invent an answer. The `extractive`
backend composes the answer from the best-matching sentences themselves.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, replace
from typing import Iterator, Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import RunnableLambda

from ingest.tokenize import Tokenizer
from policyqa.settings import Settings
from policyqa.types import Answer, Chunk, Citation, Filters, Hit
from rag.answerability import Calibration, Constraints, load_calibration
from rag.condense import Condenser
from rag.doc_facts import DocFacts
from rag.evidence import (
    EvidenceScorer,
    Scored,
    doc_numbers,
    expected_units,
    asks_list,
    is_multipart,
    missing_place,
    needs_figure,
    question_places,
    question_scope,
    question_years,
    split_sentences,
)
from rag.prompting import PROMPT, REFUSAL_PREFIX, EvidencePack, evidence_pack
from rag.retriever import HybridRetriever
from rag.safety import injection_spans
from rag.figures import extract_figures, supported
from rag.match import answer_match
from rag.normalize import foreign, simplified
from rag.targets import TargetMatch, TargetRecord, best_match, load_targets
from rag.verify import REPLACED_NOTE, Claim, Verifier

_COMPARE = re.compile(r"分别|对比|比较|相比|各是|各自|各提出|和|与|及|、")
MIN_PART_GAIN = 0.15  # share of the question's term weight a further sentence must add
# A further evidence sentence is quoted when its score is within this share of the best.
# On ncp-dev (pass / char F1 / median answer length): 0.95 → .522/.331/133,
# 0.9 → .544/.325/145, 0.8 → .574/.309/162, 0.7 → .582/.293/205; 0.9 keeps answers short.
NEAR_BEST = 0.9
# The best sentence's quote runs on over the sentences after it up to this many
# characters. On ncp-dev: 0 → .544/.325/145, 100 → .549/.323/147, 150 → .559/.316/153.
WINDOW = 100
LIST_QUOTE_CHARS = 150  # a list or how question's quote runs on over the lines that follow its lead
ASK_IN_CHINESE = "目前只能回答中文提问（文件均为中文）。请用中文重新提问，例如：“2025年全省新认定高新技术企业目标是多少家？”"
LLM_FAILED_NOTE = "大模型本次未能完成回答（出错或无响应），以下为检索到的原文摘录；请稍后再试。"
log = logging.getLogger(__name__)
History = Sequence[Sequence[str]]


@dataclass(frozen=True)
class Side:
    """One side of a comparison, or the whole question: constraints its evidence meets."""

    label: str = ""
    place: str = ""
    scope: str = ""
    year: str = ""


def sides_of(question: str) -> list[Side]:
    """A comparison's sides (places, 全省 vs a city, or years); one plain side otherwise."""
    if not _COMPARE.search(question):
        return [Side()]
    places = question_places(question)
    scope = question_scope(question)
    if len(places) >= 2:
        return [Side(p, place=p) for p in places]
    if len(places) == 1 and scope == "province" and not any(p.endswith("省") for p in places):
        return [Side("全省", scope="province"), Side(places[0], place=places[0])]
    years = sorted(question_years(question))
    if len(years) >= 2:
        return [Side(f"{y}年", year=y) for y in years]
    return [Side()]


@dataclass(frozen=True)
class Prepared:
    question: str
    standalone: str
    hits: tuple[Hit, ...]
    best: tuple[Scored, ...]  # evidence sentences, best first (one per place for comparisons)
    refusal: str  # non-empty: refuse with this text
    compare: bool = False  # a comparison: one evidence sentence per side
    sides: tuple[Side, ...] = ()


class AnswerChain:
    def __init__(self, retriever: HybridRetriever, tokenizer: Tokenizer, settings: Settings,
                 llm: BaseChatModel | None, backend: str) -> None:
        self.retriever = retriever
        self.settings = settings
        self.backend = backend
        self.llm = llm
        self.condenser = Condenser(tokenizer)
        self.scorer = EvidenceScorer(tokenizer)
        calibration = load_calibration()
        if settings.min_evidence is not None:
            calibration = replace(calibration, threshold=settings.min_evidence)
        self.calibration: Calibration = calibration
        self.verifier = Verifier()
        self.doc_facts = DocFacts(retriever.store.chunks_of)
        self.generate = (PROMPT | llm | StrOutputParser()) if llm is not None else None

    # -- public ---------------------------------------------------------------------
    def stream(self, question: str, history: History = (), filters: Filters | None = None) -> Iterator[str | Answer]:
        """Yield text deltas as they are generated, then the verified Answer last.
        The final Answer's text supersedes the deltas (sentences may be replaced)."""
        t0 = time.perf_counter()
        # "我们是绍兴的规上工业企业…能享受哪些政策？" is answered by the policy matcher,
        # which checks each measure's stated criteria against the enterprise described.
        matched = answer_match(simplified(question), self.retriever.store)
        if matched is not None:
            yield matched.text
            yield replace(matched, standalone_question=question, latency_ms=(time.perf_counter() - t0) * 1000)
            return
        prep = self.prepare.invoke({"question": question, "history": history, "filters": filters})
        facts = self.doc_facts.answer(prep.standalone, prep.hits, self.backend)
        from_targets = self._from_targets(prep, filters) if facts is None else None
        if facts is not None:  # the document's own title, issuer, 文号, dates
            answer = self._with_evidence(replace(facts, question=question, standalone_question=prep.standalone), prep)
            yield answer.text
        elif from_targets is not None:
            answer = from_targets
            yield answer.text
        elif prep.refusal:
            answer = self._refuse(prep)
            yield answer.text
        elif self.generate is None or prep.compare:
            # A comparison is answered side by side from each side's own evidence: a
            # small model merging the sides can give one side the other's figure.
            answer = self._extractive(prep)
            yield answer.text
        else:
            pack = self.evidence(prep)
            parts: list[str] = []
            try:
                for delta in self.generate.stream({"passages": pack.text, "question": prep.standalone}):
                    parts.append(delta)
                    yield delta
                answer = self._verified(prep, pack.cite("".join(parts)))
            except Exception as exc:  # the model crashed, hung or refused: this answer only
                why = f"{type(exc).__name__}: {exc}" + (f" <- {exc.__cause__!r}" if exc.__cause__ else "")
                if self.settings.openai_api_key:  # a server's error may quote the key back
                    why = why.replace(self.settings.openai_api_key, "***")
                log.warning("LLM answer failed, answering from the evidence instead: %s", why)
                answer = self._extractive(prep, notes=(LLM_FAILED_NOTE,))
        if not answer.text.strip() and not answer.refused:
            answer = self._extractive(prep)  # an answer is never empty
        yield replace(answer, latency_ms=(time.perf_counter() - t0) * 1000)

    def close(self) -> None:
        """Stop the LLM's process, if the backend runs one (the local model)."""
        close = getattr(self.llm, "close", None)
        if callable(close):
            close()

    def answer(self, question: str, history: History = (), filters: Filters | None = None) -> Answer:
        final = None
        for event in self.stream(question, history, filters):
            if isinstance(event, Answer):
                final = event
        assert final is not None
        return final

    @property
    def prepare(self) -> RunnableLambda:
        return RunnableLambda(self._condense) | RunnableLambda(self._retrieve) | RunnableLambda(self._gate)

    # -- stages ---------------------------------------------------------------------
    def _condense(self, inp: dict) -> dict:
        history = [[simplified(str(t[0])), *t[1:]] for t in inp.get("history") or () if t]
        return {**inp, "standalone": self.condenser.standalone(simplified(inp["question"]), history)}

    def _retrieve(self, inp: dict) -> dict:
        q, filters, k = inp["standalone"], inp.get("filters"), self.settings.answer_passages
        source = self._source_by_number(q)
        if source and not (filters and filters.source):
            filters = replace(filters or Filters(), source=source)
        sides = sides_of(q)
        if len(sides) == 1:
            return {**inp, "sides": sides, "hits": self.retriever.retrieve(q, k=k, filters=filters)}
        # One retrieval per side, so each side of a comparison gets its own evidence.
        hits: list[Hit] = []
        per_side = max(4, k // len(sides) + 1)
        for side in sides:
            base = filters or Filters()
            scoped = replace(base, region=base.region or side.place, level=base.level or side.scope)
            found = self.retriever.retrieve(self._focus(q, side, sides), k=per_side, filters=scoped)
            if not found:  # the metadata may not say; fall back to the words alone
                found = self.retriever.retrieve(self._focus(q, side, sides), k=per_side, filters=filters)
            for h in found:
                if all(h.chunk.chunk_id != x.chunk.chunk_id for x in hits):
                    hits.append(h)
        return {**inp, "sides": sides, "hits": hits}

    def _source_by_number(self, q: str) -> str:
        """The document a question names by its number (浙科提〔2025〕315号), if indexed."""
        wanted = set(doc_numbers(q))
        if not wanted:
            return ""
        for record in self.retriever.store.files().values():
            if record.doc_number and record.doc_number.replace(" ", "") in wanted:
                return record.source
        return ""

    def _gate(self, inp: dict) -> Prepared:
        q, hits, sides = inp["standalone"], tuple(inp["hits"]), inp["sides"]
        base = Prepared(inp["question"], q, hits, (), "", sides=tuple(sides))
        if foreign(q):
            return replace(base, refusal=ASK_IN_CHINESE)
        if not hits:
            return replace(base, refusal=f"{REFUSAL_PREFIX}相关内容。")
        best: list[Scored] = []
        for side in sides:
            focus = self._focus(q, side, sides)
            scored = [x for x in self._usable(focus, hits, side) if all(x.sentence != b.sentence for b in best)]
            if not scored:
                absent = missing_place(focus, hits)
                what = f"关于{side.label or absent}的" if side.label or absent else "能够回答该问题的"
                return replace(base, refusal=f"{REFUSAL_PREFIX}{what}{'相关' if absent and not side.label else ''}内容。")
            best.append(scored[0])
            if len(sides) == 1 and is_multipart(focus):
                best += self._cover(focus, scored)
            elif len(sides) == 1:
                # Further sentences when they are nearly as good and say something else.
                for s in scored[1:6]:
                    if len(best) >= 3:
                        break
                    if s.score >= NEAR_BEST * scored[0].score and not any(
                        s.sentence.text in b.sentence.text or b.sentence.text in s.sentence.text for b in best
                    ):
                        best.append(s)
        return replace(base, best=tuple(best), compare=len(sides) > 1)

    def _cover(self, q: str, scored: Sequence[Scored]) -> list[Scored]:
        """For a question with several parts: the next sentences that add the most of
        the question's terms the chosen ones lack, until they add little."""
        weights = self.scorer.terms(q)
        total = sum(weights.values()) or 1.0
        covered = set(scored[0].terms)
        extra: list[Scored] = []
        pool = [s for s in scored[1:10] if s.score >= 0.6 * scored[0].score]
        while pool and len(extra) < 3:
            gain, pick = max(((sum(weights[t] for t in s.terms - covered) / total, s) for s in pool),
                             key=lambda x: x[0])
            if gain < MIN_PART_GAIN:
                break
            pool.remove(pick)
            if any(pick.sentence.text in b.sentence.text or b.sentence.text in pick.sentence.text
                   for b in (scored[0], *extra)):
                continue
            extra.append(pick)
            covered |= pick.terms
        return extra

    @staticmethod
    def _focus(q: str, side: Side, sides: Sequence[Side]) -> str:
        """The question as it concerns one side: the other sides' names removed."""
        for other in sides:
            if other is side or not other.label:
                continue
            for word in {other.label, other.label.rstrip("省市县区年")}:
                if word and word not in side.label:
                    q = q.replace(word, "")
        return q

    def _usable(self, q: str, hits: Sequence[Hit], side: Side) -> list[Scored]:
        """Sentences whose calibrated score (match features less the penalties for the
        constraints they break: place, scope, year, unit, …) reaches the threshold,
        best first, each carrying that score."""
        return [s for s in self.judged(q, hits, side) if s.score >= self.calibration.threshold]

    def judged(self, q: str, hits: Sequence[Hit], side: Side = Side()) -> list[Scored]:
        """Every evidence sentence with its calibrated score, best first."""
        constraints = Constraints.of(q, hits, side.place, side.scope)
        out = []
        for s in self.scorer.score(q, hits):
            if side.year and side.year not in s.sentence.text:
                continue  # one side of a year comparison: its own year only
            out.append(replace(s, score=self.calibration.score(s, constraints.broken(q, s, hits))))
        out.sort(key=lambda x: (-x.score, x.sentence.hit_index, x.sentence.start))
        return out

    # -- answers --------------------------------------------------------------------
    def evidence(self, prep: Prepared) -> EvidencePack:
        """What the LLM is shown: the chosen evidence with its neighbouring sentences."""
        return evidence_pack(prep.hits, self._quotes(prep), self.settings.llm_evidence_chars)

    def _quotes(self, prep: Prepared) -> list[tuple[int, str]]:
        """(passage number, quote) per evidence sentence. A short line with no figure (a
        title, a salutation, a label) says little alone, so it takes the lines after it."""
        out = []
        listing = asks_list(prep.standalone)
        for s in prep.best:
            text = prep.hits[s.sentence.hit_index].chunk.text
            a, b = s.sentence.start, s.sentence.end
            if listing or text[a:b].rstrip().endswith(("：", ":")):  # items follow their lead, one a line
                out.append((s.sentence.hit_index + 1, text[a:b]))
                out += [(s.sentence.hit_index + 1, text[sa:sb]) for sa, sb in split_sentences(text)
                        if sa >= b and sb - a <= LIST_QUOTE_CHARS]
                continue
            if s is prep.best[0]:
                # The best match often sets the topic (a headline, a lead, the measure's
                # name) and the next sentence holds the answer: quote it too, within WINDOW.
                flagged = injection_spans(text)  # instruction-like text is never quoted into an answer
                for sa, sb in split_sentences(text):
                    if sa < b:
                        continue
                    if sb - a > WINDOW or any(x < sb and sa < y for x, y in flagged):
                        break
                    b = sb
            if b - a < 60 and not text[a:b].rstrip().endswith(("。", "！", "？", "；")):
                for sa, sb in split_sentences(text):
                    if sa >= b and sb - a <= 120:
                        b = sb
                        if b - a >= 60:
                            break
            out.append((s.sentence.hit_index + 1, text[a:b]))
        return out

    def _extractive(self, prep: Prepared, notes: tuple[str, ...] = ()) -> Answer:
        claims = self.verifier.corroborate([Claim(text, (n,)) for n, text in self._quotes(prep)], prep.hits)
        # Quotes keep their own lines: a leading item number ("15.") stays an item number.
        text, citations = self.verifier.citations(claims, prep.hits, sep="\n")
        return Answer(prep.question, text, citations, standalone_question=prep.standalone,
                      notes=notes, backend=self.backend)

    def _with_evidence(self, answer: Answer, prep: Prepared) -> Answer:
        """A document-facts answer followed by the best evidence sentence, when the gate
        found one: the facts say which document, the sentence what it says."""
        if not prep.best:
            return answer
        s = prep.best[0].sentence
        chunk = prep.hits[s.hit_index].chunk
        if s.text.startswith(chunk.title) or any(c.chunk_id == chunk.chunk_id and c.quote == s.text
                                                 for c in answer.citations):
            return answer  # the document's heading says no more than the facts
        n = len(answer.citations) + 1
        cite = chunk.citation(n, s.start, s.end)
        shown = " ".join(s.text.split())  # one line, so its marker stays with it
        return replace(answer, text=f"{answer.text}\n原文：{shown}[{n}]", citations=(*answer.citations, cite))

    def _verified(self, prep: Prepared, raw: str) -> Answer:
        claims, replaced = self.verifier.check(raw, prep.hits, self._quotes(prep))
        if needs_figure(prep.standalone) and not any(extract_figures(c.text) for c in claims):
            claims = []  # asked for a number, answered without one
        elif needs_figure(prep.standalone) and len(prep.best) == 1:
            # The number the evidence gives right after what was asked about must be in
            # the answer: a small model may pick its neighbour in the same sentence.
            key = self.scorer.key_figure(prep.standalone, prep.best[0].sentence.text)
            if key is not None and not any(supported(key, c.text) for c in claims):
                claims = []
        if not claims:
            # The gate found evidence that answers the question; an LLM that declines
            # or cites nothing is replaced by that evidence, quoted.
            return self._extractive(prep, notes=("模型未给出可核实的回答，以下为检索到的原文摘录。",))
        text, citations = self.verifier.citations(self.verifier.corroborate(claims, prep.hits), prep.hits)
        notes = (REPLACED_NOTE,) if replaced else ()
        return Answer(prep.question, text, citations, standalone_question=prep.standalone,
                      notes=notes, backend=self.backend)

    # -- target figures (指标库) --------------------------------------------------------
    def _from_targets(self, prep: Prepared, filters: Filters | None) -> Answer | None:
        """A comparison answered as a table of target records, one row a side, every
        cell cited; with the extractive backend, a figure question answered by the
        target record that states it. None when the records do not clearly answer."""
        if filters is not None and filters.year:
            return None  # a filter on the document's date: records carry the target year
        records = self._records(filters)
        if len(prep.sides) > 1:
            return self._compare_targets(prep, records)
        if self.generate is None and not prep.refusal and needs_figure(prep.standalone) \
                and not is_multipart(prep.standalone):  # one record answers one part
            return self._figure_target(prep, records)
        return None

    def _records(self, filters: Filters | None) -> list[TargetRecord]:
        records = load_targets(self.retriever.store, self.settings.index_dir)
        if filters is None or filters.is_empty():
            return records
        return [r for r in records if (not filters.region or filters.region in r.region)
                and (not filters.level or r.level == filters.level) and (not filters.issuer or filters.issuer in r.issuer)
                and (not filters.source or r.source == filters.source)]

    @staticmethod
    def _match(q: str, side: Side, places: Sequence[str], records: Sequence[TargetRecord]) -> TargetMatch | None:
        place = side.place or (places[0] if len(places) == 1 and not side.scope else "")
        scope = side.scope or ("" if place else question_scope(q))
        years = {side.year} if side.year else question_years(q)
        return best_match(q, records, place=place, scope=scope, years=years, units=expected_units(q), places=places)

    def _figure_target(self, prep: Prepared, records: Sequence[TargetRecord]) -> Answer | None:
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
        return Answer(prep.question, text, tuple(citations), standalone_question=prep.standalone, backend=self.backend)

    def _compare_targets(self, prep: Prepared, records: Sequence[TargetRecord]) -> Answer | None:
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
        return Answer(prep.question, "\n".join(lines), tuple(citations), standalone_question=prep.standalone,
                      backend=self.backend)

    def _chunk(self, chunk_id: str) -> Chunk | None:
        return self.retriever.store.chunk_by_id(chunk_id)

    def _citation(self, r: TargetRecord, n: int, year: str = "") -> Citation | None:
        """A record's source span as a citation; with `year`, widened back to where its
        sentence names that year (2024年，规上企业技术改造覆盖率达到85%)."""
        start = r.start
        if year:
            chunk = self._chunk(r.chunk_id)
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

    def _refuse(self, prep: Prepared) -> Answer:
        return Answer(prep.question, prep.refusal, (), refused=True, standalone_question=prep.standalone,
                      nearest=prep.hits[:3], backend=self.backend)
