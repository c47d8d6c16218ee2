"""Questions in another language, put into Chinese by the LLM."""

from __future__ import annotations

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from rag.translate import Translator

QUESTION = "How many new high-tech enterprises does Zhejiang plan to certify in 2025?"


def _says(reply: str) -> Translator:
    return Translator(GenericFakeChatModel(messages=iter([AIMessage(content=reply)])))


@pytest.mark.parametrize(("reply", "expected"), [
    ("浙江省计划2025年新认定多少家高新技术企业？", "浙江省计划2025年新认定多少家高新技术企业？"),
    ("译文：浙江省計劃2025年新認定多少家高新技術企業？\n（说明：…）", "浙江省计划2025年新认定多少家高新技术企业？"),
    ("How many?", None),  # not Chinese
    ("根据文件，" + "浙江省将新认定高新技术企业5000家，" * 20, None),  # an answer, not a translation
    ("", None),
])
def test_the_translation_or_none(reply: str, expected: str | None) -> None:
    assert _says(reply).to_chinese(QUESTION) == expected


def test_a_failing_model_costs_only_the_translation() -> None:
    class Dead(GenericFakeChatModel):
        def _generate(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            raise ConnectionResetError("the model process died")

    assert Translator(Dead(messages=iter([]))).to_chinese(QUESTION) is None
