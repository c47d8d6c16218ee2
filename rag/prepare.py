"""The prepared question every answerer reads: condensed with the history, its
passages retrieved (one retrieval per side of a comparison), and the evidence gate's
verdict (the best evidence sentences, or the refusal to give).

question + history -> condense -> hybrid retrieval -> evidence gate -> Prepared
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Sequence

from ingest.tokenize import Tokenizer
from policyqa.text.docnums import doc_numbers
from policyqa.types import Filters, Hit
from rag.answerability import Calibration, Constraints
from rag.condense import Condenser
from rag.evidence import (
    EvidenceScorer,
    Scored,
    Sentence,
    is_multipart,
    missing_place,
    question_places,
    question_scope,
    question_years,
)
from policyqa.text.characters import foreign, simplified
from rag.prompting import REFUSAL_PREFIX
from rag.retriever import HybridRetriever
from rag.translate import TRANSLATED_NOTE, Translator

_COMPARE = re.compile(r"分别|对比|比较|相比|各是|各自|各提出|和|与|及|、")
MIN_PART_GAIN = 0.15  # share of the question's term weight a further sentence must add
# A further evidence sentence is quoted when its score is within this share of the best.
# On ncp-dev (pass / char F1 / median answer length): 0.95 → .522/.331/133,
# 0.9 → .544/.325/145, 0.8 → .574/.309/162, 0.7 → .582/.293/205; 0.9 keeps answers short.
NEAR_BEST = 0.9
# An evidence sentence's quote may run on over the sentences after it (a lead and its
# items, a question in the text and its answer): a sentence that starts closer than
# this to its passage's end is taken from the next passage, which repeats it.
ROOM = 150
ASK_IN_CHINESE = "目前只能回答中文提问（文件均为中文）。请用中文重新提问，例如：“2025年全省新认定高新技术企业目标是多少家？”"
History = Sequence[Sequence[str]]


@dataclass(frozen=True)
class Side:
    """One side of a comparison, or the whole question: constraints its evidence meets."""

    label: str = ""
    place: str = ""
    scope: str = ""
    year: str = ""


def sides_of(question: str) -> tuple[Side, ...]:
    """A comparison's sides (places, 全省 vs a city, or years); one plain side otherwise."""
    if not _COMPARE.search(question):
        return (Side(),)
    places = question_places(question)
    scope = question_scope(question)
    if len(places) >= 2:
        return tuple(Side(p, place=p) for p in places)
    if len(places) == 1 and scope == "province" and not any(p.endswith("省") for p in places):
        return Side("全省", scope="province"), Side(places[0], place=places[0])
    years = sorted(question_years(question))
    if len(years) >= 2:
        return tuple(Side(f"{y}年", year=y) for y in years)
    return (Side(),)


def focus(q: str, side: Side, sides: Sequence[Side]) -> str:
    """The question as it concerns one side: the other sides' names removed."""
    for other in sides:
        if other is side or not other.label:
            continue
        for word in {other.label, other.label.rstrip("省市县区年")}:
            if word and word not in side.label:
                q = q.replace(word, "")
    return q


@dataclass(frozen=True)
class Prepared:
    question: str  # as the user asked it
    standalone: str  # simplified and condensed with the history
    hits: tuple[Hit, ...] = ()
    best: tuple[Scored, ...] = ()  # evidence sentences, best first (one per side for comparisons)
    refusal: str = ""  # non-empty: the gate found no evidence; refuse with this text
    sides: tuple[Side, ...] = (Side(),)
    filters: Filters | None = None
    notes: tuple[str, ...] = ()  # for the answer, whichever answerer gives it

    @property
    def compare(self) -> bool:
        """A comparison: one evidence sentence per side."""
        return len(self.sides) > 1


