"""The on-disk cache of sentence vectors (pure logic: a counting stand-in encoder, no model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from classifiers.embedding_cache import EmbeddingCache, embed_cached


class CountingEncoder:
    """Stands in for the encoder: a vector from each text's length, and a log of what it embedded."""

    dim = 3

    def __init__(self) -> None:
        self.seen: list[str] = []

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        self.seen += texts
        return np.array([[len(t), 1.0, 0.0] for t in texts], dtype=np.float32)


def test_each_text_is_embedded_once_and_kept_on_disk(tmp_path: Path) -> None:
    file = tmp_path / "vectors.npz"
    encoder = CountingEncoder()
    cache = EmbeddingCache(file)
    first = cache.embed(encoder, ["toy", "lamp", "toy"])  # type: ignore[arg-type]
    assert first[:, 0].tolist() == [3.0, 4.0, 3.0]
    assert sorted(encoder.seen) == ["lamp", "toy"]
    cache.embed(encoder, ["lamp", "charger"])  # type: ignore[arg-type]
    assert sorted(encoder.seen) == ["charger", "lamp", "toy"]
    again = embed_cached(encoder, ["charger", "toy"], cache_file=file)  # type: ignore[arg-type]
    assert again[:, 0].tolist() == [7.0, 3.0]
    assert len(encoder.seen) == 3  # read back from the file, nothing embedded again


def test_no_texts_give_an_empty_matrix(tmp_path: Path) -> None:
    vectors = EmbeddingCache(tmp_path / "none.npz").embed(CountingEncoder(), [])  # type: ignore[arg-type]
    assert vectors.shape == (0, 3)
    assert not (tmp_path / "none.npz").exists()
