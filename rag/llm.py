"""Chat models for the `local` and `openai` backends, chosen by one setting."""

from __future__ import annotations

import importlib.util

from langchain_core.language_models import BaseChatModel

from policyqa.errors import ConfigError, ModelError
from policyqa.settings import Settings

BACKENDS = ("local", "openai", "extractive")


def resolve_backend(settings: Settings) -> str:
    """`auto` means local when its model file and runtime are installed."""
    if settings.llm != "auto":
        return settings.llm
    if settings.model_path().is_file() and importlib.util.find_spec("llama_cpp") is not None:
        return "local"
    return "extractive"


def make_chat_model(settings: Settings, backend: str) -> BaseChatModel | None:
    if backend == "extractive":
        return None
    if backend == "local":
        from rag.llm_runtime import make_local_chat_model

        return make_local_chat_model(
            settings.model_path(), n_ctx=settings.llm_ctx, n_threads=settings.threads or None,
            temperature=settings.llm_temperature, max_tokens=settings.llm_max_tokens,
        )
    if backend == "openai":
        if not settings.openai_base_url or not settings.openai_model:
            raise ConfigError("the openai backend needs POLICYQA_OPENAI_BASE_URL and POLICYQA_OPENAI_MODEL")
        try:
            from langchain_openai import ChatOpenAI
        except ImportError as exc:
            raise ModelError("langchain-openai is not installed; run `make setup`") from exc
        return ChatOpenAI(
            base_url=settings.openai_base_url, model=settings.openai_model,
            api_key=settings.openai_api_key or "not-needed",  # local servers accept any key
            temperature=settings.llm_temperature, max_tokens=settings.llm_max_tokens,
            streaming=True, timeout=120, max_retries=1,
        )
    raise ConfigError(f"unknown LLM backend {backend!r}; use one of {', '.join(BACKENDS)}")