class Preparer:
    """Condense, retrieve and judge the evidence of a question."""

    def __init__(self, retriever: HybridRetriever, tokenizer: Tokenizer, calibration: Calibration,
                 passages: int = 5, translator: Translator | None = None) -> None:
        self.retriever = retriever
        self.translator = translator  # with an LLM: a question in another language put into Chinese
        self.calibration = calibration
        self.passages = passages
        self.condenser = Condenser(tokenizer)
        self.scorer = EvidenceScorer(tokenizer)

    def run(self, question: str, history: History = (), filters: Filters | None = None) -> Prepared:
        asked, notes = question, ()
        if foreign(question) and self.translator is not None:
            translated = self.translator.to_chinese(question)
            if translated:
                asked, notes = translated, (TRANSLATED_NOTE.format(translated),)
        standalone = self.condense(asked, history)
        sides = sides_of(standalone)
        hits = self.retrieve(standalone, sides, filters)
        return self.gate(Prepared(question, standalone, hits, sides=sides, filters=filters, notes=notes))

    def condense(self, question: str, history: History = ()) -> str:
        turns = [[simplified(str(t[0])), *t[1:]] for t in history or () if t]
        return self.condenser.standalone(simplified(question), turns)

    def retrieve(self, q: str, sides: Sequence[Side] = (Side(),), filters: Filters | None = None) -> tuple[Hit, ...]:
        k = self.passages
        source = self._source_by_number(q)
        if source and not (filters and filters.source):
            filters = replace(filters or Filters(), source=source)
        if len(sides) == 1:
            return tuple(self.retriever.retrieve(q, k=k, filters=filters))
        # One retrieval per side, so each side of a comparison gets its own evidence.
        hits: list[Hit] = []
        per_side = max(4, k // len(sides) + 1)
        for side in sides:
            base = filters or Filters()
            scoped = replace(base, region=base.region or side.place, level=base.level or side.scope)
            found = self.retriever.retrieve(focus(q, side, sides), k=per_side, filters=scoped)
            if not found:  # the metadata may not say; fall back to the words alone
                found = self.retriever.retrieve(focus(q, side, sides), k=per_side, filters=filters)
            for h in found:
                if all(h.chunk.chunk_id != x.chunk.chunk_id for x in hits):
                    hits.append(h)
        return tuple(hits)

    def _source_by_number(self, q: str) -> str:
        """The document a question names by its number (浙科提〔2025〕315号), if indexed."""
        wanted = set(doc_numbers(q))
        if not wanted:
            return ""
        for record in self.retriever.store.files().values():
            if record.doc_number and record.doc_number.replace(" ", "") in wanted:
                return record.source
        return ""

    def _unknown_number(self, q: str, hits: Sequence[Hit]) -> str:
        """A 文号 the question names that no indexed document has and no retrieved
        passage states ('' when every one is known)."""
        if self._source_by_number(q):
            return ""
        for number in doc_numbers(q):
            if not any(number in h.chunk.text.replace(" ", "") for h in hits):
                return number
        return ""

    def gate(self, prep: Prepared) -> Prepared:
        """The evidence sentences that answer, or the refusal when none does."""
        q, hits, sides = prep.standalone, prep.hits, prep.sides
        if foreign(q):
            return replace(prep, refusal=ASK_IN_CHINESE)
        if not hits:
            return replace(prep, refusal=f"{REFUSAL_PREFIX}相关内容。")
        unknown = self._unknown_number(q, hits)
        if unknown:  # the document a question names by its number is not in the index
            return replace(prep, refusal=f"{REFUSAL_PREFIX}文号为{unknown}的文件。")
        best: list[Scored] = []
        for side in sides:
            asked = focus(q, side, sides)
            scored = [x for x in self.usable(asked, hits, side) if all(x.sentence != b.sentence for b in best)]
            if not scored:
                absent = missing_place(asked, hits)
                what = f"关于{side.label or absent}的" if side.label or absent else "能够回答该问题的"
                return replace(prep, refusal=f"{REFUSAL_PREFIX}{what}{'相关' if absent and not side.label else ''}内容。")
            best.append(scored[0])
            if len(sides) == 1 and is_multipart(asked):
                best += self._cover(asked, scored)
            elif len(sides) == 1:
                # Further sentences when they are nearly as good and say something else.
                for s in scored[1:6]:
                    if len(best) >= 3:
                        break
                    if s.score >= NEAR_BEST * scored[0].score and not any(
                        s.sentence.text in b.sentence.text or b.sentence.text in s.sentence.text for b in best
                    ):
                        best.append(s)
        hits = list(hits)
        best = [self._roomier(s, hits) for s in best]
        return replace(prep, hits=tuple(hits), best=tuple(best))

    def _roomier(self, s: Scored, hits: list[Hit]) -> Scored:
        """`s`, or its copy in the next passage of its document when `s` ends its own
        passage (consecutive passages overlap): what follows it is then in the quote's
        reach. The next passage is added to `hits` when retrieval did not find it."""
        chunk = hits[s.sentence.hit_index].chunk
        if len(chunk.text) - s.sentence.start >= ROOM:
            return s
        at = chunk.start + s.sentence.start  # the sentence's offset in the document
        following = [c for c in self.retriever.store.chunks_of(chunk.source) if c.title == chunk.title
                     and chunk.start < c.start <= at and c.end > chunk.end
                     and c.text[at - c.start : at - c.start + len(s.sentence.text)] == s.sentence.text]
        if not following:
            return s
        nxt = min(following, key=lambda c: c.start)
        index = next((i for i, h in enumerate(hits) if h.chunk.chunk_id == nxt.chunk_id), None)
        if index is None:
            hits.append(Hit(nxt, 0.0))
            index = len(hits) - 1
        a = at - nxt.start
        return replace(s, sentence=Sentence(index, a, a + len(s.sentence.text), s.sentence.text))

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

    def usable(self, q: str, hits: Sequence[Hit], side: Side = Side()) -> list[Scored]:
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
            similarity = hits[s.sentence.hit_index].similarity
            out.append(replace(s, score=self.calibration.score(s, constraints.broken(q, s, hits), similarity)))
        out.sort(key=lambda x: (-x.score, x.sentence.hit_index, x.sentence.start))
        return out
