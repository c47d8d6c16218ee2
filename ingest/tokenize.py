"""Chinese keyword tokens for BM25: jieba in search mode with a domain lexicon,
aliases folded into their canonical term, stopwords and punctuation dropped."""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import cached_property
from importlib import resources

import jieba

_WORDLIKE = re.compile(r"[\w%]", re.UNICODE)


def _read_resource(name: str) -> list[str]:
    text = resources.files("ingest").joinpath("resources", name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


class Tokenizer:
    """One jieba instance of our own, so the domain words never leak into, or depend
    on, the global jieba state of other code in the process."""

    def __init__(self) -> None:
        self._jieba = jieba.Tokenizer()
        jieba.setLogLevel(logging.WARNING)
        self.aliases: dict[str, str] = {}
        for line in _read_resource("aliases.txt"):
            alias, canonical = line.split("\t")
            self.aliases[alias] = canonical
        self.stopwords = frozenset(_read_resource("stopwords.txt"))
        for word in _read_resource("domain_words.txt") + list(self.aliases) + list(self.aliases.values()):
            # A high frequency makes jieba keep the word whole rather than split it.
            self._jieba.add_word(word, freq=200000)

    @cached_property
    def _alias_pattern(self) -> re.Pattern[str]:
        # Longest alias first, so 科技型中小企 is never read as a shorter alias.
        keys = sorted(self.aliases, key=len, reverse=True)
        return re.compile("|".join(map(re.escape, keys)))

    def expand_aliases(self, text: str) -> str:
        """Rewrite aliases to canonical terms (高企 -> 高新技术企业) without touching
        text that already says the canonical term (高企 inside 高新技术企业 cannot occur,
        but 科小 inside a longer word is rewritten, which is the intent)."""
        def swap(m: re.Match[str]) -> str:
            canonical = self.aliases[m.group(0)]
            # 科技型中小企 is an alias of 科技型中小企业: never expand inside the canonical word.
            return m.group(0) if text.startswith(canonical, m.start()) else canonical

        return self._alias_pattern.sub(swap, text)

    def tokens(self, text: str) -> list[str]:
        text = unicodedata.normalize("NFKC", self.expand_aliases(text)).lower()
        out: list[str] = []
        for tok in self._jieba.cut_for_search(text):
            tok = tok.strip()
            if tok and tok not in self.stopwords and _WORDLIKE.search(tok):
                out.append(tok)
        return out
