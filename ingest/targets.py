"""Target figures (指标库): every quantitative target or reported figure a document
states, as records an official can read in a table and the answer chain can cite.

    全省新认定高新技术企业5000家、科技型中小企业1.2万家
    -> 新认定高新技术企业数 = 5000 家, 新认定科技型中小企业数 = 12000 家 (targets)
    全省高新技术企业数量已突破4.7万家
    -> 高新技术企业数量 > 47000 家 (an achievement)

Records are made at ingest from each cleaned document and its chunks (heading path,
article region, level and issuer come from the chunk holding the figure) and handed
to the store, which saves them inside the same generation (`targets.json`). An index
without them, or with records of another extractor version, has them rebuilt from
its chunks: chunk offsets give back each document's cleaned text, so both routes
give the same records. Querying them is rag/targets.py's job.

How a figure becomes a record
-----------------------------
* figures come from `policyqa.text.figures` (values with 万/亿 folded in, canonical units);
  years, dates, codes, figures in 《titles》 or “quoted names”, ordinals, ages and
  baselines (由15家跃升至38家) are skipped, and so is a figure that qualifies the
  noun after it (5千万元以上制造业企业, 240小时的道路测试);
* the indicator is the clause before the figure, without framing (其中, 力争, 全省,
  到2026年, 实现) and connectors (达到, 超过, 保持在); an item of a list inherits the
  list's verb (全省新认定A 5家、B 130家 -> 新认定B), a clause opening with 占 inherits
  the subject before it (投资增速快于面上、占固定资产比重16%左右), and parallel lists
  are paired (A、B累计达到3家、10家以上);
* comparator words (超过, 不低于, 以上, 左右 ...) and 力争/争取/确保 are kept;
* a target and an achievement are told apart by the words of the sentence
  (力争, 到2026年 vs 已, 截至, 跃升, 今年以来), then by the section heading
  (下一步工作安排 vs 前期工作情况), then by the kind of document (a plan's figures
  are targets; a news report's are achievements);
* the year is the one the sentence names (到2026年, 2024年，), else the document's.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from ingest.records import RecordKind
from policyqa.text.figures import Figure, extract_figures, normalise
from policyqa.text.lexicon import read_pairs
from policyqa.text.places import frame_words
from policyqa.text.sentences import CLAUSE_BREAKS, SENTENCE_BREAKS
from policyqa.types import Chunk, Document
from policyqa.text.numerals import ONE_TO_TEN

__all__ = [
    "EXTRACTOR_VERSION",
    "TARGETS",
    "TargetRecord",
    "extract_targets",
    "document_targets",
    "indicator_key",
    "normalise_terms",
    "same_indicator",
]

EXTRACTOR_VERSION = 1  # bump on any change to what extraction produces


@dataclass(frozen=True)
class TargetRecord:
    """One stated figure. `quote == cleaned_text[start:end]` runs from the indicator
    to the end of the stated value; `value_text == cleaned_text[value_start:value_end]`
    is the value as written, comparator words included (超过67.5%, 5000项以上)."""

    indicator: str  # as stated, e.g. 新认定高新技术企业数
    indicator_key: str  # normalised, equal across documents: 高新技术产业增加值占比
    value: float  # normalised: 1.2万家 -> 12000, 450亿元 -> 4.5e10
    unit: str  # canonical: 家, 元, %, 百分点, 人年, 人 ('' when the text gives none)
    value_text: str
    kind: str  # target | achievement
    comparator: str = ""  # 超过 / 不低于 / 以上 / 左右 / 不少于 ... as written
    op: str = "="  # = > >= < <= ~
    hedge: str = ""  # 力争 / 争取 / 确保
    value_max: float | None = None  # upper end of a range (1-2个)
    year: str = ""  # target (or reported) year
    period: str = ""  # 年均 / 每年 / 累计 / 年度
    region: str = ""
    level: str = ""  # province | city | county | national
    issuer: str = ""
    source: str = ""
    doc_id: str = ""
    title: str = ""
    heading_path: str = ""
    chunk_id: str = ""
    page: int | None = None
    start: int = 0
    end: int = 0
    quote: str = ""
    value_start: int = 0
    value_end: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> "TargetRecord":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in row.items() if k in names})


# --------------------------------------------------------------------------- vocabulary

_QUOTED = re.compile(r"《[^《》\n]{1,80}》|“[^“”\n]{1,24}”|\"[^\"\n]{1,24}\"|「[^「」\n]{1,24}」")
_RANGE_SEP = re.compile(r"\s?[-~—–至到]\s?")
_CMP_OPS = {
    "超过": ">", "高于": ">", "突破": ">", "逾": ">", "多于": ">", "大于": ">", "超": ">", "开外": ">",
    "不低于": ">=", "不少于": ">=", "至少": ">=", "以上": ">=", "及以上": ">=",
    "不超过": "<=", "不高于": "<=", "不多于": "<=", "最多": "<=", "以下": "<=", "以内": "<=", "之内": "<=",
    "不足": "<", "不到": "<", "低于": "<", "少于": "<", "小于": "<",
    "左右": "~", "上下": "~", "约": "~", "大约": "~", "近": "~", "接近": "~", "将近": "~",
}  # fmt: skip
_PREFIX_CMP = sorted((w for w in _CMP_OPS if w not in ("以上", "及以上", "以下", "以内", "之内", "左右", "上下", "开外")),
                     key=len, reverse=True)
_SUFFIX_CMP = re.compile(r"(?:[（(][^（）()\n]{1,4}[）)])?(及以上|以上|以下|以内|之内|左右|上下|开外)")
# Units that count things: such a figure ends its clause (5000家。) unless the text
# after it opens a new clause; otherwise it counts the noun after it (32项任务举措).
_COUNT_UNITS = frozenset(
    "个 家 项 所 座 条 台 套 件 篇 场 次 批 类 种 支 期 轮 位 张 辆 艘 架 处 款 份 人 户 人次 家次 户次 批次 场次 "
    "颗 株 只 头 本 门 例 宗 笔 间 栋 幢 块 册 首 年 天 周 月 日 小时 分钟 倍 亩 公里 米 吨".split()
)
_SKIP_UNITS = frozenset({"岁", "周岁", "章", "周年", "届", "年"})  # 年: durations (三年行动, 连续3年)
# Framing before an indicator: discourse words, modal hedges, scope, time.
_LEAD = re.compile(
    r"(?P<hedge>力争|争取|确保|努力)"
    r"|(?P<period>累计|每年|年均)"
    rf"|(?:其中|[{ONE_TO_TEN}]是|同时|并且|并|另外|此外|以及|全年|今年|年内|年底前|当年|"
    + "|".join(frame_words())
    + r"|较去年|较上年|比上年|今年以来|以来|实现|首批|提出|动态|进一步|持续|加快|大力|积极|扎实|全力|着力|推动|推进|支持|引导|鼓励|要|将|计划|预计"
    r"|(?:到|至)?(?:19|20)\d{2}年(?:底|末|前)?|[，,、\s])"
)
_TAIL = re.compile(
    r"(?:超过|达到了?|达|不低于|不少于|不高于|不超过|不多于|不足|不到|低于|高于|少于|保持在|保持|稳定在|控制在|"
    r"提高到|提高至|提升到|提升至|增加到|增加至|增至|扩大到|扩大至|降低到|降至|下降到|为|是|突破|约|大约|近|逾|至|到|在|"
    r"累计达到|累计达|累计|合计|共计|总计|共|分别为|分别达到|分别|全年|每年|年度内|等|超|已经|已)$"
)
_BAD_END = set("和与及或对向在从按以将把被给了之于由")
_VERB = (
    "推进|落实|安排|支持|开展|实施|建设|推动|完成|组织|举办|召开|设立|出台|制定|印发|发布|征集|遴选|选树|培育|新培育|"
    "引进|新引进|打造|组建|新建|新增|认定|新认定|新立项|立项|梳理出|梳理|取得|建立|形成|落地|入选|新入库|创建|争创|选派|派遣|"
    "服务|整合|推广|推广应用|新推广应用|投入|撬动|开设|扩大|提升|增加|达到|实现|举办|参加|解读|位居|居|获批|跃升"
)
_VERB_ONLY = re.compile(rf"^(?:{_VERB})+了?$")
# Verbs that create what they count: 新培育8个先导区, 开展1场活动, 梳理出10项需求.
_CREATE = re.compile(
    r"^(?:新建|新增|新培育|培育|新引进|引进|打造|建成|建设|组建|认定|新认定|立项|遴选|选树|开设|设立|梳理出|梳理|取得|开展|"
    r"举办|形成|入选|新入库|创建|争创|建立|实施|新推广应用|推广应用|选派|派遣)$"
)
# Words that open a clause: text after a figure that starts with one means the
# punctuation between them is missing, not that the figure qualifies a noun.
_OPENS_CLAUSE = re.compile(
    r"^(?:依托|围绕|推进|持续|力争|加快|深化|健全|聚焦|加强|坚持|构建|统筹|探索|谋划|争取|确保|努力|做好|抓好|完善|强化|推动|支持"
    r"|以(?![上下内])|占|全覆盖|覆盖|清零|达标)"
)
# Where an over-long indicator (a clause whose punctuation went missing) is cut.
_CUT_VERB = re.compile(r"派遣|新增|新认定|新建|新培育|新引进|引进|培育|实施|打造|组建|立项|遴选|选树|开设|设立|入选|争创|创建|围绕")
_YEAR_CUE = re.compile(r"(?:到|至|截至|截止|在)?((?:19|20)\d{2})\s*年(?:底|末|前|内)?")
_THIS_YEAR = re.compile(r"今年|全年|年底前|年内|当年|本年度")
_ACH_CUE = re.compile(
    r"已经?|截至|截止|跃升至|跃居|较去年|较上年|比上年|比去年|以来|上半年|前三季度|一季度|去年|上年|首创|获批|位居|居全国|"
    r"实现了|达到了|增加了|取得了|突破了|征集了|举办了|创建了|建成了|完成了|参加"
)
_TGT_CUE = re.compile(r"力争|争取|确保|目标|预计|年底前|全年新|提出[，,：:]")
_ACH_HEAD = re.compile(r"工作情况|前期|进展|成效|成绩|完成情况|回顾|总结|基本情况|发展基础|现状")
_TGT_HEAD = re.compile(r"目标|任务|下一步|工作安排|重点工作|要点|措施|举措|计划|思路|打算")
_PLAN_TITLE = re.compile(
    r"(?:要点|方案|计划|规划|意见|措施|纲要|通知|办法|细则|指南|指引|行动|决定|政策)(?:[（(][^）)]{0,16}[）)])?$"
)
_PLAN_LEAD = re.compile(
    r"(?:印发|出台|发布|制定|提出|公布)了?《[^《》]{2,80}(?:要点|方案|计划|规划|意见|措施|纲要|通知|办法|细则|指南|行动)"
)
_TITLE_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")

# ---------------------------------------------------------------------- indicator keys


def _aliases() -> list[tuple[str, str]]:
    return sorted(read_pairs("aliases.txt"), key=lambda p: -len(p[0]))


_ALIASES = _aliases()
# Policy vocabulary that names one thing several ways; applied in this order.
_SYNONYMS: tuple[tuple[str, str], ...] = (
    ("规模以上", "规上"),
    ("R&D", "研发"),
    ("r&d", "研发"),
    ("研究与试验发展", "研发"),
    ("研发费用支出", "研发投入"),
    ("研发经费支出", "研发投入"),
    ("研发经费投入", "研发投入"),
    ("研发费用", "研发投入"),
    ("研发经费", "研发投入"),
    ("营收", "营业收入"),
    ("GDP", "地区生产总值"),
    ("gdp", "地区生产总值"),
    ("新认定", "新增"),
    ("企业数量", "企业"),
)
_RATIO = re.compile(r"(.+?)(?:占|与)[^占]*?(?:的)?(?:比重|比例|之比)$")
_FRAME = re.compile("^(?:" + "|".join(frame_words()) + ")")
_PAREN = re.compile(r"[（(][^（）()]{0,12}[）)]")


def _expand_aliases(text: str) -> str:
    for alias, canonical in _ALIASES:
        if alias in text and canonical not in text:
            text = text.replace(alias, canonical)
    return text


def normalise_terms(text: str) -> str:
    """NFKC, aliases (高企 -> 高新技术企业) and synonyms (营收 -> 营业收入)."""
    text = _expand_aliases(unicodedata.normalize("NFKC", text))
    for a, b in _SYNONYMS:
        text = text.replace(a, b)
    return text


def indicator_key(indicator: str) -> str:
    """A name equal for the same indicator in different documents: 高新技术产业增加值
    占规上工业比重 and 高新技术产业增加值占规上工业增加值比重 are both 高新技术产业
    增加值占比; 新认定高企数 and 新增高新技术企业 are both 新增高新技术企业."""
    s = normalise_terms(indicator)
    s = _PAREN.sub("", s)
    s = re.sub(r"[“”\"'‘’「」《》\s、，,]", "", s)
    s = _FRAME.sub("", s)
    s = re.sub(r"(?:数量|数)$", "", s)
    s = re.sub(r"(?<=..)企$", "企业", s)  # a clipped 企业 (新增高新技术企220)
    m = _RATIO.match(s)
    if m:
        s = m.group(1) + "占比"
    elif re.search(r"(?:比重|比例)$", s):
        s = re.sub(r"(?:比重|比例)$", "占比", s)
    return s.replace("的", "")


def _core(key: str) -> str:
    return re.sub(r"^(?:新增|新建|新培育|新引进|新入库)", "", key)


def same_indicator(a: str, b: str) -> bool:
    """Whether two indicator names (as stated or keyed) name the same indicator."""
    ka, kb = _core(indicator_key(a)), _core(indicator_key(b))
    return bool(ka) and (ka == kb or (min(len(ka), len(kb)) >= 4 and (ka in kb or kb in ka)))


# --------------------------------------------------------------------------- extraction


@dataclass
class _Fig:
    start: int  # the figure (number, multiplier, unit)
    end: int
    value: float
    value_max: float | None
    unit: str
    approx: bool  # 余 / 多 inside the figure


@dataclass
class _Item:
    """A figure being made into a record."""

    fig: _Fig
    sent_start: int
    clause_start: int
    value_start: int
    value_end: int
    comparator: str
    op: str
    linked: bool  # follows the previous figure after a 、 (a list)
    indicator: str = ""
    ind_start: int = -1  # where the indicator (or the quote) starts
    hedge: str = ""
    period: str = ""
    noun_end: int = -1  # for 新培育8个先导区: the end of the noun after the figure


def _quoted_spans(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _QUOTED.finditer(text)]


def _inside(spans: list[tuple[int, int]], starts: list[int], pos: int) -> bool:
    k = bisect.bisect_right(starts, pos) - 1
    return k >= 0 and spans[k][0] < pos < spans[k][1]


def _figures(text: str) -> list[_Fig]:
    """Quantity figures, with ranges (1-2个, 3-4家, 1-2) joined into one."""
    raw = [f for f in extract_figures(text) if f.kind == "quantity"]
    out: list[_Fig] = []
    i = 0
    while i < len(raw):
        f = raw[i]
        nxt = raw[i + 1] if i + 1 < len(raw) else None
        if nxt is not None and _RANGE_SEP.fullmatch(text[f.end : nxt.start]) and (f.unit == nxt.unit or not f.unit) \
                and nxt.value > f.value:
            v1, u = normalise(Figure(f.text, f.value, nxt.unit, f.start, f.end))
            v2, _ = normalise(nxt)
            out.append(_Fig(f.start, nxt.end, v1, v2, u, False))
            i += 2
            continue
        v, u = normalise(f)
        out.append(_Fig(f.start, f.end, v, None, u, "余" in f.text or "多" in f.text))
        i += 1
    return out


def _skip(text: str, f: _Fig, quoted: list[tuple[int, int]], qstarts: list[int]) -> bool:
    """Figures that are no indicator's value."""
    if f.unit in _SKIP_UNITS or _inside(quoted, qstarts, f.start):
        return True
    before = text[max(0, f.start - 2) : f.start]
    if before.endswith(("前", "第", "由", "从", "（", "(")) or before.endswith(("号", "No")):
        return True  # 前1%, 由15家(跃升至), (6个)
    if not f.unit:
        return _not_a_count(text, f, before)
    return False


