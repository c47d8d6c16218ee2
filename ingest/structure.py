"""Document metadata and article boundaries, read from cleaned text.

`extract_meta` reads what a document states about itself (title, issuer, date,
document number, and the 公文 head and tail: 签发人, 主送机关, 成文日期, 附件, 抄送,
印发机关和印发日期, 施行日期 and 有效期, status) and infers where it applies (region,
level) from the issuer, the title and the text. `split_articles` finds the articles
of a multi-article newspaper page; an ordinary document is one article.
"""

from __future__ import annotations

import calendar
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date as Date
from datetime import timedelta
from functools import cache

from ingest.clean import HEADING_RE, is_cjk
from policyqa.text.dates import WRITTEN_DATE, is_date_line, parse_date
from policyqa.text.docnums import is_doc_number_line, normalise_doc_number
from policyqa.text.lexicon import read_lines
from policyqa.text.numerals import small_number
from policyqa.text.places import PROVINCE_ABBR, PROVINCES, ZHEJIANG_CITIES, ZHEJIANG_COUNTIES, Place, find_places
from policyqa.types import Article, DocMeta
from policyqa.text.numerals import ONE_TO_TEN

__all__ = [
    "extract_meta",
    "official_facts",
    "Stated",
    "split_articles",
]


# --------------------------------------------------------------------------- lines


@dataclass(frozen=True)
class _Line:
    start: int
    end: int
    text: str  # stripped


def _lines(text: str) -> list[_Line]:
    out: list[_Line] = []
    pos = 0
    for raw in text.split("\n"):
        s = raw.strip()
        if s:
            lead = len(raw) - len(raw.lstrip())
            out.append(_Line(pos + lead, pos + lead + len(s), s))
        pos += len(raw) + 1
    return out


_FIELD_RX = re.compile(r"^(索引号|发布机构|发文机关|发文日期|发布日期|成文日期|文号|发文字号|信息来源|来源)\s*[:：]")
_PROSE_PUNCT = set("。，；！？,;!?")
_DOC_SUFFIX = (
    "方案|办法|意见|通知|要点|规划|计划|细则|规定|决定|答复|公告|通报|报告|纲要|指南|措施|条例|指引|函|批复|决议"
)
_SUFFIX_TITLE = re.compile(rf"(?:{_DOC_SUFFIX})(?:[（(][^）)]{{1,16}}[）)])?$")
_SECTION_LABEL = re.compile(r"^(?:.{0,4}新闻|要闻|综合|时事|财经|专版|.{0,4}专刊|第?\d+版.*|本版.*|责任编辑.*|编辑.*)$")
_CAPTION = re.compile(r"^(?:图为|图：|图:|（图|\(图)|(?:摄|供图)）?$")
_NEWS_START = re.compile(r"^(?:本报讯|本报记者|本报通讯员|本报.{1,6}电|新华社.{0,12}电)")
# `（京 讯）`, `（辽讯）`, `（徽 文）`, `（记者 张三）`
_BYLINE = re.compile(
    r"^[（(]\s*(?P<abbr>[\u4e00-\u9fff])\s*[\u4e00-\u9fff]?\s*[讯文电稿]\s*[）)]$"
    r"|^[（(]\s*(?:记者|通讯员|作者|文|文/图|图/文)[\u4e00-\u9fff\s/]{2,16}[）)]$"
)
_ORG_SUFFIX = r"(?:厅|局|委员会|委|办公室|办|人民政府|政府|院|部|中心|公司|集团|会|署|处|联合会)"
_ORG_LINE = re.compile(rf"^[\u4e00-\u9fff（）()、]{{2,40}}{_ORG_SUFFIX}$")
# the 版头 of a 公文: 发文机关标志 `浙江省科学技术厅文件`; 份号, 密级 and 紧急程度 above it
_MASTHEAD = re.compile(rf"^(?P<org>[\u4e00-\u9fff（）()、]{{1,60}}?{_ORG_SUFFIX})文件$")
_HEAD_MARK = re.compile(r"^(?:\d{6}|(?:绝密|机密|秘密)(?:★.{0,8})?|特急|加急|特提|平急)$")
_SIGNER = re.compile(r"签发人\s*[:：]\s*(?P<names>[\u4e00-\u9fff·、\s]{2,30})$")


def _is_prose(s: str) -> bool:
    return any(c in _PROSE_PUNCT for c in s) or len(s) > 60


def _title_like(s: str) -> bool:
    return (
        2 <= len(s) <= 60
        and not _is_prose(s)
        and not _FIELD_RX.match(s)
        and not is_doc_number_line(s)
        and not is_date_line(s)
        and not _BYLINE.match(s)
        and not _NEWS_START.match(s)
        and not HEADING_RE.match(s)
        and not s.endswith((":", "："))
        and not _MASTHEAD.match(s)
        and not _HEAD_MARK.match(s)
        and "签发人" not in s
    )


# --------------------------------------------------------------------------- title

