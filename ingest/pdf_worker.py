"""PDF text extraction in a child process, bounded in time, memory and pages.

pypdf is pure Python and a hostile or broken PDF can make it loop for minutes or
allocate gigabytes (decompression bombs, cyclic page trees). Parsing in a child
process with a wall-clock timeout and an address-space cap (RLIMIT_AS) means such
a file costs one skipped document, never the ingest process. The child reads the
PDF bytes on stdin and writes plain JSON on stdout; nothing is pickled.

The child also does what needs page positions or pixels, on the pages that need
it, each step best effort on top of pypdf's text:

* a page with a ruled data table (pdfplumber) gets the table as Markdown at its
  place (`ingest.pdf_layout.table_page_text`);
* a page with two columns of running text is read column by column
  (`ingest.pdf_layout.column_page_text`);
* a page with no usable text layer (near-empty or garbled) but an image is read by
  OCR (`ingest.ocr`), up to a page cap and a time budget per document. Its progress
  goes to stderr as `@ocr DONE TOTAL` lines, which the parent turns into a
  progress bar; the parent's deadline is extended by the OCR budget when OCR starts.

This file is also the child's entry point (`python -I pdf_worker.py MB PAGES CPU_S
[OCR_JSON]`), so at module level it imports the standard library only.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from policyqa.settings import Settings

# The child's own text output is capped too: the parent reads it into memory.
MAX_TEXT_CHARS = 20_000_000
# Python plus pypdf and cryptography take about 60 MB of address space before any
# parsing; a cap below this would fail every file.
MIN_MEMORY_MB = 128
# Importing RapidOCR and loading its three models, on top of the OCR budget.
OCR_STARTUP_S = 20.0
# glibc gives each thread that allocates its own 64 MB malloc arena; onnxruntime's
# threads made the address space peak at 1.8 GB for one A4 page instead of 1.3 GB,
# and RLIMIT_AS counts reserved address space, not memory used.
_CHILD_ENV = {"MALLOC_ARENA_MAX": "2"}
_PROGRESS = b"@ocr "
# A page with (almost) no text is read by OCR when images cover this share of it: a
# scan. A signature page with a seal image keeps its few lines of text.
MIN_SCAN_SHARE = 0.3

_NEEDS_CRYPTOGRAPHY = "encrypted PDF (AES) needs the 'cryptography' package to decrypt"
_NO_TEXT = "no text layer (scanned or image-only PDF); the PDF needs OCR"


@dataclass(frozen=True)
class PdfLimits:
    """Bounds for parsing one PDF (Settings.pdf_* and ocr_*; see `from_settings`).
    `progress` shows a bar per OCR'd page on stderr."""

    timeout_s: float = 60.0
    memory_mb: int = 2048
    max_pages: int = 2000
    ocr_max_pages: int = 50  # 0 turns OCR off
    ocr_budget_s: float = 600.0
    ocr_page_timeout_s: float = 60.0
    progress: bool = False

    @classmethod
    def from_settings(cls, settings: Settings, progress: bool = False) -> PdfLimits:
        return cls(settings.pdf_timeout_s, settings.pdf_memory_mb, settings.pdf_max_pages,
                   settings.ocr_max_pages, settings.ocr_budget_s, settings.ocr_page_timeout_s, progress)

    @property
    def ocr(self) -> OcrLimits | None:
        if self.ocr_max_pages <= 0:
            return None
        return OcrLimits(self.ocr_max_pages, self.ocr_budget_s, self.ocr_page_timeout_s)


@dataclass(frozen=True)
class OcrLimits:
    max_pages: int
    budget_s: float
    page_timeout_s: float


@dataclass(frozen=True)
class PdfPages:
    """What the child read: one text per page; the 1-based numbers of the pages read
    by OCR; and the pages that needed OCR but were not read, with the reason."""

    texts: tuple[str, ...]
    ocr: frozenset[int] = frozenset()
    unread: tuple[tuple[int, str], ...] = ()

    def why_unread(self) -> str:
        """`; reason` for the first unread page, or "": appended to an error that
        says the PDF needs OCR."""
        return f"; {self.unread[0][1]}" if self.unread else ""

    def no_text_reason(self) -> str:
        if self.ocr and not self.unread:
            return "no text layer (scanned or image-only PDF), and OCR found no text on its pages"
        return _NO_TEXT + self.why_unread()


class PdfProblem(Exception):
    """The PDF cannot be read; the message is the reason shown to the user."""


