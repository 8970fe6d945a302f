"""The trained multi-label head over the sentence vector (and keyword features).

Two kinds: one logistic regression per sector over the vector (``hidden_weights`` is
None), or a small MLP (one ReLU layer, one sigmoid output per sector). Its inputs are
the sentence vector, optionally followed by one keyword feature per sector
(``inputs`` holds ``keywords``; see ``KeywordRules.features``): the multilingual keyword
lists carry languages the mostly English training text does not.

Optionally a lexical part (``classifiers.lexical``: TF-IDF word and character n-grams,
one logistic regression per sector) is mixed in: the sector probability is
``(1 - w) * vector part + w * lexical part`` with ``w = meta["lexical_weight"]`` chosen
on the validation split.

Saved as small files in ``classifiers/head/``: ``head.npz`` (weights, biases, exemplar
vectors in float16), ``lexical.npz`` when there is a lexical part, and ``head.json``
(sectors, per-sector thresholds calibrated on the validation split, exemplar texts,
metrics, version).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.lexical import LexicalModel
from pipeline.errors import ClassifierError

HEAD_DIR = Path(__file__).with_name("head")
LEXICAL_FILE = "lexical.npz"


def _float32(array: np.ndarray | None) -> np.ndarray | None:
    return None if array is None else array.astype(np.float32)


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
    hidden_weights: np.ndarray | None = None  # (n_inputs, hidden): the MLP's layer; None: logistic
    hidden_biases: np.ndarray | None = None  # (hidden,)
    inputs: tuple[str, ...] = ("embedding",)  # + "keywords": one keyword feature per sector
    lexical: LexicalModel | None = None  # mixed in with weight meta["lexical_weight"]

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "0"))

    @property
    def dim(self) -> int:
        """The dimension of the sentence vectors the head was trained on."""
        return int(self.exemplar_vectors.shape[1])

    @property
    def uses_keywords(self) -> bool:
        return "keywords" in self.inputs

    @property
    def precision(self) -> str:
        """The encoder precision (fp32, int8) whose vectors the head was trained on."""
        return str(self.meta.get("encoder_precision", "fp32"))

    @property
    def lexical_weight(self) -> float:
        return float(self.meta.get("lexical_weight", 0.0)) if self.lexical is not None else 0.0

    def mix(self, vector_scores: np.ndarray, lexical_scores: np.ndarray | None) -> np.ndarray:
        """The head's probability from its two parts (the vector part alone without a lexical one)."""
        w = self.lexical_weight
        if lexical_scores is None or w == 0.0:
            if self.lexical is not None and w > 0.0:
                raise ClassifierError("this head has a lexical part; pass its scores (LexicalModel.scores).")
            return vector_scores
        return (1.0 - w) * vector_scores + w * lexical_scores

    def scores(self, vectors: np.ndarray, keyword_features: np.ndarray | None = None) -> np.ndarray:
        """Probabilities (n, n_sectors) of the vector part (sentence vector ⊕ keyword features)."""
        x = vectors.astype(np.float32, copy=False)
        if self.uses_keywords:
            if keyword_features is None:
                raise ClassifierError("this head needs keyword features; pass KeywordRules.features per record.")
            x = np.hstack([x, keyword_features.astype(np.float32, copy=False)])
        if self.hidden_weights is not None and self.hidden_biases is not None:
            x = np.maximum(x @ self.hidden_weights + self.hidden_biases, 0.0)
        logits = x @ self.weights.T + self.biases
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
        arrays = {
            "weights": self.weights.astype(np.float32),
            "biases": self.biases.astype(np.float32),
            "exemplar_vectors": self.exemplar_vectors.astype(np.float16),
        }
        if self.hidden_weights is not None and self.hidden_biases is not None:
            # float16 halves the committed file; its ~1e-3 relative rounding is far below the
            # int8 encoder noise the head is trained on.
            arrays["hidden_weights"] = self.hidden_weights.astype(np.float16)
            arrays["hidden_biases"] = self.hidden_biases.astype(np.float32)
        np.savez_compressed(folder / "head.npz", **arrays)  # type: ignore[arg-type]
        digest_of = hashlib.sha256((folder / "head.npz").read_bytes())
        if self.lexical is not None:
            self.lexical.save(folder / LEXICAL_FILE)
            digest_of.update((folder / LEXICAL_FILE).read_bytes())  # a new lexical part is a new version
        else:
            (folder / LEXICAL_FILE).unlink(missing_ok=True)
        digest = digest_of.hexdigest()[:10]
        meta = dict(self.meta, weights_sha256_10=digest, inputs=list(self.inputs))
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
            hidden_weights=_float32(arrays.get("hidden_weights")),
            hidden_biases=arrays.get("hidden_biases"),
            inputs=tuple(document["meta"].get("inputs", ["embedding"])),
            lexical=LexicalModel.load(folder / LEXICAL_FILE) if (folder / LEXICAL_FILE).exists() else None,
        )
        if head.weights.shape[0] != len(head.sectors) or len(head.thresholds) != len(head.sectors):
            raise ClassifierError(f"the head in {folder} is inconsistent; run `tbt-alert train` again.")
        return head
