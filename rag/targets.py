"""Target figures at question time: the records of an index (extracted at ingest by
ingest/targets.py and saved by the store), filtered for the 指标 tab and
`policyqa targets`, and matched to a question by its indicator words, place, scope
and year."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ingest.records import RecordSource, read_all
from ingest.targets import TARGETS, TargetRecord, indicator_key, normalise_terms, same_indicator
from policyqa.text.places import place_stem, question_scope_words

__all__ = [
    "TargetRecord",
        "load_targets",
    "filter_targets",
    "list_targets",
    "question_key",
    "match_scores",
    "TargetMatch",
    "best_match",
    "asks_achievement",
]

def load_targets(store: RecordSource) -> list[TargetRecord]:
    """Every record of an index, in document order (see ingest/records.py)."""
    return read_all(TARGETS, store)


def filter_targets(records: Iterable[TargetRecord], region: str = "", indicator: str = "", kind: str = "",
                   level: str = "", source: str = "", year: str = "") -> list[TargetRecord]:
    """Records matching every given filter: a region by name or stem (绍兴 = 绍兴市),
    an indicator by words (高企 finds 新认定高新技术企业数), a kind, level, source, year."""
    stem = place_stem(region.strip()) if region else ""
    want = indicator_key(indicator) if indicator else ""
    words = normalise_terms(indicator) if indicator else ""
    out = []
    for r in records:
        if stem and stem not in r.region:
            continue
        if kind and r.kind != kind or level and r.level != level or source and r.source != source:
            continue
        if year and r.year != year:
            continue
        if want and not (want in r.indicator_key or words in normalise_terms(r.indicator)
                         or same_indicator(r.indicator, indicator)):
            continue
        out.append(r)
    return out


def list_targets(store: RecordSource, region: str = "", indicator: str = "", kind: str = "", level: str = "",
                 source: str = "", year: str = "") -> list[TargetRecord]:
    """The records of an index, filtered; in document order."""
    return filter_targets(load_targets(store), region, indicator, kind, level, source, year)


# --------------------------------------------------------------------------- questions

def _question_noise() -> re.Pattern[str]:
    # Single characters only where they cannot be part of an indicator's name.
    return re.compile(
        r"多少[家个项人次万亿元名所条座台套]*|几[家个项人次名]?|什么|哪些|分别|各自|各是|各提出|是(?=多少)|目标值?|指标|要求"
        r"|提出了?|提了?|计划|今年|明年|全年|量化|方面|以及|、|？|\?|，|,|。|呢|吗|达到|多高|多大|水平|怎样|如何"
        r"|方案|工作要点|要点|行动方案|文件|规定|" + "|".join(question_scope_words()) + r"|(?:19|20)\d{2}年?|按照?|根据|年度"
        r"|的|和|与|及|对|各|了|(?:^|(?<=\|))在|[上中](?=[|，,？?。]|$)"
    )


_NOISE = _question_noise()


def question_key(question: str, places: Sequence[str] = ()) -> str:
    """The words of a question that name an indicator, normalised like indicator keys,
    with places, scope words, years and framing replaced by separators."""
    q = normalise_terms(question)
    for p in places:
        for name in sorted({p, place_stem(p)}, key=len, reverse=True):
            if name:
                q = q.replace(name, "|")
    # Twice: a word stands alone only once its neighbours are gone (建设上分别).
    return _NOISE.sub("|", _NOISE.sub("|", q))


def _bigrams(s: str) -> set[str]:
    s = re.sub(r"[“”\"'‘’「」《》（）()\s]", "", s)
    return {s[i : i + 2] for i in range(len(s) - 1) if "|" not in s[i : i + 2]}


def match_scores(qkey: str, record: TargetRecord) -> tuple[float, float]:
    """(share of the question's indicator words the record's indicator holds,
    share of the record's indicator the question names), on character bigrams."""
    q = _bigrams(qkey)
    best = (0.0, 0.0)
    for name in (record.indicator_key, normalise_terms(record.indicator)):
        k = _bigrams(name.replace("的", ""))
        if not q or not k:
            continue
        common = len(q & k)
        pair = (common / len(q), common / len(k))
        if sum(pair) > sum(best):
            best = pair
    return best


@dataclass(frozen=True)
class TargetMatch:
    """The records that answer a question about one indicator: the best one first,
    then the other documents stating the same value for it."""

    records: tuple[TargetRecord, ...]
    score: float
    question_share: float  # share of the question's indicator words the best record holds
    indicator_share: float  # share of the best record's indicator words the question names


_ASKS_ACHIEVED = re.compile(r"已经|目前|现有|现在|截至|截止|实际|完成了|达到了|取得了|去年|上年")
MIN_QUESTION_SHARE = 0.6
MIN_INDICATOR_SHARE = 0.25
AMBIGUITY_MARGIN = 0.05  # a record with another value this close to the best leaves the question open


def asks_achievement(question: str) -> bool:
    return bool(_ASKS_ACHIEVED.search(question))


def best_match(question: str, records: Sequence[TargetRecord], place: str = "", scope: str = "",
               years: Iterable[str] = (), units: Iterable[str] = (), places: Sequence[str] = ()) -> TargetMatch | None:
    """The records stating the figure a question asks for, in `place` (a region) or at
    `scope` level (province/city), in one of `years`, in one of `units`; None when no
    record is a clear answer (too few of the question's words, or two values tie).

    `places` are every place the question names, so none of them is read as part
    of the indicator."""
    qkey = question_key(question, [*places, place] if place else places)
    kind = "achievement" if asks_achievement(question) else "target"
    stem = place_stem(place) if place else ""
    years, units = set(years), set(units)
    scored: list[tuple[float, float, float, TargetRecord]] = []
    for r in records:
        if r.kind != kind or (stem and stem not in r.region) or (scope and r.level != scope):
            continue
        if years and r.year not in years or units and r.unit and r.unit not in units:
            continue
        q, k = match_scores(qkey, r)
        if q >= MIN_QUESTION_SHARE and k >= MIN_INDICATOR_SHARE:
            scored.append((0.6 * q + 0.4 * k, q, k, r))
    if not scored:
        return None
    scored.sort(key=lambda t: -t[0])
    score, q, k, best = scored[0]
    value = (best.value, best.value_max, best.unit)
    for s, _, _, r in scored[1:]:
        if s >= score - AMBIGUITY_MARGIN and ((r.value, r.value_max, r.unit) != value or r.year != best.year):
            return None  # two values (or two years) fit the question equally well
    same = [best]
    for s, _, _, r in scored[1:]:
        if (r.value, r.value_max, r.unit) == value and r.year == best.year and r.source not in {x.source for x in same} \
                and (s >= score - 0.15 or same_indicator(r.indicator, best.indicator)):
            same.append(r)
    return TargetMatch(tuple(same), score, q, k)
