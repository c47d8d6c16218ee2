"""PDF text extraction in a child process, bounded in time, memory and pages.

pypdf is pure Python and a hostile or broken PDF can make it loop for minutes or
allocate gigabytes (decompression bombs, cyclic page trees). Parsing in a child
process with a wall-clock timeout and an address-space cap (RLIMIT_AS) means such
a file costs one skipped document, never the ingest process. The child reads the
PDF bytes on stdin and writes plain JSON on stdout; nothing is pickled.

This file is also the child's entry point (`python -I pdf_worker.py MB PAGES CPU_S`), so
at module level it imports the standard library only.
"""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

# The child's own text output is capped too: the parent reads it into memory.
MAX_TEXT_CHARS = 20_000_000
# Python plus pypdf and cryptography take about 60 MB of address space before any
# parsing; a cap below this would fail every file.
MIN_MEMORY_MB = 128

_NEEDS_CRYPTOGRAPHY = "encrypted PDF (AES) needs the 'cryptography' package to decrypt"


@dataclass(frozen=True)
class PdfLimits:
    """Bounds for parsing one PDF (Settings.pdf_timeout_s, pdf_memory_mb, pdf_max_pages)."""

    timeout_s: float = 60.0
    memory_mb: int = 1024
    max_pages: int = 2000


class PdfProblem(Exception):
    """The PDF cannot be read; the message is the reason shown to the user."""


# ---------------------------------------------------------------- parent side


def extract_pdf_pages(data: bytes, limits: PdfLimits) -> list[str]:
    """The text of each page, parsed in a bounded child process.

    Raises PdfProblem with a user-facing reason when the file is unreadable or
    exceeds a limit."""
    memory_mb = max(int(limits.memory_mb), MIN_MEMORY_MB)
    # The CPU limit is the child's own guard for when this process dies first (an
    # ingest killed mid-run) and no one is left to enforce the wall-clock timeout.
    cpu_s = math.ceil(limits.timeout_s) + 1
    cmd = [sys.executable, "-I", __file__, str(memory_mb), str(int(limits.max_pages)), str(cpu_s)]
    try:
        # subprocess.run kills the child when the timeout expires.
        proc = subprocess.run(cmd, input=data, capture_output=True, timeout=limits.timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise PdfProblem(
            f"PDF parsing took longer than {limits.timeout_s:g} s and was stopped (POLICYQA_PDF_TIMEOUT_S)"
        ) from None
    except OSError as exc:
        raise PdfProblem(f"cannot start the PDF parser process ({exc.strerror or exc})") from None
    if proc.returncode != 0:
        raise PdfProblem(_child_failure(proc.returncode, proc.stderr, memory_mb))
    try:
        result = json.loads(proc.stdout.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise PdfProblem("PDF parser process returned unreadable output") from None
    return pages_or_problem(result)


def pages_or_problem(result: object) -> list[str]:
    """The page texts of an `extract_pages` result, or PdfProblem with its reason."""
    if isinstance(result, dict) and isinstance(result.get("error"), str):
        raise PdfProblem(result["error"])
    pages = result.get("pages") if isinstance(result, dict) else None
    if not isinstance(pages, list) or not all(isinstance(p, str) for p in pages):
        raise PdfProblem("PDF parser process returned unreadable output")
    return pages


def _child_failure(returncode: int, stderr: bytes, memory_mb: int) -> str:
    tail = stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
    if "MemoryError" in tail[0] or returncode == -9:
        # SIGKILL without our timeout is the kernel's OOM killer or a hard limit.
        return f"PDF needs more than {memory_mb} MB of memory to parse (POLICYQA_PDF_MEMORY_MB)"
    if returncode == -signal.SIGXCPU:
        return "PDF parsing used up its CPU time and was stopped (POLICYQA_PDF_TIMEOUT_S)"
    if returncode < 0:
        return f"PDF parser process crashed (signal {-returncode})"
    detail = tail[0][:200]
    return f"PDF parser process failed (exit code {returncode}{': ' + detail if detail else ''})"


# ---------------------------------------------------------------- child side


def extract_pages(data: bytes, max_pages: int) -> dict[str, Any]:
    """{"pages": [text, ...]} or {"error": reason}. Runs pypdf in this process: the
    parent calls it through the child; the fuzz harness calls it directly."""
    import io

    from pypdf import PdfReader
    from pypdf.errors import DependencyError

    # pypdf raises many exception types on malformed input, so catch broadly.
    try:
        reader = PdfReader(io.BytesIO(data))
        encrypted = reader.is_encrypted
    except DependencyError:
        return {"error": _NEEDS_CRYPTOGRAPHY}
    except MemoryError:
        raise
    except Exception as exc:
        return {"error": f"corrupt PDF ({_describe(exc)})"}
    if encrypted:
        # Many PDFs are encrypted only to restrict printing/copying, with an
        # empty user password; those are readable.
        try:
            decrypted = reader.decrypt("")
        except DependencyError:
            return {"error": _NEEDS_CRYPTOGRAPHY}
        except MemoryError:
            raise
        except Exception:
            decrypted = 0
        if not decrypted:
            return {"error": "encrypted PDF (password required)"}
    try:
        count = len(reader.pages)
    except MemoryError:
        raise
    except Exception as exc:
        return {"error": f"corrupt PDF (cannot read the page tree: {_describe(exc)})"}
    if count == 0:
        return {"error": "corrupt PDF (the page tree is empty)"}
    if count > max_pages:
        return {"error": f"PDF has {count} pages, over the limit of {max_pages} (POLICYQA_PDF_MAX_PAGES)"}
    pages: list[str] = []
    total = 0
    for number in range(count):
        try:
            text = reader.pages[number].extract_text() or ""
        except MemoryError:
            raise
        except Exception as exc:
            return {"error": f"corrupt PDF (cannot extract text of page {number + 1}: {_describe(exc)})"}
        total += len(text)
        if total > MAX_TEXT_CHARS:
            return {"error": f"PDF text is over {MAX_TEXT_CHARS:,} characters; split the file"}
        pages.append(text)
    return {"pages": pages}


def _describe(exc: BaseException) -> str:
    message = str(exc).strip()
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _main(argv: list[str]) -> int:
    import resource

    memory_mb, max_pages, cpu_s = int(argv[1]), int(argv[2]), int(argv[3])
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    data = sys.stdin.buffer.read()
    try:
        result = extract_pages(data, max_pages)
    except MemoryError:
        result = {"error": f"PDF needs more than {memory_mb} MB of memory to parse (POLICYQA_PDF_MEMORY_MB)"}
    except RecursionError:
        result = {"error": "corrupt PDF (structure nested too deeply)"}
    # Lone surrogates from broken fonts cannot be encoded as UTF-8; escape them.
    sys.stdout.buffer.write(json.dumps(result).encode("ascii"))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
