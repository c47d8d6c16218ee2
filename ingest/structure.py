"""Document metadata and article boundaries, read from cleaned text.

`extract_meta` reads what a document states about itself (title, issuer, date,
document number) and infers where it applies (region, level) from the issuer, the
title and the text. `split_articles` finds the articles of a multi-article
newspaper page; an ordinary document is one article.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from ingest.clean import HEADING_RE, is_cjk
from policyqa.types import Article, DocMeta

__all__ = [
    "extract_meta",
    "split_articles",
    "parse_date",
    "normalise_doc_number",
    "find_places",
    "PROVINCES",
    "ZHEJIANG_CITIES",
    "ZHEJIANG_COUNTIES",
]

# --------------------------------------------------------------------------- gazetteer

# short name -> full name (municipalities and regions included)
PROVINCES: dict[str, str] = {
    "北京": "北京市", "天津": "天津市", "上海": "上海市", "重庆": "重庆市",
    "河北": "河北省", "山西": "山西省", "辽宁": "辽宁省", "吉林": "吉林省", "黑龙江": "黑龙江省",
    "江苏": "江苏省", "浙江": "浙江省", "安徽": "安徽省", "福建": "福建省", "江西": "江西省",
    "山东": "山东省", "河南": "河南省", "湖北": "湖北省", "湖南": "湖南省", "广东": "广东省",
    "海南": "海南省", "四川": "四川省", "贵州": "贵州省", "云南": "云南省", "陕西": "陕西省",
    "甘肃": "甘肃省", "青海": "青海省", "台湾": "台湾省",
    "内蒙古": "内蒙古自治区", "广西": "广西壮族自治区", "西藏": "西藏自治区",
    "宁夏": "宁夏回族自治区", "新疆": "新疆维吾尔自治区",
    "香港": "香港特别行政区", "澳门": "澳门特别行政区",
}
# one-character abbreviations used in newspaper bylines: （京 讯）
PROVINCE_ABBR: dict[str, str] = {
    "京": "北京市", "津": "天津市", "沪": "上海市", "渝": "重庆市", "冀": "河北省", "晋": "山西省",
    "辽": "辽宁省", "吉": "吉林省", "黑": "黑龙江省", "苏": "江苏省", "浙": "浙江省", "皖": "安徽省",
    "徽": "安徽省", "闽": "福建省", "赣": "江西省", "鲁": "山东省", "豫": "河南省", "鄂": "湖北省",
    "湘": "湖南省", "粤": "广东省", "琼": "海南省", "川": "四川省", "蜀": "四川省", "黔": "贵州省",
    "滇": "云南省", "陕": "陕西省", "秦": "陕西省", "甘": "甘肃省", "陇": "甘肃省", "青": "青海省",
    "蒙": "内蒙古自治区", "桂": "广西壮族自治区", "藏": "西藏自治区", "宁": "宁夏回族自治区",
    "新": "新疆维吾尔自治区",
}
ZHEJIANG_CITIES: dict[str, str] = {
    name: name + "市"
    for name in ("杭州", "宁波", "温州", "嘉兴", "湖州", "绍兴", "金华", "衢州", "舟山", "台州", "丽水")
}
# county-level divisions of Zhejiang, with the city they belong to
ZHEJIANG_COUNTIES: dict[str, str] = {}
for _city, _names in {
    "杭州市": "上城区 拱墅区 西湖区 滨江区 萧山区 余杭区 临平区 钱塘区 富阳区 临安区 桐庐县 淳安县 建德市",
    "宁波市": "海曙区 江北区 北仑区 镇海区 鄞州区 奉化区 象山县 宁海县 余姚市 慈溪市",
    "温州市": "鹿城区 龙湾区 瓯海区 洞头区 永嘉县 平阳县 苍南县 文成县 泰顺县 瑞安市 乐清市 龙港市",
    "湖州市": "吴兴区 南浔区 德清县 长兴县 安吉县",
    "嘉兴市": "南湖区 秀洲区 嘉善县 海盐县 海宁市 平湖市 桐乡市",
    "绍兴市": "越城区 柯桥区 上虞区 新昌县 诸暨市 嵊州市",
    "金华市": "婺城区 金东区 武义县 浦江县 磐安县 兰溪市 义乌市 东阳市 永康市",
    "衢州市": "柯城区 衢江区 常山县 开化县 龙游县 江山市",
    "舟山市": "定海区 普陀区 岱山县 嵊泗县",
    "台州市": "椒江区 黄岩区 路桥区 三门县 天台县 仙居县 温岭市 临海市 玉环市",
    "丽水市": "莲都区 青田县 缙云县 遂昌县 松阳县 云和县 庆元县 景宁畲族自治县 龙泉市",
}.items():
    for _n in _names.split():
        ZHEJIANG_COUNTIES[_n] = _city

_PROVINCE_RE = re.compile(
    "|".join(sorted({*PROVINCES, *PROVINCES.values()}, key=len, reverse=True))
)
_CITY_RE = re.compile("|".join(sorted({*ZHEJIANG_CITIES, *ZHEJIANG_CITIES.values()}, key=len, reverse=True)))
_COUNTY_RE = re.compile("|".join(sorted(ZHEJIANG_COUNTIES, key=len, reverse=True)))


@dataclass(frozen=True)
class _Place:
    name: str  # full name: 浙江省, 绍兴市, 新昌县
    level: str  # province | city | county


def _province(m: str) -> str:
    return PROVINCES.get(m, m)


def _city(m: str) -> str:
    return ZHEJIANG_CITIES.get(m, m)


def find_places(text: str) -> list[_Place]:
    """Places named in `text`, in order (county names only with their suffix)."""
    found: list[tuple[int, _Place]] = []
    taken: list[tuple[int, int]] = []
    for rx, level, full in (
        (_COUNTY_RE, "county", lambda s: s),
        (_CITY_RE, "city", _city),
        (_PROVINCE_RE, "province", _province),
    ):
        for m in rx.finditer(text):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue
            taken.append((m.start(), m.end()))
            found.append((m.start(), _Place(full(m.group(0)), level)))
    found.sort(key=lambda t: t[0])
    return [p for _, p in found]


# --------------------------------------------------------------------------- small parsers

_CN_DIGIT = {"〇": 0, "零": 0, "O": 0, "○": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5,
             "六": 6, "七": 7, "八": 8, "九": 9}


def _cn_number(s: str) -> int | None:
    """二〇二五 -> 2025, 十一 -> 11, 二十三 -> 23."""
    s = s.strip()
    if not s:
        return None
    if s.isdigit():
        return int(s)
    if "十" in s:
        head, _, tail = s.partition("十")
        tens = _CN_DIGIT.get(head, None) if head else 1
        ones = _CN_DIGIT.get(tail, None) if tail else 0
        if tens is None or ones is None:
            return None
        return tens * 10 + ones
    if all(c in _CN_DIGIT for c in s):
        return int("".join(str(_CN_DIGIT[c]) for c in s))
    return None


_DATE_RX = re.compile(
    r"(\d{4}|[〇零一二三四五六七八九○O]{4})\s*[-/.年]\s*(\d{1,2}|[一二三四五六七八九十]{1,2})\s*(?:[-/.月]\s*"
    r"(\d{1,2}|[一二三四五六七八九十]{1,3})\s*日?|月)?"
)


def parse_date(s: str) -> str:
    """The first date in `s` as ISO `yyyy-mm-dd` (or `yyyy-mm`, `yyyy`); "" if none."""
    s = s.strip()
    m = _DATE_RX.search(s)
    if m:
        y, mo, d = _cn_number(m.group(1)), _cn_number(m.group(2)), _cn_number(m.group(3) or "")
        if y and 1900 <= y <= 2100 and mo and 1 <= mo <= 12:
            if d and 1 <= d <= 31:
                return f"{y:04d}-{mo:02d}-{d:02d}"
            return f"{y:04d}-{mo:02d}"
    m = re.fullmatch(r"\s*(\d{4})\s*年?\s*", s)
    if m and 1900 <= int(m.group(1)) <= 2100:
        return m.group(1)
    return ""


_DOCNO_RX = re.compile(r"([\u4e00-\u9fff]{1,12})\s*[〔\[［(（]\s*((?:19|20)\d{2})\s*[〕\]］)）]\s*(\d{1,5})\s*号")


def normalise_doc_number(s: str) -> str:
    """`浙科提[2025]315号` -> `浙科提〔2025〕315号`; "" if `s` holds no document number."""
    m = _DOCNO_RX.search(s)
    return f"{m.group(1)}〔{m.group(2)}〕{m.group(3)}号" if m else ""


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
_DOCNO_LINE = re.compile(r"^[\u4e00-\u9fff]{1,12}\s*[〔\[［(（]\s*\d{4}\s*[〕\]］)）]\s*\d{1,5}\s*号$")
_DATE_LINE = re.compile(r"^(?:\d{4}|[〇零一二三四五六七八九○]{4})\s*年\s*[\d一二三四五六七八九十]{1,2}\s*月(?:\s*[\d一二三四五六七八九十]{1,3}\s*日)?$")
_ORG_SUFFIX = r"(?:厅|局|委员会|委|办公室|办|人民政府|政府|院|部|中心|公司|集团|会|署|处|联合会)"
_ORG_LINE = re.compile(rf"^[\u4e00-\u9fff（）()、]{{2,40}}{_ORG_SUFFIX}$")


def _is_prose(s: str) -> bool:
    return any(c in _PROSE_PUNCT for c in s) or len(s) > 60


def _title_like(s: str) -> bool:
    return (
        2 <= len(s) <= 60
        and not _is_prose(s)
        and not _FIELD_RX.match(s)
        and not _DOCNO_LINE.match(s)
        and not _DATE_LINE.match(s)
        and not _BYLINE.match(s)
        and not _NEWS_START.match(s)
        and not HEADING_RE.match(s)
        and not s.endswith((":", "："))
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


def _signature(lines: list[_Line]) -> tuple[str, str]:
    """(issuer, date) of the 落款 at the end: organisation line(s) then a date line."""
    tail = lines[-8:]
    for k in range(len(tail) - 1, -1, -1):
        if _DATE_LINE.match(tail[k].text):
            orgs: list[str] = []
            j = k - 1
            while j >= 0 and _ORG_LINE.match(tail[j].text) and len(orgs) < 4:
                orgs.insert(0, tail[j].text)
                j -= 1
            return "、".join(orgs), parse_date(tail[k].text)
    return "", ""


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


def _generic_place(s: str) -> _Place | None:
    m = _GENERIC_PLACE.match(s)
    if not m or m.group(1)[0] in _NOT_PLACE_HEAD:
        return None
    name = m.group(1) + m.group(2)
    return _Place(name, "city" if m.group(2) == "市" else "county")


def _place_near_start(s: str, window: int = 12) -> _Place | None:
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


def _top(places: list[_Place], level: str) -> str:
    counts = Counter(p.name for p in places if p.level == level)
    return counts.most_common(1)[0][0] if counts else ""


def _top_city(text: str, places: list[_Place]) -> str:
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

    sig_issuer, sig_date = _signature(lines)
    issuer = (
        given.get("issuer")
        or _issuer_from_field(lines)
        or sig_issuer
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
            if _DOCNO_LINE.match(ln.text):
                doc_number = normalise_doc_number(ln.text)
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
    return DocMeta(title=title, issuer=issuer, date=date, doc_number=doc_number, region=region, level=level)


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
