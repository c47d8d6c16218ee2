"""Hybrid retrieval: dense (FAISS) and keyword (BM25 over jieba) lists fused by
weighted reciprocal rank fusion, with metadata filters applied inside each search."""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.embeddings import Embeddings

from ingest.embeddings import encode
from ingest.store import FaissBm25Store
from ingest.tokenize import Tokenizer
from policyqa.settings import Settings
from policyqa.types import Filters, Hit


@dataclass(frozen=True)
class RetrievalConfig:
    candidates: int = 50
    rrf_k: int = 60
    dense_weight: float = 1.0
    keyword_weight: float = 2.0
    mode: str = "hybrid"  # hybrid | dense | keyword

    @classmethod
    def from_settings(cls, s: Settings, mode: str = "hybrid") -> "RetrievalConfig":
        return cls(s.candidates, s.rrf_k, s.dense_weight, s.keyword_weight, mode)


class HybridRetriever:
    def __init__(self, store: FaissBm25Store, embeddings: Embeddings, tokenizer: Tokenizer, config: RetrievalConfig) -> None:
        self.store = store
        self.embeddings = embeddings
        self.tokenizer = tokenizer
        self.config = config

    def retrieve(self, query: str, k: int = 5, filters: Filters | None = None) -> list[Hit]:
        cfg = self.config
        n = max(cfg.candidates, k)
        dense: list[tuple[int, float]] = []
        keyword: list[tuple[int, float]] = []
        if cfg.mode in ("hybrid", "dense"):
            q = encode(self.embeddings, [self.tokenizer.expand_aliases(query)], query=True)[0]
            dense = self.store.dense_search(q, n, filters)
        if cfg.mode in ("hybrid", "keyword"):
            keyword = self.store.keyword_search(self.tokenizer.tokens(query), n, filters)
        fused: dict[int, float] = {}
        d_rank = {i: r for r, (i, _) in enumerate(dense, 1)}
        k_rank = {i: r for r, (i, _) in enumerate(keyword, 1)}
        for i, r in d_rank.items():
            fused[i] = fused.get(i, 0.0) + cfg.dense_weight / (cfg.rrf_k + r)
        for i, r in k_rank.items():
            fused[i] = fused.get(i, 0.0) + cfg.keyword_weight / (cfg.rrf_k + r)
        order = sorted(fused, key=lambda i: (-fused[i], i))[:k]
        return [Hit(self.store.chunk(i), fused[i], d_rank.get(i), k_rank.get(i)) for i in order]
