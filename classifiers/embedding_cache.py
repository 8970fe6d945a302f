"""A disk cache of sentence vectors, so retraining and re-evaluating do not re-embed texts.

Kept outside the repository (``~/.cache/tbt-alert/embeddings`` by default), one file per
encoder checksum, keyed by a digest of the exact text.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np

from classifiers.encoder import Encoder

log = logging.getLogger(__name__)
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "tbt-alert" / "embeddings"


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


class EmbeddingCache:
    """A cache file's vectors held in memory: read once, however many lookups follow (a bench
    tagging 60,000 measures in batches would otherwise re-read the file for every batch)."""

    def __init__(self, cache_file: Path) -> None:
        self.cache_file = cache_file
        self.vectors: dict[str, np.ndarray] = {}
        if cache_file.is_file():
            with np.load(cache_file) as data:
                self.vectors = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))

    def embed(self, encoder: Encoder, texts: list[str], *, batch_size: int = 64) -> np.ndarray:
        """Vectors of ``texts``; those not cached yet are embedded and the file is rewritten."""
        cached = self.vectors
        keys = [_key(t) for t in texts]
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in cached}.items())
        if missing:
            log.info("embedding %d new texts (%d cached)", len(missing), len(texts) - len(missing))
            step = 1024  # save progress every few thousand texts: a long run may be interrupted
            for start in range(0, len(missing), step):
                chunk = missing[start : start + step]
                vectors = encoder.embed([t for _, t in chunk], batch_size=batch_size)
                cached.update({k: v for (k, _), v in zip(chunk, vectors, strict=True)})
                self._save()
                log.info("embedded %d/%d", min(start + step, len(missing)), len(missing))
        if not keys:
            return np.zeros((0, encoder.dim), np.float32)
        return np.stack([cached[k] for k in keys]).astype(np.float32)

    def _save(self) -> None:
        self.cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.cache_file.with_suffix(".tmp.npz")
        keys, vectors = list(self.vectors), np.stack(list(self.vectors.values())).astype(np.float32)
        np.savez(tmp, keys=np.array(keys), vectors=vectors)
        tmp.replace(self.cache_file)


def embed_cached(encoder: Encoder, texts: list[str], *, cache_file: Path, batch_size: int = 64) -> np.ndarray:
    """Vectors of ``texts``; those not yet in ``cache_file`` are embedded and added to it."""
    return EmbeddingCache(cache_file).embed(encoder, texts, batch_size=batch_size)