_BARE_ITEM = re.compile(r"(?<![\d.])(\d{1,3})[.．、](?!\d)")


def _not_a_count(text: str, f: _Fig, before: str) -> bool:
    """A bare number is a count that lost its unit (新增高新技术企220、) only where
    nothing says otherwise: not a decimal, code, year, clock time, attachment or item
    number (…协商。17.鼓励, 原件1份及电子数据2、增值税专用发票3、)."""
    figure = text[f.start : f.end]
    after = text[f.end : f.end + 1]
    if f.value_max is None and ("." in figure or f.value >= 1000 or f.value != int(f.value)):
        return True
    if after in ("+", "*", "/", "X", "x", "号", "届", "版", "时", "点", "日", "月", "年", "周", ".", "．", "：", ":") \
            or (after.isascii() and after.isalpha()):
        return True
    if not before[-1:] or not ("\u4e00" <= before[-1] <= "\u9fff" or before[-1] in ")）"):
        return True
    if before.endswith(("附件", "附表", "问题")) or before[-1:] in ("图", "表", "条", "款"):
        return True
    if f.value_max is None:
        window = text[max(0, f.start - 200) : f.end + 200]
        near = {int(m.group(1)) for m in _BARE_ITEM.finditer(window)}
        if int(f.value) - 1 in near or int(f.value) + 1 in near:
            return True  # one of a run of item numbers
    return False


