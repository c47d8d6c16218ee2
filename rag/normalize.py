"""How a question is normalised before anything reads it: traditional characters
become the simplified ones the documents use (OpenCC's t2s), so `紹興每萬名就業人員`
matches `绍兴每万名就业人员`. The user's own words are kept for display."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _converter():  # type: ignore[no-untyped-def]
    import opencc

    return opencc.OpenCC("t2s.json")


def simplified(text: str) -> str:
    return _converter().convert(text) if text else text
