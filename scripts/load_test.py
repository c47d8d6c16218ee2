"""Load test of the chat page: starts the real page on 127.0.0.1 in a child process
over a copy of the sample corpus, lets simulated users (gradio_client) ask questions
for a while, and reports requests, busy answers, failures, answer latency and the
server's memory. Prints a table and writes JSON to out/load/.

    .venv/bin/python scripts/load_test.py --users 20 --seconds 120 --llm extractive
    .venv/bin/python scripts/load_test.py --users 4 --seconds 180 --llm local --embedding e5-small
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from policyqa.settings import model_path  # noqa: E402
from tests.support.load import run_load, table  # noqa: E402
from tests.support.ui_server import spawn_server  # noqa: E402
from ui.app import SESSIONS  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--llm", choices=("extractive", "local"), default="extractive")
    parser.add_argument("--embedding", choices=("hash", "e5-small"), default="hash")
    parser.add_argument("--concurrency", type=int, default=None, help="POLICYQA_UI_CONCURRENCY for the page")
    parser.add_argument("--max-queue", type=int, default=None, help="POLICYQA_UI_MAX_QUEUE for the page")
    parser.add_argument("--sessions", type=int, default=None,
                        help="visitor sessions the page keeps (default ui.app.SESSIONS)")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "out" / "load")
    args = parser.parse_args(argv)

    overrides: dict[str, object] = {"llm": args.llm, "embedding": args.embedding,
                                    "ui_concurrency": args.concurrency, "ui_max_queue": args.max_queue}
    if args.llm == "local":
        overrides["llm_model_path"] = model_path(PROJECT_ROOT / "data")
    with tempfile.TemporaryDirectory(prefix="policyqa-load-") as tmp:
        root = Path(tmp)
        print(f"starting the page ({args.llm}, {args.embedding}) …", file=sys.stderr, flush=True)
        server = spawn_server(root, sessions=args.sessions, **overrides)
        try:
            print(f"{args.users} users for {args.seconds:g} s against {server.url}", file=sys.stderr, flush=True)
            result = run_load(server.url, server.pid, args.users, args.seconds)
        finally:
            server.close()
        tail = server.output()[-2000:]
    label = (f"{args.llm}, {args.embedding} embedding, concurrency {server.settings.ui_concurrency}, "
             f"queue {server.settings.ui_max_queue}, sessions kept {args.sessions or SESSIONS}")
    print(table(result, label))
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = args.out / f"{stamp}-{args.llm}-{args.embedding}-{args.users}u-{args.seconds:g}s.json"
    record = {"run": label, "llm": args.llm, "embedding": args.embedding, "cpus": os.cpu_count(),
              **result.as_dict(), "server_log_tail": tail if result.errors else ""}
    path.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"written: {path}")
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