class PageLike(Protocol):
    """`policyqa.types.Page`, which this module cannot import (see the docstring)."""

    @property
    def number(self) -> int: ...

    @property
    def unread(self) -> str: ...


# ---------------------------------------------------------------- parent side


def extract_pdf_pages(data: bytes, limits: PdfLimits) -> PdfPages:
    """The text of each page, parsed in a bounded child process.

    Raises PdfProblem with a user-facing reason when the file is unreadable or
    exceeds a limit."""
    memory_mb = max(int(limits.memory_mb), MIN_MEMORY_MB)
    ocr = limits.ocr
    # The CPU limit is the child's own guard for when this process dies first (an
    # ingest killed mid-run) and no one is left to enforce the wall-clock timeout.
    cpu_s = math.ceil(limits.timeout_s) + 1
    cmd = [sys.executable, "-I", __file__, str(memory_mb), str(int(limits.max_pages)), str(cpu_s)]
    if ocr is not None:
        cmd.append(json.dumps({"max_pages": ocr.max_pages, "budget_s": ocr.budget_s,
                               "page_timeout_s": ocr.page_timeout_s}))
    bar = _ProgressBar(limits.progress)
    try:
        returncode, stdout, stderr = _run_child(cmd, data, limits, bar)
    finally:
        bar.close()
    if returncode != 0:
        raise PdfProblem(_child_failure(returncode, stderr, memory_mb))
    try:
        result = json.loads(stdout.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise PdfProblem("PDF parser process returned unreadable output") from None
    return pages_or_problem(result)


def _run_child(cmd: list[str], data: bytes, limits: PdfLimits, bar: _ProgressBar) -> tuple[int, bytes, bytes]:
    """Run the child; kill it at the deadline: `timeout_s`, plus the OCR budget once
    the child reports that OCR started. Returns (exit code, stdout, stderr tail)."""
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env={**os.environ, **_CHILD_ENV})
    except OSError as exc:
        raise PdfProblem(f"cannot start the PDF parser process ({exc.strerror or exc})") from None
    events: queue.Queue[tuple[int, int] | None] = queue.Queue()
    out: list[bytes] = []
    tail: deque[bytes] = deque(maxlen=20)
    threads = [
        threading.Thread(target=_feed, args=(proc, data), daemon=True),
        threading.Thread(target=lambda: out.append(proc.stdout.read()), daemon=True),  # type: ignore[union-attr]
        threading.Thread(target=_read_stderr, args=(proc, events, tail), daemon=True),
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + limits.timeout_s
    ocr_started = False
    try:
        while True:
            try:
                event = events.get(timeout=max(deadline - time.monotonic(), 0.0))
            except queue.Empty:
                raise subprocess.TimeoutExpired(cmd, limits.timeout_s) from None
            if event is None:  # stderr closed: the child is exiting
                break
            if not ocr_started:
                ocr_started = True
                deadline += limits.ocr_budget_s + OCR_STARTUP_S
            bar.update(*event)
        proc.wait(timeout=max(deadline - time.monotonic(), 0.01))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        for thread in threads:
            thread.join()
        if ocr_started:
            total = limits.timeout_s + limits.ocr_budget_s + OCR_STARTUP_S
            raise PdfProblem(f"PDF parsing and OCR took longer than {total:g} s and were stopped "
                             "(POLICYQA_PDF_TIMEOUT_S, POLICYQA_OCR_BUDGET_S)") from None
        raise PdfProblem(
            f"PDF parsing took longer than {limits.timeout_s:g} s and was stopped (POLICYQA_PDF_TIMEOUT_S)"
        ) from None
    for thread in threads:
        thread.join()
    return proc.returncode, b"".join(out), b"".join(tail)


def _feed(proc: subprocess.Popen[bytes], data: bytes) -> None:
    try:
        proc.stdin.write(data)  # type: ignore[union-attr]
        proc.stdin.close()  # type: ignore[union-attr]
    except OSError:
        pass  # the child died before reading everything; its exit code says why


def _read_stderr(proc: subprocess.Popen[bytes], events: queue.Queue[tuple[int, int] | None],
                 tail: deque[bytes]) -> None:
    for line in proc.stderr:  # type: ignore[union-attr]
        if line.startswith(_PROGRESS):
            try:
                done, total = (int(n) for n in line[len(_PROGRESS):].split())
            except ValueError:
                continue
            events.put((done, total))
        elif line.strip():
            tail.append(line)
    events.put(None)


class _ProgressBar:
    """A tqdm bar for the OCR'd pages of one PDF, made on the first report, so a
    PDF with a text layer shows none."""

    def __init__(self, show: bool) -> None:
        self.show = show
        self.bar: Any = None

    def update(self, done: int, total: int) -> None:
        if not self.show:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc="OCR", unit="page", leave=False)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def pages_or_problem(result: object) -> PdfPages:
    """The pages of an `extract_pages` result, or PdfProblem with its reason."""
    if isinstance(result, dict) and isinstance(result.get("error"), str):
        raise PdfProblem(result["error"])
    if not isinstance(result, dict):
        raise PdfProblem("PDF parser process returned unreadable output")
    pages, ocr, unread = result.get("pages"), result.get("ocr", []), result.get("unread", [])
    if (
        not isinstance(pages, list) or not all(isinstance(p, str) for p in pages)
        or not isinstance(ocr, list) or not all(isinstance(n, int) for n in ocr)
        or not isinstance(unread, list)
        or not all(isinstance(u, list) and len(u) == 2 and isinstance(u[0], int) and isinstance(u[1], str)
                   for u in unread)
    ):
        raise PdfProblem("PDF parser process returned unreadable output")
    return PdfPages(tuple(pages), frozenset(ocr), tuple((n, reason) for n, reason in unread))