_PUBLISH_RX = re.compile(r"(?:印发|出台|发布|公布|制定|修订|颁布)(?:了)?《([^《》\n]{4,80})》")


def _find_title(lines: list[_Line]) -> str:
    head: list[str] = []
    for ln in lines[:12]:
        if _is_prose(ln.text) and not _FIELD_RX.match(ln.text):
            break
        head.append(ln.text)
    for s in head:  # a title naming a document type: …方案, …要点, …的答复
        if _title_like(s) and len(s) >= 6 and _SUFFIX_TITLE.search(s):
            return s
    for s in head:  # 《X》 on a line of its own
        m = re.fullmatch(r"《([^《》]{4,80})》", s)
        if m:
            return m.group(1)
    for s in head:  # a headline
        if _title_like(s) and len(s) >= 6 and not _SECTION_LABEL.match(s) and not _CAPTION.search(s):
            return s
    first = "\n".join(ln.text for ln in lines[:6])
    m = _PUBLISH_RX.search(first)
    if m:
        return m.group(1)
    return ""


# --------------------------------------------------------------------------- issuer

_ISSUE_VERB = re.compile(r"(?:近日|日前|最近|今年以来|近期|)(?:联合)?(?:印发|发布|出台|制定|举办|召开|公布)")


def _issuer_from_field(lines: list[_Line]) -> str:
    for ln in lines[:15]:
        m = re.search(
            r"(?:发布机构|发文机关)\s*[:：]\s*\|?\s*([^\s|]{2,40}?)\s*"
            r"(?=\||$|\s|索引号|发文日期|发布日期|成文日期|名称|文号|发文字号|主题|公开方式|时效|有效性|来源)",
            ln.text,
        )
        if m and m.group(1).strip():
            return m.group(1).strip()
    return ""


def _issuer_from_source_field(lines: list[_Line]) -> str:
    for ln in lines[:15] + lines[-6:]:
        m = re.match(r"^(?:信息来源|来源)\s*[:：]\s*([^\s|]{2,30})", ln.text)
        if m:
            return m.group(1)
    return ""


def _signature(lines: list[_Line]) -> tuple[str, str, _Line | None]:
    """(issuer, date, date line) of the 落款 at the end of the body: organisation
    line(s) then a date line. The body ends before the 版记 and the attachment pages."""
    body = lines[: _body_end(lines)]
    dated = [k for k in range(len(body)) if is_date_line(body[k].text)]
    k = next((k for k in reversed(dated) if k >= len(body) - 8), None)
    if k is None:
        # an 印发 notice prints the policy it issues right after its 落款, with no
        # 附件 page between: there a date line counts only under an organisation
        k = next((k for k in reversed(dated) if k and _ORG_LINE.match(body[k - 1].text)), None)
    if k is None:
        return "", "", None
    orgs: list[str] = []
    j = k - 1
    while j >= 0 and _ORG_LINE.match(body[j].text) and len(orgs) < 4:
        orgs.insert(0, body[j].text)
        j -= 1
    return "、".join(orgs), parse_date(body[k].text), body[k]


def issuer_from_text(text: str) -> str:
    """The organisation that `印发`/`发布`/`举办`s something, from the first sentences:
    `近日，浙江省经信厅印发《…》` -> `浙江省经信厅`."""
    head = text[:400]
    for m in _ISSUE_VERB.finditer(head):
        if not m.group(0) or m.start() == 0:
            continue
        # the clause before the verb
        k = m.start()
        j = k
        while j > 0 and head[j - 1] not in "，。；：！？,;:\n“”《》":
            j -= 1
        clause = re.sub(r"^(?:本报讯|本报记者\S*|为\S*)\s*", "", head[j:k].strip())
        clause = re.sub(r"(?:联合|共同|近日|日前|最近|近期)+$", "", clause)
        parts = [p for p in clause.split("、") if p]
        if parts and all(re.fullmatch(rf"[\u4e00-\u9fff（）]{{2,30}}{_ORG_SUFFIX}", p) for p in parts):
            return "、".join(parts)
    return ""


# --------------------------------------------------------------------------- region & level

