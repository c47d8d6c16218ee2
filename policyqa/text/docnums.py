"""Document numbers (文号): `浙政办发〔2025〕12号`, also written with [ ], ［ ］ or ( ) and
with stray spaces. One pattern for finding, whole-line matching and normalising."""

from __future__ import annotations

import re

# issuer's code (1-12 characters), year in brackets, serial number, 号
_PATTERN = r"([\u4e00-\u9fff]{1,12})\s*[〔\[［(（]\s*((?:19|20)\d{2})\s*[〕\]］)）]\s*(\d{1,5})\s*号"
_ANY = re.compile(_PATTERN)
_LINE = re.compile(rf"^{_PATTERN}$")
# The bracketed year alone (〔2025〕): how a question points at a 文号 it only half gives.
YEAR_IN_BRACKETS = r"[〔\[［]\s*(?:19|20)\d{2}\s*[〕\]］]"


def normalise_doc_number(s: str) -> str:
    """`浙科提[2025]315号` -> `浙科提〔2025〕315号`; "" if `s` holds no document number."""
    m = _ANY.search(s)
    return f"{m.group(1)}〔{m.group(2)}〕{m.group(3)}号" if m else ""


def doc_numbers(text: str) -> list[str]:
    """Every document number in `text`, as written minus whitespace."""
    return [re.sub(r"\s+", "", m.group(0)) for m in _ANY.finditer(text)]


def is_doc_number_line(line: str) -> bool:
    """A line that is nothing but a document number (the 文号 line of a 公文 head)."""
    return bool(_LINE.match(line))


def without_doc_numbers(text: str, replacement: str = " ") -> str:
    return _ANY.sub(replacement, text)
