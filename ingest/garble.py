"""Is a PDF text layer usable? Shared by the loader (whole documents) and the PDF
child process (single pages, to pick the pages that need OCR), so it imports the
standard library only."""

from __future__ import annotations

import re

# PDF text layers: replacement, private-use (both planes) and control characters
# are what a font without a usable ToUnicode map extracts as. Symbol fonts map a
# few bullets into the private-use area, so a small share is normal.
_GARBLE_CHARS = re.compile(
    "[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffd\ue000-\uf8ff\U000f0000-\U0010ffff]"
)
_CJK_CHAR = re.compile("[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
_MAX_GARBLED_SHARE = 0.05
_PRIVATE_OR_REPLACEMENT = re.compile("[\ufffd\ue000-\uf8ff\U000f0000-\U0010ffff]")
_NON_ASCII_VISIBLE = re.compile(r"[^\x00-\x7f\s]")
# What a Chinese policy PDF is made of beyond ASCII: Latin-1 and Latin Extended-A,
# Greek, general punctuation through dingbats (①, Ⅱ, ■, ★, arrows, maths), CJK
# radicals, symbols, kana, enclosed and compatibility forms, ideographs, full-width
# forms. Raw CIDs read as code points fall mostly outside it.
_PDF_PLAUSIBLE = re.compile(
    "[\u00a0-\u017f\u0370-\u03ff\u2000-\u27bf\u2e80-\u2fdf\u3000-\u33ff\u3400-\u4dbf"
    "\u4e00-\u9fff\uf900-\ufaff\ufe10-\ufe6f\uff00-\uffef\U00020000-\U0002fa1f]"
)
_MAX_ODD_SHARE = 0.2
# Accented Latin letters with no Chinese at all: GBK bytes read as Latin-1.
_MAX_LATIN1_SHARE = 0.3
_LATIN1_LETTER = re.compile("[\u00c0-\u00ff]")
# Whitespace, except the control characters Python also counts as whitespace.
_SPACE = re.compile(r"(?![\x1c-\x1f\x85])\s")
# A page with fewer visible characters than this has no text layer worth keeping
# (a page number or a stamp added to a scan), so its image is read instead.
MIN_PAGE_CHARS = 20


def garbled_reason(text: str) -> str | None:
    """Why a PDF text layer is unusable, or None.

    A font whose ToUnicode map is missing or broken extracts as replacement,
    private-use or control characters; as raw CIDs read as code points, which land
    in scripts a Chinese document never uses (Cyrillic, Arabic, Ethiopic …); or,
    when GBK codes were mapped one to one onto Latin-1, as accented-letter soup with
    no Chinese at all. Indexing that would put junk in front of every search."""
    n = visible_chars(text)
    if not n:
        return None
    bad = len(_GARBLE_CHARS.findall(text))
    cjk = len(_CJK_CHAR.findall(text))
    latin1 = len(_LATIN1_LETTER.findall(text))
    non_ascii = len(_NON_ASCII_VISIBLE.findall(text))
    odd = non_ascii - len(_PDF_PLAUSIBLE.findall(text)) - len(_PRIVATE_OR_REPLACEMENT.findall(text))
    if (
        bad / n > _MAX_GARBLED_SHARE
        or odd / n > _MAX_ODD_SHARE
        or (not cjk and latin1 / n > _MAX_LATIN1_SHARE)
    ):
        shares = [(bad, "replacement, private-use or control characters"), (odd, "symbols from unrelated scripts"),
                  (latin1, "accented Latin letters")]
        found = ", ".join(f"{k / n:.0%} {what}" for k, what in shares if k / n >= 0.005)
        return (
            f"text layer is garbled ({found}; {cjk / n:.0%} Chinese characters): "
            "a font has a broken or missing Unicode map; the PDF needs OCR"
        )
    return None


def visible_chars(text: str) -> int:
    return len(text) - len(_SPACE.findall(text))


def page_needs_ocr(text: str) -> bool:
    """The page's text layer is missing, near-empty or garbled."""
    return visible_chars(text) < MIN_PAGE_CHARS or garbled_reason(text) is not None
