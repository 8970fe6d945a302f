"""Sentence vectors as stored in ``measure_vectors``: float32, little-endian (float16 in rows
written before migration 0008).

float32 because a re-tag reads the stored vector instead of running the encoder again on an
unchanged text (classifiers/tagging.py), and the head must then see exactly the vector a fresh
embedding gives: float16's ~1e-3 rounding could move a score across a threshold. Older float16
rows still serve search (the rounding is far below what moves a cosine ranking) and are
re-embedded, never reused, when their measure is tagged again.
"""

from __future__ import annotations

import numpy as np

EXACT = "<f4"
LEGACY = "<f2"


def pack_vector(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=EXACT).tobytes()


def is_exact(data: bytes, dims: int) -> bool:
    """Whether a stored vector of ``dims`` dimensions is float32 (reusable for tagging)."""
    return len(data) == 4 * dims


def vector_array(data: bytes, dims: int) -> np.ndarray:
    """The stored vector as float32, whichever width it was stored in."""
    return np.frombuffer(data, dtype=EXACT if is_exact(data, dims) else LEGACY).astype(np.float32)


def unpack_vector(data: bytes, dims: int) -> list[float]:
    """The vector as plain floats (what an Elasticsearch document takes)."""
    return [float(x) for x in vector_array(data, dims)]
