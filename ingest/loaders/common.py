"""What every format shares: the checks made before parsing, the exception that
turns into an IngestError, and the text fixes applied to whatever a parser gives."""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import NamedTuple

from policyqa.types import Page

_SURROGATE = re.compile("[\ud800-\udfff]")


class Problem(Exception):
    """A reason why the file cannot be loaded; `load_bytes` reports it as an IngestError."""


class Extracted(NamedTuple):
    """What a format holding one document reads from a file's bytes."""

    text: str
    pages: tuple[Page, ...]
    meta: dict[str, str]


def read_checked(path: Path, max_bytes: int, supported: frozenset[str]) -> bytes:
    """Return the file bytes after the checks that need no parsing."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise Problem("file not found") from None
    except OSError as exc:
        raise Problem(f"cannot access file ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise Problem("is a directory, not a file")
    if not stat.S_ISREG(st.st_mode):
        # Reading a FIFO or device could block forever.
        raise Problem("not a regular file")
    suffix = path.suffix.lower()
    if suffix not in supported:
        shown = f"'{path.suffix}'" if path.suffix else "(no extension)"
        raise Problem(
            f"unsupported file type {shown}; supported: {', '.join(sorted(supported))}"
        )
    # Check the size before reading so a huge file is never loaded into memory.
    if st.st_size > max_bytes:
        raise Problem(too_large(st.st_size, max_bytes))
    if st.st_size == 0:
        raise Problem("empty file (0 bytes)")
    try:
        with path.open("rb") as fh:
            # Read one byte past the cap: the file may have grown since stat().
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise Problem(f"cannot read file ({exc.strerror or exc})") from None
    if len(data) > max_bytes:
        raise Problem(too_large(len(data), max_bytes))
    if not data:
        raise Problem("empty file (0 bytes)")
    return data


def require_text(text: str) -> str:
    if not text.strip():
        raise Problem("empty file (only whitespace)")
    return text


def no_surrogates(text: str) -> str:
    """Lone UTF-16 surrogates (from `\\ud800` escapes in JSON or HTML, or broken PDF
    fonts) cannot be written as UTF-8, so the index save would fail on them; they
    become replacement characters, which the garbled-text checks count."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def too_large(size: int, cap: int) -> str:
    return f"file too large: {human(size)} is over the {human(cap)} limit (POLICYQA_MAX_FILE_MB)"


def human(n: float) -> str:
    for unit in ("bytes", "KB", "MB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def describe(exc: Exception) -> str:
    message = str(exc).strip()
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
