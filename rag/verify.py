"""After the LLM: every factual sentence must carry a marker that points at a
passage, and every figure it states must be in the passage it cites. A sentence
that fails is replaced by the best extractive quote, and the answer says so."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from ingest.clean import HEADING_RE
from policyqa.text.places import place_stem
from ingest.tables import is_table_line, split_sentences
from policyqa.types import Chunk, Citation, Hit
from rag.evidence import question_places
from policyqa.text.figures import extract_figures, supported
from policyqa.text.injection import injection_spans, redact_instructions
from policyqa.text.sentences import ANSWER_SENTENCE

_MARKER = re.compile(r"\s*[\[【［]\s*(\d{1,2})(?:\s*[,，、]\s*(\d{1,2}))*\s*[\]】］]")
_MARKER_NUMS = re.compile(r"\d{1,2}")
# A sentence ends at its final punctuation, any closing quotes or brackets after it
# (…。”[1]), and the markers that follow.

REPLACED_NOTE = "部分句子中的数字无法在所引原文中核实，已替换为原文摘录。"


@dataclass(frozen=True)
class Claim:
    text: str  # the sentence without markers
    refs: tuple[int, ...]  # 1-based passage numbers


def parse_claims(answer: str, n_passages: int) -> list[Claim]:
    """Sentences with the markers that follow them; markers pointing nowhere dropped."""
    claims = []
    for m in ANSWER_SENTENCE.finditer(answer):
        raw = m.group(0).strip()
        if not raw:
            continue
        refs: list[int] = []
        for mk in _MARKER.finditer(raw):
            for num in _MARKER_NUMS.findall(mk.group(0)):
                n = int(num)
                if 1 <= n <= n_passages and n not in refs:
                    refs.append(n)
        text = _MARKER.sub("", raw).strip()
        if text:
            claims.append(Claim(text, tuple(refs)))
    return claims


def marked(text: str, marks: str) -> str:
    """`text` with `marks` after every sentence, also inside a multi-sentence quote, so
    each sentence (and each figure in it) is tied to its source."""
    parts: list[str] = []
    for a, b in split_sentences(text) or [(0, len(text))]:
        sentence = text[a:b]
        body = sentence.rstrip("。！？；;!?")
        # an item inside a quote ("…措施\n1.发现…") starts its own line
        # ... and so does a table row
        lead = "\n" if parts and (HEADING_RE.match(sentence) or is_table_line(sentence)) else ""
        parts.append(lead + body + marks + sentence[len(body):])
    return "".join(parts)


EVIDENCE_LEAD = "原文："


def evidence_line(chunk: Chunk, a: int, b: int, n: int) -> tuple[str, Citation]:
    """`原文：…[n]`, quoting chunk.text[a:b], and its citation [n]. A leading item
    number (`3.`, `（二）`) is left out: after the lead it would read as a figure; an
    item further on keeps its line break, so its number still starts a line."""
    head = HEADING_RE.match(chunk.text[a:b])
    if head and a + head.end() < b:
        a += head.end()
    lines = (" ".join(line.split()) for line in chunk.text[a:b].splitlines())
    shown = marked("\n".join(line for line in lines if line), f"[{n}]")
    return EVIDENCE_LEAD + shown, chunk.citation(n, a, b)


def _figures(text: str):  # type: ignore[no-untyped-def]
    return [f for f in extract_figures(text) if f.kind != "code" or f.unit]


def figures_supported(text: str, passages: Sequence[str]) -> bool:
    return all(any(supported(f, p) for p in passages) for f in _figures(text))


def places_supported(text: str, hits: Sequence[Hit]) -> bool:
    """Every place the text names is named by a passage (its text, title or region):
    "上海市的目标是5000家" over passages about 浙江 is not supported."""
    context = " ".join(f"{h.chunk.region} {h.chunk.title} {h.chunk.text}" for h in hits)
    return all(place_stem(p) in context for p in question_places(text))


class Verifier:
    def check(self, answer: str, hits: Sequence[Hit], fallback: Sequence[tuple[int, str]]) -> tuple[list[Claim], bool]:
        """Claims that survive the citation and figure checks; `fallback` holds the
        evidence the gate chose, as (passage number, sentence) quotes, which stand in
        for a failed claim. A figure must be in the passage the claim cites and in that
        evidence too: a small model that takes another number from the same passage
        (国家企业技术中心5家 for 省级企业技术中心) is caught. Returns the claims and
        whether any sentence was replaced."""
        evidence = [quote for _, quote in fallback]
        # Support is judged on the passages as the LLM saw them, with instruction-like
        # sentences redacted: parroting planted text is never "supported".
        texts = [redact_instructions(h.chunk.text) for h in hits]
        out: list[Claim] = []
        replaced = False

        def stand_in() -> None:
            """Replace a failed claim by the evidence quotes, once per answer."""
            nonlocal replaced
            if not replaced:
                out.extend(Claim(q, (n,)) for n, q in fallback if all(c.text != q for c in out))
            replaced = True

        for claim in parse_claims(answer, len(hits)):
            if injection_spans(claim.text) or "<" in claim.text and re.search(r"<\s*/?\s*[a-zA-Z]", claim.text):
                stand_in()  # instructions or markup are never part of an answer
                continue
            if evidence and not figures_supported(claim.text, evidence):
                stand_in()
                continue
            if not places_supported(claim.text, hits):
                stand_in()  # a place the passages never name: the model took it from the question
                continue
            refs = claim.refs
            if refs and not figures_supported(claim.text, [texts[n - 1] for n in refs]):
                # Cited the wrong passage? Accept a single passage that holds every figure.
                refs = ()
            if not refs:
                refs = self._find_support(claim.text, texts)
            if refs:
                out.append(Claim(claim.text, refs))
                continue
            if not _figures(claim.text) and len(claim.text) <= 12:
                continue  # a connective ("根据文件：") carries no fact to cite
            stand_in()
        return out, replaced

    def corroborate(self, claims: Sequence[Claim], hits: Sequence[Hit], most: int = 3) -> list[Claim]:
        """Add the other passages that state the same figures in nearly the same words,
        so an answer shows every retrieved document that backs it (a work plan and the
        reply that repeats it), up to `most` sources a claim."""
        texts = [redact_instructions(h.chunk.text) for h in hits]
        out = []
        for c in claims:
            refs = list(c.refs)
            if _figures(c.text):
                for n, text in enumerate(texts, 1):
                    if len(refs) >= most:
                        break
                    if n not in refs and figures_supported(c.text, [text]) and _best_sentence_overlap(c.text, text) >= 0.6:
                        refs.append(n)
            out.append(Claim(c.text, tuple(refs)))
        return out

    def _find_support(self, claim: str, texts: Sequence[str]) -> tuple[int, ...]:
        figures = _figures(claim)
        best_n, best = 0, 0.0
        for n, text in enumerate(texts, 1):
            if figures and not figures_supported(claim, [text]):
                continue
            overlap = _char_overlap(claim, text)
            if overlap > best:
                best_n, best = n, overlap
        return (best_n,) if best_n and (figures or best >= 0.6) else ()

    def citations(self, claims: Sequence[Claim], hits: Sequence[Hit], sep: str = "") -> tuple[str, tuple[Citation, ...]]:
        """Renumber markers by first use and build citations whose quote is the exact
        span of the passage that supports the claims citing it."""
        order: list[int] = []
        for c in claims:
            for n in c.refs:
                if n not in order:
                    order.append(n)
        renum = {n: i for i, n in enumerate(order, 1)}
        lines = [marked(c.text, "".join(f"[{renum[n]}]" for n in c.refs)) for c in claims]
        # A quote that opens with an item number ("7.推动…") keeps its own line, so the
        # number still reads as an item number and not as a figure.
        text = "".join(
            (("\n" if HEADING_RE.match(line) else sep) if i else "") + line for i, line in enumerate(lines)
        )
        citations = []
        for n in order:
            chunk = hits[n - 1].chunk
            claim_text = " ".join(c.text for c in claims if n in c.refs)
            a, b = self._quote_span(claim_text, chunk.text)
            citations.append(chunk.citation(renum[n], a, b))
        return text, tuple(citations)

    def _quote_span(self, claim: str, text: str) -> tuple[int, int]:
        """The shortest run of whole sentences holding every figure of the claim, or the
        best-overlapping sentence when the claim states no figure."""
        spans = split_sentences(text) or [(0, len(text))]
        figures = _figures(claim)
        if figures:
            needed = [i for i, (a, b) in enumerate(spans) if any(supported(f, text[a:b]) for f in figures)]
            if needed:
                lo, hi = min(needed), max(needed)
                return spans[lo][0], spans[hi][1]
        best = max(spans, key=lambda s: _char_overlap(claim, text[s[0] : s[1]]))
        return best


def _best_sentence_overlap(claim: str, text: str) -> float:
    """How much of the claim one sentence of the text says (bigram share)."""
    return max((_char_overlap(claim, text[a:b]) for a, b in split_sentences(text)), default=0.0)


def _char_overlap(claim: str, text: str) -> float:
    """Share of the claim's character bigrams found in the text."""
    grams = {claim[i : i + 2] for i in range(len(claim) - 1) if not claim[i : i + 2].isspace()}
    if not grams:
        return 0.0
    return sum(1 for g in grams if g in text) / len(grams)
