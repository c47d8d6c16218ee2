"""A question written in another language (English, say), put into Chinese by the
LLM before anything reads it. The documents, the evidence scoring and the answer's
checks are all Chinese; a translated question then takes the same path as any other,
and the answer says which Chinese question it answered."""

from __future__ import annotations

import logging
import re

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from policyqa.text.characters import foreign, simplified

INSTRUCTION = ("把用户发来的问题翻译成简体中文。只输出译文这一句话，不要回答问题，不要解释。"
               "数字、年份、文号、机构名和地名照原意译出，不要增删内容。")
TRANSLATED_NOTE = "原问题不是中文，已按中文问题“{}”检索并回答。"
MAX_GROWTH = 3  # a translation far longer than the question is an answer, not a translation
_LABEL = re.compile(r"^(?:译文|翻译|中文)\s*[：:]\s*")
log = logging.getLogger(__name__)


class Translator:
    def __init__(self, llm: BaseChatModel) -> None:
        self.llm = llm

    def to_chinese(self, question: str) -> str | None:
        """The question in Chinese; None when the model fails or gives no Chinese."""
        try:
            reply = self.llm.invoke([SystemMessage(INSTRUCTION), HumanMessage(question)])
        except Exception as exc:  # the model failing costs the translation, nothing more
            log.warning("question translation failed: %s: %s", type(exc).__name__, exc)
            return None
        lines = [line.strip() for line in str(reply.content).splitlines() if line.strip()]
        text = simplified(_LABEL.sub("", lines[0]).strip("“”\"' ")) if lines else ""
        if not text or foreign(text) or len(text) > MAX_GROWTH * max(len(question), 20):
            return None
        return text
