"""The atheris entry point for one input kind (libFuzzer arguments follow):

    python -m tests.fuzz.harness pdf -max_total_time=60 out/fuzz/corpus/pdf tests/fuzz/seeds/pdf

Use `python -m tests.fuzz.run` rather than this directly: it runs every kind for a
bounded time, restarts after a finding and prints the figures.
"""

from __future__ import annotations

import importlib
import logging
import sys
import warnings

import atheris


# The third-party parsers each kind reaches; their branches are most of the coverage.
_PARSERS = {
    "pdf": ("pypdf",),
    "docx": ("docx",),
    "html": ("bs4", "charset_normalizer"),
    "text": ("charset_normalizer",),
    "jsonl": ("charset_normalizer",),
}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.exit("usage: python -m tests.fuzz.harness KIND [libFuzzer options] [corpus dirs]")
    kind = sys.argv.pop(1)
    parsers = _PARSERS.get(kind)
    if parsers is None:
        sys.exit(f"unknown kind {kind!r}; one of {', '.join(_PARSERS)}")
    # Instrumenting costs seconds per library at start-up: only the parsers this
    # kind reaches are instrumented, plus the project's own ingest code. jieba's
    # huge tables are imported plainly first.
    for name in ("jieba", "ingest.tokenize", "docx", "bs4", "charset_normalizer"):
        if name.split(".")[0] not in parsers:
            importlib.import_module(name)
    with atheris.instrument_imports():
        for name in parsers:
            importlib.import_module(name)
        from tests.fuzz import targets
    # pypdf and bs4 warn about every damaged input; the findings are exceptions, not warnings.
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    targets.check(kind, b"warm-up")  # load jieba's dictionary before the clock starts

    def one_input(data: bytes) -> None:
        targets.check(kind, data)

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
