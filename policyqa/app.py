"""Builds the long-lived objects (embeddings, tokenizer, store, retriever) from the
settings once, for the CLI, the UI and the evaluation runner."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from langchain_core.embeddings import Embeddings

from ingest.embeddings import make_embeddings
from ingest.pipeline import Ingestor, IngestReport, open_store
from ingest.store import FaissBm25Store, current_generation
from ingest.tokenize import Tokenizer
from policyqa.errors import IndexStoreError
from policyqa.settings import SAMPLE_CORPUS, Settings
from rag.retriever import HybridRetriever, RetrievalConfig

if TYPE_CHECKING:
    from rag.chain import AnswerChain


@dataclass
class App:
    settings: Settings

    @cached_property
    def embeddings(self) -> Embeddings:
        return make_embeddings(self.settings.embedding, threads=self.settings.threads)

    @cached_property
    def tokenizer(self) -> Tokenizer:
        return Tokenizer()

    def ingestor(self) -> Ingestor:
        return Ingestor(self.settings, self.embeddings, self.tokenizer)

    def ensure_index(self) -> IngestReport | None:
        """With no index at the default place, build one from the sample corpus, so
        every command works on a fresh clone with no other input."""
        if current_generation(self.settings.index_dir) is not None:
            return None
        if self.settings.index_dir != Settings().index_dir:
            raise IndexStoreError(
                f"no index in {self.settings.index_dir}; build one with "
                f"`policyqa ingest PATH --index {self.settings.index_dir}`"
            )
        print(f"no index yet: ingesting the sample corpus from {SAMPLE_CORPUS}", file=sys.stderr)
        return self.ingestor().run([SAMPLE_CORPUS])

    def store(self) -> FaissBm25Store:
        self.ensure_index()
        return open_store(self.settings, self.embeddings)

    def chain(self, backend: str | None = None) -> "AnswerChain":
        from rag.chain import AnswerChain
        from rag.llm import open_backend

        opened = open_backend(self.settings, backend)
        return AnswerChain(self.retriever(), self.tokenizer, self.settings, opened.llm, opened.name)

    def retriever(self, mode: str = "hybrid") -> HybridRetriever:
        return HybridRetriever(
            self.store(), self.embeddings, self.tokenizer, RetrievalConfig.from_settings(self.settings, mode)
        )