_MINISTRIES = (
    "科学技术|科技|财政|教育|商务|工业和信息化|工信|人力资源和社会保障|人社|自然资源|生态环境|住房和城乡建设|住建"
    "|交通运输|水利|农业农村|文化和旅游|应急管理|外交|国防|公安|国家安全|民政|司法|退役军人事务"
)
_NATIONAL_HEAD = re.compile(
    rf"^(?:中共中央|国务院|全国人大|全国政协|全国总工会|中央[\u4e00-\u9fff]{{0,6}}?(?:委员会|办公厅|办公室|军委)"
    rf"|国家[\u4e00-\u9fff]{{1,8}}?(?:委员会|委|局|部|署|院|办公室|办)|中国人民银行|中国银(?:保)?监会|中国证监会"
    rf"|中国银行保险监督管理委员会|(?:{_MINISTRIES})部|海关总署|[\u4e00-\u9fff]{{1,6}}总局)"
)
_LOCAL_HEAD = re.compile(r"^(?:中共)?(?:省|市|县|区|州)")
_MUNICIPALITIES = {"北京市", "天津市", "上海市", "重庆市"}
# `湘潭市人民政府…`, `武汉市卫健委…`: a city or county outside the gazetteer
_GENERIC_PLACE = re.compile(
    r"^(?:中共)?([\u4e00-\u9fff]{2,3}?)(市|县|自治州|自治县)"
    r"(?=人民政府|政府|委员会|关于|[\u4e00-\u9fff]{0,8}?(?:局|委|办|厅|中心))"
)
_NOT_PLACE_HEAD = set("全本各我该城超门省市县区州直每两分")
_CITY_MENTION = re.compile(r"([\u4e00-\u9fff]{2})市")


def _generic_place(s: str) -> Place | None:
    m = _GENERIC_PLACE.match(s)
    if not m or m.group(1)[0] in _NOT_PLACE_HEAD:
        return None
    name = m.group(1) + m.group(2)
    return Place(name, "city" if m.group(2) == "市" else "county")


def _place_near_start(s: str, window: int = 12) -> Place | None:
    """A place named in the first characters of an issuer or title."""
    for p in find_places(s[: window + 8]):
        if s.find(p.name[:2]) <= window:
            return p
    return _generic_place(s)


def _is_national(s: str) -> bool:
    head = s.split("、")[0]
    return bool(head) and bool(_NATIONAL_HEAD.match(head)) and not _LOCAL_HEAD.match(head) and not (
        _place_near_start(head, 8)
    )


def _level_of_issuer(issuer: str) -> str:
    first = issuer.split("、")[0]
    if not first:
        return ""
    if _is_national(first):
        return "national"
    place = _place_near_start(first, 2)
    if place:
        return "province" if place.name in _MUNICIPALITIES else place.level
    if first.startswith(("省", "中共省")):
        return "province"
    if first.startswith(("市", "中共市")):
        return "city"
    if first.startswith(("县", "区")):
        return "county"
    return ""


def _top(places: list[Place], level: str) -> str:
    counts = Counter(p.name for p in places if p.level == level)
    return counts.most_common(1)[0][0] if counts else ""


def _top_city(text: str, places: list[Place]) -> str:
    """The city a city-level text is about: the most named gazetteer city (or the city
    of the most named county), or any `XX市` named at least twice."""
    counts = Counter(p.name for p in places if p.level == "city")
    counts.update(ZHEJIANG_COUNTIES[p.name] for p in places if p.level == "county")
    generic = Counter(
        m.group(0)
        for m in _CITY_MENTION.finditer(text)
        if m.group(1)[0] not in _NOT_PLACE_HEAD
        and m.group(1) not in PROVINCES
        and m.group(1)[1] not in "城超门"
        and m.group(1) not in ZHEJIANG_CITIES
    )
    counts.update({name: n for name, n in generic.items() if n >= 2})
    best = counts.most_common(1)
    return best[0][0] if best else ""


def _infer_region(text: str, title: str, issuer: str) -> tuple[str, str]:
    """(region, level) from the issuer, then the title, then the text."""
    level = _level_of_issuer(issuer)
    if level == "national" or (not level and _is_national(title)):
        return "全国", "national"
    # a place named at the start of the issuer or the title
    for src in (issuer.split("、")[0], title):
        place = _place_near_start(src) if src else None
        if place:
            place_level = "province" if place.name in _MUNICIPALITIES else place.level
            if not level or place_level == level:
                return place.name, place_level
    if not level:
        if "全市" in title:
            level = "city"
        elif "全省" in title:
            level = "province"
        elif "全县" in title or "全区" in title:
            level = "county"
    places = find_places(text)
    if not level:
        cues = Counter(
            {
                "city": len(re.findall(r"全市|市委|市政府|市科技局|市经信局|市财政局|市发改委|各县（市、区）|县（市、区）", text)),
                "province": len(re.findall(r"全省|省委|省政府|省科技厅|省经信厅|省财政厅|各设区市", text)),
                "county": len(re.findall(r"全县|县委|县政府|各乡镇|乡镇（街道）", text)),
            }
        )
        best, n = cues.most_common(1)[0]
        if n:
            level = best
    if level == "county":
        county = _top(places, "county")
        if county:
            return county, "county"
        level = "city"
    if level == "city":
        city = _top_city(text, places)
        if city:
            return city, "city"
        municipality = Counter(p.name for p in places if p.name in _MUNICIPALITIES).most_common(1)
        if municipality:
            return municipality[0][0], "province"
        return "", "city"
    if level == "province" or not level:
        prov = _top(places, "province")
        if prov:
            return prov, "province"
        if _top(places, "city"):
            return "浙江省", "province"
    return "", level


# --------------------------------------------------------------------------- 公文 head and tail