def _stated(text: str, f: _Fig) -> tuple[int, int, str, str]:
    """(value_start, value_end, comparator, op): the figure with the comparator
    words written around it."""
    start, end, word = f.start, f.end, ""
    m = _SUFFIX_CMP.match(text, f.end)
    if m:
        end, word = m.end(), m.group(1)
    else:
        head = text[max(0, f.start - 4) : f.start]
        for w in _PREFIX_CMP:
            if head.endswith(w):
                start, word = f.start - len(w), w
                break
    op = _CMP_OPS.get(word, "")
    if not op:
        op = ">" if f.approx else "="
    return start, end, word, op


def _sentence_start(text: str, pos: int) -> int:
    i = pos - 1
    while i >= 0 and text[i] not in SENTENCE_BREAKS:
        i -= 1
    return i + 1


def _clause_start(text: str, pos: int, floor: int) -> int:
    i = pos - 1
    while i >= floor and text[i] not in CLAUSE_BREAKS:
        i -= 1
    return i + 1


def _strip_lead(raw: str) -> tuple[int, str, str]:
    """(offset of the indicator in `raw`, hedge, period)."""
    off, hedge, period = 0, "", ""
    while off < len(raw):
        m = _LEAD.match(raw, off)
        if not m or m.end() == off:
            break
        if m.group("hedge"):
            hedge = hedge or m.group("hedge")
        if m.group("period"):
            period = period or m.group("period")
        off = m.end()
    return off, hedge, period


