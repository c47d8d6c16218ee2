"""`policyqa bench`: the synthetic corpus, the vectorised BM25 matrix, recall, and a
--quick smoke run with the hash embedding."""

from __future__ import annotations

import json
from pathlib import Path

import bm25s
import numpy as np
import pytest

from eval.bench import (
    Base,
    format_table,
    parse_size,
    recall_at,
    synthetic_keyword_index,
    synthetic_plan,
    synthetic_token_lists,
    synthetic_tokens,
    synthetic_vectors,
    token_text,
    vocab_size,
)

TOKENS = [
    ["高新技术", "企业", "2025", "目标", "企业"],
    ["科技", "型", "中小", "企业", "3.15%"],
    ["绍兴", "研发", "投入", "增长", "10%", "研发"],
    ["丽水", "产业", "三年", "计划"],
]


def _base(dim: int = 16) -> Base:
    rng = np.random.default_rng(0)
    v = rng.standard_normal((len(TOKENS), dim)).astype(np.float32)
    return Base.build(v / np.linalg.norm(v, axis=1, keepdims=True), TOKENS)


def test_synthetic_vectors_keep_the_real_chunks_and_stay_near_their_origin() -> None:
    base = _base()
    plan = synthetic_plan(40, len(base), seed=3)
    x = synthetic_vectors(base.vectors, plan)
    assert x.shape == (40, 16) and x.dtype == np.float32
    assert np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    assert np.allclose(x[:4], base.vectors)
    assert not np.allclose(x[4:8], base.vectors)  # copies are perturbed
    origin = (x[4:] * base.vectors[np.arange(4, 40) % 4]).sum(1)
    assert origin.mean() > 0.7  # at most half of a copy comes from its partner
    assert np.array_equal(x, synthetic_vectors(base.vectors, synthetic_plan(40, len(base), seed=3)))


def test_synthetic_tokens_keep_lengths_and_rename_numbers_per_copy() -> None:
    base = _base()
    plan = synthetic_plan(12, len(base), seed=1)
    lengths, ids = synthetic_tokens(base, plan, 0, 12)
    assert lengths.tolist() == [len(t) for t in TOKENS] * 3
    ends = np.cumsum(lengths)
    docs = [[token_text(base, plan, int(t)) for t in ids[a:b]] for a, b in zip(ends - lengths, ends)]
    assert docs[:4] == TOKENS  # the real chunks, unchanged
    assert "2025~1" in docs[4] and "2025~2" in docs[8] and "2025" not in docs[4] + docs[8]
    assert ids.max() < vocab_size(base, plan)
    # Block boundaries do not change the result.
    assert synthetic_token_lists(base, plan, block=5) == synthetic_token_lists(base, plan, block=100)


def test_keyword_matrix_matches_bm25s_own_index() -> None:
    base = _base()
    plan = synthetic_plan(10, len(base), seed=2)
    ours = synthetic_keyword_index(base, plan, block=3)
    theirs = bm25s.BM25()
    theirs.index(synthetic_token_lists(base, plan), show_progress=False)
    for query in (["企业"], ["研发", "绍兴"], ["企业", "科技", "计划"]):
        a = ours.get_scores_from_ids(ours.get_tokens_ids(query))
        b = theirs.get_scores_from_ids(theirs.get_tokens_ids(query))
        assert np.allclose(a, b, rtol=1e-5, atol=1e-6)


def test_recall_against_flat() -> None:
    truth = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    assert recall_at(truth, truth, 4) == 1.0
    assert recall_at(truth, np.array([[4, 3, 9, 9], [5, -1, -1, -1]]), 4) == pytest.approx((2 / 4 + 1 / 4) / 2)
    assert recall_at(truth, np.array([[2, 1, 0, 0], [0, 0, 0, 0]]), 2) == pytest.approx(0.5)


def test_small_helpers() -> None:
    assert [parse_size(s) for s in ("1k", "10K", "1M", "250", "1.5m", "100_000")] == [
        1000, 10_000, 1_000_000, 250, 1_500_000, 100_000]
    table = format_table(["a", "bb"], [[1, 0.5], ["x", None]])
    assert table.splitlines()[0] == "a     bb" and table.splitlines()[-1].endswith("-")


def test_quick_run_with_the_hash_embedding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from policyqa.cli import main

    monkeypatch.setenv("POLICYQA_EMBEDDING", "hash")
    monkeypatch.setenv("POLICYQA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("POLICYQA_LLM", "extractive")
    out = tmp_path / "bench"
    assert main(["bench", "--quick", "--sizes", "500,2k", "--queries", "5", "--questions-extractive", "3",
                 "--out", str(out)]) == 0
    report = json.loads((out / "bench.json").read_text(encoding="utf-8"))
    assert [r["corpus"] for r in report["ingest"]] == ["sample"]
    assert report["ingest"][0]["chunks"] > 0 and set(report["ingest"][0]["stages"]) >= {"parse", "embed", "index"}
    assert {(r["size"], r["index"]) for r in report["dense"]} >= {(500, "flat"), (2000, "hnsw")}
    assert all(0.0 <= r["recall_at_10"] <= 1.0 for r in report["dense"])
    assert [r["size"] for r in report["keyword"]] == [500, 2000]
    assert [r["backend"] for r in report["answers"]] == ["extractive"]
    assert (out / "retrieval_latency.png").stat().st_size > 1000
    assert not [p for p in out.iterdir() if p.name.startswith("work-")]  # the scratch folder is removed
