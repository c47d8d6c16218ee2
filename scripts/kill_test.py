"""Crash test for `policyqa ingest`: SIGKILL it at random points, again and again,
and check after every kill that the previous index still loads and answers and
that nothing already indexed was lost; then check that a rerun completes and that
a second ingest started while one runs is refused without harm.

    python scripts/kill_test.py                       # 300 documents, 20 kills
    python scripts/kill_test.py --docs 400 --kills 50 --seed 7

Input: a few hundred documents made from the sample corpus (data/corpus), each one
distinct; every round rewrites some of them so that each ingest has work to do.
Half the kills land at a random moment of the run, half while the index is being
saved (a new `.tmp-gen-*` folder has appeared), the only window where a crash
could damage anything. Embeddings are `hash`, so no model is loaded.
Exit status 1 when any check failed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ingest.embeddings import HashEmbeddings  # noqa: E402
from ingest.store import FaissBm25Store, current_generation  # noqa: E402
from ingest.tokenize import TOKENIZER_VERSION, Tokenizer  # noqa: E402
from policyqa.settings import SAMPLE_CORPUS, Settings  # noqa: E402
from rag.chain import AnswerChain  # noqa: E402
from rag.retriever import HybridRetriever, RetrievalConfig  # noqa: E402

QUESTION = "2025年全省新认定高新技术企业目标多少家？"
ANSWER = "5000家"
ANCHOR = "zhejiang-2025-hightech-workplan-brief.txt"  # holds the answer; indexed first


class CheckFailed(Exception):
    pass


@dataclass
class Outcome:
    kills: int = 0
    random_kills: int = 0
    save_kills: int = 0
    finished_first: int = 0  # the run ended before the kill landed
    survived: int = 0
    new_generation_after_kill: int = 0  # the kill came after the pointer swap
    failures: list[str] = field(default_factory=list)
    documents: int = 0
    chunks: int = 0
    lock: str = ""


# ---------------------------------------------------------------- input


def build_corpus(folder: Path, n: int, rng: random.Random) -> list[Path]:
    """`n` distinct documents from the sample corpus: paragraphs of one sample
    document, rotated and cut, under a numbered title, with a numbered sentence."""
    folder.mkdir(parents=True, exist_ok=True)
    samples = sorted(SAMPLE_CORPUS.glob("*.txt"))
    shutil.copy(SAMPLE_CORPUS / ANCHOR, folder / ANCHOR)
    paths = [folder / ANCHOR]
    for i in range(n - 1):
        lines = [ln for ln in samples[i % len(samples)].read_text(encoding="utf-8").splitlines() if ln.strip()]
        k = rng.randrange(len(lines))
        body = (lines[k:] + lines[:k])[: rng.randrange(15, 60)]
        title = f"关于做好第{i + 1}批科技项目管理工作的通知（样本{i + 1}）"
        extra = f"本批次共涉及企业{(i + 1) * 7}家，安排资金{(i + 3) * 11}万元。"
        path = folder / f"doc-{i + 1:04d}.txt"
        path.write_text("\n".join([title, extra, *body]) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def revise(paths: list[Path], rng: random.Random, share: float, round_no: int) -> None:
    """Append a line to some documents, so the next ingest replaces them."""
    for path in rng.sample(paths[1:], max(1, int(len(paths) * share))):
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"第{round_no}轮修订：本条款自发布之日起施行。\n")


# ---------------------------------------------------------------- processes


def ingest_command(index: Path, paths: list[Path]) -> list[str]:
    # --wait: every vector in the ingest itself, so no background embedder takes the lock
    return [sys.executable, "-m", "policyqa.cli", "ingest", *map(str, paths), "--index", str(index), "--quiet", "--wait"]


def ingest_env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    # No wait for the lock: a second ingest must be refused at once.
    env.update(POLICYQA_EMBEDDING="hash", POLICYQA_DATA_DIR=str(data_dir), HF_HUB_OFFLINE="1", TQDM_DISABLE="1",
               POLICYQA_LOCK_WAIT_S="0")
    env.pop("POLICYQA_INDEX_DIR", None)
    return env


def start_ingest(index: Path, data_dir: Path, paths: list[Path]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ingest_command(index, paths), cwd=ROOT, env=ingest_env(data_dir),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def run_ingest(index: Path, data_dir: Path, paths: list[Path], timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ingest_command(index, paths), cwd=ROOT, env=ingest_env(data_dir),
        capture_output=True, text=True, timeout=timeout, check=False,
    )


def holds_lock(index: Path, pid: int) -> bool:
    """Whether process `pid` holds the index lock, read from /proc/locks: probing
    with flock ourselves could make the very ingest we watch fail."""
    try:
        inode = os.stat(index / ".lock").st_ino
        table = Path("/proc/locks").read_text()
    except OSError:
        return False
    for line in table.splitlines():
        fields = line.split()
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[4] == str(pid):
            if fields[5].rsplit(":", 1)[-1] == str(inode):
                return True
    return False


def saving(index: Path) -> bool:
    try:
        return any(name.startswith(".tmp-gen-") for name in os.listdir(index))
    except OSError:
        return False


def kill_at(proc: subprocess.Popen[bytes], index: Path, mode: str, delay: float, budget: float) -> tuple[bool, float]:
    """SIGKILL `proc` after `delay` seconds ("random"), or `delay` seconds after a
    save starts ("save"). Returns whether it was killed (False: it ended first, or
    in "save" mode no save was seen) and how long it ran."""
    started = time.monotonic()
    deadline = started + budget
    if mode == "save":
        while not saving(index):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                proc.communicate()
                return False, time.monotonic() - started
            time.sleep(0.002)
    end = time.monotonic() + delay
    while time.monotonic() < end and proc.poll() is None:
        time.sleep(0.001)
    if proc.poll() is not None:
        proc.communicate()
        return False, time.monotonic() - started
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    return True, time.monotonic() - started


# ---------------------------------------------------------------- checks


def indexed(index: Path) -> dict[str, str]:
    """source -> sha256 of the live index; raises CheckFailed when it does not load."""
    try:
        store = FaissBm25Store.load(index, model=HashEmbeddings.name, dim=HashEmbeddings().dim,
                                    tokenizer=TOKENIZER_VERSION)
    except Exception as exc:  # any failure to load is what this test looks for
        raise CheckFailed(f"index does not load: {exc}") from exc
    if len(store) != sum(r.chunks for r in store.files().values()):
        raise CheckFailed("chunk count does not match the file records")
    return {s: r.sha256 for s, r in store.files().items()}


def answers(index: Path, tokenizer: Tokenizer) -> bool:
    settings = Settings(index_dir=index, embedding="hash", llm="extractive")
    store = FaissBm25Store.load(index)
    retriever = HybridRetriever(store, HashEmbeddings(), tokenizer, RetrievalConfig.from_settings(settings))
    answer = AnswerChain(retriever, tokenizer, settings, None, "extractive").answer(QUESTION)
    return not answer.refused and ANSWER in answer.text.replace(" ", "")


def check_after(index: Path, before: dict[str, str], tokenizer: Tokenizer, on_disk: dict[str, str]) -> dict[str, str]:
    now = indexed(index)
    lost = sorted(set(before) - set(now))
    if lost:
        raise CheckFailed(f"{len(lost)} indexed documents lost, e.g. {lost[0]}")
    for source, digest in now.items():
        # each document is either as it was indexed before or as it is on disk now
        if digest != before.get(source) and digest != on_disk.get(source):
            raise CheckFailed(f"{source} is indexed in a version that never existed")
    if not answers(index, tokenizer):
        raise CheckFailed(f"the index no longer answers {QUESTION!r} with {ANSWER}")
    return now


def file_digests(paths: list[Path]) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


# ---------------------------------------------------------------- the test


_SECOND_INGEST = """
import sys
from pathlib import Path
from policyqa.app import App
from policyqa.errors import PolicyQAError
from policyqa.settings import Settings
ingestor = App(Settings.from_env(index_dir=Path(sys.argv[1]))).ingestor()
ingestor.tokenizer.index_tokens("预热")
sys.stdin.readline()
try:
    print(ingestor.run([Path(p) for p in sys.argv[2:]], progress=False).summary())
