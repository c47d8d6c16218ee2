"""The dense index switches from flat to HNSW above `ann_threshold`, agrees with flat
at high recall, is saved with its generation and survives the manifest checks."""

from __future__ import annotations

import json
from pathlib import Path

import faiss
import numpy as np
import pytest

from ingest.store import DENSE_FILE, FaissBm25Store, FileRecord, current_generation
from ingest.tokenize import TOKENIZER_VERSION
from policyqa.app import App
from policyqa.errors import IndexStoreError
from policyqa.settings import Settings
from policyqa.types import Chunk, Filters

DIM = 32


def _store(n: int, threshold: int, model: str = "test-model", dim: int = DIM, seed: int = 0) -> FaissBm25Store:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store = FaissBm25Store(model, dim, TOKENIZER_VERSION, ann_threshold=threshold)
    # Two sources of unequal size, so filters can keep a small or a large share.
    for source, rows, region in (("small.txt", range(0, n // 10), "绍兴市"), ("large.txt", range(n // 10, n), "浙江省")):
        chunks = [Chunk(chunk_id=f"{source}#{i}", doc_id=source, source=source, text=f"段落{i}", start=0, end=3,
                        region=region) for i in rows]
        store.add(FileRecord(source, source, source, len(chunks)), chunks, vectors[list(rows)],
                  [[f"词{i}"] for i in rows])
    return store


def _queries(m: int, dim: int = DIM) -> np.ndarray:
    q = np.random.default_rng(1).standard_normal((m, dim)).astype(np.float32)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def _recall(a: FaissBm25Store, b: FaissBm25Store, k: int, filters: Filters | None = None) -> float:
    hits = [len({i for i, _ in a.dense_search(q, k, filters)} & {i for i, _ in b.dense_search(q, k, filters)}) / k
            for q in _queries(40)]
    return float(np.mean(hits))


def test_a_tiny_threshold_switches_to_hnsw_with_high_recall_against_flat() -> None:
    flat, ann = _store(2000, threshold=10_000), _store(2000, threshold=100)
    assert not flat.approximate() and ann.approximate()
    ann.dense_search(_queries(1)[0], 5)
    assert isinstance(ann._dense(), faiss.IndexHNSWFlat) and isinstance(flat._dense(), faiss.IndexFlatIP)
    assert _recall(flat, ann, 10) >= 0.95
    # Scores are the same inner products, whichever index found the chunk.
    q = _queries(1)[0]
    exact = dict(flat.dense_search(q, 10))
    for i, s in ann.dense_search(q, 10):
        if i in exact:
            assert s == pytest.approx(exact[i], abs=1e-5)


def test_the_threshold_is_checked_at_search_time() -> None:
    store = _store(500, threshold=10_000)
    store.dense_search(_queries(1)[0], 5)
    store.ann_threshold = 100
    store.dense_search(_queries(1)[0], 5)
    assert isinstance(store._dense(), faiss.IndexHNSWFlat)


@pytest.mark.parametrize("filters", [Filters(region="绍兴市"), Filters(region="浙江省")])
def test_filtered_hnsw_search_agrees_with_flat(filters: Filters) -> None:
    """A selective filter (10%) is scored exactly; a broad one (90%) walks the graph."""
    flat, ann = _store(2000, threshold=10_000), _store(2000, threshold=100)
    assert _recall(flat, ann, 10, filters) >= 0.95
    for q in _queries(5):
        assert all(ann.chunk(i).region == filters.region for i, _ in ann.dense_search(q, 10, filters))
        assert len(ann.dense_search(q, 10, filters)) == 10


def test_hnsw_is_saved_with_its_generation_and_loaded_without_a_rebuild(tmp_path: Path) -> None:
    store = _store(600, threshold=100)
    store.save(tmp_path / "idx")
    gen = current_generation(tmp_path / "idx")
    assert gen is not None and (gen / DENSE_FILE).is_file()
    manifest = json.loads((gen / "manifest.json").read_text())
    assert manifest["dense_index"] == "hnsw" and DENSE_FILE in manifest["checksums"]
    loaded = FaissBm25Store.load(tmp_path / "idx", model="test-model", dim=DIM, ann_threshold=100)
    assert isinstance(loaded._faiss, faiss.IndexHNSWFlat)
    for q in _queries(5):
        assert loaded.dense_search(q, 10) == store.dense_search(q, 10)
    # A higher threshold at load time means flat: the saved graph is not used.
    as_flat = FaissBm25Store.load(tmp_path / "idx", model="test-model", dim=DIM, ann_threshold=10_000)
    as_flat.dense_search(_queries(1)[0], 5)
    assert isinstance(as_flat._dense(), faiss.IndexFlatIP)


def test_a_flat_index_is_not_saved(tmp_path: Path) -> None:
    _store(300, threshold=10_000).save(tmp_path / "idx")
    gen = current_generation(tmp_path / "idx")
    assert gen is not None and not (gen / DENSE_FILE).exists()
    assert json.loads((gen / "manifest.json").read_text())["dense_index"] == "flat"


def test_a_damaged_graph_is_refused_with_the_rebuild_hint(tmp_path: Path) -> None:
    _store(600, threshold=100).save(tmp_path / "idx")
    gen = current_generation(tmp_path / "idx")
    assert gen is not None
    with open(gen / DENSE_FILE, "r+b") as f:
        f.seek(200)
        f.write(b"\xff\xff\xff\xff")
    with pytest.raises(IndexStoreError, match="checksum.*--rebuild"):
        FaissBm25Store.load(tmp_path / "idx", model="test-model", dim=DIM, ann_threshold=100)


def test_the_app_passes_the_threshold_from_settings(tmp_path: Path) -> None:
    _store(300, threshold=10_000, model="hash", dim=256).save(tmp_path / "idx")
    settings = Settings(index_dir=tmp_path / "idx", embedding="hash", ann_threshold=50)
    store = App(settings).store()
    assert store.ann_threshold == 50 and store.approximate()