def _strip_tail(ind: str) -> str:
    while (m := _TAIL.search(ind)) is not None:
        ind = ind[: m.start()]
    return ind.rstrip("，,、：: ")


def _cut_long(ind: str, limit: int = 24) -> int:
    """Where a too long indicator (a clause that lost its punctuation) should start:
    at its last verb, kept, else after its last 、."""
    if len(ind) <= limit:
        return 0
    best = 0
    for m in _CUT_VERB.finditer(ind):
        if len(ind) - m.start() >= 4:
            best = m.start()
    if len(ind) - best > limit + 8:
        k = ind.rfind("、", best)
        if k >= 0 and len(ind) - k - 1 >= 6:
            best = k + 1
    return best


def _valid(ind: str) -> bool:
    letters = sum(1 for c in ind if "\u4e00" <= c <= "\u9fff" or c.isalpha())
    return letters >= 2 and ind[-1] not in _BAD_END and not _VERB_ONLY.match(ind)


def _noun_after(text: str, pos: int) -> tuple[str, int]:
    """The words after a figure up to the end of its clause (for 新培育8个先导区)."""
    i = pos
    while i < len(text) and text[i] not in CLAUSE_BREAKS and text[i] != "、" and i - pos < 24:
        i += 1
    return text[pos:i], i


