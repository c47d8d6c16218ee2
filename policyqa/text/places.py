"""Places: the one owner of what a place is.

- China's administrative divisions (provinces, prefecture-level cities, counties),
  from the adcode table that the maintained `cpca` package ships (its data file is
  read; cpca's own code is not run): which places a question names, their stems and
  provinces.
- The names a document's region and level are read from (`find_places`): provinces by
  full and short name, Zhejiang's current cities and counties (cpca's table also
  holds districts merged away since, which would misplace documents)."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata

from policyqa.errors import ConfigError
from policyqa.text.lexicon import read_text

_SUFFIXES = ("特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市", "县", "区")


@dataclass(frozen=True)
class Division:
    name: str  # full name: 本溪市, 本溪满族自治县
    level: str  # province | city | county
    stem: str  # the name as people say it: 本溪
    province: str  # the province it lies in (itself for a province): 辽宁省


@lru_cache(maxsize=1)
def divisions() -> tuple[Division, ...]:
    try:
        path = metadata.distribution("cpca").locate_file("cpca/resources/adcodes.csv")
        with open(str(path), encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except (metadata.PackageNotFoundError, OSError) as exc:
        raise ConfigError(f"the gazetteer needs the cpca package's adcodes.csv ({exc}); run `make setup`") from exc
    provinces = {r["adcode"][:2]: r["name"].strip() for r in rows if r["adcode"][2:].strip("0") == ""}
    out = []
    for row in rows:
        code, name = row["adcode"], row["name"].strip()
        level = "province" if code[2:].strip("0") == "" else "city" if code[4:].strip("0") == "" else "county"
        out.append(Division(name, level, place_stem(name), provinces.get(code[:2], "")))
    return tuple(out)


@lru_cache(maxsize=1)
def province_of() -> dict[str, str]:
    """Full city or county name -> the full name of its province."""
    return {d.name: d.province for d in divisions() if d.level != "province"}


@lru_cache(maxsize=1)
def ambiguous_stems() -> frozenset[str]:
    """City names that are also common words (来宾 guests, 白银 silver): only their
    full name (来宾市) counts as a place."""
    return frozenset(w for w in read_text("ambiguous_places.txt").split() if not w.startswith("#"))


def place_stem(name: str) -> str:
    """A place as people say it: 绍兴市 -> 绍兴, 新疆维吾尔自治区 -> 新疆; a stem keeps
    at least two characters."""
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


# ------------------------------------------------- names in documents: provinces, Zhejiang's cities and counties

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
class Place:
    name: str  # full name: 浙江省, 绍兴市, 新昌县
    level: str  # province | city | county


def _province(m: str) -> str:
    return PROVINCES.get(m, m)


def _city(m: str) -> str:
    return ZHEJIANG_CITIES.get(m, m)


def find_places(text: str) -> list[Place]:
    """Places named in `text`, in order (county names only with their suffix)."""
    found: list[tuple[int, Place]] = []
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
            found.append((m.start(), Place(full(m.group(0)), level)))
    found.sort(key=lambda t: t[0])
    return [p for _, p in found]
