"""Chat models for the `local` and `openai` backends, chosen by one setting.

Both go through langchain-openai's ChatOpenAI: `openai` to any OpenAI-compatible
endpoint, `local` to llama.cpp's server in a child process that
rag.llm_supervisor starts, self-tests and restarts. The page's process never runs
the model itself, so a crash of the model costs only the answer in flight.
"""

from __future__ import annotations

import atexit
import importlib.util
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NoReturn

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, PrivateAttr

from policyqa.errors import ConfigError, ModelError
from policyqa.settings import MODEL_FILENAME, Settings
from rag.llm_server import ServerConfig
from rag.llm_supervisor import LlmSupervisor
from rag.local_model import RUNTIME_PACKAGE, verify_model

BACKENDS = ("local", "openai", "extractive")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Backend:
    name: str  # local | openai | extractive
    llm: BaseChatModel | None


def runtime_installed() -> bool:
    return importlib.util.find_spec("xllamacpp") is not None


def resolve_backend(settings: Settings) -> str:
    """`auto` means local when its model file and runtime are installed."""
    if settings.llm != "auto":
        return settings.llm
    if settings.model_path().is_file() and runtime_installed():
        return "local"
    return "extractive"


def open_backend(settings: Settings, backend: str | None = None) -> Backend:
    """The chat model for a backend. A local model that fails its start-up self-test
    is logged with the reason and replaced by the extractive backend, so a machine
    that cannot run it still answers, with citations."""
    name = backend or resolve_backend(settings)
    try:
        return Backend(name, make_chat_model(settings, name))
    except ModelError as exc:
        if name != "local":
            raise
        log.error("local LLM unavailable, answering with the extractive backend instead: %s", exc)
        return Backend("extractive", None)


def make_chat_model(settings: Settings, backend: str) -> BaseChatModel | None:
    if backend == "extractive":
        return None
    if backend == "local":
        return start_local_model(settings)
    if backend == "openai":
        if not settings.openai_base_url or not settings.openai_model:
            raise ConfigError("the openai backend needs POLICYQA_OPENAI_BASE_URL and POLICYQA_OPENAI_MODEL")
        return openai_chat(settings, settings.openai_base_url, settings.openai_model, settings.openai_api_key)
    raise ConfigError(f"unknown LLM backend {backend!r}; use one of {', '.join(BACKENDS)}")


def openai_chat(settings: Settings, base_url: str, model: str, api_key: str, max_retries: int = 1) -> BaseChatModel:
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as exc:
        raise ModelError("langchain-openai is not installed; run `make setup`") from exc
    return ChatOpenAI(
        base_url=base_url, model=model,
        api_key=api_key or "not-needed",  # local servers accept any key
        temperature=settings.llm_temperature, max_tokens=settings.llm_max_tokens,
        streaming=True, stream_usage=True, timeout=settings.llm_timeout_s, max_retries=max_retries,
    )


def start_local_model(settings: Settings) -> LocalChatModel:
    """Check the model file, start its process and self-test it (ModelError on failure)."""
    path = settings.model_path()
    if not path.is_file():
        raise ModelError(f"找不到本地模型文件 {path}。请运行 `make setup`。")
    if path.name == MODEL_FILENAME:
        verify_model(path)  # the default model, wherever it lies, must match its published SHA-256
    if not runtime_installed():
        raise ModelError(f"未安装本地模型运行库 {RUNTIME_PACKAGE}。请运行 `make setup`。")
    config = ServerConfig(
        model_path=str(path), n_ctx=settings.llm_ctx, parallel=settings.llm_parallel,
        threads=settings.threads or default_threads(), memory_mb=settings.llm_memory_mb,
    )
    supervisor = LlmSupervisor(config, start_timeout=max(60.0, settings.llm_timeout_s))
    atexit.register(supervisor.close)
    supervisor.start()
    return LocalChatModel(supervisor=supervisor, settings=settings, model_name=path.name)


def default_threads() -> int:
    """All CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class LocalChatModel(BaseChatModel):
    """The local model's process, reached with the same ChatOpenAI client as the
    `openai` backend. A failed request tells the supervisor (which restarts a dead or
    hung model) and raises ModelError for the chain to fall back on."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    supervisor: LlmSupervisor
    settings: Settings
    model_name: str
    last_usage: UsageMetadata | None = None  # of the latest completed request, for bench

    _client_for: tuple[str, BaseChatModel] | None = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "policyqa-local-llama-server"

    def _client(self) -> BaseChatModel:
        base = self.supervisor.address(wait=self.settings.llm_timeout_s)
        if self._client_for is None or self._client_for[0] != base:
            # No retries: a retry would wait out the same dead process again.
            self._client_for = (base, openai_chat(self.settings, base + "/v1", self.model_name, "", max_retries=0))
        return self._client_for[1]

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        client = self._client()
        try:
            message = client.invoke(messages, stop=stop, **kwargs)
        except Exception as exc:
            self._failed(exc)
        self.last_usage = message.usage_metadata if isinstance(message, AIMessage) else None
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        client = self._client()
        try:
            for message in client.stream(messages, stop=stop, **kwargs):
                if message.usage_metadata:
                    self.last_usage = message.usage_metadata
                chunk = ChatGenerationChunk(message=message)
                if run_manager is not None and message.content:
                    run_manager.on_llm_new_token(message.text, chunk=chunk)
                yield chunk
        except Exception as exc:  # not GeneratorExit: a consumer that stops early is no failure
            self._failed(exc)

    def _failed(self, exc: Exception) -> NoReturn:
        reason = f"{type(exc).__name__}: {exc}"
        # The health check may take seconds on a hung model: the user gets the
        # fallback answer meanwhile.
        threading.Thread(target=self.supervisor.report_failure, args=(reason,), daemon=True).start()
        raise ModelError("本地大模型本次生成失败（进程崩溃、无响应或出错），正在自动恢复。") from exc

    def close(self) -> None:
        self.supervisor.close()