def _count_noun(ind: str) -> str:
    if re.search(r"(?:数|数量|量|次|额|规模|率|比|比重|占比|增幅|增速|产值|营收|投资|投入|收入|人才|成果)$", ind):
        return ind
    return ind + "数"


def _doc_year(chunk: Chunk, lead: str) -> str:
    if chunk.date[:4].isdigit():
        return chunk.date[:4]
    m = _TITLE_YEAR.search(chunk.title)
    if m:
        return m.group(1)
    m = re.search(r"《[^《》]*?((?:19|20)\d{2})\s*年", lead[:400])
    return m.group(1) if m else ""


def _is_plan(chunk: Chunk, lead: str) -> bool:
    return bool(_PLAN_TITLE.search(chunk.title.strip()) or _PLAN_LEAD.search(lead[:400]))


def _head_kind(heading_path: str) -> str:
    for part in heading_path.split(" > "):
        ach, tgt = bool(_ACH_HEAD.search(part)), bool(_TGT_HEAD.search(part))
        if ach != tgt:
            return "achievement" if ach else "target"
    return ""


def _unquoted(text: str) -> str:
    return _QUOTED.sub(lambda m: "□" * len(m.group(0)), text)


def _kind(sentence_before: str, doc_year: str, year: str, heading_path: str, plan: bool) -> str:
    s = _unquoted(sentence_before)
    ach, tgt = bool(_ACH_CUE.search(s)), bool(_TGT_CUE.search(s))
    if year and doc_year and year.isdigit() and doc_year.isdigit():
        if int(year) > int(doc_year) or re.search(r"到\s*(?:19|20)\d{2}\s*年", s):
            tgt = True
        elif int(year) < int(doc_year):
            ach = True
    if ach != tgt:
        return "achievement" if ach else "target"
    head = _head_kind(heading_path)
    if head:
        return head
    return "target" if plan else "achievement"