# The tail of a document: its 落款, 附注 and 版记 (抄送, 印发) are in the last lines.
_TAIL = 15
# A 版记 line glued to the text before it (flattened web text) is only read this near the end.
_GLUED_TAIL_CHARS = 800


_STATUS_WORDS: dict[str, str] = dict(ln.split("\t", 1) for ln in read_lines("doc_status.txt"))
_STATUS_QUALIFIER = re.compile(
    rf"[（(【\[]\s*(?P<word>{'|'.join(sorted(_STATUS_WORDS, key=len, reverse=True))})\s*[）)】\]]"
)
_ADDRESSEE = re.compile(r"^(?P<to>[^。；！？:：]{2,160}?)\s*[:：]")
_ADDRESSEE_END = re.compile(rf"(?:{_ORG_SUFFIX}|{'|'.join(read_lines('addressee_words.txt'))})$")
# flattened web text glues the title, the 文号 or the issuer onto the addressee list
_GLUED_TITLE = re.compile(rf"^.*?(?:{_DOC_SUFFIX}|通告|[〕\]］]\s*\d{{1,5}}\s*号|\.{{3}}|…)(?=各|广大)")
_GLUED_ORG = re.compile(rf"^.*?{_ORG_SUFFIX}(?=各)")
# 版记: `抄送：…。` and `浙江省科学技术厅办公室 2025年3月14日印发`, at a line start or
# right after the 落款 they were flattened onto
_GLUED = r"(?:^|(?<=[。）)日]))"
_CC = re.compile(rf"{_GLUED}抄送\s*[:：]\s*(?P<cc>.+)$")
_PRINTED = re.compile(rf"{_GLUED}(?P<org>[\u4e00-\u9fff（）()、]{{1,40}}?{_ORG_SUFFIX})\s*(?P<date>{WRITTEN_DATE})\s*印发$")
# 附件说明 `附件：1. …` and the attachment pages that follow the 落款 (`附件1`)
_ATTACHMENT_NOTE = re.compile(r"^附件\s*[:：]\s*(?P<rest>.*)$")
_ATTACHMENT_ITEM = re.compile(rf"^(?:\d{{1,2}}|[{ONE_TO_TEN}]{{1,2}})\s*[.．、]\s*(?P<name>.+)$")
_ATTACHMENT_PAGE = re.compile(r"^附件\s*\d{0,2}\s*[:：]?$")
_HAS_DATE = re.compile(WRITTEN_DATE)
# what the document says of itself: 本办法, 以上措施, 上述政策; at the start of a
# clause or an article (`第三十条本办法`), so that 成本 or 基本 is no 本
_SELF = rf"(?:^|(?<=[\s，。；：、条）)\]]))(?:本|以上|上述)[\u4e00-\u9fff]{{0,12}}?(?:{_DOC_SUFFIX}|通告|政策|规则|文件)"
_IN_FORCE = re.compile(
    rf"{_SELF}[^。；]{{0,30}}?(?P<clause>自\s*(?P<from>[^，。；,（(的]{{2,24}}?)\s*起?\s*(?:施行|实施|执行|生效))"
)
_TERM = re.compile(
    r"(?:有效期|施行期|执行期|实施期)限?\s*(?:为|暂定为?|是)?\s*(?:"
    rf"(?P<n>\d{{1,2}}|[{ONE_TO_TEN}两]{{1,2}})\s*(?P<unit>年|个月)"
    r"|(?:至|到|截至|截止到?)\s*(?P<until>[^，。；（(,]{2,40})"
    r"|(?<=[为定是])\s*(?P<period>[^，。；（(,]{2,40}))"
)
_SELF_TERM = re.compile(rf"{_SELF}[^。；]{{0,20}}?(?=(?:有效期|施行期|执行期|实施期))")
_YEAR_END = re.compile(r"^((?:19|20)\d{2})\s*年\s*(?:底|末)$")


@dataclass(frozen=True)
class Stated:
    """A fact as the document states it: `value` as DocMeta holds it (ISO dates), `said`
    as the text writes it, and [start, end) the span of the text that says it."""

    value: str
    said: str
    start: int
    end: int


