"""Sentence vectors as stored in ``measure_vectors``: float16, little-endian.

float16 halves the table beside float32; its ~1e-3 relative rounding is far below what moves a
cosine ranking of int8-encoder vectors.
"""

from __future__ import annotations

import numpy as np


def pack_vector(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f2").tobytes()


def unpack_vector(data: bytes) -> list[float]:
    """The vector as plain floats (what an Elasticsearch document takes)."""
    return [float(x) for x in np.frombuffer(data, dtype="<f2")]
