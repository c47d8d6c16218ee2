"""Fuzz the loaders and the cleaning code for a bounded time and print the figures.

    python -m tests.fuzz.run --seconds 60            # all kinds, the time split evenly
    python -m tests.fuzz.run --seconds 30 --kinds pdf,docx

Each kind (pdf, docx, html, text, jsonl) runs in its own atheris process, seeded
from tests/fuzz/seeds/<kind>/. A finding (an exception that escapes the loaders,
a broken chunk invariant, a per-input timeout or memory blow-up) is written to
out/fuzz/artifacts/<kind>/ and the kind restarts for the rest of its time, so one
finding does not end the run. Exit status 1 when anything was found.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.fuzz.targets import KINDS

ROOT = Path(__file__).resolve().parents[2]
SEEDS = Path(__file__).resolve().parent / "seeds"
_EXECUTED = re.compile(r"stat::number_of_executed_units:\s*(\d+)")
_PROGRESS = re.compile(r"^#(\d+)\s", re.MULTILINE)
_ARTIFACT = re.compile(r"(?:Test unit written to|artifact_prefix.*?; Test unit written to)\s*(\S+)")
_KIND_OF_FINDING = re.compile(
    r"(Uncaught Python exception|ERROR: libFuzzer: timeout|ERROR: libFuzzer: out-of-memory|"
    r"ERROR: libFuzzer: deadly signal|ERROR: libFuzzer: \S+)"
)


@dataclass
class KindResult:
    kind: str
    executions: int = 0
    seconds: float = 0.0
    starts: int = 0
    findings: list[tuple[str, str]] = field(default_factory=list)  # (summary, artifact)


def _finding_summary(log: str) -> str:
    m = _KIND_OF_FINDING.search(log)
    what = m.group(1) if m else "fuzzer exited with an error"
    if what == "Uncaught Python exception":
        # the exception line is the last line of the traceback atheris prints
        tb = log[m.end() :].split("\n\n")[0].strip().splitlines()
        where = [ln.strip() for ln in tb if ln.strip().startswith("File ")]
        last = tb[-1].strip() if tb else ""
        return f"{last} at {where[-1] if where else '?'}"
    return what.replace("ERROR: libFuzzer: ", "")


def fuzz_kind(kind: str, seconds: float, out: Path, timeout: int, rss_mb: int) -> KindResult:
    result = KindResult(kind)
    corpus = out / "corpus" / kind
    artifacts = out / "artifacts" / kind
    logs = out / "logs"
    for folder in (corpus, artifacts, logs):
        folder.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + seconds
    while True:
        left = int(deadline - time.monotonic())
        if left < 2:
            break
        result.starts += 1
        log_path = logs / f"{kind}-{result.starts}.log"
        cmd = [
            sys.executable, "-m", "tests.fuzz.harness", kind,
            f"-max_total_time={left}", f"-timeout={timeout}", f"-rss_limit_mb={rss_mb}",
            "-print_final_stats=1", "-max_len=131072", f"-artifact_prefix={artifacts}/",
            str(corpus), str(SEEDS / kind),
        ]  # fmt: skip
        started = time.monotonic()
        with open(log_path, "w", encoding="utf-8") as log_file:
            # Start-up (instrumenting the parsers) is not fuzzing time; it may
            # overrun the budget a little, the fuzzing itself cannot.
            proc = subprocess.run(cmd, cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT, check=False,
                                  timeout=left + 300)
        result.seconds += time.monotonic() - started
        log = log_path.read_text(encoding="utf-8", errors="replace")
        done = _EXECUTED.findall(log)
        result.executions += int(done[-1]) if done else max((int(n) for n in _PROGRESS.findall(log)), default=0)
        if proc.returncode != 0:
            artifact = _ARTIFACT.findall(log)
            result.findings.append((_finding_summary(log), artifact[-1] if artifact else str(log_path)))
            # Past a few findings it is the same bug again; stop and fix it first.
            if len(result.findings) >= 5:
                break
        else:
            break
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Bounded fuzzing of the loaders and cleaning code (atheris).")
    parser.add_argument("--seconds", type=float, default=60, help="total fuzzing time, split evenly over the kinds")
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"comma-separated subset of {','.join(KINDS)}")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "fuzz", help="work folder (corpus, artifacts, logs)")
    parser.add_argument("--timeout", type=int, default=30, help="seconds one input may take before it is a finding")
    parser.add_argument("--rss-mb", type=int, default=2048, help="memory one fuzz process may use")
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        parser.error(f"unknown kind(s) {unknown}; use {','.join(KINDS)}")
    share = args.seconds / len(kinds)
    results = [fuzz_kind(k, share, args.out, args.timeout, args.rss_mb) for k in kinds]

    print(f"{'kind':<6} {'executions':>10} {'seconds':>8} {'exec/s':>7} {'findings':>8}")
    for r in results:
        rate = r.executions / r.seconds if r.seconds else 0.0
        print(f"{r.kind:<6} {r.executions:>10} {r.seconds:>8.0f} {rate:>7.1f} {len(r.findings):>8}")
    total_exec = sum(r.executions for r in results)
    total_s = sum(r.seconds for r in results)
    found = [(r.kind, f) for r in results for f in r.findings]
    print(f"{'total':<6} {total_exec:>10} {total_s:>8.0f} {total_exec / max(total_s, 1):>7.1f} {len(found):>8}")
    for kind, (summary, artifact) in found:
        print(f"finding [{kind}] {summary}\n  reproduce: python -m tests.fuzz.harness {kind} {artifact}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
