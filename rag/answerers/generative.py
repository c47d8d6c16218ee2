"""The LLM's answer (local or OpenAI-compatible), written from the chosen evidence
with its neighbouring sentences, streamed, then checked: every sentence cited,
every figure in its quotes, every place named by a passage. When the model fails,
declines or cites nothing, the evidence is quoted instead.

Under the model's words the answer quotes its evidence itself (`原文：…`, a line per
stretch of a passage the gate chose), leaving out what the model already quoted: a
small model rewords (`认定` becomes `认证`), and the reader checks the figure against
the document's own sentences without opening the sources."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Iterator

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser

from policyqa.types import Answer, Delta
from rag.answerers.extractive import Extractive, quote_spans, quotes
from rag.evidence import EvidenceScorer, needs_figure
from policyqa.text.figures import extract_figures, supported
from rag.prepare import Prepared
from rag.prompting import PROMPT, EvidencePack, evidence_pack
from rag.verify import REPLACED_NOTE, Verifier, evidence_line

LLM_FAILED_NOTE = "大模型本次未能完成回答（出错或无响应），以下为检索到的原文摘录；请稍后再试。"
UNVERIFIABLE_NOTE = "模型未给出可核实的回答，以下为检索到的原文摘录。"
_MARKER = re.compile(r"\[\d+\]")
_NOT_WORD = re.compile(r"[\s\W_]+")
log = logging.getLogger(__name__)


class Generative:
    name = "generative"

    def __init__(self, llm: BaseChatModel, scorer: EvidenceScorer, evidence_chars: int = 360,
                 secret: str = "", verifier: Verifier | None = None) -> None:
        self.generate = PROMPT | llm | StrOutputParser()
        self.scorer = scorer
        self.evidence_chars = evidence_chars
        self.secret = secret  # an API key a server's error may quote back: never logged
        self.verifier = verifier or Verifier()
        self.fallback = Extractive(self.verifier)

    def answer(self, prep: Prepared) -> Answer | None:
        final = None
        for event in self.stream(prep):
            if isinstance(event, Answer):
                final = event
        return final

    def stream(self, prep: Prepared) -> Iterator[Delta | Answer]:
        """The model's text as it is written, then the checked Answer (whose text
        supersedes the deltas: sentences may be replaced)."""
        if prep.refusal or not prep.best:
            return
        pack = self.evidence(prep)
        parts: list[str] = []
        try:
            for delta in self.generate.stream({"passages": pack.text, "question": prep.standalone}):
                parts.append(delta)
                yield Delta(delta)
            yield self.verified(prep, pack.cite("".join(parts)))
        except Exception as exc:  # the model crashed, hung or refused: this answer only
            why = f"{type(exc).__name__}: {exc}" + (f" <- {exc.__cause__!r}" if exc.__cause__ else "")
            if self.secret:
                why = why.replace(self.secret, "***")
            log.warning("LLM answer failed, answering from the evidence instead: %s", why)
            yield self.fallback.compose(prep, notes=(LLM_FAILED_NOTE,))

    def evidence(self, prep: Prepared) -> EvidencePack:
        """What the LLM is shown: the chosen evidence with its neighbouring sentences."""
        return evidence_pack(prep.hits, quotes(prep), self.evidence_chars)

    def verified(self, prep: Prepared, raw: str) -> Answer:
        claims, replaced = self.verifier.check(raw, prep.hits, quotes(prep))
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
            return self.fallback.compose(prep, notes=(UNVERIFIABLE_NOTE,))
        text, citations = self.verifier.citations(self.verifier.corroborate(claims, prep.hits), prep.hits)
        notes = (REPLACED_NOTE,) if replaced else ()
        answer = Answer(prep.question, text, citations, standalone_question=prep.standalone, notes=notes)
        return with_evidence(answer, prep)


def with_evidence(answer: Answer, prep: Prepared) -> Answer:
    """`answer` with the evidence quoted under it, best first, one cited line per
    stretch of a passage the gate chose (a lead and its items make one line), leaving
    out what the answer holds already. The model summarises; the lines let the reader
    check every figure against the documents, and hold the answer when the model
    picked the wrong part of its evidence."""
    lines, citations = [], list(answer.citations)
    shown = _words(answer.text)  # what the reader already sees, growing line by line
    for n, a, b in _stretches(prep):
        chunk = prep.hits[n - 1].chunk
        if _words(chunk.text[a:b]) in shown:
            continue
        line, cite = evidence_line(chunk, a, b, len(citations) + 1)
        lines.append(line)
        citations.append(cite)
        shown += "\0" + _words(line)
    if not lines:
        return answer
    return replace(answer, text="\n".join((answer.text, *lines)), citations=tuple(citations))


def _stretches(prep: Prepared) -> list[tuple[int, int, int]]:
    """The evidence quotes as (passage number, start, end) in its passage's text, a
    quote that continues the one before it in the same passage joined to it."""
    out: list[tuple[int, int, int]] = []
    for n, a, b in quote_spans(prep):
        text = prep.hits[n - 1].chunk.text
        if out and out[-1][0] == n and out[-1][2] <= a and not text[out[-1][2]:a].strip():
            out[-1] = (n, out[-1][1], b)
        else:
            out.append((n, a, b))
    return out


def _words(text: str) -> str:
    """The text without markers, spaces and punctuation, for containment."""
    return _NOT_WORD.sub("", _MARKER.sub("", text))
