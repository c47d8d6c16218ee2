"""Places: the one owner of what a place is.

- China's administrative divisions (provinces, prefecture-level cities, counties),
  from the adcode table that the maintained `cpca` package ships (its data file is
  read; cpca's own code is not run): which places a question names, their stems and
  provinces.
- The names a document's region and level are read from (`find_places`): provinces by
  full and short name and Zhejiang's cities (both from the gazetteer), Zhejiang's
  current counties (a data file: cpca's table also holds districts merged away since,
  which would misplace documents), the one-character province abbreviations of
  bylines (a data file).
- Scope words (全省, 本市, 全国): which level a question or a sentence speaks for
  (a data file)."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata

from policyqa.errors import ConfigError
from policyqa.text.lexicon import read_lines, read_pairs, read_words

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
    return frozenset(read_words("ambiguous_places.txt"))


def place_stem(name: str) -> str:
    """A place as people say it: 绍兴市 -> 绍兴, 新疆维吾尔自治区 -> 新疆; a stem keeps
    at least two characters."""
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


# ------------------------------------------------- scope words: 全省, 本市, 全国


@dataclass(frozen=True)
class ScopeWord:
    word: str  # 全省
    level: str  # country | province | city | county
    uses: frozenset[str]  # question | sentence | whole | frame (resources/scope_words.txt)


_LEVELS = ("country", "province", "city")  # widest first


@lru_cache(maxsize=1)
def scope_words() -> tuple[ScopeWord, ...]:
    out = []
    for line in read_lines("scope_words.txt"):
        word, level, uses = line.split("\t")
        out.append(ScopeWord(word, level, frozenset(uses.split())))
    return tuple(out)


def question_scope_words() -> dict[str, str]:
    """A question's words for the level of the documents it asks about: 全省 -> province."""
    return {w.word: w.level for w in scope_words() if "question" in w.uses}


def frame_words() -> tuple[str, ...]:
    """Words framing a stated figure without being part of what it measures: 全省, 本市."""
    return tuple(w.word for w in scope_words() if "frame" in w.uses)


def whole_area(level: str) -> str:
    """The word for the whole area of a level: province -> 全省, city -> 全市."""
    return next(w.word for w in scope_words() if w.level == level and "whole" in w.uses)


def wider_words(level: str) -> tuple[str, ...]:
    """Words by which a sentence speaks for an area wider than `level`: city -> 全国,
    全省, 本省, 我省; province -> 全国."""
    above = _LEVELS[: _LEVELS.index(level)]
    return tuple(w.word for w in scope_words() if w.level in above and "sentence" in w.uses)


# ------------------------------------------------- names in documents: provinces, Zhejiang's cities and counties

def _provinces() -> dict[str, str]:
    """Short name -> full name of every province-level division: 浙江 -> 浙江省,
    新疆 -> 新疆维吾尔自治区, 北京 -> 北京市."""
    return {d.stem: d.name for d in divisions() if d.level == "province"}


def _zhejiang_counties() -> dict[str, str]:
    """County-level division of Zhejiang -> its city (a data file: cpca's table is out
    of date there, see the file)."""
    return {county: city for city, counties in read_pairs("zhejiang_counties.txt") for county in counties.split()}


PROVINCES: dict[str, str] = _provinces()
# one-character abbreviations used in newspaper bylines: （京 讯）
PROVINCE_ABBR: dict[str, str] = dict(read_pairs("province_abbreviations.txt"))
# short name -> full name of Zhejiang's cities
ZHEJIANG_CITIES: dict[str, str] = {d.stem: d.name for d in divisions() if d.level == "city" and d.province == "浙江省"}
ZHEJIANG_COUNTIES: dict[str, str] = _zhejiang_counties()

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
