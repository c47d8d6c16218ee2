"""Eligibility questions ("我们是绍兴的规上工业企业…能享受哪些政策？"), answered by the
policy matcher, which checks each measure's stated criteria against the enterprise
the question describes."""

from __future__ import annotations

from dataclasses import replace

from policyqa.types import Answer
from rag.match import ChunkSource, answer_match
from rag.normalize import simplified
from rag.prepare import Prepared


class PolicyMatch:
    name = "policy_match"

    def __init__(self, store: ChunkSource) -> None:
        self.store = store

    def answer(self, prep: Prepared) -> Answer | None:
        matched = answer_match(simplified(prep.question), self.store)
        return None if matched is None else replace(matched, question=prep.question,
                                                    standalone_question=prep.question)
