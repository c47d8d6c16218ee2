"""Questions about a document itself (its title, issuing body, 文号, dates, draft
status, or which document a quoted sentence comes from, and what its 公文 head and
tail state: 签发人, 主送机关, 成文日期, 印发, 施行 and 有效期, 附件, 抄送), answered
from the document's metadata and cited to the line of the document that states
each fact. The 公文 facts are read from the document's text by the same rules that
fill its metadata at ingest (ingest.structure.official_facts), so an index built
before those fields existed answers them too.

A fact the document's text does not state is not answered: every value in the
answer stands in a cited quote. When the evidence gate found a sentence that
answers, it follows the facts as `原文：…`: the facts say which document, the
sentence what it says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable, Sequence

from ingest.structure import official_facts
from policyqa.text.dates import signed_dates
from policyqa.text.docnums import YEAR_IN_BRACKETS, doc_numbers
from policyqa.types import Answer, Chunk, Hit
from ingest.tables import split_sentences
from rag.evidence import is_multipart, mandatory_terms
from rag.prepare import Prepared
from ingest.document import text_from_chunks
from rag.verify import evidence_line

# Words a question names a document by.
_DOC_NOUNS = "文件|方案|通知|答复|要点|意见|办法|规定|细则|公告|决定|计划|政策"
# What a question asks about the document, by its own words.
_ASKS: dict[str, re.Pattern[str]] = {
    "title": re.compile(r"标题|全称|全名|完整名称|文件名称|名称是什么|题目|出自哪|哪份文件|哪个文件|哪里提出"),
    "issuer": re.compile(r"(?:哪个|哪家)(?:单位|部门|机关|机构)(?:发|印发|发布|出台|制定)|谁(?:发|印发|发布)的|"
                         r"发文机关|发布机构|印发单位|发文单位|出自哪|哪里提出"),
    "doc_number": re.compile(r"文号|发文字号|文件编号"),
    "date": re.compile(r"发文日期|发布日期|印发日期|成文日期|落款|哪天(?:发|印发|发布)|什么时候(?:发|印发|发布)的"
                       r"|什么时候印发|何时印发|印发时间"),
    "printed": re.compile(r"印发日期|印发时间|什么时候印发|何时印发|哪天印发"),
    "signer": re.compile(r"签发人|签发领导|谁签发|签发的是谁|哪位领导签发"),
    # sent to whom, said of the document (not 补贴发给哪些企业)
    "recipients": re.compile(rf"主送|(?:{_DOC_NOUNS})[》”]?(?:是|都|主要)?(?:下发|印发|发送|发)(?:给|至|到|往)"
                             rf"(?:哪些|哪个|哪几个|谁)"),
    "attachments": re.compile(r"(?:哪些|几个|什么|多少)附件|附件(?:有|是|包括|都有)(?:哪些|什么|几个)|附件(?:名称|清单)"),
    "cc": re.compile(rf"(?:{_DOC_NOUNS})[》”]?[^，。？]{{0,3}}?抄送|抄送(?:单位|机关|对象)"),
    "status": re.compile(r"正式印发的|正式版|(?:是不是|是否为?|是)(?:征求意见稿|草案|试行)|征求意见稿[吗呢]|草案[吗呢]"
                         r"|试行的?[吗呢]|还有效|是否有效|仍然有效|有效吗|废止了|失效了"),
    # the document's own term, not a licence's it describes: 这个办法的有效期, 该政策什么时候施行
    "validity": re.compile(rf"(?:{_DOC_NOUNS})[》”]?的?(?:有效期|施行日期|实施日期|生效日期|施行时间|实施时间)"
                           rf"|(?:{_DOC_NOUNS})[》”]?[^，。？；]{{0,8}}?(?:什么时候|何时|哪天|哪一天)(?:开始|起)?"
                           rf"(?:施行|实施|生效|执行)|还有效|是否有效|仍然有效|有效吗|过期了|失效了"),
}
# A later date at the end of a document is its signing date (落款), when the text
# has no 落款 lines the 公文 rules read (flattened web text).
# A trailing bracketed qualifier of a title: (2024), （试行）.
_QUALIFIER = re.compile(r"\s*[（(][^（）()]{1,12}[)）]\s*$")
# What an article says was issued: 印发《…》, 出台了《…》.
_ISSUED = re.compile(r"(?:印发|发布|出台|制定)了?\s*《([^》]{4,80})》")
_LABELS = {"title": "文件名称", "reported": "文中报道的文件", "issuer": "发布机构", "doc_number": "文号", "date": "发文日期", "signed": "落款日期",
           "status": "文件状态", "signer": "签发人", "recipients": "主送机关", "signed_date": "成文日期",
           "printed_by": "印发机关", "printed_date": "印发日期", "valid_from": "施行日期", "valid_until": "有效期",
           "attachments": "附件", "cc": "抄送"}
# the 公文 facts each question asks for (a DocMeta field each)
_OFFICIAL = {"printed": ("printed_by", "printed_date"), "signer": ("signer",), "recipients": ("recipients",),
             "attachments": ("attachments",), "cc": ("cc",), "status": ("status",),
             "validity": ("valid_from", "valid_until")}


# A question about the document itself refers to it (那份方案, 这句话出自…); "提案的题目"
# asks about something the document discusses, and is left to the evidence.
_REFERS = re.compile(rf"{_DOC_NOUNS}|这份|那份|该文|这句话|这个理念|出自|文号|{YEAR_IN_BRACKETS}")


def asked_facts(question: str) -> list[str]:
    """The document facts a question asks for, in a fixed order; [] when none."""
    if not _REFERS.search(question):
        return []
    return [name for name, pattern in _ASKS.items() if pattern.search(question)]


@dataclass(frozen=True)
class Fact:
    label: str
    value: str
    chunk: Chunk
    start: int  # the quote's span within the chunk's text
    end: int


class DocFacts:
    """Answers document-fact questions from the best-matching document's metadata."""

    name = "doc_facts"

    def __init__(self, chunks_of: Callable[[str], Sequence[Chunk]]) -> None:
        self.chunks_of = chunks_of

    def answer(self, prep: Prepared) -> Answer | None:
        question, hits = prep.standalone, prep.hits
        wanted = asked_facts(question)
        if not wanted or not hits:
            return None
        chosen = self._chosen(question, hits)
        # a newspaper page carries several articles: the facts are the chosen article's
        chunks = [c for c in self.chunks_of(chosen.source) if c.title == chosen.title] or [chosen]
        official = _official(chunks)
        facts = [f for name in wanted for f in self._facts(name, chunks, official)]
        if not facts:
            return None
        if "title" not in wanted:  # say which document the facts are of
            facts = self._facts("title", chunks, official) + facts
        citations, lines = [], []
        for f in facts:
            n = next((c.n for c in citations if c.chunk_id == f.chunk.chunk_id and c.start == f.chunk.start + f.start),
                     len(citations) + 1)
            if n == len(citations) + 1:
                citations.append(f.chunk.citation(n, f.start, f.end))
            lines.append(f"{f.label}：{f.value}[{n}]")
        facts_answer = Answer(prep.question, "\n".join(lines), tuple(citations), standalone_question=question)
        return _with_evidence(facts_answer, prep)

    @staticmethod
    def _chosen(question: str, hits: Sequence[Hit]) -> Chunk:
        """A passage of the document asked about: the one holding a phrase the question
        quotes, else the best-ranked one."""
        for term in mandatory_terms(question):
            for h in hits:
                if term in h.chunk.text:
                    return h.chunk
        return hits[0].chunk

    def _facts(self, name: str, chunks: Sequence[Chunk], official: dict[str, Fact]) -> list[Fact]:
        head = chunks[0]
        if name == "title":
            # a title given with a qualifier the text does not carry (`…方案(2024)`)
            bare = _QUALIFIER.sub("", head.title)
            stated = _stated("title", head.title, chunks) or (_stated("title", bare, chunks) if bare else [])
            return stated + _reported(chunks)
        if name == "issuer":
            return _stated("issuer", head.issuer, chunks)
        if name == "doc_number":
            number = head.doc_number or next((n for c in chunks for n in doc_numbers(c.text)), "")
            return _stated("doc_number", number, chunks)
        if name == "date":
            found = _stated("date", head.date, chunks) if len(head.date) == 10 else []
            if "signed_date" in official:
                return [*found, official["signed_date"]]
            last = chunks[-1]
            # the 版记's `…2020年2月12日印发` dates the printing, not the signing
            signed = [m for m in signed_dates(last.text) if not last.text[m.end() :].lstrip().startswith("印发")]
            if signed:
                m = signed[-1]
                a, b = _line(last.text, m.start(), m.end())
                found.append(Fact(_LABELS["signed"], m.group(0), last, a, b))
            return found
        return [official[field] for field in _OFFICIAL.get(name, ()) if field in official]


