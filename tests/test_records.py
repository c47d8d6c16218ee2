"""Derived records (ingest/records.py): one life cycle for every kind — extracted at
ingest, carried over while a file is unchanged, rebuilt for documents indexed
without them, dropped with their document — and support measures kept that way."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest

from ingest.embeddings import HashEmbeddings
from ingest.measures import MEASURES, extract_measures
from ingest.pipeline import Ingestor, remove_sources
from ingest.records import RecordKind, attach, current, decode, encode, from_chunks, read_all
from ingest.store import FaissBm25Store, FileRecord
from ingest.tokenize import Tokenizer
from policyqa.settings import SAMPLE_CORPUS, Settings
from policyqa.types import Chunk
from rag.match import Matcher
from tests.support.corpus import SHAOXING


def _lengths(text: str, chunks: Sequence[Chunk]) -> list[int]:
    return [len(c.text) for c in chunks]


LENGTHS: RecordKind[int] = RecordKind("lengths", 1, _lengths, lambda n: {"n": n}, lambda row: int(row["n"]))


def _chunk(source: str, start: int, text: str) -> Chunk:
    return Chunk(chunk_id=f"{source}:{start}", doc_id=source, source=source, text=text,
                 start=start, end=start + len(text))


def _file(source: str, sha: str) -> FileRecord:
    return FileRecord(source=source, sha256=sha, doc_id=source, chunks=1)


class FakeStore:
    """The store seam records use, in memory."""

    def __init__(self, files: dict[str, FileRecord], chunks: list[Chunk]) -> None:
        self._files, self._chunks = files, chunks
        self.saved: dict[str, object] = {}
        self.built = 0

    def files(self) -> dict[str, FileRecord]:
        return self._files

    def chunks(self) -> list[Chunk]:
        return self._chunks

    def records(self, kind: str) -> object | None:
        return self.saved.get(kind)

    def set_records(self, kind: str, payload: object) -> None:
        self.saved[kind] = payload

    def derived(self, key: str, build):  # type: ignore[no-untyped-def]
        self.built += 1
        return build(self)


@pytest.mark.parametrize("name", ["", "../targets", "a.json", "tar gets"])
def test_a_kind_must_be_a_plain_name(name: str) -> None:
    with pytest.raises(ValueError, match="plain name"):
        RecordKind(name, 1, _lengths, lambda n: {"n": n}, lambda row: int(row["n"]))


@pytest.mark.parametrize("payload", [None, [], {"version": 2, "sources": {}}, {"version": 1, "sources": {"a": {"records": [{}]}}},
                                     {"version": 1, "sources": {"a": "x"}}])
def test_a_payload_from_another_version_or_unreadable_decodes_to_nothing(payload: object) -> None:
    assert decode(LENGTHS, payload) == {}


def test_records_round_trip_through_their_payload() -> None:
    by_source = {"b.txt": ("sha-b", [3, 4]), "a.txt": ("sha-a", [])}
    assert decode(LENGTHS, encode(LENGTHS, by_source)) == by_source


def test_fresh_records_win_unchanged_are_carried_and_missing_are_rebuilt() -> None:
    files = {"new.txt": _file("new.txt", "n1"), "same.txt": _file("same.txt", "s1"),
             "stale.txt": _file("stale.txt", "t2"), "old.txt": _file("old.txt", "o1")}
    chunks = [_chunk("stale.txt", 0, "abc"), _chunk("old.txt", 5, "de"), _chunk("old.txt", 0, "fghij")]
    previous = {"same.txt": ("s1", [7]), "stale.txt": ("t1", [99]), "gone.txt": ("g1", [1])}
    kept = current(LENGTHS, files, lambda: chunks, {"new.txt": [42]}, previous)
    assert kept == {
        "new.txt": ("n1", [42]),  # just read
        "same.txt": ("s1", [7]),  # file unchanged: carried over without reading chunks
        "stale.txt": ("t2", [3]),  # the saved records came from another version of the file
        "old.txt": ("o1", [5, 2]),  # indexed before the kind existed; chunks in document order
    }  # gone.txt left the index and its records with it


def test_attach_reports_a_change_only_when_the_records_differ() -> None:
    store = FakeStore({"a.txt": _file("a.txt", "1")}, [_chunk("a.txt", 0, "xyz")])
    assert attach(LENGTHS, store, {}) == (True, 1)
    assert attach(LENGTHS, store, {}) == (False, 1)
    assert attach(LENGTHS, store, {"a.txt": [1, 2]}) == (True, 2)
    assert read_all(LENGTHS, store) == [1, 2]


# ------------------------------------------------------------------ support measures


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("records")
    shutil.copytree(SAMPLE_CORPUS, root / "corpus")
    s = Settings(data_dir=root / "data", index_dir=root / "index", embedding="hash")
    report = Ingestor(s, HashEmbeddings(), Tokenizer()).run([root / "corpus"], progress=False)
    assert report.total_measures > 50
    return s


def test_measures_are_extracted_at_ingest_and_equal_those_read_from_the_chunks(settings: Settings) -> None:
    store = FaissBm25Store.load(settings.index_dir)
    saved = decode(MEASURES, store.records(MEASURES.name))
    assert set(saved) == set(store.files())
    assert saved == {s: (store.files()[s].sha256, recs) for s, recs in from_chunks(MEASURES, store.chunks()).items()}
    assert Matcher(store).measures == tuple(extract_measures(store.chunks()))


def test_removing_a_document_drops_its_measures(settings: Settings, tmp_path: Path) -> None:
    local = Settings(data_dir=tmp_path / "data", index_dir=tmp_path / "index", embedding="hash")
    shutil.copytree(settings.index_dir, local.index_dir)
    remove_sources(local, HashEmbeddings(), [SHAOXING])
    store = FaissBm25Store.load(local.index_dir)
    sources = {m.source for m in Matcher(store).measures}
    assert SHAOXING not in sources and sources == set(store.files())
