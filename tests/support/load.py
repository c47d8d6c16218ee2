"""Simulated users for the chat page: each one a gradio_client Client asking questions
in short conversations, for a fixed time, while the server process's memory is
sampled. Used by tests/test_ui_load.py and scripts/load_test.py."""

from __future__ import annotations

import os
import statistics
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import psutil
from gradio_client import Client

from ui.app import ALL, BUSY

# Questions a visitor might ask: figures, a policy summary, a follow-up that needs the
# history, and one the documents do not answer.
QUESTIONS = (
    "2025年全省新认定高新技术企业目标多少家？",
    "绍兴呢？",
    "绍兴对企业研发费用有哪些扶持政策？",
    "浙江省和绍兴市的高新技术产业增加值占比目标分别是多少？",
    "丽水在企业数字化智能化改造方面有什么支持？",
    "2025年西藏自治区新认定高新技术企业目标多少家？",
)
TURNS_PER_CONVERSATION = 4  # then the user starts a new conversation (a new session)


@dataclass
class Outcome:
    kind: str  # "answer", "busy" or "error"
    seconds: float
    detail: str = ""


@dataclass
class LoadResult:
    users: int
    seconds: float
    requests: int
    answers: int
    busy: int
    errors: int
    answer_median_s: float
    answer_p95_s: float
    answer_max_s: float
    requests_per_s: float
    rss_first_third_mb: float
    rss_last_third_mb: float
    rss_max_mb: float
    loadavg_start: tuple[float, float, float]
    loadavg_end: tuple[float, float, float]
    error_examples: list[str] = field(default_factory=list)
    rss_samples: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, MB)

    @property
    def rss_growth_mb(self) -> float:
        return self.rss_last_third_mb - self.rss_first_third_mb

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rss_growth_mb": self.rss_growth_mb}


def message_text(message: dict) -> str:
    content = message["content"]
    return "".join(p.get("text", "") for p in content) if isinstance(content, list) else str(content)


def classify(chat: list) -> str:
    """What the page answered: the busy message exactly, an answer, or an error shown in the chat."""
    text = message_text(chat[-1]).strip() if chat else ""
    if text == BUSY:
        return "busy"
    if not text or text.startswith("出错") or text == "正在检索文件…":
        return "error"
    return "answer"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def rss_mb(pid: int) -> float:
    """Resident memory of the server process and any children it started."""
    proc = psutil.Process(pid)
    total = proc.memory_info().rss
    for child in proc.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 2**20


class User(threading.Thread):
    def __init__(self, url: str, number: int, deadline: threading.Event, warmed: threading.Barrier) -> None:
        super().__init__(daemon=True, name=f"user-{number}")
        self.url = url
        self.number = number
        self.deadline = deadline
        self.warmed = warmed
        self.outcomes: list[Outcome] = []
        self.failure = ""

    def run(self) -> None:
        try:
            client = Client(self.url, verbose=False, download_files=False, analytics_enabled=False)
        except Exception as exc:  # a user who cannot even open the page is a failure
            self.failure = f"connect: {type(exc).__name__}: {exc}"
            self.warmed.abort()
            return
        try:
            chat: list = []
            self._ask(client, QUESTIONS[self.number % len(QUESTIONS)], chat)  # warm-up, not timed
            warmup = self.outcomes.pop()
            if warmup.kind == "error":
                self.failure = f"warm-up: {warmup.detail}"
            self.warmed.wait()
            turn = 0
            while not self.deadline.is_set():
                if turn and turn % TURNS_PER_CONVERSATION == 0:
                    client.reset_session()
                    chat = []
                question = QUESTIONS[(self.number + turn) % len(QUESTIONS)]
                chat = self._ask(client, question, chat)
                turn += 1
        except threading.BrokenBarrierError:
            pass
        finally:
            client.close()

    def _ask(self, client: Client, question: str, chat: list) -> list:
        t0 = time.perf_counter()
        try:
            _, new_chat, _ = client.predict(question, chat, ALL, ALL, ALL, ALL, api_name="/ask")
        except Exception as exc:
            self.outcomes.append(Outcome("error", time.perf_counter() - t0, f"{type(exc).__name__}: {exc}"))
            return chat
        kind = classify(new_chat)
        detail = message_text(new_chat[-1])[:200] if kind == "error" else ""
        self.outcomes.append(Outcome(kind, time.perf_counter() - t0, detail))
        return new_chat


