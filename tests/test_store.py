"""Index store: search, filters, delete, and atomic save/load with manifest checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ingest.store import FaissBm25Store, FileRecord, IndexLock, current_generation
from policyqa.errors import IndexLockedError, IndexStoreError
from policyqa.types import Chunk, Filters


def _chunk(source: str, i: int, text: str, region: str = "浙江省", date: str = "2025-01-01") -> Chunk:
    return Chunk(chunk_id=f"{source}#{i}", doc_id=source, source=source, text=text, start=0, end=len(text),
                 title=f"{source} title", region=region, date=date)


def _vec(*hot: int, dim: int = 8) -> np.ndarray:
    v = np.zeros(dim, dtype=np.float32)
    v[list(hot)] = 1.0
    return v / np.linalg.norm(v)


def _store() -> FaissBm25Store:
    s = FaissBm25Store("test-model", 8)
    s.add(FileRecord("a.txt", "h1", "a", 2), [_chunk("a.txt", 0, "高新技术企业 5000家"), _chunk("a.txt", 1, "科技型中小企业")],
          np.vstack([_vec(0), _vec(1)]), [["高新技术企业", "5000", "家"], ["科技型中小企业"]])
    s.add(FileRecord("b.txt", "h2", "b", 1), [_chunk("b.txt", 0, "绍兴 高新技术企业 220家", region="绍兴市", date="2024-03-01")],
          np.vstack([_vec(0, 2)]), [["绍兴", "高新技术企业", "220", "家"]])
    return s


def test_dense_and_keyword_search_rank_the_matching_chunk_first() -> None:
    s = _store()
    assert s.dense_search(_vec(1), 3)[0][0] == 1
    top = s.keyword_search(["5000"], 3)
    assert [i for i, _ in top] == [0]
    assert s.keyword_search(["不存在的词"], 3) == []


def test_filters_apply_inside_each_search() -> None:
    s = _store()
    only_sx = Filters(region="绍兴市")
    assert [s.chunk(i).source for i, _ in s.dense_search(_vec(0), 3, only_sx)] == ["b.txt"]
    assert [s.chunk(i).source for i, _ in s.keyword_search(["高新技术企业"], 3, only_sx)] == ["b.txt"]
    assert s.dense_search(_vec(0), 3, Filters(year="2030")) == []
    assert {s.chunk(i).source for i, _ in s.keyword_search(["高新技术企业"], 3, Filters(year="2025"))} == {"a.txt"}


def test_readding_a_source_replaces_all_its_chunks_and_delete_removes_it() -> None:
    s = _store()
    s.add(FileRecord("a.txt", "h1b", "a", 1), [_chunk("a.txt", 0, "新版本 6000家")], np.vstack([_vec(3)]), [["新版本", "6000", "家"]])
    assert len(s) == 2 and s.files()["a.txt"].sha256 == "h1b"
    assert s.keyword_search(["5000"], 5) == []  # the old version never lingers
    assert s.delete("a.txt") == 1 and s.delete("a.txt") == 0
    assert [c.source for c in s.chunks()] == ["b.txt"]
    assert s.keyword_search(["6000"], 5) == []


def test_save_load_round_trip(tmp_path: Path) -> None:
    s = _store()
    s.save(tmp_path / "idx")
    t = FaissBm25Store.load(tmp_path / "idx", model="test-model", dim=8)
    assert list(t.chunks()) == list(s.chunks())
    assert t.files() == s.files()
    assert t.dense_search(_vec(1), 1) == s.dense_search(_vec(1), 1)
    assert t.keyword_search(["220"], 2) == s.keyword_search(["220"], 2)
    manifest = json.loads((current_generation(tmp_path / "idx") / "manifest.json").read_text())
    assert manifest["format_version"] == 1 and manifest["dimension"] == 8 and manifest["chunk_count"] == 3
    assert manifest["files"]["a.txt"]["sha256"] == "h1"


def test_load_rejects_other_model_dimension_and_damage(tmp_path: Path) -> None:
    idx = tmp_path / "idx"
    _store().save(idx)
    with pytest.raises(IndexStoreError, match="embedding model"):
        FaissBm25Store.load(idx, model="other", dim=8)
    with pytest.raises(IndexStoreError, match="dimension"):
        FaissBm25Store.load(idx, model="test-model", dim=384)
    gen = current_generation(idx)
    with open(gen / "chunks.jsonl", "a", encoding="utf-8") as f:
        f.write("{}\n")
    with pytest.raises(IndexStoreError, match="damaged.*rebuild"):
        FaissBm25Store.load(idx)
    with pytest.raises(IndexStoreError, match="no index"):
        FaissBm25Store.load(tmp_path / "missing")


def test_a_failed_save_leaves_the_previous_generation_loadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    idx = tmp_path / "idx"
    _store().save(idx)
    before = current_generation(idx)
    s = _store()
    s.delete("a.txt")

    def boom(*a, **k):  # type: ignore[no-untyped-def]
        raise OSError("disk full")

    monkeypatch.setattr("ingest.store._fsync_tree", boom)
    with pytest.raises(OSError):
        s.save(idx)
    assert current_generation(idx) == before
    assert len(FaissBm25Store.load(idx)) == 3
    assert not [p for p in idx.iterdir() if p.name.startswith(".tmp-")]


def test_old_generations_are_pruned_but_the_previous_one_is_kept(tmp_path: Path) -> None:
    idx = tmp_path / "idx"
    for _ in range(3):
        _store().save(idx)
    assert len([p for p in idx.iterdir() if p.name.startswith("gen-")]) == 2


def test_a_second_writer_is_refused(tmp_path: Path) -> None:
    with IndexLock(tmp_path):
        with pytest.raises(IndexLockedError, match="another ingest"):
            with IndexLock(tmp_path):
                pass
    with IndexLock(tmp_path):  # released after the first
        pass


def test_index_files_hold_no_pickle(tmp_path: Path) -> None:
    _store().save(tmp_path / "idx")
    for p in (tmp_path / "idx").rglob("*.npy"):
        np.load(p, allow_pickle=False)  # raises if any array needed pickle


@pytest.mark.parametrize("kind", ["../escape", "a/b", "", "x.json"])
def test_a_record_kind_must_be_a_plain_name(kind: str) -> None:
    store = FaissBm25Store("m", 4)
    with pytest.raises(ValueError, match="plain name"):
        store.set_records(kind, {})


def test_records_round_trip_and_derived_values_follow_the_contents(tmp_path: Path) -> None:
    store = FaissBm25Store("m", 4)
    store.set_records("targets", {"version": 1, "sources": {}})
    calls: list[int] = []
    assert store.derived("n", lambda s: calls.append(1) or len(calls)) == 1
    assert store.derived("n", lambda s: calls.append(1) or len(calls)) == 1  # kept
    store.set_records("targets", {"version": 1, "sources": {"a": {}}})
    assert store.derived("n", lambda s: calls.append(1) or len(calls)) == 2  # dropped with the change
    store.save(tmp_path / "index")
    loaded = FaissBm25Store.load(tmp_path / "index")
    assert loaded.records("targets") == {"version": 1, "sources": {"a": {}}} and loaded.records("measures") is None