def _official(chunks: Sequence[Chunk]) -> dict[str, Fact]:
    """The 公文 facts the document's text states, by DocMeta field, each quoted from
    the line that states it. The text is put back together from the chunks (which
    hold spans of it), so the head and tail rules see the document as ingest did."""
    base = min(c.start for c in chunks)
    facts: dict[str, Fact] = {}
    for field, stated in official_facts(text_from_chunks(chunks)[base:]).items():
        at, to = base + stated.start, base + stated.end
        holding = [c for c in chunks if c.start <= at < c.end]
        if not holding:
            continue
        # overlapping chunks: one that holds the whole statement, else its start
        chunk = next((c for c in holding if to <= c.end), holding[0])
        a, b = _line(chunk.text, at - chunk.start, min(to, chunk.end) - chunk.start)
        facts[field] = Fact(_LABELS[field], stated.said, chunk, a, b)
    return facts


def _reported(chunks: Sequence[Chunk]) -> list[Fact]:
    """A news article reports a policy by name (`…近日印发《…行动方案》`): that name too."""
    for c in chunks[:2]:
        m = _ISSUED.search(c.text)
        if m:
            a, b = _line(c.text, m.start(1), m.end(1))
            return [Fact(_LABELS["reported"], f"《{m.group(1)}》", c, a, b)]
    return []


