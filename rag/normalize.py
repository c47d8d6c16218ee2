"""How a question is normalised before anything reads it: traditional characters
become the simplified ones the documents use (OpenCC's t2s), so `紹興每萬名就業人員`
matches `绍兴每万名就业人员`, and radicals pasted from a browser-printed PDF (`⼈才`)
become the ideographs the cleaned documents hold (the same table as ingest's
cleaning). The user's own words are kept for display."""

from __future__ import annotations

import re
from functools import lru_cache

from ingest.clean import IDEOGRAPHS

_HAN = re.compile(r"[\u3400-\u9fff]")
_LETTER = re.compile(r"[A-Za-z]{2,}")


@lru_cache(maxsize=1)
def _converter():  # type: ignore[no-untyped-def]
    import opencc

    return opencc.OpenCC("t2s.json")


def simplified(text: str) -> str:
    return _converter().convert(text.translate(IDEOGRAPHS)) if text else text


def foreign(text: str) -> bool:
    """A question written without a single Chinese character (English, say). The
    evidence scoring reads Chinese words, and the multilingual embedding model picks the
    right Chinese sentence for an English question too rarely to be trusted (2 of 7 on
    our user set): with an LLM such a question is translated first (rag/translate.py),
    without one it is asked again in Chinese rather than answered."""
    return bool(_LETTER.search(text)) and not _HAN.search(text)
