"""The answer composed from the evidence sentences themselves, each quoted and cited:
the answer of the extractive backend, of every comparison (side by side, each from
its own evidence), and the fallback when an LLM fails."""

from __future__ import annotations

import re
from typing import Sequence

from ingest.tables import continues_table, is_separator, is_table_line, row_header, split_sentences
from policyqa.text.dates import has_date
from policyqa.text.injection import injection_spans
from policyqa.types import Answer
from rag.evidence import Scored, asks_date, asks_list, is_headline, needs_figure
from rag.prepare import Prepared
from rag.verify import Claim, Verifier
from policyqa.text.numerals import ONE_TO_TEN

# The best sentence's quote runs on over the sentences after it up to this many
# characters. On ncp-dev: 0 → .544/.325/145, 100 → .549/.323/147, 150 → .559/.316/153.
WINDOW = 100
# ... and a lead's (is_lead) over this many characters after its end. On ncp-dev
# (span / char F1 / median answer length): 0 → .589/.322/147, 100 → .595/.320/153,
# 150 → .604/.319/154, 200 → .609/.318/154, 300 → .611/.316/154.
LEAD_RUN = 200
# A quote does not run on into the next section (一、, （一）, 第二章).
_SECTION = re.compile(rf"\s*(?:第[{ONE_TO_TEN}\d]{{1,4}}[章节部分]|[{ONE_TO_TEN}]{{1,3}}、|[（(][{ONE_TO_TEN}]{{1,3}}[）)])")
# A list or how question's quote runs on over the lines that follow its lead, within
# LIST_QUOTE_CHARS of the lead's start or, for a list question, LIST_RUN of its end
# (a long lead leaves room for its items). On ncp-dev (span / char F1 / median answer
# length): LIST_RUN 0 → .609/.318/154, 100 → .638/.311/179, 150 → .660/.303/211.
LIST_QUOTE_CHARS = 150
LIST_RUN = 150


def is_lead(prep: Prepared, s: Scored) -> bool:
    """The sentence introduces rather than answers: its document's headline (it
    matches a question by restating the topic), or it lacks the figure or date the
    question asks for."""
    chunk, text = prep.hits[s.sentence.hit_index].chunk, s.sentence.text
    return (is_headline(chunk, s.sentence.start, text)
            or needs_figure(prep.standalone) and not s.has_figure
            or asks_date(prep.standalone) and not has_date(text))


def quotes(prep: Prepared) -> list[tuple[int, str]]:
    """(passage number, quote) per evidence sentence, best first. A table row comes
    after its header line: `quote_spans` quotes a header its passage holds; a passage
    that starts inside a long table carries it in `Chunk.table_header`, quoted here."""
    out: list[tuple[int, str]] = []
    for n, a, b in quote_spans(prep):
        chunk = prep.hits[n - 1].chunk
        if chunk.table_header and continues_table(chunk.text, a):
            header = (n, chunk.table_header.split("\n")[0])
            if header not in out:
                out.append(header)
        out.append((n, chunk.text[a:b]))
    return out


def quote_spans(prep: Prepared) -> list[tuple[int, int, int]]:
    """(passage number, start, end in its text) per evidence sentence, best first. A
    short line with no figure (a title, a salutation, a label) says little alone, so
    it takes the lines after it. A table row is whole and stands alone: it takes no
    lines after it, and its header line (when in the passage) comes before it."""
    spans: list[tuple[int, int, int]] = []

    def add(n: int, a: int, b: int) -> None:
        text = prep.hits[n - 1].chunk.text
        if is_separator(text[a:b]):
            return
        header = row_header(text, a)
        if header is not None:
            put(n, *header)
        put(n, a, b)

    def put(n: int, a: int, b: int) -> None:
        # Evidence sentences overlap (a further sentence inside the best one's run-on,
        # the same notice in two passages): each text is quoted once, and a sentence
        # right before or after a quote of its passage stands next to it, as in the text.
        text = prep.hits[n - 1].chunk.text
        if any(text[a:b].strip() in prep.hits[m - 1].chunk.text[x:y] for m, x, y in spans):
            return
        for k, (m, x, y) in enumerate(spans):
            if m == n and b <= x and not text[b:x].strip():
                spans.insert(k, (n, a, b))
                return
            if m == n and y <= a and not text[y:a].strip():
                spans.insert(k + 1, (n, a, b))
                return
        spans.append((n, a, b))

    listing = asks_list(prep.standalone)
    for s in prep.best:
        text = prep.hits[s.sentence.hit_index].chunk.text
        a, b = s.sentence.start, s.sentence.end
        row = is_table_line(text[a:b])
        lead = text[a:b].rstrip()
        # Items follow their lead, one a line; a question in the text (an FAQ, 答记者问)
        # is answered by what follows it, up to the next question.
        items = listing or lead.endswith(("：", ":"))
        if items or lead.endswith(("？", "?")):
            add(s.sentence.hit_index + 1, a, b)
            reach = max(a + LIST_QUOTE_CHARS, b + LIST_RUN if listing else 0)
            for sa, sb in split_sentences(text):
                if sa < b:
                    continue
                if sb > reach or not items and text[sa:sb].rstrip().endswith(("？", "?")):
                    break
                if row and not is_table_line(text[sa:sb]):
                    break  # a row's items are the rows after it (a header's, its rows)
                add(s.sentence.hit_index + 1, sa, sb)
            continue
        if s is prep.best[0] and not row:
            # The best match often sets the topic (a headline, a lead, the measure's
            # name) and the next sentence holds the answer: quote it too, within WINDOW
            # of its start, or LEAD_RUN of its end when it is a lead that cannot answer.
            flagged = injection_spans(text)  # instruction-like text is never quoted into an answer
            reach = b + LEAD_RUN if is_lead(prep, s) else a + WINDOW
            for sa, sb in split_sentences(text):
                if sa < b:
                    continue
                if (sb > reach or any(x < sb and sa < y for x, y in flagged) or _SECTION.match(text[sa:sb])
                        or is_table_line(text[sa:sb])):
                    break
                b = sb
        if not row and b - a < 60 and not text[a:b].rstrip().endswith(("。", "！", "？", "；")):
            for sa, sb in split_sentences(text):
                if sa >= b and is_table_line(text[sa:sb]):
                    break
                if sa >= b and sb - a <= 120:
                    b = sb
                    if b - a >= 60:
                        break
        add(s.sentence.hit_index + 1, a, b)
    return spans


class Extractive:
    name = "extractive"

    def __init__(self, verifier: Verifier | None = None, comparisons_only: bool = False) -> None:
        self.verifier = verifier or Verifier()
        # With an LLM backend, only comparisons are answered here: a small model merging
        # the sides can give one side the other's figure.
        self.comparisons_only = comparisons_only

    def answer(self, prep: Prepared) -> Answer | None:
        if prep.refusal or not prep.best or (self.comparisons_only and not prep.compare):
            return None
        return self.compose(prep)

    def compose(self, prep: Prepared, notes: Sequence[str] = ()) -> Answer:
        """The evidence quoted, whatever routed here (also an LLM's fallback)."""
        claims = self.verifier.corroborate([Claim(text, (n,)) for n, text in quotes(prep)], prep.hits)
        # Quotes keep their own lines: a leading item number ("15.") stays an item number.
        text, citations = self.verifier.citations(claims, prep.hits, sep="\n")
        return Answer(prep.question, text, citations, standalone_question=prep.standalone, notes=tuple(notes))
