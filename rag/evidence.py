"""Sentence-level evidence: split passages into sentences, score them against a
question, and decide whether the evidence answers it at all.

Used by the extractive backend to compose answers, by the chain to choose quotes
for citations, and by every backend to refuse before an LLM can invent an answer.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Sequence

from ingest.clean import HEADING_RE
from ingest.tables import is_separator, is_table_line, split_sentences
from ingest.tokenize import Tokenizer
from policyqa.text.docnums import without_doc_numbers
from policyqa.text.figures import extract_figures, unit_at
from policyqa.text.lexicon import read_words
from policyqa.text.places import (ambiguous_stems, divisions, find_places, place_stem, province_of,
                                  question_scope_words, whole_area, wider_words)
from policyqa.types import Chunk, Hit

_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*年")


def _city_pattern() -> re.Pattern[str]:
    """Every prefecture-level city of China, by full name or, unless the name is also
    a common word, by its stem (本溪, 德阳), so a question about it is recognised."""
    cities = [d for d in divisions() if d.level == "city" and d.name.endswith("市")]
    names = {d.name for d in cities} | {d.stem for d in cities if d.stem not in ambiguous_stems()}
    return re.compile("|".join(sorted(names, key=len, reverse=True)))


_OTHER_CITY_RE = _city_pattern()
# Words that set a scope without naming a place: the province or city a document is about.
_SCOPE = question_scope_words()
_SCOPE_RE = re.compile("|".join(_SCOPE))
# 哪几个/哪几项 asks which ones (a list), not how many.
_QUANTITY_Q = re.compile(r"多少|(?<!哪)几[家个项人次万亿%]|几成|比重|比例|占比|目标|数量|金额|多大|多高|百分之|增速|增幅|规模|额度|上限|不超过|达到")
# Questions that can only be answered with a figure.
_NEEDS_FIGURE = re.compile(r"多少|(?<!哪)几[家个项人次万亿%名条章]|几成|比重|比例|占比|量化|金额|数量|多大|多高|百分之")
# Interrogatives and framing words: they say what kind of answer is wanted, not what
# it is about, so evidence is not scored on them.
_QUESTION_WORDS = frozenset(read_words("question_words.txt"))
# In raw text only words of two or more characters are cut out: a single one (过, 说)
# is also part of content words (通过, 说明).
_QUESTION_WORD_RE = re.compile("|".join(sorted((w for w in _QUESTION_WORDS if len(w) > 1), key=len, reverse=True))
                               + r"|[吗呢吧啊？?，,。、\s]")
_ASKS_DOCNO = re.compile(r"文号|发文字号|文件编号|字号")
_ASKS_DATE = re.compile(r"哪天|哪一天|什么时候|什么时间|哪个时间|何时|日期|哪年哪月|几月几日|几号|截[止至]时间")
# A question asking for several things at once: distributive words, or two questions.
_DISTRIBUTIVE = re.compile(r"各[是有为自打要定]?|分别|各自|两[个项]|哪两")
_QUESTION_SENTENCE = re.compile(r"[^？?。！!]{2,}[？?]")  # two questions in one turn: two parts
_CONFIRM_Q = re.compile(r"是真的吗|是不是真的|对吧|对吗|是吗|没记错|是这样吗|是这个数吗|吧\s*[？?]\s*$|听说")
_ASKS = re.compile(r"多少|多大|几[家个项人次万亿%名条章成]|什么|哪[些个天年里]")
_LIST_Q = re.compile(r"哪些|哪几|有什么|包括什么|包含什么|几个方面|几项|什么内容|都有|主要措施|主要任务|举措|如何|怎样|怎么|有何")
_QUOTED = re.compile(r"[“\"「『]([^”\"」』]{2,20})[”\"」』]")
_LATIN = re.compile(r"[A-Za-z][A-Za-z&+\-]*[A-Za-z]")


SHORT_LINE = 30  # characters: a shorter line joins the next one as evidence
# Verbs and comparators between what is measured and its figure (比重超过67.5%).
_CONNECTOR_TAIL = re.compile(r"(?:超过|达到|达|不低于|不少于|保持在|保持|为|是|突破|约|新增|新认定|认定|累计|实现|增长|提高到|提升至|至|到)+\s*$")


@dataclass(frozen=True)
class Sentence:
    hit_index: int  # position of the passage in the hit list (0-based)
    start: int  # offsets within the chunk text
    end: int
    text: str


@dataclass(frozen=True)
class Scored:
    sentence: Sentence
    score: float  # about 0..1: weighted share of the question's terms the sentence covers
    has_figure: bool
    units: frozenset[str] = frozenset()  # units of the quantities the sentence states
    terms: frozenset[str] = frozenset()  # the question's terms the sentence itself contains
    coverage: float = 0.0  # share of the question's character bigrams in the sentence and its headings


_CONTENT_RUN = re.compile(r"[\u4e00-\u9fff0-9a-z%]+")


def _bigrams(text: str) -> set[str]:
    return {run[i : i + 2] for run in _CONTENT_RUN.findall(text) for i in range(len(run) - 1)}


def _nearness(text: str, terms: dict[str, float], figures: Sequence) -> float:  # type: ignore[type-arg]
    """1 when a figure stands right after the most specific question term the text
    holds ("技术交易额…450亿元"), falling to 0 at 40 characters: a figure far from
    what was asked about usually answers something else."""
    present = [t for t in terms if len(t) >= 2 and t in text]
    if not present or not figures:
        return 0.0
    best = 0.0
    for t in sorted(present, key=lambda t: -terms[t])[:3]:
        for m in re.finditer(re.escape(t), text):
            for f in figures:
                # Chinese states the figure after what it measures; one before counts less.
                gap = f.start - m.end() if f.start >= m.end() else 3 * (m.start() - f.end)
                best = max(best, 1.0 - min(max(gap, 0), 40) / 40)
    return best


def asks_for_quantity(question: str) -> bool:
    return bool(_QUANTITY_Q.search(question))


def needs_figure(question: str) -> bool:
    return bool(_NEEDS_FIGURE.search(question)) and not asks_doc_number(question)


def asks_doc_number(question: str) -> bool:
    return bool(_ASKS_DOCNO.search(question))


def asks_date(question: str) -> bool:
    return bool(_ASKS_DATE.search(question))


def mandatory_terms(question: str) -> list[str]:
    """Terms the evidence must contain: quoted names (“小巨人”) and Latin acronyms
    (GDP, MaaS) are too specific to be paraphrased away."""
    terms = [m.group(1) for m in _QUOTED.finditer(question)]
    terms += [m.group(0) for m in _LATIN.finditer(question) if m.group(0).upper() != "R&D"]
    return terms


def is_multipart(question: str) -> bool:
    """`…和…各多少家？`, `…分别是多少？`, `有多大？…扩到多少？`: the answer has several parts."""
    return (bool(_DISTRIBUTIVE.search(question)) or len(_ASKS.findall(question)) >= 2
            or len(_QUESTION_SENTENCE.findall(question)) >= 2)


def asks_list(question: str) -> bool:
    """`有哪些`, `哪几项`, `如何`: the answer is several items or steps, usually in the
    lines after a lead."""
    return bool(_LIST_Q.search(question))


def asks_confirmation(question: str) -> bool:
    """`…是真的吗？`, `…对吧？`, `听说…`: the question asserts something and asks whether
    it holds."""
    return bool(_CONFIRM_Q.search(question))


def question_years(question: str) -> set[str]:
    return set(_YEAR.findall(question))


def question_places(question: str) -> list[str]:
    """Places the question names (full names), in order, without duplicates."""
    found = _place_positions(question)
    taken = {at for at, _ in found}  # 吉林省 is the province, not also 吉林市
    found += [(m.start(), m.group(0).removesuffix("市") + "市") for m in _OTHER_CITY_RE.finditer(question)
              if m.start() not in taken]
    names: list[str] = []
    for _, name in sorted(found):
        if name not in names:
            names.append(name)
    return names


def _place_positions(text: str) -> list[tuple[int, str]]:
    """(offset, full name) of the gazetteer places in `text`, in order."""
    out, pos = [], 0
    for p in find_places(text):
        i = text.find(place_stem(p.name), pos)
        if i >= 0:
            pos = i + 1
            out.append((i, p.name))
    return out


def question_scope(question: str) -> str:
    """'province' for 全省/省里…, 'city' for 全市…, '' when the question sets none."""
    m = _SCOPE_RE.search(question)
    return _SCOPE[m.group(0)] if m else ""


# 几月几日 asks for a date, not a count of months and days.
_NOT_COUNTED = {"月", "日"}
# Generic measure words stand for one another: 几个项目 is answered by 6项, 多少类 by 三种.
_GENERIC = {"个", "项", "种", "类"}


def expected_units(question: str) -> set[str]:
    """Units a quantity question asks for, from its own words; empty when it does not say.
    An answer sentence must hold a figure in one of them."""
    units: set[str] = set()
    if re.search(r"多少(?:万|亿)?元|金额|资金|奖金|奖励多少|补贴多少|补助多少|多少补贴|多少补助|多少钱|额度", question):
        units.add("元")
    if re.search(r"比例|比重|占比|税率|增长率|覆盖率|百分之", question):
        units |= {"%", "百分点"}
    # 多少/几 and a measure word: the figure counts in it (多少吨, 几个, 多少张床位).
    for m in re.finditer(r"多少|(?<!哪)几", question):
        unit = unit_at(question, m.end())
        if unit and unit not in _NOT_COUNTED:
            units |= _GENERIC if unit in _GENERIC else {unit}
    return units


class EvidenceScorer:
    """Scores sentences by the weighted share of question terms they contain. A term's
    weight grows with its length (longer Chinese words are more specific)."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer

    def terms(self, question: str) -> dict[str, float]:
        """The question's content terms and their weights."""
        terms: dict[str, float] = {}
        # A document number names the document (retrieval is scoped to it), not the answer.
        question = without_doc_numbers(question)
        for tok in self.tokenizer.tokens(question):
            if _YEAR.fullmatch(tok + "年") or tok in _QUESTION_WORDS:
                continue  # years are checked separately
            terms[tok] = max(terms.get(tok, 0.0), 1.0 + math.log(len(tok)))
        return terms

    def question_bigrams(self, question: str) -> set[str]:
        """The character bigrams of what the question is about: interrogatives, years
        and document numbers taken out. Bigrams match however jieba cuts either text
        (部到, 京市), and a paraphrase keeps many of them."""
        question = without_doc_numbers(self.tokenizer.expand_aliases(question).lower())
        question = _YEAR.sub(" ", _QUESTION_WORD_RE.sub(" ", question))
        return _bigrams(question)

    def sentences(self, hits: Sequence[Hit]) -> list[Sentence]:
        """Evidence units: sentences, with a short line (a title, a heading, a label, a
        document number) joined to what follows it, since it says little alone."""
        out = []
        for i, h in enumerate(hits):
            text = h.chunk.text
            start = None
            end = 0
            for a, b in split_sentences(text):
                if is_table_line(text[a:b]):
                    # A row stands alone (its header names its cells); a short line
                    # before the table does too, and the separator is no evidence.
                    if start is not None:
                        out.append(Sentence(i, start, end, text[start:end]))
                        start = None
                    if not is_separator(text[a:b]):
                        out.append(Sentence(i, a, b, text[a:b]))
                    continue
                end = b
                if start is None:
                    line = text[a:b].rstrip()
                    if HEADING_RE.match(line) and b - a < SHORT_LINE and not line.endswith(("。", "！", "？")):
                        # a numbered heading is context, already in the heading path; a
                        # short numbered item that is a sentence (`四、申报截止时间为9月30日。`) is not
                        continue
                    start = a
                if b - start < SHORT_LINE:
                    continue
                out.append(Sentence(i, start, b, text[start:b]))
                start = None
            if start is not None:
                out.append(Sentence(i, start, len(text.rstrip()), text[start:].rstrip()))
        return out

    def score(self, question: str, hits: Sequence[Hit]) -> list[Scored]:
        terms = self.terms(question)
        total = sum(terms.values()) or 1.0
        want_number = asks_for_quantity(question)
        years = question_years(question)
        place_stems = {place_stem(p) for p in question_places(question)}
        grams = self.question_bigrams(question)
        scored = []
        for s in self.sentences(hits):
            context = self.tokenizer.expand_aliases(s.text).lower()
            head = hits[s.hit_index].chunk
            # The heading and title give a sentence context its own words lack
            # ("全省新认定…" under "着力扩面提质科技型企业"), at a discount.
            around = self.tokenizer.expand_aliases(f"{head.title} {head.heading_path}").lower()
            covered = sum(
                w if t in context or (t in place_stems and t in head.region) else (0.5 * w if t in around else 0.0)
                for t, w in terms.items()
            )
            figures = [f for f in extract_figures(s.text) if f.kind == "quantity"]
            value = covered / total
            if want_number and figures:
                value += 0.15 + 0.15 * _nearness(context, terms, figures)
            if years and any(y in s.text or y in head.title or head.date.startswith(y) for y in years):
                value += 0.2
            value -= 0.02 * s.hit_index  # prefer better-ranked passages on ties
            own = frozenset(t for t in terms if t in context)
            # Headings count in full here: a heading states what its sentences are about.
            where = f"{context} {around}"
            share = sum(g in where for g in grams) / len(grams) if grams else 0.0
            scored.append(Scored(s, value, bool(figures), frozenset(f.unit for f in figures), own, share))
        scored.sort(key=lambda x: (-x.score, x.sentence.hit_index, x.sentence.start))
        return scored

    def key_figure(self, question: str, sentence: str):  # type: ignore[no-untyped-def]
        """The figure in `sentence` that answers `question`: the one whose preceding words
        the question repeats at greatest length (省级企业技术中心130家, not the
        国家企业技术中心5家 before it). None when no figure is clearly singled out."""
        q = self.tokenizer.expand_aliases(question)
        scored = []
        for f in extract_figures(sentence):
            if f.kind != "quantity":
                continue
            before = _CONNECTOR_TAIL.sub("", sentence[: f.start])
            n = 0
            while n < min(len(before), 24) and before[len(before) - n - 1 :] in q:
                n += 1
            scored.append((n, f))
        scored.sort(key=lambda t: -t[0])
        if not scored or scored[0][0] < 2 or (len(scored) > 1 and scored[1][0] == scored[0][0]):
            return None
        return scored[0][1]


