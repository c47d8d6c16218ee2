"""The answer chain: a router over answerers.

question + history -> Preparer (condense -> hybrid retrieval -> evidence gate)
-> the first answerer that answers, in this order:

1. PolicyMatch: an enterprise asking which measures apply to it;
2. DocFacts: a question about a document itself (文号, issuer, dates, title, status);
3. FalsePremise: the question asserts a figure the evidence contradicts;
4. TargetFigures: a comparison of target figures, or (extractive backend) one figure;
5. Refusal: the gate found no evidence that answers;
6. Extractive: the evidence quoted (every question with the extractive backend,
   comparisons with an LLM);
7. Generative: the LLM, streamed, then checked (citations, figures, places).

The evidence gate runs for every backend: when the passages do not answer the
question the chain refuses before an LLM can invent an answer.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Iterator

from langchain_core.language_models import BaseChatModel

from ingest.tokenize import Tokenizer
from policyqa.settings import Settings
from policyqa.types import Answer, Delta, Filters
from rag.answerability import load_calibration
from rag.answerers import Answerer
from rag.answerers.doc_facts import DocFacts
from rag.answerers.extractive import Extractive
from rag.answerers.false_premise import FalsePremise
from rag.answerers.generative import Generative
from rag.answerers.policy_match import PolicyMatch
from rag.answerers.refusal import Refusal
from rag.answerers.target_figures import TargetFigures
from rag.llm import LocalChatModel
from rag.prepare import History, Prepared, Preparer
from rag.retriever import HybridRetriever
from rag.translate import Translator
from rag.verify import Verifier

Event = Delta | Answer


class AnswerChain:
    def __init__(self, retriever: HybridRetriever, tokenizer: Tokenizer, settings: Settings,
                 llm: BaseChatModel | None, backend: str) -> None:
        self.retriever = retriever
        self.settings = settings
        self.backend = backend
        self.llm = llm
        calibration = load_calibration().for_model(retriever.store.model)
        if settings.min_evidence is not None:
            calibration = replace(calibration, threshold=settings.min_evidence)
        self.preparer = Preparer(retriever, tokenizer, calibration, settings.answer_passages,
                                 translator=Translator(llm) if llm is not None else None)
        store = retriever.store
        verifier = Verifier()
        self.extractive = Extractive(verifier, comparisons_only=llm is not None)
        self.generative = None if llm is None else Generative(
            llm, self.preparer.scorer, settings.llm_evidence_chars, settings.openai_api_key, verifier)
        self.answerers: tuple[Answerer, ...] = (
            PolicyMatch(store), DocFacts(store.chunks_of), FalsePremise(verifier),
            TargetFigures(store, settings.index_dir, single_figures=llm is None), Refusal(), self.extractive)

    def stream(self, question: str, history: History = (), filters: Filters | None = None) -> Iterator[Event]:
        """`Delta`s while an LLM writes the answer, then the checked `Answer`, last."""
        t0 = time.perf_counter()
        prep = self.prepare(question, history, filters)
        answer, name = self._route(prep)
        if answer is None and self.generative is not None:
            name = self.generative.name
            for event in self.generative.stream(prep):
                if isinstance(event, Answer):
                    answer = event
                else:
                    yield event
        if answer is None or (not answer.text.strip() and not answer.refused):
            answer, name = self.extractive.compose(prep), self.extractive.name  # an answer is never empty
        yield replace(answer, backend=answer.backend or self.backend, answerer=name, notes=prep.notes + answer.notes,
                      latency_ms=(time.perf_counter() - t0) * 1000)

    def answer(self, question: str, history: History = (), filters: Filters | None = None) -> Answer:
        final = None
        for event in self.stream(question, history, filters):
            if isinstance(event, Answer):
                final = event
        assert final is not None
        return final

    def prepare(self, question: str, history: History = (), filters: Filters | None = None) -> Prepared:
        return self.preparer.run(question, history, filters)

    def _route(self, prep: Prepared) -> tuple[Answer | None, str]:
        for answerer in self.answerers:
            answer = answerer.answer(prep)
            if answer is not None:
                return answer, answerer.name
        return None, ""

    def close(self) -> None:
        """Stop the LLM's process, if the backend runs one (the local model)."""
        if isinstance(self.llm, LocalChatModel):
            self.llm.close()

