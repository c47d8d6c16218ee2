"""OCR speed and accuracy on a page of known text: `python -m eval.ocr_bench`.

The formats set's scanned page (eval/formats/scanned.txt rendered, rotated, blurred
and speckled by eval/format_docs.py) is read the way ingest reads it, in the bounded
PDF child, and compared with the text it was rendered from. Prints the seconds, the
characters a second and the share of the known characters read right (matched in
order, whitespace ignored)."""

from __future__ import annotations

import argparse
import difflib
import tempfile
import time
from pathlib import Path

from eval.format_docs import SOURCES, scanned_pdf
from ingest.loaders import load_file
from ingest.pdf_worker import PdfLimits


def char_accuracy(truth: str, read: str) -> float:
    """Share of `truth`'s characters that `read` has, in order (whitespace ignored)."""
    a, b = "".join(truth.split()), "".join(read.split())
    matched = sum(block.size for block in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks())
    return matched / len(a) if a else 1.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="reads of the page (the median time is printed)")
    args = parser.parse_args(argv)
    truth = (SOURCES / "scanned.txt").read_text("utf-8")
    with tempfile.TemporaryDirectory() as folder:
        pdf = Path(folder) / "scanned.pdf"
        scanned_pdf(truth, pdf)
        times, text = [], ""
        for _ in range(max(args.runs, 1)):
            t0 = time.perf_counter()
            result = load_file(pdf, max_bytes=50 * 2**20, pdf=PdfLimits())
            times.append(time.perf_counter() - t0)
            if result.errors:
                raise SystemExit(f"ocr_bench: {result.errors[0]}")
            text = result.documents[0].text
    seconds = sorted(times)[len(times) // 2]
    chars = len("".join(text.split()))
    print(f"OCR of one scanned page ({len(''.join(truth.split()))} characters, 150 dpi scan, child process "
          f"start and model load included): {seconds:.2f} s median of {len(times)}, {chars / seconds:.0f} chars/s, "
          f"character accuracy {char_accuracy(truth, text):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
