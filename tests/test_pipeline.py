"""Ingest end to end: incremental re-ingest, replacement, removal, bad input mixed
with good, and an interrupted ingest that must leave the index as it was."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ingest import pipeline
from ingest.embeddings import HashEmbeddings
from ingest.pipeline import Ingestor, open_store, remove_sources
from ingest.store import FaissBm25Store, current_generation
from ingest.tokenize import Tokenizer
from policyqa.errors import IndexStoreError, PolicyQAError
from policyqa.settings import SAMPLE_CORPUS, Settings
from rag.retriever import HybridRetriever, RetrievalConfig


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer()


def _settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", index_dir=tmp_path / "index", embedding="hash")


def _ingestor(tmp_path: Path, tokenizer: Tokenizer) -> Ingestor:
    return Ingestor(_settings(tmp_path), HashEmbeddings(), tokenizer)


def _corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(SAMPLE_CORPUS, folder)
    return folder


def test_ingest_sample_corpus_then_search(tmp_path: Path, tokenizer: Tokenizer) -> None:
    report = _ingestor(tmp_path, tokenizer).run([_corpus(tmp_path)], progress=False)
    assert len(report.added) == 5 and not report.skipped
    assert report.total_chunks == report.chunks_added > 20
    store = open_store(_settings(tmp_path), HashEmbeddings())
    titles = {r.source: r.title for r in store.files().values()}
    assert "绍兴" not in titles["zhejiang-2025-hightech-workplan-brief.txt"]
    retriever = HybridRetriever(store, HashEmbeddings(), tokenizer, RetrievalConfig())
    hits = retriever.retrieve("2025年全省新认定高新技术企业多少家", k=5)
    assert any("5000家" in h.chunk.text.replace(" ", "") for h in hits[:3])
    # every hit carries its passage's cosine to the question (the answer-or-refuse score reads it)
    q = HashEmbeddings().encode([tokenizer.expand_aliases("2025年全省新认定高新技术企业多少家")], query=True)[0]
    rows = {store.chunk(i).chunk_id: i for i in range(len(store))}
    for h in hits:
        assert h.similarity == pytest.approx(float(store.vector(rows[h.chunk.chunk_id]) @ q), abs=1e-5)
    keyword_only = HybridRetriever(store, HashEmbeddings(), tokenizer, RetrievalConfig(mode="keyword"))
    assert all(h.similarity is None for h in keyword_only.retrieve("高新技术企业", k=3))


def test_reingest_unchanged_costs_nothing_and_changed_file_replaces_old_chunks(tmp_path: Path, tokenizer: Tokenizer) -> None:
    corpus = _corpus(tmp_path)
    ing = _ingestor(tmp_path, tokenizer)
    first = ing.run([corpus], progress=False)
    assert first.chunks_encoded == first.chunks_added > 0
    gen = current_generation(tmp_path / "index")
    again = ing.run([corpus], progress=False)
    assert len(again.unchanged) == 5 and again.chunks_added == 0
    assert current_generation(tmp_path / "index") == gen  # nothing rewritten

    f = corpus / "zhejiang-2025-hightech-workplan-brief.txt"
    f.write_text(f.read_text(encoding="utf-8").replace("5000家", "7777家"), encoding="utf-8")
    changed = ing.run([corpus], progress=False)
    assert changed.replaced == ("zhejiang-2025-hightech-workplan-brief.txt",)
    assert len(changed.unchanged) == 4
    assert changed.chunks_encoded <= 3  # unchanged chunks came from the embedding cache
    store = open_store(_settings(tmp_path), HashEmbeddings())
    brief = [c.text for c in store.chunks() if c.source == f.name]
    assert any("7777家" in t for t in brief) and not any("5000家" in t for t in brief)


def test_remove_deletes_a_document_and_unknown_names_fail(tmp_path: Path, tokenizer: Tokenizer) -> None:
    _ingestor(tmp_path, tokenizer).run([_corpus(tmp_path)], progress=False)
    s = _settings(tmp_path)
    removed = remove_sources(s, HashEmbeddings(), ["shaoxing-2025-sci-tech-workplan.txt"])
    assert removed["shaoxing-2025-sci-tech-workplan.txt"] > 0
    store = open_store(s, HashEmbeddings())
    assert "shaoxing-2025-sci-tech-workplan.txt" not in store.files()
    assert all(c.source != "shaoxing-2025-sci-tech-workplan.txt" for c in store.chunks())
    with pytest.raises(PolicyQAError, match="not in the index"):
        remove_sources(s, HashEmbeddings(), ["nope.txt"])


def test_bad_files_are_reported_by_name_and_the_rest_is_indexed(tmp_path: Path, tokenizer: Tokenizer) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.txt").write_text("浙江省推动高新技术企业发展。全省新认定高新技术企业5000家。", encoding="utf-8")
    (folder / "gbk.txt").write_bytes("绍兴市新增高新技术企业220家。".encode("gbk"))
    (folder / "empty.txt").write_bytes(b"")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (folder / "junk.txt").write_bytes(bytes(range(256)) * 50)
    report = _ingestor(tmp_path, tokenizer).run([folder], progress=False)
    assert set(report.added) == {"good.txt", "gbk.txt"}
    assert {e.source for e in report.skipped} == {"empty.txt", "broken.pdf", "junk.txt"}
    assert all(e.reason for e in report.skipped)
    text = report.summary()
    assert "broken.pdf" in text and "empty.txt" in text


def test_files_read_by_older_rules_are_read_again(tmp_path: Path, tokenizer: Tokenizer,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = _corpus(tmp_path)
    ing = _ingestor(tmp_path, tokenizer)
    first = ing.run([corpus], progress=False)
    records = open_store(_settings(tmp_path), HashEmbeddings()).files().values()
    assert {r.reader for r in records} == {pipeline.READER_VERSION}
    monkeypatch.setattr(pipeline, "READER_VERSION", pipeline.READER_VERSION + "-next")
    again = ing.run([corpus], progress=False)
    assert len(again.replaced) == 5 and not again.unchanged
    assert again.chunks_encoded == 0 and again.total_chunks == first.total_chunks  # same text: cached vectors
    assert len(ing.run([corpus], progress=False).unchanged) == 5


def test_an_interrupted_ingest_leaves_the_index_unchanged(tmp_path: Path, tokenizer: Tokenizer,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = _corpus(tmp_path)
    ing = _ingestor(tmp_path, tokenizer)
    ing.run([corpus / "zhejiang-2025-hightech-workplan-brief.txt"], progress=False)
    before = list(FaissBm25Store.load(tmp_path / "index").chunks())

    def fail(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    monkeypatch.setattr(HashEmbeddings, "encode", fail)
    with pytest.raises(KeyboardInterrupt):
        ing.run([corpus], progress=False)
    assert list(FaissBm25Store.load(tmp_path / "index").chunks()) == before


def test_an_index_built_with_another_model_is_refused_with_a_rebuild_hint(tmp_path: Path, tokenizer: Tokenizer) -> None:
    _ingestor(tmp_path, tokenizer).run([SAMPLE_CORPUS / "zhejiang-2025-hightech-workplan-brief.txt"], progress=False)

    class Other(HashEmbeddings):
        name = "other-model"

    with pytest.raises(IndexStoreError, match="--rebuild"):
        open_store(_settings(tmp_path), Other())
    report = Ingestor(_settings(tmp_path), Other(), tokenizer).run([SAMPLE_CORPUS], rebuild=True, progress=False)
    assert len(report.added) == 5


def test_jsonl_corpus_ingests_with_docids_as_sources(tmp_path: Path, tokenizer: Tokenizer) -> None:
    f = tmp_path / "c.jsonl"
    f.write_text(
        '{"docid": "d1", "text": "财政部关于支持疫情防控的税收政策。对防疫物资生产企业免征增值税。"}\n'
        '{"docid": "d2", "title": "北京市展会支持", "text": "对暂停举办的展会项目给予场租补助，补助金额不超过50万元。"}\n',
        encoding="utf-8",
    )
    report = _ingestor(tmp_path, tokenizer).run([f], progress=False)
    assert set(report.added) == {"d1", "d2"}
    store = open_store(_settings(tmp_path), HashEmbeddings())
    assert store.files()["d2"].title == "北京市展会支持"


def test_the_stage_hook_hears_each_stage_once_per_run(tmp_path: Path, tokenizer: Tokenizer) -> None:
    heard: list[tuple[str, float]] = []
    s = Settings(data_dir=tmp_path / "data", index_dir=tmp_path / "index", embedding="hash")
    report = Ingestor(s, HashEmbeddings(), tokenizer, on_stage=lambda st, sec: heard.append((st, sec))).run(
        [SAMPLE_CORPUS], progress=False)
    assert [st for st, _ in heard] == list(pipeline.STAGES)
    assert all(sec >= 0 for _, sec in heard) and dict(heard)["parse"] > 0
    assert dict(heard)["records"] == report.timings["records"] > 0  # the target figures were extracted
