"""The one reader of `ingest/resources/`: word lists and tables kept as data files,
a line an entry, `#` starting a comment line."""

from __future__ import annotations

from importlib import resources


def read_lines(name: str) -> list[str]:
    """The entries of resources/`name`, stripped, blank and comment lines left out."""
    text = resources.files("ingest").joinpath("resources", name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
