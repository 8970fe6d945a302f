"""The trained multi-label head over the sentence vector (and keyword features).

Two kinds: one logistic regression per sector over the vector (``hidden_weights`` is
None), or a small MLP (one ReLU layer, one sigmoid output per sector). Its inputs are
the sentence vector, optionally followed by one keyword feature per sector
(``inputs`` holds ``keywords``; see ``KeywordRules.features``): the multilingual keyword
lists carry languages the mostly English training text does not.

Optionally two more parts are mixed in: a lexical part (``classifiers.lexical``: TF-IDF
word and character n-grams, one logistic regression per sector) and the votes of the
nearest labelled training records (``classifiers.neighbours``). The sector probability is
``(1 - wl - wn) * vector part + wl * lexical part + wn * neighbour votes`` with
``wl = meta["lexical_weight"]`` and ``wn = meta["neighbour_weight"]`` chosen on the
validation split. A language group (``classifiers.language.LANGUAGE_GROUPS``) may have its
own weights and thresholds (``groups``), chosen on that group's validation records: on a
language the lexical part and the neighbours hardly know, the vector part must carry more
weight and the bar must sit lower than on English.

Saved as small files in ``classifiers/head/``: ``head.npz`` (weights, biases, exemplar
vectors in float16), ``lexical.npz`` and ``neighbours.npz`` for those parts, and ``head.json``
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
from classifiers.neighbours import LabelledNeighbours
from tbt_alert.errors import ClassifierError

HEAD_DIR = Path(__file__).with_name("head")
LEXICAL_FILE = "lexical.npz"
NEIGHBOURS_FILE = "neighbours.npz"
NO_FALLBACK = 2.0  # above any probability: no fallback sector


def weighted_mix(vector_scores: np.ndarray, parts: list[tuple[float, np.ndarray]]) -> np.ndarray:
    """``(1 - Σ w) * vector_scores + Σ w * scores`` over the (weight, scores) parts: the one
    mixing formula, for the head at inference and for choosing its weights in training."""
    mixed = (1.0 - sum(weight for weight, _ in parts)) * vector_scores
    for weight, scores in parts:
        mixed = mixed + weight * scores
    return mixed


@dataclass(frozen=True)
class GroupCalibration:
    """The mixture weights and per-sector thresholds of one language group."""

    lexical_weight: float
    neighbour_weight: float
    thresholds: np.ndarray  # (n_sectors,)
    # A text no sector passed for gets its best sector when that scores at least this
    # (``NO_FALLBACK``: never). See ``classifiers.train.choose_fallback``.
    fallback_floor: float = NO_FALLBACK
    # Where the text names one of a sector's keywords, that sector's threshold is multiplied
    # by this (1.0: no change). See ``classifiers.train.choose_named_factor``.
    named_factor: float = 1.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "lexical_weight": self.lexical_weight,
            "neighbour_weight": self.neighbour_weight,
            "thresholds": [round(float(t), 4) for t in self.thresholds],
            "fallback_floor": round(self.fallback_floor, 4),
            "named_factor": self.named_factor,
        }


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
    neighbours: LabelledNeighbours | None = None  # mixed in with weight meta["neighbour_weight"]
    groups: dict[str, GroupCalibration] = field(default_factory=dict)  # language group -> its own calibration

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

    @property
    def neighbour_weight(self) -> float:
        return float(self.meta.get("neighbour_weight", 0.0)) if self.neighbours is not None else 0.0

    def mix(
        self,
        vector_scores: np.ndarray,
        lexical_scores: np.ndarray | None = None,
        neighbour_scores: np.ndarray | None = None,
    ) -> np.ndarray:
        """The head's probability from its parts (the vector part alone when it has no other)."""
        parts = []
        for weight, scores, name in (
            (self.lexical_weight, lexical_scores, "lexical part (LexicalModel.scores)"),
            (self.neighbour_weight, neighbour_scores, "neighbour index (LabelledNeighbours.scores)"),
        ):
            if weight == 0.0:
                continue
            if scores is None:
                raise ClassifierError(f"this head has a {name}; pass its scores.")
            parts.append((weight, scores))
        return weighted_mix(vector_scores, parts)

    def calibration(self, group: str) -> GroupCalibration:
        """The weights and thresholds of a language group (the head's own where it has none)."""
        found = self.groups.get(group)
        if found is not None:
            return found
        return GroupCalibration(
            self.lexical_weight,
            self.neighbour_weight,
            self.thresholds,
            float(self.meta.get("fallback_floor", NO_FALLBACK)),
            float(self.meta.get("named_factor", 1.0)),
        )

    def mix_groups(
        self,
        groups: list[str],
        vector_scores: np.ndarray,
        lexical_scores: np.ndarray | None = None,
        neighbour_scores: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Each row mixed with its language group's weights; the thresholds, the fallback
        floor and the named-product factor per row."""
        mixed = np.zeros_like(vector_scores)
        thresholds = np.zeros_like(vector_scores)
        floors = np.full(len(groups), NO_FALLBACK, dtype=np.float32)
        factors = np.ones(len(groups), dtype=np.float32)
        for group in sorted(set(groups)):
            rows = np.array([g == group for g in groups])
            calibration = self.calibration(group)
            parts = []
            for weight, scores in (
                (calibration.lexical_weight, lexical_scores),
                (calibration.neighbour_weight, neighbour_scores),
            ):
                if weight:
                    if scores is None:
                        raise ClassifierError("this head mixes a lexical part or neighbour votes; pass their scores.")
                    parts.append((weight, scores[rows]))
            mixed[rows] = weighted_mix(vector_scores[rows], parts)
            thresholds[rows] = calibration.thresholds
            floors[rows] = calibration.fallback_floor
            factors[rows] = calibration.named_factor
        return mixed, thresholds, floors, factors

    def describe(self) -> str:
        """The head's parts and their weights in words, for reports."""
        vector_part = f"{self.meta.get('kind', 'logistic')} over {' + '.join(self.inputs)}"
        parts = [(1.0 - self.lexical_weight - self.neighbour_weight, vector_part)]
        if self.lexical_weight:
            parts.append((self.lexical_weight, "lexical n-gram part"))
        if self.neighbours is not None and self.neighbour_weight:
            parts.append((self.neighbour_weight, f"votes of the {self.neighbours.k} nearest training records"))
        if len(parts) == 1:
            return f"{vector_part} head"
        return "head mixing " + " + ".join(f"{weight:.2g} × {name}" for weight, name in parts)

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
        probabilities: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(logits, -40, 40)))
        return probabilities

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
        # A new lexical part or neighbour index is a new version too.
        for part, name in ((self.lexical, LEXICAL_FILE), (self.neighbours, NEIGHBOURS_FILE)):
            if part is not None:
                part.save(folder / name)
                digest_of.update((folder / name).read_bytes())
            else:
                (folder / name).unlink(missing_ok=True)
        # What decides a tag beyond the weights: thresholds and the mixture. A recalibration
        # alone must re-tag measures too.
        decision = {
            "sectors": self.sectors,
            "thresholds": [round(float(t), 4) for t in self.thresholds],
            "lexical_weight": self.lexical_weight,
            "neighbour_weight": self.neighbour_weight,
            "fallback_floor": self.meta.get("fallback_floor"),
            "named_factor": self.meta.get("named_factor"),
            "groups": {name: calibration.as_dict() for name, calibration in sorted(self.groups.items())},
        }
        if not self.groups and self.meta.get("fallback_floor") is None:
            # The digest of a head from before groups and fallbacks stays what it was.
            del decision["groups"]
            del decision["fallback_floor"]
            del decision["named_factor"]
        digest_of.update(json.dumps(decision, sort_keys=True).encode("utf-8"))
        digest = digest_of.hexdigest()[:10]
        meta = dict(self.meta, weights_sha256_10=digest, inputs=list(self.inputs))
        document = {
            "meta": meta,
            "sectors": self.sectors,
            "thresholds": [round(float(t), 4) for t in self.thresholds],
            "groups": {name: calibration.as_dict() for name, calibration in sorted(self.groups.items())},
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
            neighbours=(
                LabelledNeighbours.load(folder / NEIGHBOURS_FILE) if (folder / NEIGHBOURS_FILE).exists() else None
            ),
            groups={
                name: GroupCalibration(
                    float(g["lexical_weight"]),
                    float(g["neighbour_weight"]),
                    np.asarray(g["thresholds"], dtype=np.float32),
                    float(g.get("fallback_floor", NO_FALLBACK)),
                    float(g.get("named_factor", 1.0)),
                )
                for name, g in document.get("groups", {}).items()
            },
        )
        if (
            head.weights.shape[0] != len(head.sectors)
            or len(head.thresholds) != len(head.sectors)
            or (head.neighbours is not None and head.neighbours.labels.shape[1] != len(head.sectors))
            or any(len(g.thresholds) != len(head.sectors) for g in head.groups.values())
        ):
            raise ClassifierError(f"the head in {folder} is inconsistent; run `tbt-alert train` again.")
        return head