def run_load(url: str, server_pid: int, users: int, seconds: float, sample_every: float = 1.0) -> LoadResult:
    """`users` simulated users ask for `seconds` after one warm-up question each; the
    server's RSS is sampled every `sample_every` seconds over the timed part."""
    deadline = threading.Event()
    warmed = threading.Barrier(users + 1)
    crowd = [User(url, i, deadline, warmed) for i in range(users)]
    for u in crowd:
        u.start()
    try:
        warmed.wait(timeout=600)
    except threading.BrokenBarrierError:
        pass  # a user could not connect: counted as a failure below
    loadavg_start = os.getloadavg()
    start = time.monotonic()
    samples: list[tuple[float, float]] = []
    while (elapsed := time.monotonic() - start) < seconds:
        samples.append((round(elapsed, 2), round(rss_mb(server_pid), 1)))
        time.sleep(min(sample_every, max(0.0, seconds - elapsed)))
    deadline.set()
    samples.append((round(time.monotonic() - start, 2), round(rss_mb(server_pid), 1)))
    for u in crowd:
        u.join(timeout=600)
    duration = time.monotonic() - start  # includes finishing the requests in flight
    outcomes = [o for u in crowd for o in u.outcomes]
    failures = [u.failure for u in crowd if u.failure]
    answers = [o.seconds for o in outcomes if o.kind == "answer"]
    errors = [o for o in outcomes if o.kind == "error"]
    third = max(1, len(samples) // 3)
    return LoadResult(
        users=users, seconds=round(duration, 1), requests=len(outcomes), answers=len(answers),
        busy=sum(o.kind == "busy" for o in outcomes), errors=len(errors) + len(failures),
        answer_median_s=round(statistics.median(answers), 3) if answers else 0.0,
        answer_p95_s=round(percentile(answers, 0.95), 3), answer_max_s=round(max(answers, default=0.0), 3),
        requests_per_s=round(len(outcomes) / duration, 2),
        rss_first_third_mb=round(statistics.mean(mb for _, mb in samples[:third]), 1),
        rss_last_third_mb=round(statistics.mean(mb for _, mb in samples[-third:]), 1),
        rss_max_mb=max(mb for _, mb in samples),
        loadavg_start=loadavg_start, loadavg_end=os.getloadavg(),
        error_examples=(failures + [o.detail for o in errors])[:5], rss_samples=samples,
    )


def table(result: LoadResult, label: str) -> str:
    rows = [
        ("run", label),
        ("users", result.users),
        ("duration (s)", result.seconds),
        ("requests", result.requests),
        ("answers", result.answers),
        ("busy answers", result.busy),
        ("failed", result.errors),
        ("requests/s", result.requests_per_s),
        ("answer latency median (s)", result.answer_median_s),
        ("answer latency p95 (s)", result.answer_p95_s),
        ("answer latency max (s)", result.answer_max_s),
        ("RSS first third (MB)", result.rss_first_third_mb),
        ("RSS last third (MB)", result.rss_last_third_mb),
        ("RSS growth (MB)", round(result.rss_growth_mb, 1)),
        ("RSS max (MB)", result.rss_max_mb),
        ("load average start", " ".join(f"{x:.2f}" for x in result.loadavg_start)),
        ("load average end", " ".join(f"{x:.2f}" for x in result.loadavg_end)),
    ]
    rows += [("error", e) for e in result.error_examples]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)
