"""Where a sentence ends. One owner for the stops, the closing marks that stay with
their sentence, and the few variants the stages need:

- passages (evidence, chunking, targets): 。！？!? and ；; end a sentence, because a
  policy list item ends with ；and is read as a statement of its own;
- answers (the figure check): ；does not end a sentence, and a citation marker `[1]`
  after the stop stays with the sentence it supports;
- instruction-like text (`injection.py`): English full stops end a sentence too, but
  not a decimal point (1.2万).
"""

from __future__ import annotations

import re

STOPS = "。！？!?"
SEMICOLONS = "；;"
CLOSERS = "”’」』）)"  # closing marks that belong to the sentence before them
SENTENCE_BREAKS = frozenset(STOPS + SEMICOLONS + "\n")
CLAUSE_BREAKS = SENTENCE_BREAKS | frozenset("，,：:")

# A passage sentence: up to its stops (and closing marks), a line break or the end.
PASSAGE_SENTENCE = re.compile(rf"[^{STOPS}{SEMICOLONS}\n]*(?:[{STOPS}{SEMICOLONS}]+[{CLOSERS}]*|\n|$)")
# Chunking also keeps 》 and straight quotes with the sentence they close.
CHUNK_SEGMENT = re.compile(rf"[^\n{STOPS}{SEMICOLONS}]*(?:[{STOPS}{SEMICOLONS}]+[{CLOSERS}》\"']*|\n|$)")
# An answer sentence with the citation markers that follow it.
ANSWER_SENTENCE = re.compile(rf"[^{STOPS}\n]*(?:[{STOPS}]+[{CLOSERS}]*(?:\s*[\[【［][\d,，、\s]+[\]】］])*|\n|$)")
# A sentence of mixed Chinese and English: a full stop ends it, a decimal point does not.
MIXED_SENTENCE = re.compile(rf"(?:[^{STOPS}\n.]|\.(?=\d))*(?:[{STOPS}\n]|\.(?!\d))?")


def sentence_spans(text: str, lo: int = 0, hi: int | None = None,
                   pattern: re.Pattern[str] = PASSAGE_SENTENCE) -> list[tuple[int, int]]:
    """(start, end) of the non-blank sentences of text[lo:hi], surrounding whitespace
    left out, trailing punctuation kept."""
    spans = []
    for m in pattern.finditer(text, lo, len(text) if hi is None else hi):
        a, b = m.start(), m.end()
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if b > a:
            spans.append((a, b))
    return spans
