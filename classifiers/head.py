"""The trained multi-label head: one logistic regression per sector over the sentence vector.

Saved as two small files in ``classifiers/head/``: ``head.npz`` (weights, biases,
exemplar vectors in float16) and ``head.json`` (sectors, per-sector thresholds
calibrated on the validation split, exemplar texts, metrics, version).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.errors import ClassifierError

HEAD_DIR = Path(__file__).with_name("head")


@dataclass
class Head:
    sectors: list[str]
    weights: np.ndarray  # (n_sectors, dim)
    biases: np.ndarray  # (n_sectors,)
    thresholds: np.ndarray  # (n_sectors,)
    exemplar_vectors: np.ndarray  # (n_exemplars, dim), unit length
    exemplar_sectors: list[str]
    exemplar_texts: list[str]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "0"))

    @property
    def dim(self) -> int:
        return int(self.weights.shape[1])

    def scores(self, vectors: np.ndarray) -> np.ndarray:
        """Probabilities (n, n_sectors) that each sector applies."""
        logits = vectors @ self.weights.T + self.biases
        return 1.0 / (1.0 + np.exp(-np.clip(logits, -40, 40)))

    def nearest(self, vector: np.ndarray, sector: str, k: int = 3) -> list[dict[str, Any]]:
        """The ``k`` labelled exemplars of ``sector`` closest to ``vector``, as evidence."""
        idx = [i for i, s in enumerate(self.exemplar_sectors) if s == sector]
        if not idx:
            return []
        sims = self.exemplar_vectors[idx].astype(np.float32) @ vector
        order = np.argsort(-sims)[:k]
        return [{"example": self.exemplar_texts[idx[i]], "similarity": round(float(sims[i]), 3)} for i in order]

    def save(self, folder: Path = HEAD_DIR) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            folder / "head.npz",
            weights=self.weights.astype(np.float32),
            biases=self.biases.astype(np.float32),
            exemplar_vectors=self.exemplar_vectors.astype(np.float16),
        )
        digest = hashlib.sha256((folder / "head.npz").read_bytes()).hexdigest()[:10]
        meta = dict(self.meta, weights_sha256_10=digest)
        document = {
            "meta": meta,
            "sectors": self.sectors,
            "thresholds": [round(float(t), 4) for t in self.thresholds],
            "exemplars": [
                {"sector": s, "text": t} for s, t in zip(self.exemplar_sectors, self.exemplar_texts, strict=True)
            ],
        }
        (folder / "head.json").write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        self.meta = meta

    @classmethod
    def load(cls, folder: Path = HEAD_DIR) -> Head:
        try:
            arrays = np.load(folder / "head.npz")
            document = json.loads((folder / "head.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ClassifierError(
                f"the trained head in {folder} cannot be read ({exc}); run `tbt-alert train`."
            ) from exc
        exemplars = document["exemplars"]
        head = cls(
            sectors=list(document["sectors"]),
            weights=arrays["weights"],
            biases=arrays["biases"],
            thresholds=np.asarray(document["thresholds"], dtype=np.float32),
            exemplar_vectors=arrays["exemplar_vectors"],
            exemplar_sectors=[e["sector"] for e in exemplars],
            exemplar_texts=[e["text"] for e in exemplars],
            meta=document["meta"],
        )
        if head.weights.shape[0] != len(head.sectors) or len(head.thresholds) != len(head.sectors):
            raise ClassifierError(f"the head in {folder} is inconsistent; run `tbt-alert train` again.")
        return head