@cache
def _row_rx(names: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(
        rf"(?:^|(?<=[\s|]))[\[【［]?\s*(?:{'|'.join(names)})\s*(?:[\]】］]|[:：])\s*\|?\s*(?P<v>[^|\[【\s][^|\[【]*)"
    )


def _row(lines: list[_Line], names: tuple[str, ...]) -> Stated | None:
    """A metadata row of the head: `成文日期：2020-02-03`, `[成文日期] 2020-02-03`,
    `成文日期: | 2020-02-03 |`."""
    for ln in lines[:15]:
        m = _row_rx(names).search(ln.text)
        if m:
            v = m.group("v").strip()
            return Stated(v, v, ln.start + m.start("v"), ln.start + m.start("v") + len(v))
    return None


def _dated(row: Stated | None) -> Stated | None:
    """A row that holds a date, with the date as its value."""
    if row is None or not (d := parse_date(row.said)):
        return None
    return Stated(d, row.said, row.start, row.end)


def _body_end(lines: list[_Line]) -> int:
    """Index of the first line after the body and its 落款: the 版记 in the tail, or an
    attachment page just after a date line."""
    for k, ln in enumerate(lines):
        if k and k >= len(lines) - _TAIL and (_CC.match(ln.text) or _PRINTED.match(ln.text)):
            return k
        if _ATTACHMENT_PAGE.match(ln.text) and any(is_date_line(p.text) for p in lines[max(0, k - 4) : k]):
            return k
    return len(lines)


def _masthead_issuer(lines: list[_Line]) -> str:
    for ln in lines[:8]:
        if m := _MASTHEAD.match(ln.text):
            return m.group("org")
    return ""


def _head_issuer(lines: list[_Line]) -> str:
    """The 发文机关 printed on its own line above a `关于…` title (a scan or a PDF
    without the masthead's `文件`)."""
    for ln, nxt in zip(lines[:6], lines[1:7]):
        if _ORG_LINE.match(ln.text) and nxt.text.startswith("关于"):
            return ln.text
    return ""


def _signer(lines: list[_Line]) -> Stated | None:
    """签发人 of a 上行文, on the 发文字号 line; co-signers stand on the lines below."""
    for k, ln in enumerate(lines[:15]):
        m = _SIGNER.search(ln.text)
        if not m:
            continue
        names = [n for n in re.split(r"[、\s]+", m.group("names")) if n]
        end = ln.start + m.end()
        for nxt in lines[k + 1 : k + 4]:
            if not re.fullmatch(r"[\u4e00-\u9fff·]{2,4}", nxt.text):
                break
            names.append(nxt.text)
            end = nxt.end
        return Stated("、".join(names), "、".join(names), ln.start + m.start("names"), end)
    return None


def _recipients(text: str, lines: list[_Line]) -> Stated | None:
    """主送机关: the line before the body that ends in a colon and names organisations
    (`各市、县（市、区）科技局：`). Flattened text glues the body to it; then only a list
    that starts with 各 is taken, since whatever precedes it is glued on too."""
    for k, ln in enumerate(lines[:15]):
        if HEADING_RE.match(ln.text):
            break  # the body has begun
        end = ln.end
        if ln.text[-1] in "、，," and k + 1 < len(lines):  # a list wrapped onto the next line
            end = lines[k + 1].end
        m = _ADDRESSEE.match(text[ln.start : end])
        if m and not _FIELD_RX.match(ln.text):
            raw = m.group("to")
            cut = _GLUED_TITLE.match(raw) or _GLUED_ORG.match(raw)
            # a whole organisation name before 各 is the issuer; 省政府各部门 is one addressee
            glued = cut and not raw.startswith(("各", "广大")) and cut.end() >= 7 and "，" not in cut.group(0)
            at = cut.end() if cut and glued else 0
            to = re.sub(r"\s+", "", raw[at:])
            own_line = not text[ln.start + m.end() : end].strip()
            plain = own_line and len(to) <= 40 and all(_ADDRESSEE_END.search(t) for t in re.split(r"[，、,]", to))
            if _ADDRESSEE_END.search(to) and (to.startswith(("各", "广大")) or plain):
                return Stated(to, to, ln.start + at, ln.start + m.end("to"))
        if "。" in ln.text:
            break  # a paragraph of the body: the addressee stands before it
    return None


def _signed(lines: list[_Line]) -> Stated | None:
    """成文日期: the date line of the 落款, else a 成文日期 row of the head."""
    _, when, line = _signature(lines)
    if line is not None and when:
        return Stated(when, line.text, line.start, line.end)
    return _dated(_row(lines, ("成文日期",)))


def _attachments(lines: list[_Line]) -> Stated | None:
    """附件说明 `附件：1. A` with `2. B` on the lines below, or `附件：A`."""
    body = lines[: _body_end(lines)]
    notes = [(k, m) for k, ln in enumerate(body) if (m := _ATTACHMENT_NOTE.match(ln.text))]
    if not notes:
        return None
    k, note = notes[-1]
    rest = note.group("rest").strip()
    first = _ATTACHMENT_ITEM.match(rest)
    names = [first.group("name") if first else rest] if rest else []
    end = body[k].end
    if not rest or first:  # a numbered list goes on below
        for ln in body[k + 1 :]:
            m = _ATTACHMENT_ITEM.match(ln.text)
            if not m:
                break
            names.append(m.group("name"))
            end = ln.end
    names = [n.strip() for n in names]
    # a sentence or a glued-on 落款 is not an attachment's name
    if not names or any(not n or "。" in n or len(n) > 80 or _HAS_DATE.search(n) for n in names):
        return None
    return Stated("；".join(names), "；".join(names), body[k].start, end)


def _tail_match(rx: re.Pattern[str], text: str, lines: list[_Line]) -> tuple[_Line, re.Match[str]] | None:
    """The last match of a 版记 pattern in the tail: at a line start, or glued on near the end."""
    for ln in reversed(lines[-_TAIL:]):
        m = rx.search(ln.text)
        if m and (m.start() == 0 or ln.start + m.start() >= len(text) - _GLUED_TAIL_CHARS):
            return ln, m
    return None


def _cc(text: str, lines: list[_Line]) -> Stated | None:
    """抄送 of the 版记, up to its closing 。 or the 印发 line glued after it."""
    found = _tail_match(_CC, text, lines)
    if not found:
        return None
    ln, m = found
    start = ln.start + m.start("cc")
    said = m.group("cc")
    k = lines.index(ln)
    for nxt in lines[k + 1 : k + 4]:  # a long list wraps
        if "。" in said or _PRINTED.search(said) or _PRINTED.match(nxt.text):
            break
        said = text[start : nxt.end]
    printed = _PRINTED.search(said)
    said = said[: printed.start()] if printed else said.split("。")[0]
    said = said.strip().rstrip("。")
    if not said:
        return None
    value = re.sub(r"\s+", "", said)
    return Stated(value, value, start, start + len(said))


def _printed(text: str, lines: list[_Line]) -> tuple[Stated, Stated] | None:
    """(印发机关, 印发日期) of the 版记 line `…办公室 2025年3月14日印发`."""
    found = _tail_match(_PRINTED, text, lines)
    if not found:
        return None
    ln, m = found
    org = Stated(m.group("org"), m.group("org"), ln.start + m.start("org"), ln.start + m.end("org"))
    when = Stated(parse_date(m.group("date")), m.group("date"), ln.start + m.start("date"), ln.start + m.end("date"))
    return org, when


def _stated_date(said: str) -> str:
    """The ISO date a phrase starts with (`2020年2月21日零时`), "" for an event."""
    return parse_date(said) if re.match(WRITTEN_DATE, said) else ""


def _until_date(said: str) -> str:
    """The end date of `至2027年底`, `自发布之日起至2020年6月30日`; "" for an event
    (`至疫情解除`)."""
    said = said.rpartition("至")[2].strip()
    if m := _YEAR_END.match(said):
        return f"{m.group(1)}-12-31"
    return _stated_date(said)


def _term_end(start: str, n: int, unit: str) -> str:
    """The last day of a term of `n` years or months from the ISO date `start`."""
    try:
        first = Date.fromisoformat(start)
    except ValueError:
        return ""
    months = first.month - 1 + (n * 12 if unit == "年" else n)
    year, month = first.year + months // 12, months % 12 + 1
    day = min(first.day, calendar.monthrange(year, month)[1])
    return (Date(year, month, day) - timedelta(days=1)).isoformat()


def _validity(text: str) -> tuple[Stated | None, Stated | None]:
    """(施行, 有效期) the document states of itself: `本办法自2025年4月1日起施行，有效期至
    2027年12月31日`, `以上措施自印发之日起实施，有效期一年`. A date a text gives for
    something else (`《公告》自…起施行`, a licence's 有效期) is not the document's."""
    in_force = None
    term_at = -1
    forces = list(_IN_FORCE.finditer(text))
    if forces:
        m = forces[-1]
        when = m.group("from").strip()
        if value := _stated_date(when):
            in_force = Stated(value, when, m.start("from"), m.start("from") + len(when))
        else:  # 自印发之日起施行
            in_force = Stated("", m.group("clause"), m.start("clause"), m.end("clause"))
        # its term follows in the same sentence, or opens the next one
        stop = text.find("。", m.end())
        stop = len(text) if stop < 0 else stop
        if t := _TERM.search(text, m.end(), stop):
            term_at = t.start()
        elif _TERM.match(text, stop + 1):
            term_at = stop + 1
    if term_at < 0 and (selfs := list(_SELF_TERM.finditer(text))):
        term_at = selfs[-1].end()
    term = _TERM.match(text, term_at) if term_at >= 0 else None
    if term is None:
        return in_force, None
    if term.group("n"):
        n = small_number(term.group("n")) or 0
        start = in_force.value if in_force and len(in_force.value) == 10 else ""
        value = _term_end(start, n, term.group("unit")) if start and n else ""
        said = term.group("n") + term.group("unit")
        return in_force, Stated(value, said, term.start("n"), term.end("unit"))
    if term.group("until"):
        said = re.sub(r"(?:为止|止)$", "", term.group("until").strip())
        return in_force, Stated(_until_date(said), "至" + said, term.start("until"), term.start("until") + len(said))
    said = term.group("period").strip()
    return in_force, Stated(_until_date(said) if "至" in said else "", said, term.start("period"),
                            term.start("period") + len(said))


def _status(lines: list[_Line]) -> Stated | None:
    """征求意见稿 / 草案 / 试行 / 已废止 / 现行有效, as the head says it: a 有效性 row, a
    废止日期 row with a date, or a qualifier of the title (`…办法（试行）`)."""
    row = _row(lines, ("有效性", "时效性", "时效", "效力状态"))
    if row and row.said in _STATUS_WORDS:
        return Stated(_STATUS_WORDS[row.said], row.said, row.start, row.end)
    if repealed := _dated(_row(lines, ("废止日期", "失效日期"))):
        return Stated("已废止", repealed.said, repealed.start, repealed.end)
    for ln in lines[:6]:
        if _is_prose(ln.text) and not _FIELD_RX.match(ln.text):
            break
        if m := _STATUS_QUALIFIER.search(ln.text):
            word = m.group("word")
            return Stated(_STATUS_WORDS[word], word, ln.start + m.start("word"), ln.start + m.end("word"))
    return None


def _official(text: str, lines: list[_Line]) -> dict[str, Stated]:
    found: dict[str, Stated | None] = {
        "signer": _signer(lines),
        "recipients": _recipients(text, lines),
        "signed_date": _signed(lines),
        "attachments": _attachments(lines),
        "cc": _cc(text, lines),
        "status": _status(lines),
    }
    if printed := _printed(text, lines):
        found["printed_by"], found["printed_date"] = printed
    in_force, term = _validity(text)
    found["valid_from"] = in_force or _dated(_row(lines, ("施行日期", "实施日期", "生效日期")))
    found["valid_until"] = term
    return {name: s for name, s in found.items() if s is not None}


def official_facts(text: str) -> dict[str, Stated]:
    """The 公文 facts a cleaned text states, by DocMeta field name (signer, recipients,
    signed_date, printed_by, printed_date, valid_from, valid_until, attachments, cc,
    status). A fact stated without a date (`自印发之日起施行`) has an empty value and
    is still there to quote."""
    return _official(text, _lines(text))


# --------------------------------------------------------------------------- extract_meta

_META_KEYS = ("title", "issuer", "date", "doc_number", "region", "level")


def extract_meta(text: str, given: dict[str, str], source: str) -> DocMeta:
    """Metadata of a cleaned document; non-empty `given` fields (title, issuer, date,
    doc_number, region, level) override extraction.

    `source` is part of the pipeline's signature; metadata is never guessed from the
    file name, so a document that states no title gets an empty one."""
    given = {k: (v or "").strip() for k, v in (given or {}).items() if k in _META_KEYS and v and str(v).strip()}
    lines = _lines(text)

    title = given.get("title") or _find_title(lines)

    sig_issuer, sig_date, _ = _signature(lines)
    issuer = (
        given.get("issuer")
        or _issuer_from_field(lines)
        or sig_issuer
        or _masthead_issuer(lines)
        or _head_issuer(lines)
        or issuer_from_text(text)
        or _issuer_from_source_field(lines)
    )

    date = ""
    if "date" in given:
        date = parse_date(given["date"]) or given["date"]
    else:
        for ln in lines[:15]:
            m = re.search(r"(?:发布日期|发文日期|成文日期|印发日期|日期)\s*[:：]\s*\|?\s*(.+)", ln.text)
            if m and (d := parse_date(m.group(1))):
                date = d
                break
        date = date or sig_date
        if not date:
            m = re.search(r"[（(]((?:19|20)\d{2})[）)]$", title)  # 行动方案(2024)
            if m:
                date = m.group(1)

    doc_number = normalise_doc_number(given["doc_number"]) or given["doc_number"] if "doc_number" in given else ""
    if not doc_number:
        for ln in lines[:15]:
            # a 上行文 prints its 签发人 on the 发文字号 line
            head = ln.text[: m.start()].strip() if (m := _SIGNER.search(ln.text)) else ln.text
            if is_doc_number_line(head):
                doc_number = normalise_doc_number(head)
                break
            m = re.match(r"^(?:文号|发文字号)\s*[:：]\s*\|?\s*(.+)", ln.text)
            if m and normalise_doc_number(m.group(1)):
                doc_number = normalise_doc_number(m.group(1))
                break

    region, level = _infer_region(text, title, issuer)
    region = given.get("region", region)
    level = given.get("level", level)
    if "region" in given and "level" not in given:
        place = _place_near_start(region)
        level = ("province" if place.name in _MUNICIPALITIES else place.level) if place else level
    official = {name: stated.value for name, stated in _official(text, lines).items()}
    return DocMeta(title=title, issuer=issuer, date=date, doc_number=doc_number, region=region, level=level,
                   **official)


# --------------------------------------------------------------------------- split_articles


def _bigrams(s: str) -> set[str]:
    return {s[i : i + 2] for i in range(len(s) - 1) if is_cjk(s[i]) and is_cjk(s[i + 1])}


def _main_place(body: str) -> str:
    counts = Counter(p.name for p in find_places(body))
    return counts.most_common(1)[0][0] if counts else ""


def _similarity(line: str, body_bigrams: set[str], body_place: str) -> float:
    """How well a headline line fits an article body: shared character bigrams, plus
    one if it names the body's main place."""
    grams = _bigrams(line)
    score = len(grams & body_bigrams) / len(grams) if grams else 0.0
    places = find_places(line)
    if places and body_place and places[0].name == body_place:
        score += 1.0
    return score


def _headline(lines: list[_Line], text: str) -> str:
    """The headline among `lines`: their title-like lines, leaving out section labels
    and photo captions (a caption runs on to the lines of its paragraph)."""
    parts: list[str] = []
    in_caption = False
    prev: _Line | None = None
    for ln in lines:
        same_paragraph = prev is not None and "\n\n" not in text[prev.end : ln.start]
        if _CAPTION.search(ln.text):
            in_caption = True
        elif not (in_caption and same_paragraph):
            in_caption = False
            if _title_like(ln.text) and not _SECTION_LABEL.match(ln.text):
                parts.append(ln.text)
        prev = ln
    return "".join(parts)


def _article_region(title: str, body: str, byline: str) -> tuple[str, str]:
    if byline:
        m = _BYLINE.match(byline)
        if m and m.group("abbr") and m.group("abbr") in PROVINCE_ABBR:
            return PROVINCE_ABBR[m.group("abbr")], "province"
    place = _place_near_start(title)
    if place:
        return place.name, "province" if place.name in _MUNICIPALITIES else place.level
    region, level = _infer_region(body, title, issuer_from_text(body))
    return region, level


def split_articles(text: str, meta: DocMeta) -> tuple[Article, ...]:
    """Articles covering `text` contiguously. A newspaper page (several `本报讯` /
    `本报记者` items) is split at item boundaries; the headline printed after an
    item's byline (`（京 讯）`) goes with the item it matches best."""
    whole = (Article(0, len(text), meta.title, meta.region, meta.level, meta.issuer),)
    lines = _lines(text)
    starts = [k for k, ln in enumerate(lines) if _NEWS_START.match(ln.text)]
    if len(starts) < 2:
        return whole
    bylines = [k for k, ln in enumerate(lines) if _BYLINE.match(ln.text)]

    # first line index of each article; article 0 starts at the top of the page
    first: list[int] = [0]
    ends: list[int] = []  # index of each article's byline (or -1)
    for a in range(len(starts)):
        nxt = starts[a + 1] if a + 1 < len(starts) else len(lines)
        bl = [b for b in bylines if starts[a] < b < nxt]
        ends.append(bl[-1] if bl else -1)
    for a in range(1, len(starts)):
        s_prev, s_next = starts[a - 1], starts[a]
        if ends[a - 1] >= 0:
            gap = list(range(ends[a - 1] + 1, s_next))
        else:
            gap = []
            k = s_next - 1
            while k > s_prev and _title_like(lines[k].text):
                gap.insert(0, k)
                k -= 1
            # all of it is the next item's headline
            first.append(gap[0] if gap else s_next)
            continue
        body_prev = "\n".join(ln.text for ln in lines[s_prev : ends[a - 1]])
        nxt_end = ends[a] if ends[a] >= 0 else (starts[a + 1] if a + 1 < len(starts) else len(lines))
        body_next = "\n".join(ln.text for ln in lines[s_next:nxt_end])
        bp, bn = _bigrams(body_prev), _bigrams(body_next)
        pp, pn = _main_place(body_prev), _main_place(body_next)
        to_prev = [_similarity(lines[g].text, bp, pp) for g in gap]
        to_next = [_similarity(lines[g].text, bn, pn) for g in gap]
        best_s, best_score = 0, float("-inf")
        for s in range(len(gap) + 1):
            score = sum(to_prev[:s]) + sum(to_next[s:])
            if score > best_score + 1e-9:
                best_s, best_score = s, score
        first.append(gap[best_s] if best_s < len(gap) else s_next)

    articles: list[Article] = []
    for a in range(len(starts)):
        lo = first[a]
        hi = first[a + 1] if a + 1 < len(first) else len(lines)
        start = 0 if a == 0 else lines[lo].start
        end = len(text) if a + 1 == len(first) else lines[hi].start
        own = lines[lo:hi]
        # headline: title-like lines before the body start and after the byline
        before = [ln for ln in lines[lo : starts[a]]]
        after = [ln for ln in lines[ends[a] + 1 : hi]] if ends[a] >= 0 else []
        title = _headline(before + after, text) or (meta.title if a == 0 else "")
        body = "\n".join(ln.text for ln in own)
        byline = lines[ends[a]].text if ends[a] >= 0 else ""
        region, level = _article_region(title, body, byline)
        issuer = issuer_from_text("\n".join(ln.text for ln in lines[starts[a] : hi]))
        if not title:
            m = _PUBLISH_RX.search(body[:300])
            title = m.group(1) if m else ""
        articles.append(Article(start=start, end=end, title=title, region=region, level=level, issuer=issuer))
    return tuple(articles)
