"""A question that asserts a figure and asks whether it holds (`听说今年要新认定6000家，
是真的吗？`), when the evidence states a different figure of the same kind: the
answer says plainly that the documents say otherwise and quotes them. The asserted
figure is not repeated, so it cannot be read as fact; an LLM is not asked, since a
small model tends to agree with the asker."""

from __future__ import annotations

from dataclasses import replace

from policyqa.types import Answer
from rag.answerers.extractive import Extractive
from rag.evidence import asks_confirmation
from policyqa.text.figures import extract_figures, supported
from rag.prepare import Prepared
from rag.verify import Verifier

CORRECTION = "文件中的数字与问题中的说法不一致，以文件原文为准："


class FalsePremise:
    name = "false_premise"

    def __init__(self, verifier: Verifier | None = None) -> None:
        self.extractive = Extractive(verifier)

    def answer(self, prep: Prepared) -> Answer | None:
        if prep.refusal or not prep.best or not asks_confirmation(prep.standalone):
            return None
        asserted = [f for f in extract_figures(prep.standalone) if f.kind == "quantity" and f.unit != "年"]
        evidence = [s.sentence.text for s in prep.best]
        if not asserted or any(supported(f, text) for f in asserted for text in evidence):
            return None  # nothing asserted, or the documents say the same
        units = {f.unit for f in asserted}
        stated = [f for text in evidence for f in extract_figures(text) if f.kind == "quantity" and f.unit in units]
        if not stated:
            return None  # the evidence states no figure of that kind: nothing to set against it
        quoted = self.extractive.compose(prep)
        return replace(quoted, text=f"{CORRECTION}\n{quoted.text}")
