"""The E5S1 reader: Q4_0 dequantisation and the file checks."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from classifiers.e5s1 import E5Header, dequantize_q4_0, hf_name_and_shape, read_directory
from tbt_alert.errors import ClassifierError


def test_q4_0_block_is_expanded_like_e5c() -> None:
    # One constructed block: scale 0.5, byte j holds weight j (low nibble) and j+16 (high nibble).
    scale = np.array([0.5], dtype=np.float16).tobytes()
    nibbles = bytes(((j % 16) | (((15 - j) % 16) << 4)) for j in range(16))
    weights = dequantize_q4_0(scale + nibbles, 32)
    expected_low = [(j % 16 - 8) * 0.5 for j in range(16)]
    expected_high = [((15 - j) % 16 - 8) * 0.5 for j in range(16)]
    assert weights.tolist() == expected_low + expected_high


def test_a_file_without_the_magic_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.bin"
    path.write_bytes(b"NOPE" + bytes(100))
    with pytest.raises(ClassifierError, match="E5S1"):
        read_directory(path)


def test_tensor_names_map_to_bert_parameters() -> None:
    header = E5Header(1, 384, 12, 12, 1536, 250037, 512, 2, 1e-12, 32, 250002, 0, 2, 1, 3)
    assert hf_name_and_shape("emb.word", header) == ("embeddings.word_embeddings.weight", (250037, 384))
    assert hf_name_and_shape("l3.fo.w", header) == ("encoder.layer.3.output.dense.weight", (384, 1536))
    assert hf_name_and_shape("l0.aln.w", header) == ("encoder.layer.0.attention.output.LayerNorm.weight", (384,))
    with pytest.raises(ClassifierError):
        hf_name_and_shape("l0.zz.w", header)
    assert struct.calcsize("<IQQ") == 20  # the directory entry layout e5.c reads
