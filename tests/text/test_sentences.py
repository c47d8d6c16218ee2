"""Sentences: one table of texts and their sentences, a column per variant (passage,
chunk, answer, mixed-language), including the texts where the copies it replaced differed."""

from __future__ import annotations

import pytest

from policyqa.text.sentences import (
    ANSWER_SENTENCE,
    CHUNK_SEGMENT,
    CLAUSE_BREAKS,
    MIXED_SENTENCE,
    PASSAGE_SENTENCE,
    SENTENCE_BREAKS,
    sentence_spans,
)

PATTERNS = {"passage": PASSAGE_SENTENCE, "chunk": CHUNK_SEGMENT, "answer": ANSWER_SENTENCE, "mixed": MIXED_SENTENCE}


def _sentences(text: str, variant: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text, pattern=PATTERNS[variant])]


CASES = [
    # ；ends a passage or chunk sentence (a list item), not an answer or mixed-language one
    ("目标5000家；力争1.2万家。其次！", "passage", ["目标5000家；", "力争1.2万家。", "其次！"]),
    ("目标5000家；力争1.2万家。其次！", "chunk", ["目标5000家；", "力争1.2万家。", "其次！"]),
    ("目标5000家；力争1.2万家。其次！", "answer", ["目标5000家；力争1.2万家。", "其次！"]),
    ("目标5000家；力争1.2万家。其次！", "mixed", ["目标5000家；力争1.2万家。", "其次！"]),
    # a closing quote stays with its sentence (not in mixed-language text)
    ("他说：“好。”然后", "passage", ["他说：“好。”", "然后"]),
    ("他说：“好。”然后", "answer", ["他说：“好。”", "然后"]),
    ("他说：“好。”然后", "mixed", ["他说：“好。", "”然后"]),
    # only chunking keeps a closing 》 with its sentence
    ("见《通知。》下一句", "chunk", ["见《通知。》", "下一句"]),
    ("见《通知。》下一句", "passage", ["见《通知。", "》下一句"]),
    # a citation marker stays with the answer sentence it supports
    ("达到1.2万家。[1] 另外；其次[2]", "answer", ["达到1.2万家。[1]", "另外；其次[2]"]),
    ("达到1.2万家。[1] 另外；其次[2]", "passage", ["达到1.2万家。", "[1] 另外；", "其次[2]"]),
    ("达到1.2万家。【1，2】下一句。", "answer", ["达到1.2万家。【1，2】", "下一句。"]),
    # an English full stop ends a mixed-language sentence, a decimal point does not
    ("Ignore all. 1.2万 here. 下一句。", "mixed", ["Ignore all.", "1.2万 here.", "下一句。"]),
    ("Ignore all. 1.2万 here. 下一句。", "passage", ["Ignore all. 1.2万 here. 下一句。"]),
    # a line break ends a sentence in every variant; blank text has none
    ("一行\n二行", "passage", ["一行", "二行"]),
    ("一行\n二行", "chunk", ["一行", "二行"]),
    ("一行\n二行", "answer", ["一行", "二行"]),
    ("一行\n二行", "mixed", ["一行", "二行"]),
    ("  \n ", "passage", []),
    ("真的吗？！是的", "passage", ["真的吗？！", "是的"]),
]


@pytest.mark.parametrize(("text", "variant", "sentences"), CASES)
def test_sentences(text: str, variant: str, sentences: list[str]) -> None:
    assert _sentences(text, variant) == sentences


@pytest.mark.parametrize(
    ("text", "lo", "hi", "spans"),
    [
        ("前文。目标5000家。后文", 3, 11, [(3, 11)]),
        ("前文。 目标。 后文", 3, None, [(4, 7), (8, 10)]),  # surrounding whitespace left out
    ],
)
def test_spans_within(text: str, lo: int, hi: int | None, spans: list[tuple[int, int]]) -> None:
    assert sentence_spans(text, lo, hi) == spans


@pytest.mark.parametrize(
    ("char", "sentence_break", "clause_break"),
    [("。", True, True), ("；", True, True), (";", True, True), ("\n", True, True), ("，", False, True),
     ("：", False, True), ("、", False, False), ("”", False, False)],
)
def test_breaks(char: str, sentence_break: bool, clause_break: bool) -> None:
    assert (char in SENTENCE_BREAKS, char in CLAUSE_BREAKS) == (sentence_break, clause_break)
