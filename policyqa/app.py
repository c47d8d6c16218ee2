"""The composition root: builds the long-lived objects (embeddings, tokenizer, store,
retriever, answer chain, the page's service) from the settings once, for the CLI, the
page, eval and bench. It sits above `rag` and beside `ui` and `eval`: nothing below
imports it, and it imports neither `ui` nor `eval`."""

from __future__ import annotations

import argparse
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
from rag.llm import BACKENDS, Backend, open_backend
from rag.match import Matcher
from rag.retriever import HybridRetriever, RetrievalConfig

if TYPE_CHECKING:
    from rag.chain import AnswerChain
    from rag.service import PolicyQA


def add_llm_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--llm", choices=BACKENDS, help="answer backend (default: POLICYQA_LLM, else local when installed)")


def open_matcher(settings: Settings) -> Matcher:
    return Matcher(App(settings).listing_store())


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

    def listing_store(self) -> FaissBm25Store:
        """The index for listings (target figures, support measures): only chunks and
        records are needed, so an existing index is read without loading the embedding
        model; with none, the sample corpus is ingested first."""
        if current_generation(self.settings.index_dir) is None:
            return self.store()
        return FaissBm25Store.load(self.settings.index_dir)

    def store(self) -> FaissBm25Store:
        self.ensure_index()
        return open_store(self.settings, self.embeddings)

    def chain(self, backend: str | None = None) -> "AnswerChain":
        return self.answer_chain(open_backend(self.settings, backend))

    def answer_chain(self, opened: Backend) -> "AnswerChain":
        """The chain over the index as it is now (the service calls this again after
        the index changed on disk)."""
        from rag.chain import AnswerChain

        self.ensure_index()
        return AnswerChain(self.retriever(), self.tokenizer, self.settings, opened.llm, opened.name)

    def service(self, backend: str | None = None) -> "PolicyQA":
        """The page's one door into rag, with the LLM loaded once (a local model that
        fails its self-test: the extractive backend)."""
        from rag.service import PolicyQA

        return PolicyQA(self, open_backend(self.settings, backend))

    def retriever(self, mode: str = "hybrid", store: FaissBm25Store | None = None) -> HybridRetriever:
        """A retriever over `store` (one opened by `store()`, shared by several modes),
        else over the index opened now."""
        return HybridRetriever(
            store if store is not None else self.store(), self.embeddings, self.tokenizer,
            RetrievalConfig.from_settings(self.settings, mode),
        )
