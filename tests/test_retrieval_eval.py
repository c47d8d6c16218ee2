"""Retrieval evaluation metrics (distinct-document recall@k, MRR@10) and the hybrid
retriever's fusion on a tiny store with the hash embedding."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from eval.retrieval import (
    add_parser,
    distinct_documents,
    evaluate_retrieval,
    first_gold_rank,
    gold_sources,
    identical_documents,
    percentile,
    rank_metrics,
)
from ingest.embeddings import HashEmbeddings
from ingest.store import FaissBm25Store, FileRecord
from ingest.tokenize import Tokenizer
from policyqa.types import Chunk, Filters, Hit
from rag.retriever import DocumentIndex, HybridRetriever, RetrievalConfig


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer()


def _chunk(source: str, i: int, text: str, region: str = "") -> Chunk:
    return Chunk(chunk_id=f"{source}#{i}", doc_id=source, source=source, text=text, start=0, end=len(text), region=region)


# -- metrics -------------------------------------------------------------------------


def test_distinct_documents_keep_the_order_of_each_documents_best_chunk() -> None:
    assert distinct_documents(["b", "a", "b", "c", "a"]) == ["b", "a", "c"]
    assert distinct_documents(["b2", "a", "b1"], same_as={"b2": "b1"}) == ["b1", "a"]
    assert distinct_documents([]) == []


def test_first_gold_rank_counts_distinct_documents_and_any_gold() -> None:
    ranking = distinct_documents(["x", "x", "x", "y", "g"])
    assert first_gold_rank(ranking, ["g"]) == 3  # not 5: x's extra chunks do not push g down
    assert first_gold_rank(ranking, ["g", "y"]) == 2  # any listed source counts
    assert first_gold_rank(ranking, ["missing"]) is None


def test_rank_metrics_on_handmade_ranks() -> None:
    m = rank_metrics([1, 2, 5, 11, None], ks=(1, 5, 10))
    assert m["recall@1"] == pytest.approx(1 / 5)
    assert m["recall@5"] == pytest.approx(3 / 5)
    assert m["recall@10"] == pytest.approx(3 / 5)
    assert m["mrr@10"] == pytest.approx((1 + 1 / 2 + 1 / 5) / 5)  # rank 11 is past the cutoff
    assert rank_metrics([]) == {"recall@1": 0.0, "recall@5": 0.0, "recall@10": 0.0, "mrr@10": 0.0}


def test_gold_sources_from_docid_or_sources() -> None:
    assert gold_sources({"docid": "d1", "question": "?"}) == ["d1"]
    assert gold_sources({"sources": ["a.txt", "b.txt"]}) == ["a.txt", "b.txt"]
    assert gold_sources({"sources": [], "refuse": True}) == []


def test_percentile_interpolates() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0
    assert percentile([0.0, 10.0], 95) == pytest.approx(9.5)
    assert percentile([], 95) == 0.0


class _FixedRetriever:
    """Returns a fixed chunk list per question, to test the scoring alone."""

    def __init__(self, lists: dict[str, list[str]]) -> None:
        self.lists = lists
        self.asked: list[tuple[str, int]] = []

    def retrieve(self, query: str, k: int = 5) -> list[Hit]:
        self.asked.append((query, k))
        return [Hit(_chunk(s, n, "t"), 1.0 / (n + 1)) for n, s in enumerate(self.lists[query][:k])]


def test_evaluate_retrieval_scores_distinct_documents() -> None:
    retriever = _FixedRetriever({
        "q1": ["g1", "x", "y"],
        "q2": ["x", "x", "x", "x", "x", "y", "g2"],  # g2 is the 7th chunk but the 3rd document
        "q3": ["x", "y", "z", "u", "v", "w", "g3"],  # 7th document
        "q4": ["x"],  # never found
        "q5": ["dup", "g5"],  # dup has g5's text
    })
    questions = [
        {"id": "1", "question": "q1", "docid": "g1"},
        {"id": "2", "question": "q2", "sources": ["g2"]},
        {"id": "3", "question": "q3", "docid": "g3"},
        {"id": "4", "question": "q4", "docid": "g4"},
        {"id": "5", "question": "q5", "docid": "g5"},
        {"id": "6", "question": "unanswerable", "sources": []},
    ]
    r = evaluate_retrieval(retriever, questions, ks=(1, 5, 10), depth=50, same_as={"dup": "g5"})
    assert r["questions"] == 5 and r["skipped"] == 1
    assert [row["rank"] for row in r["ranks"]] == [1, 3, 7, None, 2]
    assert r["recall@1"] == pytest.approx(1 / 5)
    assert r["recall@5"] == pytest.approx(3 / 5)
    assert r["recall@10"] == pytest.approx(4 / 5)
    assert r["mrr@10"] == pytest.approx((1 + 1 / 3 + 1 / 7 + 1 / 2) / 5)
    # identical-text documents counted as one: q5's duplicate is a hit at rank 1
    assert r["merged"]["recall@1"] == pytest.approx(2 / 5)
    assert all(k == 50 for _, k in retriever.asked)  # enough chunks for the dedupe
    assert r["latency_ms"]["p95"] >= r["latency_ms"]["median"] >= 0


def test_identical_documents_map_to_the_first(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    rows = [{"docid": "a", "text": "同一 文本"}, {"docid": "b", "text": "另一篇"}, {"docid": "c", "text": "同一  文本"}]
    corpus.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    assert identical_documents(corpus) == {"c": "a"}


def test_add_parser_registers_eval_retrieval_with_defaults() -> None:
    parser = argparse.ArgumentParser(prog="policyqa")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    args = parser.parse_args(["eval-retrieval", "--modes", "keyword", "--limit", "3"])
    assert args.modes == "keyword" and args.limit == 3 and args.depth == 50
    assert args.bench.name == "ncp-policy-qa" and args.index is None and args.json_out is None
    assert callable(args.func)


def test_eval_retrieval_command_ingests_a_missing_index_and_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POLICYQA_DATA_DIR", str(tmp_path / "data"))  # keep caches out of the project
    bench = tmp_path / "bench"
    bench.mkdir()
    docs = {
        "d1": "绍兴市科技局关于做好疫情期间企业复工的通知。各区县：企业复工前须完成防疫物资储备。",
        "d2": "丽水市人社局发布稳岗补贴政策，受疫情影响的中小企业可以申请稳岗返还。",
        "d3": "北京市交通委调整公交线路运营时间，地铁末班车提前至晚上九点。",
    }
    (bench / "corpus.jsonl").write_text(
        "".join(json.dumps({"docid": k, "text": v}, ensure_ascii=False) + "\n" for k, v in docs.items()), encoding="utf-8"
    )
    qs = [
        {"id": "1", "docid": "d2", "question": "丽水市对中小企业有什么稳岗返还政策？", "answer": "稳岗返还"},
        {"id": "2", "docid": "d3", "question": "北京地铁末班车提前到几点？", "answer": "晚上九点"},
    ]
    (bench / "qa.jsonl").write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in qs), encoding="utf-8")
    parser = argparse.ArgumentParser(prog="policyqa")
    add_parser(parser.add_subparsers(dest="command"))
    out = tmp_path / "out.json"
    args = parser.parse_args(["eval-retrieval", "--bench", str(bench), "--index", str(tmp_path / "idx"),
                              "--embedding", "hash", "--modes", "keyword,hybrid", "--json", str(out), "--quiet"])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert "documents/s" in printed and "peak RSS" in printed and "hybrid" in printed
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["ingest"]["documents"] == 3 and report["ingest"]["chunks"] >= 3
    assert set(report["results"]) == {"keyword", "hybrid"}
    assert report["results"]["keyword"]["recall@5"] == 1.0


# -- retriever fusion on a tiny store ---------------------------------------------------


def _store(tokenizer: Tokenizer, docs: dict[str, list[str]]) -> FaissBm25Store:
    emb = HashEmbeddings()
    store = FaissBm25Store(emb.name, emb.dim)
    for source, texts in docs.items():
        chunks = [_chunk(source, i, t) for i, t in enumerate(texts)]
        store.add(
            FileRecord(source, f"h-{source}", source, len(chunks)),
            chunks,
            emb.encode([c.match_text() for c in chunks], query=False),
            [tokenizer.index_tokens(c.match_text()) for c in chunks],
        )
    return store


DOCS = {
    # The Shaoxing figure sits in a chunk that never names Shaoxing itself.
    "shaoxing.txt": ["绍兴市2025年科技创新工作要点，由绍兴市科技局印发。", "全年新认定高新技术企业220家。"],
    "other.txt": ["全年新认定高新技术企业300家，新认定高新技术企业数量再创新高。", "公交线路调整。"],
    "traffic.txt": ["北京市交通委调整公交线路运营时间。"],
}


def _retriever(tokenizer: Tokenizer, **config: object) -> HybridRetriever:
    return HybridRetriever(_store(tokenizer, DOCS), HashEmbeddings(), tokenizer, RetrievalConfig(**config))  # type: ignore[arg-type]


def test_index_tokens_add_character_bigrams_but_words_stay_plain(tokenizer: Tokenizer) -> None:
    toks = tokenizer.index_tokens("绍兴市新认定企业")
    assert {"绍兴市", "绍兴", "兴市", "认定", "定企"} <= set(toks)
    assert "定企" not in tokenizer.tokens("绍兴市新认定企业")
    assert "哪些" not in tokenizer.index_tokens("有哪些企业")  # stopwords are dropped as bigrams too
    assert Tokenizer(bigrams=False).index_tokens("绍兴市新认定企业") == tokenizer.tokens("绍兴市新认定企业")


def test_document_term_lifts_a_chunk_whose_document_matches_the_question(tokenizer: Tokenizer) -> None:
    q = "绍兴市新认定高新技术企业多少家"
    plain = _retriever(tokenizer, mode="keyword", document_weight=0.0).retrieve(q, k=3)
    assert plain[0].chunk.source == "other.txt"  # more matching words, wrong city
    lifted = _retriever(tokenizer, mode="keyword", document_weight=1.0).retrieve(q, k=3)
    assert lifted[0].chunk.text == "全年新认定高新技术企业220家。"
    hybrid = _retriever(tokenizer).retrieve(q, k=3)
    assert hybrid[0].chunk.source == "shaoxing.txt"
    assert hybrid[0].keyword_rank is not None and hybrid[0].dense_rank is not None
    rrf = _retriever(tokenizer, fusion="rrf", rrf_k=10, document_weight=4.0).retrieve(q, k=3)
    assert rrf[0].chunk.source == "shaoxing.txt"


def test_modes_filters_and_scores(tokenizer: Tokenizer) -> None:
    dense = _retriever(tokenizer, mode="dense").retrieve("北京市交通委调整公交线路运营时间。", k=2)
    assert dense[0].chunk.source == "traffic.txt" and dense[0].score == pytest.approx(1.0, abs=1e-5)  # cosine
    assert all(h.keyword_rank is None for h in dense)
    keyword = _retriever(tokenizer, mode="keyword").retrieve("公交线路", k=5)
    assert {h.chunk.source for h in keyword} == {"traffic.txt", "other.txt"}
    assert all(h.dense_rank is None for h in keyword)
    only = _retriever(tokenizer).retrieve("新认定高新技术企业", k=5, filters=Filters(source="shaoxing.txt"))
    assert only and {h.chunk.source for h in only} == {"shaoxing.txt"}
    assert _retriever(tokenizer, mode="keyword").retrieve("完全无关的词语", k=5) == []
    scores = [h.score for h in _retriever(tokenizer).retrieve("新认定高新技术企业", k=5)]
    assert scores == sorted(scores, reverse=True)


def test_config_rejects_unknown_mode_or_fusion() -> None:
    with pytest.raises(ValueError):
        RetrievalConfig(mode="sparse")
    with pytest.raises(ValueError):
        RetrievalConfig(fusion="max")


def test_document_index_follows_store_changes(tokenizer: Tokenizer) -> None:
    store = _store(tokenizer, {"a.txt": ["疫情防控物资保障"]})
    retriever = HybridRetriever(store, HashEmbeddings(), tokenizer, RetrievalConfig(mode="keyword"))
    assert retriever.documents().scores(tokenizer.index_tokens("稳岗返还")) == {}
    emb = HashEmbeddings()
    chunk = _chunk("b.txt", 0, "中小企业稳岗返还政策")
    store.add(FileRecord("b.txt", "h", "b", 1), [chunk], emb.encode([chunk.text], query=False),
              [tokenizer.index_tokens(chunk.text)])
    assert {k.split("\x00")[0] for k in retriever.documents().scores(tokenizer.index_tokens("稳岗返还"))} == {"b.txt"}
    assert retriever.retrieve("稳岗返还", k=1)[0].chunk.source == "b.txt"


def test_document_index_normalises_by_the_best_document() -> None:
    index = DocumentIndex(["a", "b", "c"], [["x", "y"], ["x"], ["z"]])
    scores = index.scores(["x", "y"])
    assert max(scores.values()) == pytest.approx(1.0) and scores["a"] == pytest.approx(1.0)
    assert 0 < scores["b"] < 1 and "c" not in scores
    assert np.isclose(sum(1 for _ in scores), 2)