def is_headline(chunk: Chunk, start: int, sentence: str) -> bool:
    """The sentence at `start` in `chunk` opens its document or states its title."""
    return chunk.start + start == 0 or len(chunk.title) >= 6 and chunk.title in sentence


def names_place(place: str, chunk: Chunk, sentence: str, before: str = "") -> bool:
    """The evidence itself says it is about `place`: its document's region or title,
    its heading, the sentence or the text just before it names the place."""
    stem = place_stem(place)
    return any(stem in s for s in (chunk.region, chunk.title, chunk.heading_path, sentence, before[-80:]))


def about_place(place: str, chunk: Chunk, sentence: str, before: str = "") -> bool:
    """Whether evidence is about `place`: its document's region or title, its heading,
    the sentence, or the text just before it names it. A passage that names the place
    only somewhere else (a list of cities) does not count."""
    if names_place(place, chunk, sentence, before):
        return True
    stem = place_stem(place)
    # A document whose region is unknown, or only the province the place lies in (a
    # city outside the places ingest recognises), is about the place its passage names.
    broader = not chunk.region or chunk.region == province_of().get(place)
    return broader and stem in chunk.text


# Words by which a sentence speaks for an area wider than a province, or than a city.
_WIDER = {level: re.compile("|".join(wider_words(level))) for level in ("province", "city")}
_MUNICIPALITIES = {"北京市", "上海市", "天津市", "重庆市"}