def _year(sentence_before: str, doc_year: str) -> str:
    s = _unquoted(sentence_before)
    found = _YEAR_CUE.findall(s)
    if found:
        return found[-1]
    return doc_year


def _items(text: str) -> list[_Item]:
    quoted = _quoted_spans(text)
    qstarts = [a for a, _ in quoted]
    figs = _figures(text)
    items: list[_Item] = []
    prev_end = -1  # end of the previous figure's stated value (figures in quotes do not count)
    for f in figs:
        ss = _sentence_start(text, f.start)
        vs, ve, word, op = _stated(text, f)
        skip = _skip(text, f, quoted, qstarts)
        floor = max(ss, prev_end)
        cs = _clause_start(text, vs, floor)
        linked = False
        if cs == prev_end:
            gap = text[prev_end:vs]
            rest = gap.lstrip(" 、和及")
            linked = rest != gap and gap.lstrip()[:1] in ("、", "和", "及")
            cs = prev_end + len(gap) - len(rest)
        if not _inside(quoted, qstarts, f.start):
            prev_end = ve
        if not skip:
            items.append(_Item(f, ss, cs, vs, ve, word, op, linked))
    return items


def _figure_next(after: str) -> bool:
    """Whether another figure follows within a few characters and no conjunction:
    两重项目20以上总投资100亿元以上 (a clause whose punctuation went missing), not
    15家银行及近200户企业."""
    for f in extract_figures(after[:12]):
        if f.kind == "quantity":
            between = after[: f.start]
            return len(between) <= 6 and not re.search(r"[和与及或、前第由从]", between)
    return False


def _ends_clause(text: str, it: _Item) -> bool | None:
    """Whether a figure ends what it measures: True (5000家。), False when it
    qualifies the noun after it (32项任务举措, 5千万元以上制造业企业), None when the
    noun after it is what it counts and a creating verb before it may take it
    (新培育8个先导区)."""
    after, _ = _noun_after(text, it.value_end)
    after = after.strip()
    if not after:
        return True
    if after.startswith(("的", "或")):
        return False  # 240小时或1000公里的道路测试: a condition
    if _OPENS_CLAUSE.match(after) or _figure_next(after):
        return True  # the punctuation between two clauses is missing
    if it.fig.unit in _COUNT_UNITS:
        return None
    if it.comparator in ("以上", "及以上", "以下", "以内"):
        return False  # a threshold: 亿元以上制造业企业
    return True


def _split_subject(ind: str) -> str:
    """高新技术产业投资增速快于面上、占固定资产比重 -> 高新技术产业投资占固定资产比重:
    a list part opening with 占 takes the subject of the part before it."""
    parts = ind.split("、")
    if len(parts) < 2 or not parts[-1].startswith("占"):
        return ind
    m = re.search(r"增速|增长|同比|增幅|占|比重|达到|快于|高于|保持|为|\d", parts[-2])
    subject = parts[-2][: m.start()] if m else ""
    return subject + parts[-1] if len(subject) >= 2 else ind


_HEADING_NO = re.compile(rf"^(?:\d{{1,2}}[.、．]|[（(][{ONE_TO_TEN}\d]{{1,3}}[）)]|[{ONE_TO_TEN}]{{1,3}}、)")