except PolicyQAError as exc:
    sys.exit(f"error: {exc}")
"""


def lock_check(index: Path, data_dir: Path, paths: list[Path], tokenizer: Tokenizer) -> str:
    """Start one ingest and, while it holds the lock, a second one: the second must
    be refused with a clear message, the first must complete.

    The second process builds its Ingestor first (imports, jieba's dictionary)
    and waits for a line on stdin, so it reaches the lock within milliseconds of
    being told to go rather than after seconds of start-up, by which time the first
    might have finished. It reports the error as the CLI does."""
    waiting = subprocess.Popen(
        [sys.executable, "-c", _SECOND_INGEST, str(index), *map(str, paths)],
        cwd=ROOT, env=ingest_env(data_dir), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    first = start_ingest(index, data_dir, paths)
    deadline = time.monotonic() + 300
    while not holds_lock(index, first.pid):
        if first.poll() is not None or time.monotonic() > deadline:
            first.communicate()
            waiting.kill()
            waiting.communicate()
            raise CheckFailed("the first ingest never took the lock")
        time.sleep(0.002)
    _, second_err = waiting.communicate(b"go\n", timeout=300)
    _, first_err = first.communicate(timeout=900)
    message = second_err.decode(errors="replace").strip()
    if waiting.returncode == 0 or "another ingest is writing" not in message:
        raise CheckFailed(f"second ingest was not refused: exit {waiting.returncode}, {message[-200:]}")
    if first.returncode != 0:
        raise CheckFailed(f"first ingest failed after the refusal: {first_err.decode(errors='replace')[-300:]}")
    now = indexed(index)
    if now != file_digests(paths) or not answers(index, tokenizer):
        raise CheckFailed("after the two ingests the index does not match the files")
    return message.splitlines()[-1]


def kill_test(work: Path, docs: int, kills: int, seed: int, log=print) -> Outcome:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    tokenizer = Tokenizer()
    index, data_dir = work / "index", work / "data"
    paths = build_corpus(work / "corpus", docs, rng)
    out = Outcome()

    # The starting index: the anchor document and half of the others.
    base = paths[: max(2, docs // 2)]
    t0 = time.monotonic()
    first = run_ingest(index, data_dir, base)
    if first.returncode != 0:
        raise CheckFailed(f"the first ingest failed: {first.stderr[-300:]}")
    run_time = (time.monotonic() - t0) * max(1.0, len(paths) / len(base))
    before = check_after(index, {}, tokenizer, file_digests(paths))
    log(f"start: {len(before)} documents indexed; a full run takes about {run_time:.1f}s")

    for k in range(kills):
        revise(paths, rng, 0.1, k + 1)
        on_disk = file_digests(paths)
        mode = "save" if k % 2 else "random"
        delay = rng.uniform(0, 0.1) if mode == "save" else rng.uniform(0.05, run_time)
        gen_before = current_generation(index)
        proc = start_ingest(index, data_dir, paths)
        killed, ran = kill_at(proc, index, mode, delay, budget=run_time * 3 + 60)
        if not killed:
            run_time = ran  # aim the next random kill inside a run of this length
        if killed:
            out.kills += 1
            out.random_kills += mode == "random"
            out.save_kills += mode == "save"
        else:
            out.finished_first += 1
        try:
            now = check_after(index, before, tokenizer, on_disk)
        except CheckFailed as exc:
            out.failures.append(f"round {k + 1} ({mode}, {delay:.2f}s): {exc}")
            log(f"round {k + 1}: FAILED: {exc}")
            break
        moved = current_generation(index) != gen_before
        if killed:
            out.survived += 1
            out.new_generation_after_kill += moved
        what = f"{mode} kill at {delay:.2f}s" if killed else f"no kill ({mode}: the run ended after {ran:.1f}s)"
        log(f"round {k + 1}: {what}; index loads and answers ({len(now)} documents{', new generation' if moved else ''})")
        before = now

    if not out.failures:
        on_disk = file_digests(paths)
        final = run_ingest(index, data_dir, paths)
        try:
            if final.returncode != 0:
                raise CheckFailed(f"the rerun failed: {final.stderr[-300:]}")
            now = check_after(index, before, tokenizer, on_disk)
            if now != on_disk:
                raise CheckFailed("after the rerun the index does not match the files")
            leftovers = [p.name for p in index.iterdir() if p.name.startswith(".tmp-gen-")]
            if leftovers:
                raise CheckFailed(f"half-written generations left behind: {leftovers}")
            out.documents = len(now)
            out.chunks = len(FaissBm25Store.load(index))
            revise(paths, rng, 0.2, kills + 1)
            out.lock = lock_check(index, data_dir, paths, tokenizer)
        except CheckFailed as exc:
            out.failures.append(str(exc))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=300, help="documents to ingest (default 300)")
    parser.add_argument("--kills", type=int, default=20, help="ingest runs to kill (default 20)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, help="work folder (default: a temporary folder, removed after)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    work = args.work or Path(tempfile.mkdtemp(prefix="policyqa-kill-"))
    try:
        out = kill_test(work, args.docs, args.kills, args.seed)
    except CheckFailed as exc:
        print(f"FAILED before the kills: {exc}")
        return 1
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print(
        f"kills tried: {out.kills} ({out.random_kills} at random moments, {out.save_kills} during the save); "
        f"survived: {out.survived}/{out.kills}; "
        f"runs that finished before the kill: {out.finished_first}; "
        f"kills after the pointer swap (new generation kept): {out.new_generation_after_kill}"
    )
    if not out.failures:
        print(f"rerun: completed, {out.documents} documents, {out.chunks} chunks")
        print(f"second ingest while one runs: refused ({out.lock})")
    for failure in out.failures:
        print(f"FAILED: {failure}")
    print(f"time: {time.monotonic() - started:.0f}s")
    return 1 if out.failures else 0


if __name__ == "__main__":
    sys.exit(main())
