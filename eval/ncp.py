"""A fixed split of the NCP policy QA benchmark by DOCUMENT, so settings can be tuned
on one half (`ncp-dev`) and measured once on the other (`ncp-test`) without a
question of the test half ever steering a choice; and `ncp-lodo` (leave documents
out): documents of the test half whose questions, asked of an index built without
them, must be refused.

The split is committed in eval/sets/ncp_split.json. To rewrite it (e.g. after the
benchmark changes):

    .venv/bin/python -c "from eval.ncp import write_split; write_split()"
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from eval.answers import normalise
from eval.retrieval import DEFAULT_BENCH, read_jsonl
from policyqa.errors import PolicyQAError
from policyqa.settings import PROJECT_ROOT

SEED = 2020
LODO_DOCS = 60
SPLIT_FILE = PROJECT_ROOT / "eval" / "sets" / "ncp_split.json"


@dataclass(frozen=True)
class NcpSplit:
    seed: int
    dev: tuple[str, ...]
    test: tuple[str, ...]
    lodo: tuple[str, ...]  # test documents left out of the ncp-lodo index
    lodo_dev: tuple[str, ...] = ()  # dev documents left out of the ncp-lodo-dev index (for calibration)

    def half(self, name: str) -> frozenset[str]:
        """The documents of `dev`, `test`, `lodo` or `lodo-dev`."""
        return frozenset({"dev": self.dev, "test": self.test, "lodo": self.lodo, "lodo-dev": self.lodo_dev}[name])


def split_documents(docids: Iterable[str], seed: int = SEED) -> tuple[list[str], list[str]]:
    """(dev, test): the distinct docids sorted (so input order does not matter),
    shuffled with `seed`, cut in half (test gets the odd one); each half sorted."""
    ids = sorted(set(docids))
    random.Random(seed).shuffle(ids)
    half = len(ids) // 2
    return sorted(ids[:half]), sorted(ids[half:])


def answered_elsewhere(corpus: Mapping[str, str], qa: Iterable[Mapping]) -> set[str]:
    """Documents with a question whose gold answer is also, verbatim (normalised), in
    another document's text: leaving such a document out does not make its questions
    unanswerable (reposted notices and identical copies are common in NCP)."""
    texts = {d: normalise(t) for d, t in corpus.items()}
    out: set[str] = set()
    for row in qa:
        docid, span = str(row["docid"]), normalise(str(row["answer"]))
        if docid not in out and any(d != docid and span in t for d, t in texts.items()):
            out.add(docid)
    return out


def pick_left_out(test: Sequence[str], corpus: Mapping[str, str], qa: Sequence[Mapping],
                  n: int = LODO_DOCS, seed: int = SEED) -> list[str]:
    """A seeded sample of `n` test documents that have questions and whose answers
    no other document holds, sorted."""
    asked = {str(row["docid"]) for row in qa}
    elsewhere = answered_elsewhere(corpus, qa)
    pool = sorted(d for d in test if d in asked and d not in elsewhere)
    if len(pool) < n:
        raise PolicyQAError(f"only {len(pool)} test documents can be left out, {n} wanted")
    return sorted(random.Random(seed).sample(pool, n))


def compute_split(bench: Path = DEFAULT_BENCH, seed: int = SEED, lodo: int = LODO_DOCS) -> NcpSplit:
    corpus = {str(r["docid"]): str(r["text"]) for r in read_jsonl(bench / "corpus.jsonl")}
    qa = read_jsonl(bench / "qa.jsonl")
    dev, test = split_documents(corpus, seed)
    return NcpSplit(seed, tuple(dev), tuple(test), tuple(pick_left_out(test, corpus, qa, lodo, seed)),
                    tuple(pick_left_out(dev, corpus, qa, lodo, seed)))


def write_split(bench: Path = DEFAULT_BENCH, path: Path = SPLIT_FILE, seed: int = SEED,
                lodo: int = LODO_DOCS) -> NcpSplit:
    split = compute_split(bench, seed, lodo)
    data = {"seed": split.seed, "dev": list(split.dev), "test": list(split.test), "lodo": list(split.lodo),
            "lodo_dev": list(split.lodo_dev)}
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return split


def load_split(path: Path = SPLIT_FILE) -> NcpSplit:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return NcpSplit(int(data["seed"]), tuple(data["dev"]), tuple(data["test"]), tuple(data["lodo"]),
                        tuple(data.get("lodo_dev", ())))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PolicyQAError(f"cannot read the NCP split {path}: {exc}") from exc


def check_split(split: NcpSplit, docids: Iterable[str]) -> None:
    """Refuse a split made for another corpus: a document in neither half would
    silently drop its questions from both."""
    ids, covered = set(docids), set(split.dev) | set(split.test)
    if ids != covered or not set(split.lodo) <= set(split.test) or not set(split.lodo_dev) <= set(split.dev):
        raise PolicyQAError(f"the NCP split does not match the corpus ({len(ids ^ covered)} documents differ); "
                            'rewrite it: python -c "from eval.ncp import write_split; write_split()"')