def _resolve(text: str, items: list[_Item]) -> list[_Item]:
    """Give each item its indicator, or drop it."""
    out: list[_Item] = []
    k = 0
    while k < len(items):
        # a run: an item and those linked to it by 、
        run = [items[k]]
        while k + len(run) < len(items) and items[k + len(run)].linked:
            run.append(items[k + len(run)])
        k += len(run)
        if _pair_up(text, run, out):
            continue
        lead_verb, lead_start = "", -1
        for n, it in enumerate(run):
            raw = text[it.clause_start : it.value_start]
            heading = _HEADING_NO.match(raw)
            skip_to = heading.end() if heading else 0
            off, hedge, period = _strip_lead(raw[skip_to:])
            off += skip_to
            ind = _strip_tail(raw[off:])
            cut = _cut_long(ind)
            ind = _split_subject(ind[cut:])
            # The quote keeps the framing (全省, 力争) unless the clause had to be cut.
            start = it.clause_start + off + cut if cut else it.clause_start + skip_to + _lead_space(raw[skip_to:])
            it.hedge = hedge or run[0].hedge
            it.period = period or run[0].period
            if n == 0:
                m = re.match(rf"(?:{_VERB})+", ind)
                lead_verb, lead_start = (m.group(0), start) if m else ("", -1)
                if ind.startswith("占"):
                    subject, s_start = _subject_before(text, it.clause_start, it.sent_start)
                    if subject:
                        ind, start = subject + ind, s_start
            elif lead_verb and ind and not re.match(rf"(?:{_VERB})", ind) and _same_kind_of_unit(run[0], it):
                ind, start = lead_verb + ind, lead_start  # 全省新认定A5家、B130家: B is 新认定 too
            if _VERB_ONLY.match(ind) and n == 0:
                # 争创国家实验室基地，力争落地1家: the verb's object is in the clause before.
                obj, o_start = _object_before(text, it.clause_start, it.sent_start)
                if obj:
                    ind, start = obj + ind, o_start
            it.indicator, it.ind_start = ind, start
            ends = _ends_clause(text, it)
            if ends is None:
                after, after_end = _noun_after(text, it.value_end)
                if _CREATE.match(ind) and len(after.strip()) >= 2:
                    it.indicator, it.noun_end = ind + after.strip(), after_end
                else:
                    continue
            elif not ends:
                continue
            if _valid(it.indicator):
                out.append(it)
    return out


def _lead_space(s: str) -> int:
    return len(s) - len(s.lstrip())


def _same_kind_of_unit(a: _Item, b: _Item) -> bool:
    counts = _COUNT_UNITS | {""}  # a bare number in a list of counts lost its unit
    return a.fig.unit == b.fig.unit or (a.fig.unit in counts and b.fig.unit in counts)


def _pair_up(text: str, run: list[_Item], out: list[_Item]) -> bool:
    """A、B累计达到3家、10家以上: with as many list parts before the first figure as
    figures in the run, part i goes with figure i."""
    if len(run) < 2 or any(text[it.clause_start : it.value_start].strip("、和及 ") for it in run[1:]):
        return False
    head = run[0]
    raw = text[head.clause_start : head.value_start]
    off, hedge, period = _strip_lead(raw)
    parts = raw[off:].split("、")
    if len(parts) != len(run):
        return False
    last = _strip_tail(parts[-1])
    predicate = ""
    if "分别" in last:  # A、B、C分别增长7.6%、10.5%、9.8%
        last, _, predicate = last.partition("分别")
        predicate = _strip_tail(predicate)
    parts[-1] = last
    for it, part in zip(run, parts):
        it.indicator = _strip_tail(part) + predicate
        it.ind_start, it.hedge, it.period = head.clause_start + off, hedge, period
        if _valid(it.indicator) and _ends_clause(text, it):
            out.append(it)
    return True


_OBJECT_VERB = re.compile(r"争创|创建|建设|打造|引进|培育|组建|建立|设立|申报|争取")


def _object_before(text: str, clause_start: int, sent_start: int) -> tuple[str, int]:
    """The object of the last verb of the clause before (国家实验室基地 of
    支持之江实验室等争创国家实验室基地), for a clause that has only a verb."""
    end = clause_start - 1
    if end <= sent_start:
        return "", -1
    prev_start = _clause_start(text, end, sent_start)
    prev = text[prev_start:end]
    found = list(_OBJECT_VERB.finditer(prev))
    if not found:
        return "", -1
    obj = prev[found[-1].end() :]
    return (obj, prev_start) if 2 <= len(obj) <= 16 else ("", -1)


def _subject_before(text: str, clause_start: int, sent_start: int) -> tuple[str, int]:
    """The subject of the clause before (高新技术产业投资 of 高新技术产业投资增速快于面上),
    for a clause that opens with 占."""
    end = clause_start - 1
    if end <= sent_start:
        return "", -1
    prev_start = _clause_start(text, end, sent_start)
    prev = text[prev_start:end]
    off, _, _ = _strip_lead(prev)
    m = re.search(r"增速|增长|同比|增幅|占|比重|达到|快于|高于|保持|为|\d", prev[off:])
    subject = prev[off : off + m.start()] if m else ""
    return (subject, prev_start + off) if len(subject) >= 2 else ("", -1)