def unread_warning(pages: Sequence[PageLike]) -> str | None:
    """A warning naming the pages that needed OCR but were not read, and why, e.g.
    `30 of 80 pages not read: pages 51-80, over the limit of 50 OCR pages per
    document (POLICYQA_OCR_MAX_PAGES)`; None when every page was read."""
    by_reason: dict[str, list[int]] = {}
    for page in pages:
        if page.unread:
            by_reason.setdefault(page.unread, []).append(page.number)
    if not by_reason:
        return None
    count = sum(len(numbers) for numbers in by_reason.values())
    parts = []
    for reason, numbers in by_reason.items():
        label = "page" if len(numbers) == 1 else "pages"
        parts.append(f"{label} {_ranges(numbers)}, {reason}")
    return f"{count} of {len(pages)} pages not read: " + "; ".join(parts)


def _ranges(numbers: Sequence[int]) -> str:
    spans: list[list[int]] = []
    for n in sorted(numbers):
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


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


def extract_pages(data: bytes, max_pages: int, ocr: OcrLimits | None = None,
                  progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """{"pages": [text, ...], "ocr": [page, ...], "unread": [[page, reason], ...]} or
    {"error": reason}. Runs in this process: the parent calls it through the child;
    the fuzz harness calls it directly. `ocr` None turns OCR off; `progress` gets
    (pages read, pages to read) as OCR goes."""
    import io

    from pypdf import PdfReader
    from pypdf.errors import DependencyError

    from ingest.garble import garbled_reason, page_needs_ocr
    from ingest.pdf_layout import MIN_TABLE_PATH_OPS, FragmentCollector

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
    scans: list[int] = []  # 0-based numbers of pages with no usable text layer
    layout: dict[int, tuple[bool, bool]] = {}  # page -> (may hold a table, may have two columns)
    total = 0
    for number in range(count):
        fragments = FragmentCollector()
        try:
            page = reader.pages[number]
            text = page.extract_text(visitor_text=fragments) or ""
        except MemoryError:
            raise
        except Exception as exc:
            return {"error": f"corrupt PDF (cannot extract text of page {number + 1}: {_describe(exc)})"}
        total += len(text)
        if total > MAX_TEXT_CHARS:
            return {"error": f"PDF text is over {MAX_TEXT_CHARS:,} characters; split the file"}
        pages.append(text)
        if page_needs_ocr(text):
            scans.append(number)
            continue
        tables = _path_ops(page) >= MIN_TABLE_PATH_OPS
        columns = fragments.two_columns()
        if tables or columns:
            layout[number] = (tables, columns)
    if any(tables for tables, _ in layout.values()):
        _keep_ruled_grids(data, count, layout)
    if any(tables or columns for tables, columns in layout.values()):
        _read_layout(data, pages, layout)
    done, unread = _read_scans(data, pages, scans, ocr, progress) if scans else ([], [])
    if done:
        # OCR works: a garbled layer it could not replace (page cap, budget) is
        # dropped rather than sinking the pages it did read.
        for number, _ in unread:
            if garbled_reason(pages[number - 1]):
                pages[number - 1] = ""
    if sum(len(p) for p in pages) > MAX_TEXT_CHARS:
        return {"error": f"PDF text is over {MAX_TEXT_CHARS:,} characters; split the file"}
    return {"pages": pages, "ocr": done, "unread": [[n, reason] for n, reason in unread]}


def _path_ops(page: Any) -> int:
    """Rectangle and line operators in a page's content and its form XObjects."""
    from ingest.pdf_layout import path_ops

    try:
        contents = page.get_contents()
        n = path_ops(contents.get_data()) if contents is not None else 0
        resources = page.get("/Resources")
        xobjects = resources.get_object().get("/XObject") if resources is not None else None
        for ref in (xobjects.get_object().values() if xobjects is not None else ()):
            xobject = ref.get_object()
            if xobject.get("/Subtype") == "/Form":
                n += path_ops(xobject.get_data())
    except MemoryError:
        raise
    except Exception:
        return 0  # a page pypdf could read but not dissect keeps pypdf's text
    return n


def _keep_ruled_grids(data: bytes, count: int, layout: dict[int, tuple[bool, bool]]) -> None:
    """Keep the table flag only on pages whose drawing holds a grid of rules: code
    listings, framed notices and underlines also draw paths, and pdfplumber takes
    about 0.2 s a page to look for tables. pypdfium2 reads a page's drawing in
    about a millisecond."""
    from ingest.pdf_layout import ruled_grid

    try:
        import pypdfium2 as pdfium

        document = pdfium.PdfDocument(data)
        if len(document) != count:
            raise ValueError("pypdf and pdfium disagree on the page count: page n may not be page n")
        for number, (tables, columns) in layout.items():
            if tables:
                layout[number] = (ruled_grid(document[number]), columns)
    except MemoryError:
        raise
    except Exception:
        for number, (_, columns) in layout.items():
            layout[number] = (False, columns)  # no drawing to check: no tables looked for


def _read_layout(data: bytes, pages: list[str], wanted: dict[int, tuple[bool, bool]]) -> None:
    """Replace the text of `wanted` pages that hold a ruled data table or two columns
    of running text. pdfplumber parses the file again, so anything it cannot read
    keeps pypdf's text."""
    import io
    import logging

    from ingest.pdf_layout import column_page_text, table_page_text

    # pdfminer logs a warning per odd font; stderr carries progress and errors.
    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    try:
        import pdfplumber

        with pdfplumber.open(io.BytesIO(data)) as pdf:
            if len(pdf.pages) != len(pages):
                return  # the two parsers disagree on a damaged file: page n may not be page n
            for number, (tables, columns) in sorted(wanted.items()):
                if not (tables or columns):
                    continue
                page = pdf.pages[number]
                try:
                    text = table_page_text(page) if tables else None
                    if text is None and columns:
                        text = column_page_text(page)
                        if text is not None and _same_characters(text, pages[number]):
                            text = None  # pypdf already read the columns in order
                except MemoryError:
                    raise
                except Exception:
                    text = None
                finally:
                    page.close()
                if text is not None:
                    pages[number] = text
    except MemoryError:
        raise
    except Exception:
        return


def _same_characters(a: str, b: str) -> bool:
    return "".join(a.split()) == "".join(b.split())


def _read_scans(data: bytes, pages: list[str], scans: list[int], limits: OcrLimits | None,
                progress: Callable[[int, int], None] | None) -> tuple[list[int], list[tuple[int, str]]]:
    """OCR the `scans` pages that are mostly image (MIN_SCAN_SHARE), or whose text
    layer is garbled, in page order, within `limits`. Returns the 1-based numbers of
    the pages read and (number, reason) for those not read. Any other near-empty page
    is blank or nearly so (a signature and a seal), and keeps its text."""
    from ingest.garble import garbled_reason
    from ingest.ocr import OcrUnavailable, load_engine, read_image, render

    try:
        import pypdfium2 as pdfium
        import pypdfium2.raw as pdfium_c

        document = pdfium.PdfDocument(data)
        wanted = []
        for number in scans:
            image = _image_share(document[number], pdfium_c.FPDF_PAGEOBJ_IMAGE)
            if garbled_reason(pages[number]) or image >= MIN_SCAN_SHARE:
                wanted.append(number)
    except MemoryError:
        raise
    except Exception as exc:
        reason = f"cannot render the page for OCR ({_describe(exc)})"
        return [], [(n + 1, reason) for n in scans]
    if not wanted:
        return [], []
    if limits is None:
        return [], [(n + 1, "OCR is turned off (POLICYQA_OCR_MAX_PAGES=0)") for n in wanted]
    reading = wanted[: limits.max_pages]
    unread = [(n + 1, f"over the limit of {limits.max_pages} OCR pages per document (POLICYQA_OCR_MAX_PAGES)")
              for n in wanted[limits.max_pages :]]
    report = progress or (lambda done, total: None)
    report(0, len(reading))
    started = time.monotonic()
    try:
        engine = load_engine()
    except OcrUnavailable as exc:
        return [], [(n + 1, str(exc)) for n in wanted]
    budget = f"the OCR time budget of {limits.budget_s:g} s per document was used up (POLICYQA_OCR_BUDGET_S)"
    done: list[int] = []
    for k, number in enumerate(reading):
        left = limits.budget_s - (time.monotonic() - started)
        if left <= 0:
            unread += [(n + 1, budget) for n in reading[k:]]
            break
        try:
            with _time_limit(min(limits.page_timeout_s, left)):
                image = render(document[number])
                text = read_image(engine, image) if image is not None else ""
        except _OcrTimeout:
            over_budget = limits.page_timeout_s > left
            unread.append((number + 1, budget if over_budget else (
                f"OCR of the page took longer than {limits.page_timeout_s:g} s (POLICYQA_OCR_PAGE_TIMEOUT_S)")))
            report(k + 1, len(reading))
            continue
        except MemoryError:
            unread += [(n + 1, _OCR_MEMORY) for n in reading[k:]]
            break
        except Exception as exc:
            # onnxruntime reports an allocation that RLIMIT_AS refused as bad_alloc
            if "bad_alloc" in str(exc):
                unread += [(n + 1, _OCR_MEMORY) for n in reading[k:]]
                break
            unread.append((number + 1, f"OCR failed ({_describe(exc)})"))
            report(k + 1, len(reading))
            continue
        if text.strip() or garbled_reason(pages[number]):
            pages[number] = text  # else an image without text: the page keeps its few characters
        done.append(number + 1)
        report(k + 1, len(reading))
    return done, sorted(unread)


_OCR_MEMORY = "OCR ran out of memory (POLICYQA_PDF_MEMORY_MB)"


def _image_share(page: Any, image_type: int) -> float:
    """The share of the page that images cover (overlaps counted twice: scanners
    that cut a page into strips do not overlap them)."""
    width, height = page.get_size()
    covered = 0.0
    for image in page.get_objects(filter=[image_type], max_depth=3):
        left, bottom, right, top = image.get_bounds()
        covered += max(min(right, width) - max(left, 0.0), 0.0) * max(min(top, height) - max(bottom, 0.0), 0.0)
    return covered / max(width * height, 1.0)


class _OcrTimeout(BaseException):
    """Not an Exception: a library's `except Exception` must not swallow it."""


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise _OcrTimeout in this thread after `seconds`. RapidOCR returns to Python
    between the detector and each batch of lines, so the alarm lands within about a
    second. Off the main thread (no signals there) the budget is still checked
    between pages."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise _OcrTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _describe(exc: BaseException) -> str:
    message = str(exc).strip()
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _main(argv: list[str]) -> int:
    import resource
    from pathlib import Path

    # `python -I` leaves the project out of sys.path; the child must run the same
    # code as its parent.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    memory_mb, max_pages, cpu_s = int(argv[1]), int(argv[2]), int(argv[3])
    ocr = OcrLimits(**json.loads(argv[4])) if len(argv) > 4 else None
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # OCR may use every core for its budget; the soft limit is raised to the hard
    # one only when OCR starts, so parsing alone keeps the tight limit.
    hard = cpu_s + 1
    if ocr is not None:
        hard += math.ceil((ocr.budget_s + OCR_STARTUP_S) * (os.cpu_count() or 1))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, hard))

    def progress(done: int, total: int) -> None:
        if done == 0:
            resource.setrlimit(resource.RLIMIT_CPU, (hard - 1, hard))
        sys.stderr.buffer.write(_PROGRESS + b"%d %d\n" % (done, total))
        sys.stderr.buffer.flush()

    data = sys.stdin.buffer.read()
    try:
        result = extract_pages(data, max_pages, ocr, progress)
    except MemoryError:
        result = {"error": f"PDF needs more than {memory_mb} MB of memory to parse (POLICYQA_PDF_MEMORY_MB)"}
    except RecursionError:
        result = {"error": "corrupt PDF (structure nested too deeply)"}
    # Lone surrogates from broken fonts cannot be encoded as UTF-8; escape them.
    sys.stdout.buffer.write(json.dumps(result).encode("ascii"))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
