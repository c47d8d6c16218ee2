"""Feedback on answers (useful / wrong), kept in a local SQLite file with the question,
the answer and its citations, and exported as CSV for whoever reviews it."""

from __future__ import annotations

import csv
import json
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path

RATINGS = ("useful", "wrong")
COLUMNS = ("id", "created", "rating", "question", "answer", "refused", "backend", "citations", "comment")


class FeedbackStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, created TEXT NOT NULL, "
                "rating TEXT NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL, refused INTEGER NOT NULL, "
                "backend TEXT NOT NULL, citations TEXT NOT NULL, comment TEXT NOT NULL DEFAULT '')"
            )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def add(self, rating: str, turn: dict, comment: str = "") -> int:
        """Store one rating of one answer (`turn` as ui.render.turn_record made it)."""
        if rating not in RATINGS:
            raise ValueError(f"rating must be one of {RATINGS}")
        row = (
            datetime.now(timezone.utc).isoformat(timespec="seconds"), rating, turn["question"], turn["answer"],
            int(bool(turn.get("refused"))), turn.get("backend", ""),
            json.dumps(turn.get("citations", []), ensure_ascii=False), comment,
        )
        with self._lock, self._connect() as db:
            cur = db.execute(
                "INSERT INTO feedback (created, rating, question, answer, refused, backend, citations, comment) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
            return int(cur.lastrowid or 0)

    def rows(self) -> list[tuple]:
        with self._lock, self._connect() as db:
            return list(db.execute(f"SELECT {', '.join(COLUMNS)} FROM feedback ORDER BY id"))

    def export_csv(self, out: Path) -> int:
        """Write every rating to `out` (UTF-8 with BOM so spreadsheet programs read the
        Chinese correctly); returns the number of rows."""
        rows = self.rows()
        with open(out, "w", encoding="utf-8-sig", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(COLUMNS)
            writer.writerows(rows)
        return len(rows)