def wider_scope(sentence: str, places: Sequence[str]) -> bool:
    """The sentence speaks for a wider area than every place asked about: 全省 in an
    answer about 温州市, 全国 in one about 浙江省."""
    def level(place: str) -> str:
        return "province" if place.endswith(("省", "自治区")) or place in _MUNICIPALITIES else "city"
    return bool(places) and all(_WIDER[level(p)].search(sentence) for p in places)


def in_scope(scope: str, chunk: Chunk, sentence: str) -> bool:
    """全省 asks about a province-level document; a city plan saying 全省前列 is not one.
    Only when the level is unknown does the sentence's own 全省/全市 decide."""
    if not scope:
        return True
    if chunk.level:
        return chunk.level == scope
    return whole_area(scope) in sentence


def missing_place(question: str, hits: Sequence[Hit]) -> str:
    """A place the question names that none of the passages is about or mentions;
    '' when every named place is covered."""
    return first_absent(question_places(question), hits)


def first_absent(places: Sequence[str], hits: Sequence[Hit]) -> str:
    """The first of `places` that no passage is about or mentions; '' when none."""
    for place in places:
        stem = place_stem(place)
        if not any(stem in h.chunk.region or stem in h.chunk.text or stem in h.chunk.title for h in hits):
            return place
    return ""


def missing_year(question: str, chunk: Chunk) -> str:
    """A year the question names that the evidence passage's document does not state."""
    context = f"{chunk.title} {chunk.date} {chunk.heading_path} {chunk.text}"
    for year in sorted(question_years(question)):
        if year not in context:
            return year
    return ""
