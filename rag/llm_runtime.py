"""The local LLM as a LangChain chat model, run by llama-cpp-python.

`make_local_chat_model()` checks the model's SHA-256 (rag.local_model.verify_model;
a cached marker is accepted) before loading it, and returns a `BaseChatModel`
whose `.invoke()` returns an AIMessage and whose `.stream()` yields one
AIMessageChunk per generated token.

Why llama-cpp-python rather than xllamacpp: built on this machine it uses the
CPU's AVX-512, and prompt evaluation (which dominates time-to-first-token for
RAG prompts) ran about twice as fast as xllamacpp's portable wheel; see
scripts/setup_model.py. Why our own small wrapper rather than
langchain-community's ChatLlamaCpp: langchain-community is sunset (it warns on
import) and pulls in aiohttp, SQLAlchemy and langchain-classic for one class.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, PrivateAttr

from policyqa.errors import ModelError
from rag.local_model import RUNTIME_PACKAGE, RUNTIME_VERSION, verify_model

# Per-call options a caller may pass through .invoke(..., max_tokens=...) or .bind().
_CALL_OPTIONS = frozenset(
    {"max_tokens", "temperature", "top_p", "top_k", "min_p", "repeat_penalty", "seed",
     "presence_penalty", "frequency_penalty"}
)


def default_threads() -> int:
    """All CPUs this process may use (llama-cpp-python's own default is half)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def to_llama_messages(messages: list[BaseMessage]) -> list[dict[str, str]]:
    """LangChain messages -> OpenAI-style dicts for the GGUF's chat template."""
    out: list[dict[str, str]] = []
    for m in messages:
        if isinstance(m, SystemMessage):
            role = "system"
        elif isinstance(m, HumanMessage):
            role = "user"
        elif isinstance(m, AIMessage):
            role = "assistant"
        elif isinstance(m, ToolMessage):
            role = "tool"
        elif isinstance(m, ChatMessage):
            role = m.role
        else:
            raise ModelError(f"本地模型不支持这种消息类型：{type(m).__name__}")
        out.append({"role": role, "content": str(m.text)})
    return out


class LocalLlamaChatModel(BaseChatModel):
    """A chat model over an in-process `llama_cpp.Llama` (one model, one lock)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: str
    n_ctx: int = 4096
    n_threads: int = 1
    temperature: float = 0.1
    max_tokens: int = 512
    top_p: float = 0.9
    repeat_penalty: float = 1.05

    _llama: Any = PrivateAttr(default=None)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "policyqa-llama-cpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model": Path(self.model_path).name,
            "n_ctx": self.n_ctx,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "top_p": self.top_p,
            "repeat_penalty": self.repeat_penalty,
        }

    def attach(self, llama: Any) -> LocalLlamaChatModel:
        self._llama = llama
        return self

    def close(self) -> None:
        """Free the model's memory now rather than at garbage collection."""
        with self._lock:
            llama, self._llama = self._llama, None
        if llama is not None and hasattr(llama, "close"):
            llama.close()

    # -- generation ---------------------------------------------------------

    def _params(self, stop: list[str] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "repeat_penalty": self.repeat_penalty,
        }
        params.update({k: v for k, v in kwargs.items() if k in _CALL_OPTIONS and v is not None})
        if stop:
            params["stop"] = list(stop)
        return params

    def _client(self) -> Any:
        if self._llama is None:
            raise ModelError("本地模型已关闭或尚未加载。")
        return self._llama

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        params = self._params(stop, kwargs)
        with self._lock:
            try:
                resp = self._client().create_chat_completion(
                    messages=to_llama_messages(messages), stream=False, **params
                )
            except ModelError:
                raise
            except Exception as exc:  # llama-cpp-python raises ValueError/RuntimeError
                raise _as_model_error(exc, self.n_ctx) from exc
        choice = resp["choices"][0]
        usage = resp.get("usage") or {}
        message = AIMessage(
            content=choice["message"].get("content") or "",
            response_metadata={
                "finish_reason": choice.get("finish_reason"),
                "model_name": Path(self.model_path).name,
            },
            usage_metadata=_usage(usage),
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        params = self._params(stop, kwargs)
        llama_messages = to_llama_messages(messages)
        with self._lock:  # released when the stream ends or the generator is closed
            stream: Any = None
            try:
                stream = self._client().create_chat_completion(
                    messages=llama_messages, stream=True, **params
                )
                for part in stream:
                    choice = part["choices"][0]
                    text = (choice.get("delta") or {}).get("content") or ""
                    finish = choice.get("finish_reason")
                    if text:
                        chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
                        if run_manager is not None:
                            run_manager.on_llm_new_token(text, chunk=chunk)
                        yield chunk
                    if finish is not None:
                        yield ChatGenerationChunk(
                            message=AIMessageChunk(
                                content="",
                                response_metadata={
                                    "finish_reason": finish,
                                    "model_name": Path(self.model_path).name,
                                },
                                chunk_position="last",
                            )
                        )
            except ModelError:
                raise
            except Exception as exc:
                raise _as_model_error(exc, self.n_ctx) from exc
            finally:
                if stream is not None and hasattr(stream, "close"):
                    stream.close()  # a consumer that stops early frees the runtime


def _usage(usage: dict[str, Any]) -> UsageMetadata | None:
    if not usage:
        return None
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    return UsageMetadata(
        input_tokens=prompt, output_tokens=completion,
        total_tokens=int(usage.get("total_tokens") or prompt + completion),
    )


def _as_model_error(exc: Exception, n_ctx: int) -> ModelError:
    text = str(exc)
    if "exceed context window" in text:
        return ModelError(
            f"提问和检索到的资料太长，超出了本地模型的上下文长度（{n_ctx} 个词元）。"
            f"请缩短问题或减少检索条数。（{text}）"
        )
    return ModelError(f"本地模型生成失败：{type(exc).__name__}: {text}")


def make_local_chat_model(
    model_path: Path,
    n_ctx: int = 4096,
    n_threads: int | None = None,
    temperature: float = 0.1,
    max_tokens: int = 512,
    *,
    n_batch: int = 512,
    seed: int | None = None,
) -> BaseChatModel:
    """Verify the model file's checksum, load it with llama-cpp-python, and wrap it.

    `n_threads` None or 0 means all CPUs. Raises ModelError (Chinese message) if the
    file is missing or does not match its SHA-256, if llama-cpp-python is not
    installed, or if llama.cpp cannot load the file.
    """
    model_path = Path(model_path)
    verify_model(model_path)  # refuse a file whose checksum does not match
    try:
        from llama_cpp import Llama
    except ImportError as exc:
        raise ModelError(
            f"未安装本地模型运行库 {RUNTIME_PACKAGE}。请运行 `python scripts/setup_model.py`"
            f"（或 `pip install {RUNTIME_PACKAGE}=={RUNTIME_VERSION}`）。"
        ) from exc
    threads = n_threads or default_threads()
    llama_kwargs: dict[str, Any] = {
        "n_ctx": n_ctx,
        "n_threads": threads,
        "n_threads_batch": threads,
        "n_batch": min(n_batch, n_ctx),
        "n_gpu_layers": 0,
        "verbose": False,
    }
    if seed is not None:
        llama_kwargs["seed"] = seed
    try:
        llama = Llama(model_path=str(model_path), **llama_kwargs)
    except Exception as exc:
        raise ModelError(f"本地模型加载失败：{model_path}（{type(exc).__name__}: {exc}）") from exc
    model = LocalLlamaChatModel(
        model_path=str(model_path), n_ctx=n_ctx, n_threads=threads,
        temperature=temperature, max_tokens=max_tokens,
    )
    return model.attach(llama)
