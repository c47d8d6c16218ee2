"""Which measures apply to an enterprise (政策匹配).

An enterprise `Profile` (region, types and qualifications, size, activities, a few
figures) is checked against every criterion a `Measure` states. Each criterion is
met, not met, or unknown (the profile does not say); a measure with an unmet
criterion is left out, the others are returned as `MatchResult`s with what they
meet, what is still unknown, and a citation of the source span.

    matcher = Matcher(store)
    for r in matcher.match(Profile(region="绍兴市", types=("规上工业企业",), rd_ratio=3.0)):
        print(r.measure.name, r.status, [c.label() for c in r.unknown])

In a chat, `answer_match(question, matcher)` answers "我们是绍兴的规上工业企业，研发投入
占营收3%，能享受哪些政策？" with a numbered, cited list, and returns None for any
question that is not about eligibility, so the answer chain can fall through.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Collection, Sequence

from policyqa.text.places import PROVINCES, ZHEJIANG_COUNTIES, find_places, province_of
from policyqa.types import Answer, Citation
from rag.evidence import question_places
from ingest.measures import (
    ACTIVITIES,
    ENTERPRISE_TYPES,
    MEASURES,
    PRECURSORS,
    TYPE_IMPLIES,
    Criterion,
    Measure,
    find_activities,
    find_types,
)
from ingest.records import RecordSource, read_all

__all__ = [
    "MET",
    "UNKNOWN",
    "UNMET",
    "MatchResult",
    "Matcher",
    "Profile",
    "SIZES",
    "answer_match",
    "check",
    "question_categories",
    "parse_profile",
]

SIZES = ("大型", "中型", "小型", "微型")
MET, UNMET, UNKNOWN = "met", "unmet", "unknown"
_SMALL = {"中型", "小型", "微型"}


# --------------------------------------------------------------------------- profile


@dataclass(frozen=True)
class Profile:
    """An enterprise, as a form or a JSON file describes it.

    `types` and `activities` use the names in ingest.measures.ENTERPRISE_TYPES and
    ACTIVITIES. With `closed` (a form: what is not ticked is not so) a type or
    activity that is not listed counts as not held; without it (a chat, where people
    mention only some facts) it is unknown. `not_types` are explicitly not held
    either way. Figures: `rd_ratio` is R&D spending in % of revenue, `revenue` is
    annual revenue in 万元. Empty / None means not stated."""

    region: str = ""
    types: tuple[str, ...] = ()
    not_types: tuple[str, ...] = ()
    activities: tuple[str, ...] = ()
    size: str = ""
    rd_ratio: float | None = None
    revenue: float | None = None
    employees: int | None = None
    closed: bool = True
    name: str = ""

    def __post_init__(self) -> None:
        for t in (*self.types, *self.not_types):
            if t not in ENTERPRISE_TYPES:
                raise ValueError(f"unknown enterprise type {t!r}; one of: {', '.join(ENTERPRISE_TYPES)}")
        for a in self.activities:
            if a not in ACTIVITIES:
                raise ValueError(f"unknown activity {a!r}; one of: {', '.join(ACTIVITIES)}")
        if self.size and self.size not in SIZES:
            raise ValueError(f"unknown size {self.size!r}; one of: {', '.join(SIZES)}")

    # -- what the profile says -------------------------------------------------
    def held(self) -> frozenset[str]:
        """Types held, with the types they imply (高新技术企业 -> 科技型企业)."""
        return _held(self.types, self.size)

    def lacked(self) -> frozenset[str]:
        """Types known not to be held."""
        return _lacked(self.not_types, self.size, self.held())

    def does(self) -> frozenset[str]:
        out = set(self.activities)
        if self.rd_ratio is not None and self.rd_ratio > 0:
            out.add("研发投入")
        return frozenset(out)

    def places(self) -> tuple[str, ...]:
        """The profile's region and the regions containing it, most specific first:
        新昌县 -> (新昌县, 绍兴市, 浙江省)."""
        return _place_chain(self.region)


    def summary(self) -> str:
        """The profile in Chinese, without its figures (an answer may state only figures
        its cited passages hold)."""
        parts = [p for p in (self.region, "、".join(self.types), f"{self.size}企业" if self.size else "") if p]
        if self.not_types:
            parts.append("非" + "、".join(self.not_types))
        acts = sorted(self.does(), key=list(ACTIVITIES).index)
        if acts:
            parts.append("有" + "、".join(acts))
        return "，".join(parts)

    # -- JSON ------------------------------------------------------------------
    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Profile":
        """A profile from JSON; types and activities may be written as the documents
        write them (高企, 规模以上工业企业, 技改) and are read into canonical names."""
        unknown = set(d) - {f for f in cls.__dataclass_fields__}
        if unknown:
            raise ValueError(f"unknown profile fields: {', '.join(sorted(unknown))}")
        types = _canonical_types(d.get("types") or ())
        acts = _canonical_activities(d.get("activities") or ())
        return cls(
            region=str(d.get("region") or ""), types=types, not_types=_canonical_types(d.get("not_types") or ()),
            activities=acts, size=str(d.get("size") or ""),
            rd_ratio=_number(d.get("rd_ratio")), revenue=_number(d.get("revenue")),
            employees=int(d["employees"]) if d.get("employees") is not None else None,
            closed=bool(d.get("closed", True)), name=str(d.get("name") or ""),
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def _number(v: Any) -> float | None:
    return None if v is None or v == "" else float(v)


def _canonical_types(values: Sequence[str]) -> tuple[str, ...]:
    out: list[str] = []
    for v in values:
        v = str(v).strip()
        found = [v] if v in ENTERPRISE_TYPES else [n for n, _, _ in find_types(v)]
        if not found:
            raise ValueError(f"unknown enterprise type {v!r}; one of: {', '.join(ENTERPRISE_TYPES)}")
        out += [n for n in found if n not in out]
    return tuple(out)


def _canonical_activities(values: Sequence[str]) -> tuple[str, ...]:
    out: list[str] = []
    for v in values:
        v = str(v).strip()
        found = [v] if v in ACTIVITIES else find_activities(v)
        if not found:
            raise ValueError(f"unknown activity {v!r}; one of: {', '.join(ACTIVITIES)}")
        out += [n for n in found if n not in out]
    return tuple(out)


@lru_cache(maxsize=256)
def _held(types: tuple[str, ...], size: str) -> frozenset[str]:
    out = set(types)
    if size in _SMALL:
        out.add("中小企业")
    for t in list(out):
        out |= TYPE_IMPLIES.get(t, frozenset())
    return frozenset(out)


@lru_cache(maxsize=256)
def _lacked(not_types: tuple[str, ...], size: str, held: frozenset[str]) -> frozenset[str]:
    out = set(not_types)
    if size == "大型":
        out |= {"中小企业", "科技型中小企业", "专精特新企业", "专精特新小巨人企业"}
    return frozenset(out - held)


@lru_cache(maxsize=256)
def _place_chain(region: str) -> tuple[str, ...]:
    if not region:
        return ()
    places = find_places(region)
    if places:
        p = min(places, key=lambda p: ("county", "city", "province").index(p.level))
        if p.level == "county":
            return (p.name, ZHEJIANG_COUNTIES[p.name], "浙江省")
        if p.level == "city":
            return (p.name, "浙江省")
        return (p.name,)
    names = question_places(region) or [region]
    # a city outside Zhejiang: its province from the gazetteer (none for a name it lacks)
    province = province_of().get(names[0])
    return (names[0], province) if province else (names[0],)


# --------------------------------------------------------------------------- checking


def check(criterion: Criterion, profile: Profile) -> str:
    """met | unmet | unknown."""
    kind = criterion.kind
    if kind == "region":
        return _check_region(criterion.values, profile.places())
    if kind == "type":
        accepted = set(criterion.values)
        if criterion.aim:  # a cultivation programme also takes those on the way there
            for t in criterion.values:
                accepted |= PRECURSORS.get(t, frozenset())
        if accepted & profile.held():
            return MET
        if profile.closed or accepted <= profile.lacked():
            return UNMET
        return UNKNOWN
    if kind == "activity":
        if set(criterion.values) & profile.does():
            return MET
        return UNMET if profile.closed else UNKNOWN
    if kind in ("revenue", "rd_ratio", "employees"):
        value = getattr(profile, kind)
        if value is None:
            return UNKNOWN
        ok = (criterion.minimum is None or value >= criterion.minimum) and (
            criterion.maximum is None or value <= criterion.maximum
        )
        return MET if ok else UNMET
    return UNKNOWN  # a condition in the document's words: only the enterprise can tell


def _check_region(values: tuple[str, ...], chain: tuple[str, ...]) -> str:
    if "全国" in values:
        return MET
    if not values or not chain:  # the document or the profile does not say where
        return UNKNOWN
    if set(values) & set(chain):
        return MET
    # a county programme for a profile that names only its city: may be its county
    if any(ZHEJIANG_COUNTIES.get(v) == chain[0] for v in values):
        return UNKNOWN
    # a province-level measure for a city whose province is not known here
    known_province = any(p in PROVINCES.values() for p in chain)
    if not known_province and any(v in PROVINCES.values() for v in values):
        return UNKNOWN
    return UNMET


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class MatchResult:
    measure: Measure
    met: tuple[Criterion, ...]
    unknown: tuple[Criterion, ...]
    citation: Citation
    also: tuple[Citation, ...] = ()  # the same measure stated in other documents

    @property
    def status(self) -> str:
        """符合 when every stated criterion is met; 待确认 when some are unknown."""
        return "待确认" if self.unknown else "符合"

    def to_dict(self) -> dict[str, Any]:
        m = self.measure
        return {
            "id": m.id, "name": m.name, "categories": list(m.categories), "status": self.status,
            "region": m.region, "source": m.source, "title": m.title,
            "met": [c.label() for c in self.met], "unknown": [c.label() for c in self.unknown],
            "amounts": list(m.amounts), "quote": m.quote, "start": m.start, "end": m.end,
            "also": [{"source": c.source, "quote": c.quote, "start": c.start, "end": c.end} for c in self.also],
        }


def _bigrams(s: str) -> set[str]:
    s = re.sub(r"[^\u4e00-\u9fffA-Za-z0-9]", "", s)
    return {s[i : i + 2] for i in range(len(s) - 1)}


def _twin_key(m: Measure) -> tuple:
    """Measures that may be one measure stated twice (a work plan and its newspaper
    report) share region, categories and criteria; their names then decide."""
    return (m.region, frozenset(m.categories), frozenset((c.kind, c.values) for c in m.criteria))


def _similar(x: set[str], y: set[str]) -> bool:
    return bool(x and y) and len(x & y) / len(x | y) >= 0.6


class Matcher:
    """Matches profiles against the measures of an index (extracted at ingest and
    kept by the store) or against a given list of measures."""

    def __init__(self, store: RecordSource | None = None, measures: Sequence[Measure] | None = None) -> None:
        if measures is None:
            if store is None:
                raise ValueError("Matcher needs a store or a list of measures")
            measures = read_all(MEASURES, store)
        self.measures: tuple[Measure, ...] = tuple(measures)

    def match(self, profile: Profile, categories: Collection[str] = ()) -> list[MatchResult]:
        """The measures that apply or may apply, best first: those matched on more
        specific criteria (type, activity, thresholds), then those with fewer unknown
        criteria, then document order. `categories` keeps only those kinds."""
        scored: list[tuple[tuple[int, int, int], int, MatchResult]] = []
        for order, m in enumerate(self.measures):
            if categories and not set(m.categories) & set(categories):
                continue
            met, unknown = [], []
            for c in m.criteria:
                verdict = check(c, profile)
                if verdict == UNMET:
                    break
                (met if verdict == MET else unknown).append(c)
            else:
                specific = sum(c.kind not in ("region", "condition") for c in met)
                r = MatchResult(m, tuple(met), tuple(unknown), m.citation(0))
                scored.append(((-specific, len(unknown), 0), order, r))
        scored.sort(key=lambda t: (t[0], t[1]))
        out: list[MatchResult] = []
        kept: dict[tuple, list[tuple[int, set[str]]]] = {}  # twin key -> (index in out, name bigrams)
        for _, _, r in scored:
            grams = _bigrams(r.measure.name)
            bucket = kept.setdefault(_twin_key(r.measure), [])
            twin = next((i for i, g in bucket if _similar(grams, g)), None)
            if twin is None:
                bucket.append((len(out), grams))
                out.append(r)
            elif all(c.source != r.measure.source for c in (out[twin].citation, *out[twin].also)):
                k = out[twin]
                out[twin] = MatchResult(k.measure, k.met, k.unknown, k.citation, k.also + (r.measure.citation(0),))
        return out


# --------------------------------------------------------------------------- chat

# "能享受哪些政策", "可以申请什么补贴", "符合哪些条件": the question asks what applies.
_ELIGIBILITY = re.compile(
    r"(?:能|可以|可|能够|有资格)(?:享受|申请|申报|获得|拿到|用|适用)|享受(?:哪些|什么|到)|适用(?:哪些|什么|于我)"
    r"|符合哪些|有(?:哪些|什么)(?:政策|措施|补贴|补助|优惠|奖励|支持|扶持)|哪些(?:政策|措施|补贴|补助|优惠|奖励|扶持)"
    r"(?:可以|能|适合|适用)|政策匹配|匹配(?:哪些|什么)?政策"
)
_SELF = re.compile(r"我们|我司|我公司|本公司|我厂|本企业|我企|我单位|咱们|我们公司|我家企业|我是")
_SIZE_WORDS = {"大型": "大型", "中型": "中型", "小型": "小型", "微型": "微型", "小微": "小型", "中小": ""}
_NEGATED = re.compile(r"(?:还?不是|并非|非|没有被?认定为?|未被?认定为?|不属于)$")
_RD_Q = re.compile(
    r"研发(?:投入|费用|经费|支出)?(?:占(?:营收|营业收入|销售收入|主营业务收入)(?:的)?(?:比重|比例)?)?"
    r"(?:约|大约|为|达到|达|是|有|在)?(\d+(?:\.\d+)?)\s*[%％]"
)
_REVENUE_Q = re.compile(r"(?:年)?(?:营收|营业收入|销售收入|销售额|产值)(?:约|大约|为|达到|达|是|有|在)?(\d+(?:\.\d+)?)\s*(万|亿)")
_EMPLOYEES_Q = re.compile(r"(\d+)\s*(?:多|余)?\s*(?:名|个)?(?:员工|职工|人)")


def describes_itself(question: str) -> bool:
    """The asker describes its own enterprise (我们是…, 研发投入占营收3%): in chat, only
    such a question is the matcher's. `上海对中小企业房租方面有哪些优惠` asks what the
    documents say for a kind of enterprise, which the evidence answers."""
    return bool(_SELF.search(question) or _RD_Q.search(question) or _REVENUE_Q.search(question)
                or _EMPLOYEES_Q.search(question))


def parse_profile(question: str) -> Profile | None:
    """The enterprise a chat question describes, or None when the question does not
    ask which measures apply (or describes nothing to match on)."""
    if not _ELIGIBILITY.search(question):
        return None
    types, not_types = [], []
    for name, start, _ in find_types(question):
        target = not_types if _NEGATED.search(question[max(0, start - 6) : start]) else types
        if name not in target:
            target.append(name)
    activities = [a for a in find_activities(question) if not re.search(
        rf"(?:没有|没|不|未)[^，。；]{{0,4}}(?:{ACTIVITIES[a]})", question)]
    size = next((v for k, v in _SIZE_WORDS.items() if k + "企业" in question or k + "型企业" in question), "")
    places = [p for p in question_places(question) if p]
    region = _most_specific(places)
    rd = _RD_Q.search(question)
    rev = _REVENUE_Q.search(question)
    emp = _EMPLOYEES_Q.search(question)
    if not (types or activities or region or size or rd or rev or emp):
        return None
    if not (types or _SELF.search(question) or rd or rev):
        return None  # "绍兴有哪些政策" asks about a place, not about an enterprise
    return Profile(
        region=region, types=tuple(types), not_types=tuple(t for t in not_types if t not in types),
        activities=tuple(activities), size=size,
        rd_ratio=float(rd.group(1)) if rd else None,
        revenue=float(rev.group(1)) * (10000 if rev.group(2) == "亿" else 1) if rev else None,
        employees=int(emp.group(1)) if emp else None,
        closed=False,
    )


_CATEGORY_WORDS = {
    "税费优惠": r"税|减免|免征|加计", "资金补助": r"补贴|补助|资助|资金", "奖励": r"奖励|奖金",
    "金融支持": r"贷款|融资|担保|保险|基金|上市|债券|金融", "人才支持": r"人才|特派员|专家",
    "平台支持": r"平台|研发机构|研究院|孵化|中试|实验室", "项目支持": r"项目|攻关|立项",
}


def question_categories(question: str) -> tuple[str, ...]:
    """The kinds of measure a question asks for (有哪些补贴 -> 资金补助); () for all."""
    # the self-description (我们是…基金公司) does not say what is asked for
    asked = re.sub(r"[^，。？?]*(?:我们|我司|我公司|本公司)是[^，。？?]*", "", question)
    return tuple(
        c for c, rx in _CATEGORY_WORDS.items()
        if re.search(rf"(?:哪些|什么|哪类|申请|享受)[^，。？?]{{0,6}}(?:{rx})", asked)
    )


def _most_specific(places: list[str]) -> str:
    level = {"county": 0, "city": 1, "province": 2}
    ranked = []
    for name in places:
        found = find_places(name)
        ranked.append((level[found[0].level] if found else 1, name))
    return min(ranked)[1] if ranked else ""


def answer_match(
    question: str, matcher: Matcher | RecordSource, limit: int = 8, profile: Profile | None = None
) -> Answer | None:
    """A cited Chinese answer listing the measures that apply to the enterprise the
    question describes; None when the question is not an eligibility question.
    Every citation quotes the measure's span exactly (a substring of its chunk)."""
    t0 = time.perf_counter()
    profile = profile or parse_profile(question)
    if profile is None:
        return None
    m = matcher if isinstance(matcher, Matcher) else Matcher(matcher)
    wanted = question_categories(question)
    results = (m.match(profile, wanted) if wanted else []) or m.match(profile)
    latency = (time.perf_counter() - t0) * 1000
    who = profile.summary() or "您描述的企业"
    if not results:
        return Answer(
            question=question, refused=True, backend="match", latency_ms=latency,
            text=f"文件中未找到适用于{who}的支持措施。可以补充所在地区、企业类型或开展的活动后再试。",
            citations=(),
        )
    shown = results[:limit]
    # no counts in the text: an answer states only figures its cited passages hold
    lines = [f"根据文件，以下措施可能适用于{who}（按相关程度列出主要几项）："
             if len(results) > len(shown) else f"根据文件，以下措施可能适用于{who}："]
    citations: list[Citation] = []
    for i, r in enumerate(shown, 1):
        marks = []
        for c in (r.citation, *r.also):
            n = len(citations) + 1
            citations.append(Citation(n, c.source, c.title, c.quote, c.heading_path, c.page, c.start, c.end,
                                      c.chunk_id))
            marks.append(f"[{n}]")
        where = r.measure.region or "来源文件"
        line = f"{i}. {r.measure.name}（{'、'.join(r.measure.categories)}，{where}）{''.join(marks)}"
        met = [c.label() for c in r.met if c.kind != "region"]
        if met:
            line += "；满足：" + "，".join(met)
        if r.unknown:
            line += "；待确认：" + "，".join(c.label() for c in r.unknown)
        lines.append(line + "。")
    lines.append("以上依据文件原文整理，具体申报条件和标准以主管部门发布的实施细则为准。")
    return Answer(
        question=question, text="\n".join(lines), citations=tuple(citations), backend="match",
        latency_ms=latency, notes=("由政策匹配给出：逐项核对了文件所写的适用条件；更多结果见“政策匹配”页。",),
    )
