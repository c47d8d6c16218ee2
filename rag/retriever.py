"""Hybrid retrieval: dense (FAISS) and keyword (BM25 over jieba words and character
bigrams) chunk lists, plus a whole-document BM25 score, fused into one chunk ranking,
with metadata filters applied inside each search.

Fusion ("score", the default): every candidate chunk (the union of the dense and
keyword lists) scores

    dense_weight    * its dense similarity, min-max scaled over the candidates
  + keyword_weight  * its BM25 score / the best BM25 score (0 when not in the list)
  + document_weight * its document's BM25 score / the best document's score

The document term ranks a passage by how well its whole document matches, which a
chunk cut out of context (no title, no place name) cannot show on its own. Score
fusion beat reciprocal rank fusion on the NCP benchmark (document recall@1/@5
0.817/0.962 vs 0.769/0.945 at k=60, 0.796/0.960 at k=10), and the document term at
weight 1 added about 0.01 to recall@1 there; larger document weights helped NCP a
little more but cost the sample corpus passages from its second-best documents. "rrf" is weighted reciprocal rank fusion
of the same three lists (`rrf_k`), kept for comparison.

Modes: "hybrid" uses all three; "keyword" the two BM25 terms; "dense" only the dense
similarity.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import bm25s
import numpy as np
from langchain_core.embeddings import Embeddings

from ingest.embeddings import encode
from ingest.store import FaissBm25Store
from ingest.tokenize import Tokenizer
from policyqa.settings import Settings
from policyqa.types import Chunk, Filters, Hit

MODES = ("hybrid", "dense", "keyword")
FUSIONS = ("score", "rrf")


def score_sum(dense: list[tuple[int, float]], keyword: list[tuple[int, float]], q: np.ndarray | None,
              vector: Callable[[int], np.ndarray | None], dense_weight: float, keyword_weight: float) -> dict[int, float]:
    """Weighted sum of min-max scaled cosine similarities and max-scaled BM25 scores over
    the union of both candidate lists; a candidate only one list found gets its cosine
    computed, so a keyword-only hit is not scored as if it were dissimilar. A chunk
    whose vector is not computed yet (`vector` gives None) gets the candidates' mean
    scaled similarity: unknown, so neither rewarded nor punished."""
    candidates = list(dict.fromkeys([i for i, _ in dense] + [i for i, _ in keyword]))
    fused = dict.fromkeys(candidates, 0.0)
    if q is not None and candidates:
        known = dict(dense)
        for i in candidates:
            if i not in known and (v := vector(i)) is not None:
                known[i] = float(v @ q)
        if known:
            sims = np.array(list(known.values()))
            lo, hi = float(sims.min()), float(sims.max())
            scaled = {i: (s - lo) / (hi - lo) if hi > lo else 1.0 for i, s in known.items()}
            unknown = float(np.mean(list(scaled.values())))
            for i in candidates:
                fused[i] += dense_weight * float(scaled.get(i, unknown))
    if keyword:
        top = max(s for _, s in keyword)
        for i, s in keyword:
            fused[i] += keyword_weight * s / top
    return fused


@dataclass(frozen=True)
class RetrievalConfig:
    candidates: int = 50  # chunks per retriever before fusion
    rrf_k: int = 60  # only for fusion="rrf"
    dense_weight: float = 1.0
    keyword_weight: float = 2.0
    document_weight: float = 1.0  # 0 turns the whole-document BM25 term off
    mode: str = "hybrid"  # hybrid | dense | keyword
    fusion: str = "score"  # score | rrf

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown retrieval mode {self.mode!r}; use one of {', '.join(MODES)}")
        if self.fusion not in FUSIONS:
            raise ValueError(f"unknown fusion {self.fusion!r}; use one of {', '.join(FUSIONS)}")

    @classmethod
    def from_settings(cls, s: Settings, mode: str = "hybrid") -> "RetrievalConfig":
        return cls(
            candidates=s.candidates,
            rrf_k=s.rrf_k,
            dense_weight=s.dense_weight,
            keyword_weight=s.keyword_weight,
            document_weight=s.document_weight,
            mode=mode,
            fusion=s.fusion,
        )


def document_key(chunk: Chunk) -> str:
    """A document for the whole-document score is one article: a newspaper page's
    four articles are four documents."""
    return f"{chunk.source}\x00{chunk.title}"


class DocumentIndex:
    """BM25 over whole documents: each article's chunk tokens joined into one bag."""

    def __init__(self, sources: list[str], tokens: Sequence[list[str]]) -> None:
        self.sources = sources
        self._bm25 = bm25s.BM25()
        self._bm25.index([t or ["\u2205"] for t in tokens], show_progress=False)

    @classmethod
    def from_store(cls, store: FaissBm25Store, tokenizer: Tokenizer) -> "DocumentIndex":
        bags: dict[str, list[str]] = {}
        for i, toks in enumerate(store.tokens()):
            bags.setdefault(document_key(store.chunk(i)), []).extend(toks)
        return cls(list(bags), list(bags.values()))

    def scores(self, tokens: list[str]) -> dict[str, float]:
        """Document score / best document score, for documents scoring above 0."""
        ids = self._bm25.get_tokens_ids(tokens)
        if not ids or not self.sources:
            return {}
        raw = self._bm25.get_scores_from_ids(ids)
        top = float(raw.max())
        if top <= 0:
            return {}
        return {self.sources[j]: float(raw[j]) / top for j in np.flatnonzero(raw > 0)}


