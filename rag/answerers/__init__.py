"""Answerers: small components that each answer one kind of question.

Each takes the prepared question (`rag.prepare.Prepared`) and returns an `Answer`,
or None when the question is not its kind or its sources do not clearly answer.
`rag.chain.AnswerChain` routes a question to the first answerer that answers, in a
fixed order. The generative answerer also streams: `stream` yields `Delta`s as the
LLM writes, then its `Answer`.
"""

from __future__ import annotations

from typing import Protocol

from policyqa.types import Answer
from rag.prepare import Prepared


class Answerer(Protocol):
    name: str

    def answer(self, prep: Prepared) -> Answer | None: ...
