"""Which characters a text is read in.

- `IDEOGRAPHS`: radicals and compatibility ideographs (what a PDF's fonts or a
  browser's print often hold: `⼈才`) -> the unified ideograph. Ingest's cleaning and
  the question's normalisation use the same table, so both sides match.
- `simplified`: how a question is normalised before anything reads it: traditional
  characters become the simplified ones the documents use (OpenCC's t2s), so
  `紹興每萬名就業人員` matches `绍兴每万名就业人员`. The user's own words are kept for
  display.
- `foreign`: a question without a single Chinese character."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from policyqa.text.lexicon import read_lines


def _ideograph_table() -> dict[int, str]:
    """Radicals and compatibility ideographs -> the unified ideograph. NFKC knows
    the Kangxi radicals and the compatibility ideographs; the radicals supplement
    (⻔ ⻚ ⻋ ...) comes from a data file. Every mapping is one character to one, so
    offsets (pages, citations) are unchanged."""
    table: dict[int, str] = {}
    blocks = (range(0x2F00, 0x2FE0), range(0xF900, 0xFB00), range(0x2F800, 0x2FA20))
    for code in (c for block in blocks for c in block):
        folded = unicodedata.normalize("NFKC", chr(code))
        if len(folded) == 1 and folded != chr(code):
            table[code] = folded
    for line in read_lines("radicals.txt"):
        radical, ideograph = line.split("\t")[:2]
        table[ord(radical)] = ideograph
    return table


IDEOGRAPHS = _ideograph_table()

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
