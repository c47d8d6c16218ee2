"""The gate found no evidence that answers: refuse, saying what is missing, and offer
the nearest passages."""

from __future__ import annotations

from policyqa.types import Answer
from rag.prepare import Prepared


class Refusal:
    name = "refusal"

    def answer(self, prep: Prepared) -> Answer | None:
        if not prep.refusal:
            return None
        return Answer(prep.question, prep.refusal, (), refused=True, standalone_question=prep.standalone,
                      nearest=prep.hits[:3])
