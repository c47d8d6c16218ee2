"""China's administrative divisions (provinces, prefecture-level cities, counties), from
the adcode table that the maintained `cpca` package ships (its data file is read;
cpca's own code is not run). Used to tell which places a question names."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata, resources

from policyqa.errors import ConfigError

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
    text = resources.files("ingest").joinpath("resources", "ambiguous_places.txt").read_text(encoding="utf-8")
    return frozenset(w.strip() for w in text.split() if w.strip() and not w.startswith("#"))


def place_stem(name: str) -> str:
    """A place as people say it: 绍兴市 -> 绍兴, 新疆维吾尔自治区 -> 新疆; a stem keeps
    at least two characters."""
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name
