"""Eligibility questions ("我们是绍兴的规上工业企业…能享受哪些政策？"), answered by the
policy matcher, which checks each measure's stated criteria against the enterprise
the asker describes as its own. A question about a kind of enterprise in general
(`上海对中小企业房租方面有哪些优惠政策？`) is left to the evidence."""

from __future__ import annotations

from dataclasses import replace

from policyqa.types import Answer
from ingest.records import RecordSource
from rag.match import answer_match, describes_itself
from policyqa.text.characters import simplified
from rag.prepare import Prepared


class PolicyMatch:
    name = "policy_match"

    def __init__(self, store: RecordSource) -> None:
        self.store = store

    def answer(self, prep: Prepared) -> Answer | None:
        question = simplified(prep.question)
        if not describes_itself(question):
            return None
        matched = answer_match(question, self.store)
        return None if matched is None else replace(matched, question=prep.question,
                                                    standalone_question=prep.question)