def _contexts(text: str, chunks: Sequence[Chunk]) -> dict[str, tuple[str, bool]]:
    """Per article title: (document year, plan or not), from the article's first chunk."""
    out: dict[str, tuple[str, bool]] = {}
    for c in sorted(chunks, key=lambda c: c.start):
        if c.title in out:
            continue
        lead = text[c.start : c.start + 600]
        out[c.title] = (_doc_year(c, lead), _is_plan(c, lead))
    return out


def _chunk_for(chunks: Sequence[Chunk], starts: list[int], a: int, b: int) -> Chunk | None:
    k = bisect.bisect_right(starts, a) - 1
    best = None
    for c in chunks[max(0, k - 3) : k + 4]:
        if c.start <= a and b <= c.end:
            return c
        if best is None and c.start <= b - 1 < c.end:
            best = c
    return best


def _restates(a: tuple[str, tuple], b: tuple[str, tuple]) -> bool:
    """The same value of the same indicator (one name holding the other: 高新技术企
    and 高新技术企业) in the same year, stated again in one document."""
    (ka, va), (kb, vb) = a, b
    return va == vb and (ka == kb or (min(len(ka), len(kb)) >= 4 and (ka in kb or kb in ka)))


def extract_targets(text: str, chunks: Sequence[Chunk]) -> list[TargetRecord]:
    """The records of one cleaned document `text`, cut into `chunks` (its own, with
    offsets into `text`). Duplicates (the same indicator, value and year stated
    twice in one document) are kept once, at their first statement."""
    chunks = sorted(chunks, key=lambda c: c.start)
    if not chunks or not text.strip():
        return []
    starts = [c.start for c in chunks]
    ctx = _contexts(text, chunks)
    records: list[TargetRecord] = []
    seen: list[tuple[str, tuple]] = []  # (indicator core, value, value_max, unit, kind, year)
    for it in _resolve(text, _items(text)):
        end = it.noun_end if it.noun_end > 0 else it.value_end
        start = min(it.ind_start, it.value_start)
        chunk = _chunk_for(chunks, starts, start, end)
        if chunk is None:
            continue
        start = max(start, chunk.start)
        end = min(end, chunk.end)
        doc_year, plan = ctx.get(chunk.title, ("", False))
        before = text[it.sent_start : it.value_start]
        year = _year(before, doc_year)
        if _THIS_YEAR.search(before) and not _YEAR_CUE.search(_unquoted(before)):
            year = doc_year
        # Cue words count near the figure: its clause and the one before it.
        near = text[_clause_start(text, max(it.clause_start - 1, it.sent_start), it.sent_start) : it.value_start]
        kind = _kind(near, doc_year, year, chunk.heading_path, plan)
        indicator = it.indicator
        if it.fig.unit in _COUNT_UNITS or not it.fig.unit:
            indicator = _count_noun(indicator)
        key = indicator_key(indicator)
        period = it.period or ("年均" if "年均" in indicator else "")
        stated = (_core(key), (it.fig.value, it.fig.value_max, it.fig.unit, kind, year))
        if any(_restates(stated, other) for other in seen):
            continue
        seen.append(stated)
        records.append(TargetRecord(
            indicator=indicator, indicator_key=key, value=it.fig.value, unit=it.fig.unit,
            value_text=text[it.value_start : it.value_end], kind=kind, comparator=it.comparator, op=it.op,
            hedge=it.hedge, value_max=it.fig.value_max, year=year, period=period, region=chunk.region,
            level=chunk.level, issuer=chunk.issuer, source=chunk.source, doc_id=chunk.doc_id, title=chunk.title,
            heading_path=chunk.heading_path, chunk_id=chunk.chunk_id, page=chunk.page, start=start, end=end,
            quote=text[start:end], value_start=it.value_start, value_end=it.value_end,
        ))
    return records


def document_targets(doc: Document, chunks: Sequence[Chunk]) -> list[TargetRecord]:
    """At ingest: the records of a cleaned document and its chunks."""
    return extract_targets(doc.text, [c for c in chunks if c.source == doc.source])


# The kind of derived record the store saves as targets.json.
TARGETS: RecordKind[TargetRecord] = RecordKind(
    "targets", EXTRACTOR_VERSION, extract_targets, TargetRecord.to_json, TargetRecord.from_json
)
