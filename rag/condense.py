"""Turn a follow-up ("那科技型中小企业呢？") into a standalone question using the
chat history, by rule: the new subject replaces the matching subject of the
previous question. Deterministic, instant, and the same for every backend."""

from __future__ import annotations

import re
from typing import Sequence

from ingest.tokenize import Tokenizer
from policyqa.text.docnums import doc_numbers
from policyqa.text.lexicon import read_lines
from policyqa.text.places import whole_area
from rag.evidence import question_places, question_scope, question_years

_ELLIPTIC = re.compile(r"^(?:那么?|那|还有|另外|再问一下|然后)?\s*(?P<x>.+?)(?:的(?:情况|目标|数量|呢)?)?\s*(?:呢|怎么样|如何|又是多少|又如何)\s*[？?。!！]*$")
_LEAD = re.compile(r"^(?:那么|那|还有|另外|然后|再问一下)")
_PRONOUN = re.compile(r"^(?:它|其|这个|该|这项|这些|上述)")
_YEAR_X = re.compile(r"^(?:到|在)?((?:19|20)\d{2})\s*年?$")


def _domain_terms(tokenizer: Tokenizer) -> list[str]:
    words = read_lines("domain_words.txt")
    return sorted(set(words) | set(tokenizer.aliases.values()), key=len, reverse=True)


def _context_of(question: str) -> list[str]:

    ctx = [p for p in question_places(question)]
    ctx += [f"{y}年" for y in sorted(question_years(question))]
    ctx += doc_numbers(question)
    ctx += re.findall(r"[《“][^》”]{2,30}[》”]", question)
    return ctx


class Condenser:
    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        self.terms = _domain_terms(tokenizer)

    def standalone(self, question: str, history: Sequence[Sequence[str]]) -> str:
        """Resolve against each earlier user turn in order, so a chain of follow-ups
        keeps the subject the user last set."""
        previous = ""
        for turn in history:
            if turn and turn[0]:
                previous = self._resolve(str(turn[0]).strip(), previous)
        return self._resolve(question.strip(), previous)

    def _resolve(self, question: str, previous: str) -> str:
        if not previous or not self._is_followup(question):
            return question
        m = _ELLIPTIC.match(question)
        if not m:
            if _PRONOUN.match(question) or question.startswith("其中"):
                # "其中…", "它的…": the pronoun stands for the old subject
                return f"{previous} {question}"
            # A question of its own ("那培训方面有什么目标？") keeps only the old context:
            # its places, years, document numbers and quoted names.
            return " ".join(_context_of(previous) + [_LEAD.sub("", question)])
        x = self.tokenizer.expand_aliases(m.group("x").strip())
        prev = self.tokenizer.expand_aliases(previous)
        ym = _YEAR_X.match(x)
        if ym:
            years = question_years(prev)
            if years:
                return re.sub(rf"{next(iter(years))}\s*年", f"{ym.group(1)}年", prev)
            return f"{ym.group(1)}年{prev}"
        scope = question_scope(x)
        if scope and len(x) <= 3:  # 全省, 省里, 全市: the whole province or city instead
            whole = whole_area(scope)
            places_prev = question_places(prev)
            if places_prev:
                stem = re.escape(places_prev[0].rstrip("省市县区"))
                return re.sub(rf"{stem}[省市县区]?", whole, prev, count=1)
            return prev if question_scope(prev) == scope else f"{whole}{prev}"
        places_x = question_places(x)
        if places_x and len(x) <= len(places_x[0]) + 1:
            places_prev = question_places(prev)
            if places_prev:
                stem = places_prev[0].rstrip("省市县区")
                return re.sub(rf"{re.escape(stem)}[省市县区]?", x, prev, count=1)
            for word in ("全省", "全市", "省里", "省"):
                if word in prev:
                    return prev.replace(word, x, 1)
            return f"{x}{prev}"
        for term in self.terms:
            if term in prev and term not in x:
                start = prev.index(term)
                end = start + len(term)
                # Widen to qualifiers the new subject restates (省重点企业研究院 -> 省企业研究院).
                while start > 0 and prev[start - 1] in x and end - start < len(x) + 4:
                    start -= 1
                return prev[:start] + x + prev[end:]
        return f"{prev} {x}"

    @staticmethod
    def _is_followup(question: str) -> bool:
        q = question.strip()
        return bool(
            _LEAD.match(q) or _PRONOUN.match(q) or re.search(r"呢\s*[？?]?$", q) or len(q) <= 6
        )