class HybridRetriever:
    """Retrieval over one store. The whole-document index is built on first use and
    rebuilt when the store's size changes."""

    def __init__(self, store: FaissBm25Store, embeddings: Embeddings, tokenizer: Tokenizer, config: RetrievalConfig) -> None:
        self.store = store
        self.embeddings = embeddings
        self.tokenizer = tokenizer
        self.config = config
        self._documents: DocumentIndex | None = None
        self._documents_size = -1

    def documents(self) -> DocumentIndex:
        if self._documents is None or self._documents_size != len(self.store):
            self._documents = DocumentIndex.from_store(self.store, self.tokenizer)
            self._documents_size = len(self.store)
        return self._documents

    def retrieve(self, query: str, k: int = 5, filters: Filters | None = None) -> list[Hit]:
        cfg = self.config
        n = max(cfg.candidates, k)
        use_dense = cfg.mode in ("hybrid", "dense")
        use_keyword = cfg.mode in ("hybrid", "keyword")
        q: np.ndarray | None = None
        dense: list[tuple[int, float]] = []
        keyword: list[tuple[int, float]] = []
        doc_scores: dict[str, float] = {}
        if use_dense:
            q = encode(self.embeddings, [self.tokenizer.expand_aliases(query)], query=True)[0]
            dense = self.store.dense_search(q, n, filters)
        if use_keyword:
            tokens = self.tokenizer.index_tokens(query)
            keyword = self.store.keyword_search(tokens, n, filters)
            if cfg.document_weight > 0 and (dense or keyword):
                doc_scores = self.documents().scores(tokens)
        d_rank = {i: r for r, (i, _) in enumerate(dense, 1)}
        k_rank = {i: r for r, (i, _) in enumerate(keyword, 1)}
        if cfg.mode == "dense":
            fused = dict(dense)  # the cosine similarity itself
        elif cfg.fusion == "rrf":
            fused = self._rrf(d_rank, k_rank, doc_scores)
        else:
            fused = self._score_sum(q, dense, keyword, doc_scores)
        order = sorted(fused, key=lambda i: (-fused[i], i))[:k]
        cosine = dict(dense)
        return [Hit(self.store.chunk(i), fused[i], d_rank.get(i), k_rank.get(i), self._similarity(q, i, cosine))
                for i in order]

    def _similarity(self, q: np.ndarray | None, i: int, cosine: dict[int, float]) -> float | None:
        """The passage's cosine similarity to the question: from the dense list, or
        computed for a passage only the keyword list found."""
        if i in cosine:
            return float(cosine[i])
        v = self._vector(i) if q is not None else None
        return None if v is None else float(v @ q)

    def _score_sum(
        self,
        q: np.ndarray | None,
        dense: list[tuple[int, float]],
        keyword: list[tuple[int, float]],
        doc_scores: dict[str, float],
    ) -> dict[int, float]:
        cfg = self.config
        fused = score_sum(dense, keyword, q, self._vector, cfg.dense_weight, cfg.keyword_weight)
        candidates = list(fused)
        if doc_scores:
            for i in candidates:
                fused[i] += cfg.document_weight * doc_scores.get(document_key(self.store.chunk(i)), 0.0)
        return fused

    def _vector(self, i: int) -> np.ndarray | None:
        return self.store.vector(i) if self.store.has_vector(i) else None

    def _rrf(self, d_rank: dict[int, int], k_rank: dict[int, int], doc_scores: dict[str, float]) -> dict[int, float]:
        cfg = self.config
        fused: dict[int, float] = {}
        for i, r in d_rank.items():
            fused[i] = fused.get(i, 0.0) + cfg.dense_weight / (cfg.rrf_k + r)
        for i, r in k_rank.items():
            fused[i] = fused.get(i, 0.0) + cfg.keyword_weight / (cfg.rrf_k + r)
        if doc_scores:
            ranked = sorted(doc_scores, key=lambda s: -doc_scores[s])
            doc_rank = {s: r for r, s in enumerate(ranked, 1)}
            for i in fused:
                r = doc_rank.get(document_key(self.store.chunk(i)))
                if r is not None:
                    fused[i] += cfg.document_weight / (cfg.rrf_k + r)
        return fused
