"""The one reader of `policyqa/text/resources/`: word lists and tables kept as data
files, a line an entry, `#` starting a comment."""

from __future__ import annotations

from importlib import resources


def read_text(name: str) -> str:
    return resources.files("policyqa.text").joinpath("resources", name).read_text(encoding="utf-8")


def read_lines(name: str) -> list[str]:
    """The entries of resources/`name`, stripped, blank and comment lines left out."""
    return [line.strip() for line in read_text(name).splitlines() if line.strip() and not line.startswith("#")]


def read_words(name: str) -> list[str]:
    """Whitespace-separated words of resources/`name`; `#` comments may end a line."""
    return [word for line in read_text(name).splitlines() for word in line.split("#")[0].split()]


def read_pairs(name: str) -> list[tuple[str, str]]:
    """Tab-separated pairs of resources/`name` (alias, canonical)."""
    pairs = []
    for line in read_lines(name):
        if "\t" in line:
            a, b = line.split("\t", 1)
            pairs.append((a, b))
    return pairs