def _stated(name: str, value: str, chunks: Sequence[Chunk]) -> list[Fact]:
    """`value` as a fact, quoted from the first line of the document that states it
    (spaces ignored); nothing when the text never states it."""
    if not value:
        return []
    squeezed = re.sub(r"\s+", "", value)
    for c in chunks:
        text = c.text
        # positions of the non-space characters, so a title broken by a space still matches
        keep = [i for i, ch in enumerate(text) if not ch.isspace()]
        flat = "".join(text[i] for i in keep)
        at = flat.find(squeezed)
        if at >= 0:
            a, b = _line(text, keep[at], keep[at + len(squeezed) - 1] + 1)
            return [Fact(_LABELS[name], squeezed, c, a, b)]
    return []


def _line(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence or line of `text` around [start, end)."""
    for a, b in split_sentences(text):
        if a <= start and end <= b:
            return a, b
    return start, end


def _with_evidence(answer: Answer, prep: Prepared) -> Answer:
    """The facts followed by the best evidence sentence when it holds the phrase the
    question quotes (`“项目为王”这句话出自哪份文件？`: it shows where the phrase
    stands) or the question asks more than the facts (`…哪个单位发的？答复的是哪号提案？`)."""
    quoted = mandatory_terms(prep.standalone)
    if not prep.best or not (quoted or is_multipart(prep.standalone)):
        return answer
    s = prep.best[0].sentence
    chunk = prep.hits[s.hit_index].chunk
    if quoted and not any(t in s.text for t in quoted) or s.text.startswith(chunk.title) or any(
            c.chunk_id == chunk.chunk_id and c.quote == s.text for c in answer.citations):
        return answer  # the document's heading says no more than the facts
    line, cite = evidence_line(chunk, s.start, s.end, len(answer.citations) + 1)
    return replace(answer, text=f"{answer.text}\n{line}", citations=(*answer.citations, cite))
