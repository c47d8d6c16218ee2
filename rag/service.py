"""The one narrow interface the web UI uses: ask, list documents, show a document,
change the knowledge base. Nothing in `ui/` touches FAISS, the loaders or the chain.

The service notices when the index changed on disk (an ingest from the UI or the
CLI, or a save of the background embedder) and reopens it before the next question;
the LLM is loaded once and kept. Uploads are searchable by keyword as soon as they are
read; a background thread then computes their vectors (ingest/background.py).
"""

from __future__ import annotations

import logging
import shutil
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Protocol, Sequence

from langchain_core.embeddings import Embeddings

from ingest.document import text_from_chunks
from ingest.background import BackgroundEmbedder, embedder_running
from ingest.pipeline import Ingestor, IngestReport, remove_sources
from ingest.store import current_generation, embedding_counts, pending_in
from policyqa.errors import IngestError, ModelError, PolicyQAError
from policyqa.settings import SAMPLE_CORPUS, Settings
from policyqa.types import Answer, Chunk, Citation, Delta, Filters, Hit
from rag.chain import AnswerChain
from rag.llm import Backend
from rag.match import SIZES, Matcher, MatchResult, Profile
from ingest.measures import ACTIVITIES, CATEGORIES, ENTERPRISE_TYPES
from rag.targets import TargetRecord, filter_targets, load_targets

# Everything the page (ui/) uses from the layers below: it imports nothing else.
__all__ = [
    "Answer", "BACKEND_LABELS", "Chunk", "Citation", "Delta", "DocumentInfo", "EmbeddingProgress", "Filters", "Hit",
    "IngestError", "IngestReport", "MatchResult", "ModelError", "PolicyQA", "PolicyQAError", "Profile", "Settings",
    "Status", "TargetRecord", "UPLOAD_SUFFIXES", "VOCABULARY",
]

# The words the matching form offers, as the matcher names them.
VOCABULARY = {
    "types": tuple(ENTERPRISE_TYPES), "activities": tuple(ACTIVITIES), "categories": tuple(CATEGORIES),
    "sizes": SIZES,
}

BACKEND_LABELS = {
    "local": "本地大模型（llama.cpp）",
    "openai": "OpenAI 兼容接口",
    "extractive": "原文摘录（不使用大模型）",
}
UPLOAD_SUFFIXES = (".txt", ".md", ".pdf", ".docx", ".html", ".htm")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DocumentInfo:
    source: str
    title: str
    issuer: str
    date: str
    region: str
    doc_number: str
    chunks: int
    uploaded: bool = False
    embedded: int = 0  # chunks whose dense vector is computed; the rest are found by keyword only

    @property
    def embedding_label(self) -> str:
        """The vector state in the page's words."""
        if self.embedded >= self.chunks:
            return "就绪"
        if not self.embedded:
            return "仅关键词检索（向量计算中）"
        return f"向量计算中 {100 * self.embedded // max(self.chunks, 1)}%"


@dataclass(frozen=True)
class EmbeddingProgress:
    done: int  # chunks with a vector, index-wide
    total: int
    running: bool  # a background embedder of this service is working

    @property
    def pending(self) -> int:
        return self.total - self.done


@dataclass(frozen=True)
class Status:
    backend: str
    backend_label: str
    model: str  # the LLM's file or model name; empty for the extractive backend
    embedding: str
    documents: int
    chunks: int


class Components(Protocol):
    """What the service needs from the composition root (policyqa/app.py's `App`)."""

    settings: Settings

    @property
    def embeddings(self) -> Embeddings: ...

    def ingestor(self) -> Ingestor: ...

    def answer_chain(self, opened: Backend) -> AnswerChain: ...


