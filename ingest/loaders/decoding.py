"""Bytes to text for the formats that are text underneath (plain text, HTML, JSON
Lines): Chinese files come in UTF-8, GB18030/GBK or UTF-16, often mislabelled, and
binary or garbled bytes must be refused rather than indexed."""

from __future__ import annotations

import re
from collections.abc import Iterable

from charset_normalizer import from_bytes

from ingest.loaders.common import Problem

# Control characters other than tab/newline/vertical tab/form feed/carriage return
# (form feed marks page breaks in text exported from PDFs), C1 controls, and the
# replacement character that a lossy decode leaves behind.
_BAD_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffd]")
# Non-ASCII characters expected in Chinese policy texts: CJK symbols and ideographs,
# full-width forms, general punctuation (— “ ” …) and Latin-1 (° × ·).
_PLAUSIBLE_CHARS = re.compile(
    r"[\u00a0-\u00ff\u2000-\u206f\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]"
)
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# Share of bad characters above which a text is treated as binary or garbled.
_MAX_BAD_SHARE = 0.02
# Share of undecodable bytes up to which a UTF-8/GB18030 file is read with
# replacement characters instead of being handed to the charset detector.
_MAX_REPLACED_SHARE = 0.01


def decode_text(data: bytes, preferred: tuple[str, ...] = ()) -> str:
    """Decode text bytes, rejecting binary and garbled content.

    Strict UTF-8 then strict GB18030 come first: charset-normalizer often
    mis-guesses short Chinese texts, and these two cover nearly all Chinese files.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # UTF-16 with a BOM (Windows Notepad "Unicode"); its NUL bytes are not binary.
        candidates: tuple[str, ...] = ("utf-16",)
    else:
        if b"\x00" in data:
            raise Problem("binary content (contains NUL bytes), not a text file")
        # Strict UTF-8 almost never accepts text in another encoding, so it goes
        # first even before a declared charset (pages often declare it wrongly).
        candidates = ("utf-8-sig", *preferred, "gb18030")
    text = _try_decode(data, candidates)
    if text is None:
        text = _nearly_decode(data, candidates) or _guess_decode(data)
    elif candidates[0] == "utf-8-sig" and not text.isascii():
        text = _prefer_gb18030_if_plausible(data, text)
    share = _bad_share(text)
    if share > _MAX_BAD_SHARE:
        raise Problem(
            f"binary or garbled content ({share:.0%} control or replacement characters)"
        )
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _try_decode(data: bytes, encodings: Iterable[str]) -> str | None:
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    return None


def _nearly_decode(data: bytes, encodings: tuple[str, ...]) -> str | None:
    """A Chinese file with a few damaged bytes (a bad sector, a cut-and-join) is
    still that encoding: decode it with replacement characters when they are rare,
    rather than refusing the file or letting a detector guess a Western codepage."""
    best: str | None = None
    best_bad = 0
    for encoding in encodings:
        try:
            text = data.decode(encoding, errors="replace")
        except LookupError:
            continue
        bad = text.count("\ufffd")
        if best is None or bad < best_bad:
            best, best_bad = text, bad
    if best is None or best_bad > _MAX_REPLACED_SHARE * len(best):
        return None
    return best


def _prefer_gb18030_if_plausible(data: bytes, utf8_text: str) -> str:
    """A very short GBK text can also be valid UTF-8 (GBK 通知 reads as U+0368 U+05AA).
    If the UTF-8 reading is mostly implausible characters and GB18030 reads the bytes
    as Chinese, take GB18030. Real UTF-8 Chinese is all CJK and is never switched."""
    # Only short texts are ambiguous; a prefix keeps the check cheap on big files.
    utf8_share = _plausible_share(utf8_text[:20_000])
    if utf8_share >= 0.5:
        return utf8_text
    gb_text = _try_decode(data, ("gb18030",))
    if gb_text is not None and _plausible_share(gb_text[:20_000]) > utf8_share:
        return gb_text
    return utf8_text


def _plausible_share(text: str) -> float:
    """Share of non-ASCII characters that are CJK, full-width, general punctuation or Latin-1."""
    non_ascii = len(_NON_ASCII.findall(text))
    if not non_ascii:
        return 1.0
    return len(_PLAUSIBLE_CHARS.findall(text)) / non_ascii


def _guess_decode(data: bytes) -> str:
    best = from_bytes(data).best()
    if best is None:
        raise Problem("cannot decode text: not UTF-8 or GB18030, and no other encoding fits")
    return str(best)


def _bad_share(text: str) -> float:
    if not text:
        return 0.0
    return len(_BAD_CHARS.findall(text)) / len(text)
