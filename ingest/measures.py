"""Support measures (政策措施) read from the indexed chunks: what an enterprise can
get (tax and fee relief, subsidies, awards, financing, talent, platform and project
support, cultivation programmes), who qualifies (region, enterprise type, activity,
thresholds, stated conditions) and the exact span of the document that says so.

Extraction is an ingest step (`MEASURES`, kept by the store with each generation,
see ingest/records.py) that reads one document's chunks: they carry offsets into the
cleaned document text, so the text is rebuilt from them and split into sentences
and clauses. A clause that names a
support instrument (加计扣除, 补助, 贷款, 研发机构, 特派员 …) opens a measure, with
the 对…的 clause before it and the remarks after it; it is kept when it is an offer
(a support verb such as 支持/给予/落实, or an instrument that is one by nature such
as 补助/奖励), is not a report of past work or a target, and is made to enterprises.

Everything a measure states (types, activities, thresholds, conditions, amounts)
comes from its own span; nothing is guessed from the document's name.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import asdict, dataclass, fields
from typing import Any, Iterable, Sequence

from ingest.clean import HEADING_RE
from ingest.document import text_from_chunks
from ingest.records import RecordKind
from ingest.tables import split_sentences
from policyqa.text.figures import extract_figures
from policyqa.text.places import ZHEJIANG_CITIES, ZHEJIANG_COUNTIES, find_places
from policyqa.types import Chunk, Citation
from policyqa.text.numerals import ONE_TO_TEN

__all__ = [
    "ACTIVITIES",
    "CATEGORIES",
    "Criterion",
    "ENTERPRISE_TYPES",
    "Measure",
    "PRECURSORS",
    "TYPE_IMPLIES",
    "extract_measures",
    "find_activities",
    "find_types",
    "MEASURES",
]

# --------------------------------------------------------------------------- vocabularies

# Support instruments, in display order. A clause naming one of these is a candidate
# measure of that category.
CATEGORIES: dict[str, re.Pattern[str]] = {
    "税费优惠": re.compile(
        r"加计扣除|加计抵减|所得税(?:优惠|减免|减按)|税收(?:优惠|政策|减免)|减免税|税[^，。；]{0,6}(?:减免|减征|免征)"
        r"|免征|减征|即征即退|税前扣除|退税|(?:费|租金)[^，。；]{0,4}(?:减免|减半|缓缴|返还)|缓缴"
    ),
    "资金补助": re.compile(r"后补助|补助|补贴|奖补|资助|财政支持|资金支持|专项资金|以奖代补|贴息"),
    "奖励": re.compile(r"奖励|奖金|分档奖|表彰"),
    "金融支持": re.compile(
        r"贷款|担保|(?<!社会)(?<!工伤)(?<!养老)(?<!失业)(?<!医疗)(?<!生育)保险(?!费|待遇)|基金(?!委|会)|融资|债券|上市|信贷|授信|金融产品|创新积分|科创指数|科技金融|续贷|转贷"
    ),
    "人才支持": re.compile(
        r"特派员|科技副总|产业教授|双聘|人才(?:引进|引育|计划|政策|支持|驿站|编制池|认定|评价|交流)|创新创业团队"
        r"|引才|技术经理人|海外工程师|顶尖人才|领军人才|青年科技人才|互聘共享|四大员"
    ),
    "平台支持": re.compile(
        r"研发机构|企业研究院|重点企业研究院|(?:企业)?技术中心|研发中心|中试(?:平台|基地|小试基地)|孵化器|众创空间"
        r"|概念验证|创新联合体|重点实验室|制造业创新中心|产业创新服务综合体|数字化车间|智能化工厂|未来工厂"
        r"|公共服务平台"
    ),
    "项目支持": re.compile(r"攻关(?:专项|项目)|(?:共同|联合)攻关|科技项目|重大科技专项|科技计划|“?尖兵”?“?领雁”?|立项|首台[（(]?套[）)]?"),
    "培育服务": re.compile(
        r"培育(?:行动|计划|工程|库|体系|覆盖面)|梯[度次]培育|一企一策|组团式|增值式服务|研发准备金|政策包"
        r"|“\d+\+\d+”政策|发布会|路演|产融对接|先用后转|标准(?:制定|修订)|制、修订[^，。；]{0,6}标准|开放共享|贯标"
    ),
    # 给予…支持, 支持…企业…: support stated without a named instrument
    "综合支持": re.compile(
        r"给予[^，。；]{0,12}(?:支持|保障|倾斜|便利)|优先(?:协调|保障|支持|安排)|“首[^”]{1,4}”支持"
        r"|(?:支持|鼓励|帮助)[^，。；与和及]{0,6}企业"
    ),
}

# A measure offers something: one of these verbs (or a 对…的 / 对…企业 condition) must
# stand in its clauses, so targets (新认定高新技术企业5000家) are not measures.
_VERB = re.compile(
    r"(?<!资金)(?<!政策)(?<!金融)(?<!财政)支持|给予|落实|鼓励|扶持|优先|享受|发放|提供|设立|推广|实行|实施"
    r"|引导(?!基金)|加大|出台|开发|选派|派遣|组建|推行|减免|补助|奖励|兑现|帮助|扩大|帮扶|纳入"
)
# A news report of what was done (举办了对接会) is not an offer.
_REPORTED = re.compile(
    r"(?:举办|进行|召开|征集|制定|开展|印发|发布|出台|推出|组织|签约|达成|搭建|实现|完成|取得|建立|设立)了"
    r"|(?:近日|日前|近期|最近)[^，。；]{0,12}(?:印发|发布|出台)"
)
# A clause that says for whom (对…的, 凡…的) and leaves the offer to the next clause.
_FOR_OPENER = re.compile(r"^(?:对|凡|符合|经认定|获得|首次|被)")
_ENTERPRISE = re.compile(r"企(?!业孵化器)")
# Instruments that are offers by nature; the others (贷款, 研发机构, 人才 …) also
# appear in targets and reports, so a support verb must stand with them.
_OFFERS = {"税费优惠", "资金补助", "奖励", "培育服务", "综合支持"}
# Categories whose beneficiary is an enterprise even when the clause does not say so.
_IMPLIED_ENTERPRISE = {"税费优惠", "金融支持"}

# Enterprise types: canonical name -> how documents write it. Matched longest first,
# so 科技型中小企业 is not also read as 中小企业.
ENTERPRISE_TYPES: dict[str, str] = {
    "高新技术企业": r"(?:国家)?高新技术企业|高企",
    "科技型中小企业": r"(?:省级?|国家)?科技型中小企业?|科小",
    "规上工业企业": r"规上工业企业|规模以上工业企业|规上企业|规上制造业企业|规模以上企业",
    "先进制造业企业": r"先进制造业企业",
    "专精特新小巨人企业": r"专精特新[“\"]?小巨人[”\"]?企业|专精特新[“\"]?小巨人[”\"]?",
    "专精特新企业": r"[“\"]?专精特新[”\"]?(?:中小)?企业|专精特新",
    "独角兽企业": r"(?:准)?独角兽企业|独角兽",
    "科技领军企业": r"科技领军企业",
    "科技小巨人企业": r"科技[“\"]?小巨人[”\"]?企业",
    "单项冠军企业": r"(?:制造业)?单项冠军企业",
    "隐形冠军企业": r"隐形冠军企业",
    "龙头企业": r"龙头企业|[“\"]?链主[”\"]?企业",
    "雄鹰企业": r"雄鹰企业",
    "技术先进型服务企业": r"技术先进型服务企业",
    "国有企业": r"(?:省属|市属)?国有企业|国企",
    "上市企业": r"上市(?:公司|企业)",
    "科技型企业": r"科技型企业|科技企业(?!孵化器)",
    "中小企业": r"中小微企业|中小企业|小微企业",
    "信息软件企业": r"信息软件企业|软件企业",
    "农业企业": r"农业(?:龙头)?企业",
    "制造业企业": r"制造业企业|工业企业",
}
_TYPE_RE = re.compile("|".join(f"(?P<t{i}>{p})" for i, p in enumerate(ENTERPRISE_TYPES.values())))
_TYPE_NAMES = list(ENTERPRISE_TYPES)

# A type that holds another: a 高新技术企业 is a 科技型企业, a 规上工业企业 an 制造业企业 …
TYPE_IMPLIES: dict[str, frozenset[str]] = {
    "高新技术企业": frozenset({"科技型企业"}),
    "科技型中小企业": frozenset({"科技型企业", "中小企业"}),
    "规上工业企业": frozenset({"制造业企业"}),
    "先进制造业企业": frozenset({"制造业企业"}),
    "专精特新小巨人企业": frozenset({"专精特新企业", "中小企业"}),
    "专精特新企业": frozenset({"中小企业"}),
    "科技小巨人企业": frozenset({"科技型企业"}),
    "科技领军企业": frozenset({"科技型企业"}),
    "独角兽企业": frozenset({"科技型企业"}),
    "单项冠军企业": frozenset({"制造业企业"}),
}
# Cultivation programmes (培育高新技术企业) aim at enterprises on the way to a status:
# a type named as the aim of a programme is also met by these earlier stages.
PRECURSORS: dict[str, frozenset[str]] = {
    "高新技术企业": frozenset({"科技型中小企业", "科技型企业"}),
    "科技型中小企业": frozenset({"中小企业", "科技型企业"}),
    "专精特新企业": frozenset({"中小企业", "科技型中小企业"}),
    "专精特新小巨人企业": frozenset({"专精特新企业"}),
    "科技小巨人企业": frozenset({"高新技术企业"}),
    "科技领军企业": frozenset({"高新技术企业", "科技小巨人企业"}),
    "单项冠军企业": frozenset({"专精特新小巨人企业"}),
    "隐形冠军企业": frozenset({"专精特新企业"}),
    "雄鹰企业": frozenset({"龙头企业"}),
}
_AIM_CUE = re.compile(r"培育|培养|认定|遴选|新突破|倍增|扩面|覆盖面|引进|招引|争创|打造|新增|入库|发现")

# What an enterprise does, which a measure may require (研发费用加计扣除 needs R&D).
ACTIVITIES: dict[str, str] = {
    "研发投入": r"研发(?:投入|费用|支出|经费|活动|准备金|统计)|R&D|研究开发费用",
    "技术改造": r"技术改造|技改|数字化车间|智能化工厂|智能工厂|未来工厂|(?:数字化|智能化)+改造|设备更新",
    "中试验证": r"中试|概念验证|小试",
    "成果转化": r"成果转化|先用后转|技术转移|成果[^，。；]{0,4}转化|技术交易",
    "研发机构建设": r"研发机构|企业研究院|企业技术中心|研发中心|重点实验室|新型研发机构",
    "新产品开发": r"新产品|首台[（(]?套[）)]?|首版次|首批次",
    "标准制定": r"标准(?:制定|修订)|制、修订[^，。；]{0,6}标准|国际标准|行业标准",
    "技术攻关": r"攻关|科技项目|重大科技专项|“?尖兵”?|“?领雁”?|技术需求|技术难题",
    "上市融资": r"上市|债券|股权融资",
    "知识产权": r"知识产权|专利",
    "数字化转型": r"数字化转型|人工智能|大模型|智能体",
}
_ACTIVITY_RE = {name: re.compile(p) for name, p in ACTIVITIES.items()}

# Thresholds a measure states for who qualifies ("年营业收入2000万元以上的企业").
_REVENUE = re.compile(
    r"(?:年)?(?:营业收入|销售收入|主营业务收入|营收)(?:在|达到|达|超过)?(\d+(?:\.\d+)?)\s*(万|亿)元(?:及)?以上"
)
_RD_RATIO = re.compile(
    r"研发(?:费用|投入|经费|支出)[^，。；]{0,4}占[^，。；]{0,8}?(?:比重|比例)?(?:达到|不低于|超过|在|达)?"
    r"(\d+(?:\.\d+)?)\s*[%％](?:及)?以上(?:的)"
)
_EMPLOYEES = re.compile(r"(?:职工|员工|从业人员)(?:人数)?(?:在)?(\d+)\s*人(?:及)?以下")
# Stated conditions that a profile cannot settle: shown as "still unknown".
_CONDITION = re.compile(
    r"符合(?:相关)?条件的(?:[\u4e00-\u9fff]{0,8}?企业)?|有条件的(?:地方|地区|市县|县[（(]市、区[）)]|企业)"
    r"|[\u4e00-\u9fff]{2,6}突出的(?:企业|主体)|成长期、成熟期[\u4e00-\u9fff]{0,6}?企业"
)
_LEAD_VERB = re.compile(r"^(?:支持|鼓励|引导|推动|帮助)")
_FOR_WHOM = re.compile(r"^对([^，。；]{2,28}?)(?:的(?=[，,]|$)|(?=按|给予|实行|实施))")
_FOR_WHOM_INNER = re.compile(r"对([^，。；对]{2,20}?企业)(?=发放|给予|提供|实行|按)")

# Sections that report past work (前期工作情况) list achievements, not offers.
_RETRO = re.compile(r"前期|工作情况|工作成效|主要成效|进展情况|基本情况|工作回顾|取得.{0,4}成效|总结")
_ORDINAL = re.compile(rf"^(?:[{ONE_TO_TEN}]是|其[{ONE_TO_TEN}]|首先|同时|此外|另外)[，,、]?")
_LEAD = re.compile(r"^(?:将|要|还将|还要)?(?:全面|进一步|着力|加快|大力|积极|持续|深入|切实|继续|认真|不断|努力)+")
_DUTY = re.compile(r"^[（(](?:责任单位|牵头单位|责任部门|牵头部门|配合单位)")


# --------------------------------------------------------------------------- types


@dataclass(frozen=True)
class Criterion:
    """One condition a measure states.

    kind: region | type | activity | revenue | rd_ratio | employees | condition.
    `values` are accepted alternatives (places, types, activities); `aim` marks a type
    that a cultivation programme works towards rather than requires; `minimum` /
    `maximum` bound a number; `text` is the wording in the source span."""

    kind: str
    values: tuple[str, ...] = ()
    text: str = ""
    aim: bool = False
    minimum: float | None = None
    maximum: float | None = None

    def label(self) -> str:
        """The criterion in Chinese, for answers and the UI."""
        if self.kind == "region":
            return "适用地区为" + ("、".join(self.values) or "（文件未注明）")
        if self.kind == "type":
            return ("培育对象包括" if self.aim else "企业类型为") + "或".join(self.values)
        if self.kind == "activity":
            return "相关活动为" + "或".join(self.values)
        return f"条件“{self.text}”"


@dataclass(frozen=True)
class Measure:
    """A support measure and the span that states it. `start`/`end` index the cleaned
    document text and `quote == chunk text[start - chunk.start : end - chunk.start]`."""

    id: str
    name: str
    categories: tuple[str, ...]
    criteria: tuple[Criterion, ...]
    amounts: tuple[str, ...]  # money and percentages written in the span
    quote: str
    start: int
    end: int
    source: str
    doc_id: str
    chunk_id: str
    title: str = ""
    heading_path: str = ""
    page: int | None = None
    region: str = ""  # the document's (or article's) region
    level: str = ""
    issuer: str = ""
    date: str = ""

    @property
    def category(self) -> str:
        return self.categories[0]

    def criteria_of(self, kind: str) -> tuple[Criterion, ...]:
        return tuple(c for c in self.criteria if c.kind == kind)

    def citation(self, n: int) -> Citation:
        return Citation(
            n=n, source=self.source, title=self.title, quote=self.quote, heading_path=self.heading_path,
            page=self.page, start=self.start, end=self.end, chunk_id=self.chunk_id,
        )


# --------------------------------------------------------------------------- finders


def find_types(text: str) -> list[tuple[str, int, int]]:
    """(canonical type, start, end) of the enterprise types named in `text`."""
    out = []
    for m in _TYPE_RE.finditer(text):
        name = next(_TYPE_NAMES[int(k[1:])] for k, v in m.groupdict().items() if v is not None)
        out.append((name, m.start(), m.end()))
    return out


def find_activities(text: str) -> list[str]:
    return [name for name, rx in _ACTIVITY_RE.items() if rx.search(text)]


_BRACKETED = re.compile(r"[（(][^（()）]*[）)]")


def _categories(text: str) -> list[str]:
    """Instrument categories a text names, in order; what stands in brackets is an
    aside (“四大计划”（…科技金融赋能计划…）), not an offer."""
    bare = _BRACKETED.sub("", text)
    found = [(name == "综合支持", m.start(), name) for name, rx in CATEGORIES.items() if (m := rx.search(bare))]
    return [name for _, _, name in sorted(found)]  # a named instrument before plain 支持


# --------------------------------------------------------------------------- text


def _skip_duty(text: str, a: int, b: int) -> int:
    """Past a leading （责任单位：…） note, which belongs to the previous item."""
    while a < b and _DUTY.match(text, a):
        depth = 0
        for i in range(a, b):
            if text[i] in "（(":
                depth += 1
            elif text[i] in "）)":
                depth -= 1
                if depth == 0:
                    a = i + 1
                    break
        else:
            return b
        while a < b and text[a].isspace():
            a += 1
    return a


def _split_outside(text: str, a: int, b: int, seps: str, opens: str, closes: str) -> list[tuple[int, int]]:
    """Spans of text[a:b] between separators that stand outside brackets and quotes."""
    out, depth, quoted, start = [], 0, False, a
    for i in range(a, b):
        ch = text[i]
        if ch in opens:
            depth += 1
        elif ch in closes:
            depth = max(0, depth - 1)
        elif ch in "“”":
            quoted = ch == "“"
        elif ch in seps and depth == 0 and not quoted:
            out.append((start, i))
            start = i + 1
    out.append((start, b))
    return out


def _clauses(text: str, a: int, b: int) -> list[tuple[int, int]]:
    """Comma-separated clauses of a sentence; commas inside brackets or quotes do not split."""
    spans = []
    for s, e in _split_outside(text, a, b, "，,：:", "（(【[《", "）)】]》"):
        while s < e and (text[s].isspace() or text[s] in "，,：:"):
            s += 1
        while e > s and (text[e - 1].isspace() or text[e - 1] in "。；;！？!?，,"):
            e -= 1
        if e > s:
            spans.append((s, e))
    return spans


def _items(text: str, a: int, b: int) -> list[tuple[int, int]]:
    """`、`-separated items of a clause (outside brackets and quotes)."""
    return _split_outside(text, a, b, "、", "（(《", "）)》")


def _name(s: str, limit: int = 48) -> str:
    s = s.strip()
    s = HEADING_RE.sub("", s, count=1).strip()
    s = _ORDINAL.sub("", s)
    s = _LEAD.sub("", s)
    s = re.sub(r"等[^，。；]{0,12}(?:政策|措施)[^，。；]{0,4}$", "", s)
    return s if len(s) <= limit else s[: limit - 1] + "…"


# --------------------------------------------------------------------------- criteria


def _type_criterion(text: str) -> Criterion | None:
    found = find_types(text)
    if not found:
        return None
    names = list(dict.fromkeys(n for n, _, _ in found))
    cats = set(_categories(text))
    # Types under a cultivation verb (培育高新技术企业…) are aims, not prerequisites,
    # unless the text also offers a concrete benefit to them (贷款, 补助 …).
    aim = bool(_AIM_CUE.search(text)) and cats <= {"培育服务", "平台支持", "人才支持"}
    return Criterion("type", tuple(names), "、".join(names), aim=aim)


def _conditions(core: str) -> list[str]:
    found = [_LEAD_VERB.sub("", m.group(0)) for m in _CONDITION.finditer(core)]
    for m in (_FOR_WHOM.match(core), _FOR_WHOM_INNER.search(core)):
        if not m:
            continue
        who = m.group(1)
        # "对高新技术企业" says no more than the type criterion already does.
        rest = _TYPE_RE.sub("", who).strip("的、和及与 ")
        if len(rest) >= 2 and not any(who in c or c in who for c in found):
            found.append(who)
    return list(dict.fromkeys(c for c in found if len(c) >= 3))


def _criteria(core: str, whole: str, regions: tuple[str, ...]) -> tuple[Criterion, ...]:
    """Criteria of a measure, from its core clauses (the instrument and who it is for),
    so a closing remark does not add requirements; only when the core names no
    enterprise type are the types of the rest used (以梯次培育为抓手，…培育高新技术企业)."""
    out: list[Criterion] = []
    # a document that states no region is not taken to apply everywhere
    out.append(Criterion("region", regions, "、".join(regions)))
    t = _type_criterion(core) or _type_criterion(whole)
    if t:
        out.append(t)
    acts = find_activities(core)
    if acts:
        out.append(Criterion("activity", tuple(acts), "、".join(acts)))
    for m in _REVENUE.finditer(core):
        value = float(m.group(1)) * (10000 if m.group(2) == "亿" else 1)
        out.append(Criterion("revenue", (), m.group(0), minimum=value))
    for m in _RD_RATIO.finditer(core):
        out.append(Criterion("rd_ratio", (), m.group(0).rstrip("的"), minimum=float(m.group(1))))
    for m in _EMPLOYEES.finditer(core):
        out.append(Criterion("employees", (), m.group(0), maximum=float(m.group(1))))
    for c in _conditions(core):
        out.append(Criterion("condition", (), c))
    return tuple(out)


def _regions(chunk: Chunk, span: str) -> tuple[str, ...]:
    """Where a measure applies: the document's (article's) region, narrowed to the
    cities or counties of that region that the span itself names (在杭州、宁波开展试点)."""
    if chunk.level == "national":
        return ("全国",)
    if not chunk.region:
        return ()
    inner = []
    for p in find_places(span):
        inside = (
            (p.level == "city" and chunk.region == "浙江省" and p.name in ZHEJIANG_CITIES.values())
            or (p.level == "county" and chunk.region in ("浙江省", ZHEJIANG_COUNTIES.get(p.name)))
        )
        if inside and p.name not in inner:
            inner.append(p.name)
    return tuple(inner) or (chunk.region,)


# --------------------------------------------------------------------------- extraction


@dataclass(frozen=True)
class _Clause:
    start: int
    end: int
    text: str
    cats: tuple[str, ...]

    @property
    def verb(self) -> bool:
        return bool(_VERB.search(self.text))

    @property
    def for_whom(self) -> bool:
        """对…的 / 凡…的: names who qualifies and leaves the offer to the next clause."""
        return bool(_FOR_OPENER.match(self.text)) and not self.verb


@dataclass
class _Group:
    first: int
    last_core: int
    last: int
    cats: list[str]


def _groups(clauses: list[_Clause]) -> list[_Group]:
    """The measures of a sentence as clause ranges. A clause with an instrument opens
    one, unless it only adds to the open one (same categories, no verb of its own);
    a 对…的 clause, or a verb clause with no instrument just before, belongs to the
    measure that follows it; other clauses without an instrument continue the open one."""
    groups: list[_Group] = []
    for i, c in enumerate(clauses):
        if c.for_whom and i + 1 < len(clauses):
            continue  # taken by the next clause's measure
        if not c.cats:
            if groups and groups[-1].last == i - 1:
                groups[-1].last = i
            continue
        g = groups[-1] if groups and groups[-1].last == i - 1 else None
        if g is not None and set(c.cats) <= set(g.cats) and not c.verb:
            g.last_core = g.last = i
            continue
        first = i
        if i > 0:
            prev = clauses[i - 1]
            if prev.for_whom or (not prev.cats and prev.verb and not c.verb):
                first = i - 1
                if g is not None and g.last == i - 1:
                    g.last = i - 2
                if prev.for_whom:
                    c = _Clause(c.start, c.end, c.text, tuple(dict.fromkeys(prev.cats + c.cats)))
        groups.append(_Group(first, i, i, list(c.cats)))
    return [g for g in groups if g.last >= g.first and g.last_core >= g.first]


def _chunk_for(chunks: list[Chunk], a: int, b: int) -> Chunk:
    inside = [c for c in chunks if c.start <= a and b <= c.end]
    if inside:
        return inside[0]
    return max(chunks, key=lambda c: min(b, c.end) - max(a, c.start))


def _document_measures(chunks: list[Chunk]) -> list[Measure]:
    text = text_from_chunks(chunks)
    out: list[Measure] = []
    for a, b in split_sentences(text):
        a = _skip_duty(text, a, b)
        if b - a < 6:
            continue
        chunk = _chunk_for(chunks, a, b)
        if _RETRO.search(chunk.heading_path):
            continue
        if b - a < 30 and not re.search(r"[，。；,;]", text[a:b]):
            continue  # a heading or headline names a topic; its body says what is offered
        clauses = [_Clause(s, e, text[s:e], tuple(_categories(text[s:e]))) for s, e in _clauses(text, a, b)]
        for g in _groups(clauses):
            core = "，".join(c.text for c in clauses[g.first : g.last_core + 1])
            if _REPORTED.search(core) or ("争取" in core and not _VERB.search(core)):
                continue  # done already, or sought from above: nothing offered to enterprises
            after = clauses[g.last_core + 1].text if g.last_core + 1 < len(clauses) else ""
            if not (set(g.cats) & _OFFERS or _VERB.search(core) or _VERB.search(after) or _FOR_WHOM.match(core)):
                continue  # a target or a statement, not an offer
            whole = text[clauses[g.first].start : clauses[g.last].end]
            if not _ENTERPRISE.search(whole) and not (set(g.cats) & _IMPLIED_ENTERPRISE):
                continue  # offered to a university, a laboratory, a county: not to enterprises
            out.extend(_measures_of(text, chunks, clauses, g))
    return out


def _amounts(quote: str) -> tuple[str, ...]:
    """Money and percentages the span states, leaving out the thresholds of who
    qualifies (营业收入2000万元以上), which are criteria."""
    taken = [m.span() for rx in (_REVENUE, _RD_RATIO, _EMPLOYEES) for m in rx.finditer(quote)]
    return tuple(
        f.text for f in extract_figures(quote)
        if f.kind == "quantity" and f.unit in ("元", "%") and not any(a <= f.start < b for a, b in taken)
    )


# Benefits an enterprise claims one by one: a list of them is a list of measures.
_BENEFITS = {"税费优惠", "资金补助", "奖励"}


def _measures_of(text: str, chunks: list[Chunk], clauses: list[_Clause], g: _Group) -> list[Measure]:
    s, e = clauses[g.first].start, clauses[g.last].end
    chunk = _chunk_for(chunks, s, e)
    if not (chunk.start <= s and e <= chunk.end):  # a quote must lie inside one chunk
        s, e = max(s, chunk.start), min(e, chunk.end)
    quote = text[s:e]
    core_clauses = clauses[g.first : g.last_core + 1]
    regions = _regions(chunk, quote)
    amounts = _amounts(quote)
    base = dict(
        quote=quote, start=s, end=e, source=chunk.source, doc_id=chunk.doc_id, chunk_id=chunk.chunk_id,
        title=chunk.title, heading_path=chunk.heading_path, page=chunk.page, region=chunk.region,
        level=chunk.level, issuer=chunk.issuer, date=chunk.date, amounts=amounts,
    )
    # 落实A企业X、B企业Y、C企业Z等政策: one measure per benefit, each with its own
    # beneficiary; a 对…的 clause before them applies to all.
    pieces: list[str] = []
    for c in core_clauses:
        if set(c.cats) & _BENEFITS:
            items = [text[i:j] for i, j in _items(text, c.start, c.end)]
            benefits = [it for it in items if set(_categories(it)) & _BENEFITS]
            if len(benefits) >= 2:
                pieces.extend(benefits)
    lead = "，".join(c.text for c in core_clauses if c.for_whom)
    if pieces:
        out = []
        for k, piece in enumerate(pieces):
            core = f"{lead}，{piece}" if lead else piece
            out.append(Measure(
                id=f"{chunk.doc_id}:{s}-{e}.{k + 1}", name=_name(re.sub(r"^(?:全面)?落实", "", piece)),
                categories=tuple(_categories(piece)), criteria=_criteria(core, core, regions), **base,
            ))
        return out
    core = "，".join(c.text for c in core_clauses)
    # named by its instrument clause, with the 对…的 or verb clause before it when short
    k = next((i for i, c in enumerate(core_clauses) if c.cats and not c.for_whom), len(core_clauses) - 1)
    name = core_clauses[k].text
    if k > 0:  # the 对…的 or verb clause before the instrument says for whom
        head = core_clauses[0].text
        name = f"{head}，{name}" if len(head) + len(name) < 48 else head
    rest = [c.text for c in clauses[g.first + k + 1 : g.last + 1]]
    while len(name) < 14 and rest:  # 要以梯次培育为抓手 says little alone
        name = f"{name}，{rest.pop(0)}"
    return [Measure(
        id=f"{chunk.doc_id}:{s}-{e}", name=_name(name), categories=tuple(dict.fromkeys(g.cats)),
        criteria=_criteria(core, quote, regions), **base,
    )]


def extract_measures(chunks: Iterable[Chunk]) -> list[Measure]:
    """Every measure in the documents these chunks belong to, in document order."""
    by_doc: dict[str, list[Chunk]] = defaultdict(list)
    for c in chunks:
        by_doc[c.source].append(c)
    out: list[Measure] = []
    for source in sorted(by_doc):
        out.extend(_document_measures(sorted(by_doc[source], key=lambda c: (c.start, c.end))))
    return out


def document_measures(text: str, chunks: Sequence[Chunk]) -> list[Measure]:
    """The measures of one document, read from its chunks in document order (their
    offsets rebuild `text`, which is therefore not needed)."""
    return _document_measures(sorted(chunks, key=lambda c: (c.start, c.end)))


def _measure_json(m: Measure) -> dict[str, Any]:
    return asdict(m)


def _measure_from_json(row: dict[str, Any]) -> Measure:
    names = {f.name for f in fields(Measure)}
    values = {k: v for k, v in row.items() if k in names}
    values["categories"] = tuple(values["categories"])
    values["amounts"] = tuple(values["amounts"])
    values["criteria"] = tuple(
        Criterion(**{**c, "values": tuple(c.get("values", ()))}) for c in values["criteria"]
    )
    return Measure(**values)


EXTRACTOR_VERSION = 1  # bump on any change to what extraction produces
# The kind of derived record the store saves as measures.json.
MEASURES: RecordKind[Measure] = RecordKind(
    "measures", EXTRACTOR_VERSION, document_measures, _measure_json, _measure_from_json
)