class PolicyQA:
    def __init__(self, app: Components, opened: Backend) -> None:
        self.settings = app.settings
        self.app = app
        self._opened = opened
        self.backend = opened.name
        self._lock = threading.Lock()  # guards reloads and knowledge-base changes
        self._generation: Path | None = None
        self._chain: AnswerChain | None = None
        self._texts: dict[str, str] = {}
        # The background embedder: `_embedding` is True from its start until it has
        # decided, under `_embed_lock`, to end; `_wanted` asks it for one more pass
        # (rows saved by an ingest while it was finishing its last one).
        self._embed_lock = threading.Lock()
        self._embedder: threading.Thread | None = None
        self._embedding = False
        self._wanted = False
        self._stop = threading.Event()

    @property
    def uploads_dir(self) -> Path:
        return self.settings.data_dir / "uploads"

    # -- answering -------------------------------------------------------------------
    def ask(self, question: str, history: Sequence[Sequence[str]] = (), filters: Filters | None = None
            ) -> Iterator[Delta | Answer]:
        """`Delta`s while an LLM writes the answer, then the checked Answer."""
        question = question.strip()
        if not question:
            raise PolicyQAError("请输入问题。")
        return self._guarded(self._current().stream(question, history, filters))

    def _guarded(self, events: Iterator[Delta | Answer]) -> Iterator[Delta | Answer]:
        """Any other failure (an LLM server down or refusing the key) becomes a
        ModelError the page can show. An LLM server's error text may echo the request,
        key included, so the key is cut from the log and the message shows none of it."""
        try:
            yield from events
        except PolicyQAError:
            raise
        except Exception as exc:
            text = "".join(traceback.format_exception(exc))
            if self.settings.openai_api_key:
                text = text.replace(self.settings.openai_api_key, "***")
            log.warning("answer generation failed:\n%s", text)
            raise ModelError(f"回答生成失败（{type(exc).__name__}），请稍后再试。") from None

    def chunk(self, chunk_id: str) -> Chunk | None:
        return self._current().retriever.store.chunk_by_id(chunk_id)

    def document_text(self, source: str) -> str:
        """The cleaned text of an indexed document, rebuilt from its chunks' offsets."""
        store = self._current().retriever.store
        if source not in self._texts:
            parts = store.chunks_of(source)
            self._texts[source] = text_from_chunks(parts) if parts else ""
        return self._texts[source]

    def match(self, profile: dict, categories: Sequence[str] = ()) -> list[MatchResult]:
        """The support measures of the indexed documents that apply to an enterprise
        (a profile as `policyqa match` reads it from JSON)."""
        try:
            wanted = Profile.from_dict(profile)
        except (ValueError, TypeError) as exc:
            raise PolicyQAError(f"企业信息有误：{exc}") from exc
        # Measures are extracted once per index content (the store keeps them).
        return Matcher(self._current().retriever.store).match(wanted, categories)

    def targets(self, region: str = "", indicator: str = "", kind: str = "", year: str = "") -> list[TargetRecord]:
        """The target figures and reported figures stated in the indexed documents."""
        store = self._current().retriever.store
        return filter_targets(load_targets(store), region=region, indicator=indicator,
                              kind=kind, year=year)

    # -- knowledge base ----------------------------------------------------------------
    def documents(self) -> list[DocumentInfo]:
        store = self._current().retriever.store
        uploaded = {p.name for p in self.uploads_dir.glob("*")} if self.uploads_dir.is_dir() else set()
        state = store.embedding_state()
        return [
            DocumentInfo(r.source, r.title, r.issuer, r.date, r.region, r.doc_number, r.chunks, r.source in uploaded,
                         state.get(r.source, (0, 0))[0])
            for r in sorted(store.files().values(), key=lambda r: r.source)
        ]

    def embedding_progress(self) -> EmbeddingProgress:
        """Index-wide vector progress, read from the current generation's manifest alone:
        cheap enough for a page to poll, and it neither waits for the lock nor reopens
        the index."""
        total, pending = embedding_counts(self.settings.index_dir)
        # Another process's embedder (the one `policyqa ingest` starts) counts too.
        running = self._embedding or (pending > 0 and embedder_running(self.settings.index_dir))
        return EmbeddingProgress(total - pending, total, running)

    def start_embedding(self) -> bool:
        """Compute waiting vectors in a background thread. True when one is running."""
        with self._embed_lock:
            if self._embedding:
                self._wanted = True  # it looks again before it ends
                return True
            if not pending_in(self.settings.index_dir):
                return False
            self._stop.clear()
            self._embedding = self._wanted = True
            self._embedder = threading.Thread(target=self._embed, name="policyqa-embedder", daemon=True)
            self._embedder.start()
            return True

    def stop_embedding(self, timeout: float = 60.0) -> None:
        """Ask the embedder to save what it has and stop (the rest resumes on the next start)."""
        self._stop.set()
        thread = self._embedder
        if thread is not None:
            thread.join(timeout)

    def _background_model(self) -> Embeddings:
        """The model the embedder thread uses: the service's own. A second copy would
        cost its memory again (about 500 MB for e5-small in torch); torch encodes a
        question's vector beside a batch's."""
        return self.app.embeddings

    def _embed(self) -> None:
        try:
            emb = self._background_model()
            while True:
                with self._embed_lock:
                    if not self._wanted or self._stop.is_set():
                        self._embedding = False
                        return
                    self._wanted = False
                report = BackgroundEmbedder(self.settings, emb).run(stop=self._stop)
                log.info("background embedding: %s", report)
        except Exception:  # a failure costs the vectors, never the service: keyword search goes on
            log.exception("background embedding failed; `policyqa embed` resumes it")
        with self._embed_lock:
            self._embedding = False

    def status(self) -> Status:
        store = self._current().retriever.store
        model = self.settings.model_path().name if self.backend == "local" else (
            self.settings.openai_model if self.backend == "openai" else "")
        return Status(self.backend, BACKEND_LABELS.get(self.backend, self.backend), model,
                      self.settings.embedding, len(store.files()), len(store))

    def add_files(self, paths: Iterable[Path]) -> IngestReport:
        """Copy uploaded files into the uploads folder and ingest them with the same code
        as `policyqa ingest`. Bad files come back in the report's `skipped`."""
        self.uploads_dir.mkdir(parents=True, exist_ok=True)
        kept: list[Path] = []
        rejected: list[IngestError] = []
        for path in paths:
            name = Path(path).name
            if not name.lower().endswith(UPLOAD_SUFFIXES):
                rejected.append(IngestError(name, f"unsupported file type; use {', '.join(UPLOAD_SUFFIXES)}"))
                continue
            target = self.uploads_dir / name
            shutil.copyfile(path, target)
            kept.append(target)
        with self._lock:
            report = self.app.ingestor().run(kept, progress=False, embed="later") if kept else IngestReport()
        if rejected:
            report = IngestReport(**{**report.__dict__, "skipped": tuple(rejected) + report.skipped})
        for error in report.skipped:  # a file that failed is not kept for re-ingest
            bad = self.uploads_dir / error.source
            if bad in kept:
                bad.unlink(missing_ok=True)
        if report.chunks_pending:
            self.start_embedding()
        return report

    def remove(self, sources: Sequence[str]) -> dict[str, int]:
        with self._lock:
            removed = remove_sources(self.settings, self.app.embeddings, sources)
        for source in sources:
            (self.uploads_dir / Path(source).name).unlink(missing_ok=True)
        return removed

    def reingest(self) -> IngestReport:
        """Ingest the sample corpus and the uploads again; unchanged files are skipped
        by their hash, changed ones replace their old chunks."""
        paths = [p for p in (SAMPLE_CORPUS, self.uploads_dir) if p.is_dir()]
        with self._lock:
            report = self.app.ingestor().run(paths, progress=False, embed="later")
        if report.chunks_pending:
            self.start_embedding()
        return report

    # -- internals ---------------------------------------------------------------------
    def _current(self) -> AnswerChain:
        with self._lock:
            generation = current_generation(self.settings.index_dir)
            if self._chain is None or generation != self._generation:
                self._chain = self.app.answer_chain(self._opened)
                self._texts = {}
                self._generation = current_generation(self.settings.index_dir)
            return self._chain
