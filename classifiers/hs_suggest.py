"""Suggested HS-6 codes for a measure, from the sentence vector the sector classifier computes.

Recalls, and most notifications, standards and regulations, carry no HS code, so a
subscription by HS prefix would never match them. The suggester reads the measure's
sentence vector (the one the sector head reads: computed once) against an index of real
product texts whose codes are known: the HS 2022 subheadings in English, the national
tariff lines of Taiwan (Chinese), Korea, Japan, Vietnam, Brazil and the EU in 24
languages, real Vietnamese import declarations and ePing notifications' products.

Why nearest texts and not a classifier over 5,600 codes: most codes have one to a few
texts, in a handful of languages; a linear model cannot learn from that, the neighbours
can. Why by level: the texts closest to a vague measure ("electrical household appliances")
scatter over many subheadings of one heading, so each level's votes are pooled (chapter,
heading, subheading) and a subheading ranks by the weighted sum of its own, its heading's
and its chapter's share. The three suggestions lie under different headings where the
votes allow, because a second subheading of the same heading adds little to a reader (and
nothing to a heading subscription) that the first did not.

The space is that of :mod:`classifiers.neighbours`: e5 vectors centred on the index mean,
projected on their first principal axes, unit length, stored as int8 per axis.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.hs_catalogue import HsName, load_catalogue
from classifiers.lexical import pack_lines, unpack_lines
from classifiers.neighbours import _quantise_columns, _unit
from tbt_alert.errors import ClassifierError

INDEX_FILE = "hs_index.npz"
META_FILE = "hs_index.json"
SUGGESTIONS = 3
DIMENSIONS = 192
_ROWS_PER_BLOCK = 256
LEVELS = (2, 4, 6)


@dataclass(frozen=True)
class HsSuggestion:
    """A suggested subheading (never a source's code): six digits, a 0..1 score and its names."""

    code: str
    score: float
    name_zh: str
    name_en: str

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "score": round(self.score, 4), "name_zh": self.name_zh, "name_en": self.name_en}


@dataclass(frozen=True)
class SuggestParams:
    """How the votes become a ranking (chosen on development data by ``classifiers.hs_train``)."""

    k: int = 40  # nearest texts that vote
    temperature: float = 0.03  # softmax temperature over their similarities
    level_weights: tuple[float, float, float] = (0.3, 0.4, 0.3)  # chapter, heading, subheading
    distinct_headings: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "temperature": self.temperature,
            "level_weights": list(self.level_weights),
            "distinct_headings": self.distinct_headings,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SuggestParams:
        weights = tuple(float(w) for w in data.get("level_weights", (0.3, 0.4, 0.3)))
        if len(weights) != 3:
            raise ClassifierError("hs_index.json: level_weights needs three weights (chapter, heading, subheading).")
        return cls(
            k=int(data.get("k", 40)),
            temperature=float(data.get("temperature", 0.03)),
            level_weights=(weights[0], weights[1], weights[2]),
            distinct_headings=bool(data.get("distinct_headings", True)),
        )


@dataclass
class HsIndex:
    """Product texts with known codes, in the projected space; each text's code (2 to 6 digits)."""

    mean: np.ndarray  # (dim,)
    axes: np.ndarray  # (dim, dimensions)
    vectors: np.ndarray  # (n, dimensions) unit length
    codes: list[str]  # per text: the code it is known under (2, 4 or 6 digits)
    sources: list[str]  # per text: where it comes from (hs, tw_tariff, vn_declarations, ...)
    params: SuggestParams = field(default_factory=SuggestParams)
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def fit(
        cls,
        vectors: np.ndarray,
        codes: list[str],
        sources: list[str],
        *,
        params: SuggestParams | None = None,
        dimensions: int = DIMENSIONS,
    ) -> HsIndex:
        if not (len(vectors) == len(codes) == len(sources)) or not len(vectors):
            raise ClassifierError("the HS index needs one code and one source per vector, and at least one vector.")
        bad = [c for c in codes if not (c.isdigit() and len(c) in LEVELS)]
        if bad:
            raise ClassifierError(f"the HS index takes 2, 4 or 6-digit codes; got {bad[:3]}.")
        mean = vectors.mean(axis=0).astype(np.float32)
        _, _, vt = np.linalg.svd(vectors[:: max(1, len(vectors) // 20_000)] - mean, full_matrices=False)
        axes = vt[: min(dimensions, vt.shape[0])].T.astype(np.float32)
        quantised, scales = _quantise_columns(_unit((vectors - mean) @ axes))
        return cls(
            mean, axes, quantised.astype(np.float32) * scales, list(codes), list(sources), params or SuggestParams()
        )

    @property
    def dim(self) -> int:
        return int(self.mean.shape[0])

    @property
    def version(self) -> str:
        return str(self.meta.get("sha256_10", "x"))[:8]

    @property
    def match_threshold(self) -> float:
        """The score from which a suggestion answers an HS subscription (calibrated in training)."""
        return float(self.meta.get("match_threshold", 1.0))

    def project(self, vectors: np.ndarray) -> np.ndarray:
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ClassifierError(f"the HS index expects {self.dim}-dim sentence vectors, got shape {vectors.shape}.")
        return _unit((vectors.astype(np.float32) - self.mean) @ self.axes)

    def nearest(self, vectors: np.ndarray, *, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Per row, the indices and similarities of the ``k`` closest texts, closest first.

        ``mask`` (rows × texts, True = hidden) keeps texts out, for held-out evaluation.
        """
        projected = self.project(vectors)
        k = min(self.params.k, len(self.vectors))
        indices = np.zeros((len(vectors), k), dtype=np.int64)
        sims = np.zeros((len(vectors), k), dtype=np.float32)
        for start in range(0, len(vectors), _ROWS_PER_BLOCK):
            block = projected[start : start + _ROWS_PER_BLOCK] @ self.vectors.T
            if mask is not None:
                block[mask[start : start + len(block)]] = -2.0
            top = np.argpartition(-block, k - 1, axis=1)[:, :k]
            top_sims = np.take_along_axis(block, top, axis=1)
            order = np.argsort(-top_sims, axis=1, kind="stable")
            indices[start : start + len(block)] = np.take_along_axis(top, order, axis=1)
            sims[start : start + len(block)] = np.take_along_axis(top_sims, order, axis=1)
        return indices, sims

    def ranked(
        self, vectors: np.ndarray, *, mask: np.ndarray | None = None, limit: int = SUGGESTIONS
    ) -> list[list[tuple[str, float]]]:
        """Per row, up to ``limit`` (HS-6 code, score) pairs, best first."""
        return self.rank_nearest(*self.nearest(vectors, mask=mask), limit=limit)

    def rank_nearest(
        self, indices: np.ndarray, sims: np.ndarray, *, limit: int = SUGGESTIONS
    ) -> list[list[tuple[str, float]]]:
        """Rank from precomputed neighbours (closest first; only the first ``k`` are read)."""
        k = self.params.k
        return [self._rank(i[:k], s[:k], limit) for i, s in zip(indices, sims, strict=True)]

    def _rank(self, indices: np.ndarray, sims: np.ndarray, limit: int) -> list[tuple[str, float]]:
        valid = sims > -1.5
        if not valid.any():
            return []
        indices, sims = indices[valid], sims[valid]
        weights = np.exp((sims - sims.max()) / self.params.temperature)
        weights /= weights.sum()
        shares: list[dict[str, float]] = [defaultdict(float) for _ in LEVELS]
        for i, w in zip(indices.tolist(), weights.tolist(), strict=True):
            code = self.codes[i]
            for level, share in zip(LEVELS, shares, strict=True):
                if len(code) >= level:
                    share[code[:level]] += w
        chapter, heading, subheading = shares
        a2, a4, a6 = self.params.level_weights
        scored = sorted(
            ((a2 * chapter[c[:2]] + a4 * heading[c[:4]] + a6 * share, c) for c, share in subheading.items()),
            key=lambda pair: (-pair[0], pair[1]),
        )
        chosen: list[tuple[str, float]] = []
        headings: set[str] = set()
        for score, code in scored:
            if self.params.distinct_headings and code[:4] in headings:
                continue
            chosen.append((code, float(score)))
            headings.add(code[:4])
            if len(chosen) == limit:
                break
        if len(chosen) < limit and self.params.distinct_headings:
            # Fewer headings than suggestions: the rest from the headings already named.
            taken = {c for c, _ in chosen}
            chosen += [(c, float(s)) for s, c in scored if c not in taken][: limit - len(chosen)]
        return sorted(chosen, key=lambda pair: -pair[1])

    def suggest(self, vectors: np.ndarray) -> list[list[HsSuggestion]]:
        """Per row, the suggestions with their Chinese and English names (rows of zeros: none)."""
        names = load_catalogue()
        empty = ~np.any(vectors, axis=1)
        out: list[list[HsSuggestion]] = []
        for row, ranked in enumerate(self.ranked(vectors)):
            out.append([] if empty[row] else [_suggestion(code, score, names.get(code)) for code, score in ranked])
        return out

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        quantised, scales = _quantise_columns(self.vectors)
        np.savez_compressed(
            folder / INDEX_FILE,
            mean=self.mean.astype(np.float32),
            axes=self.axes.astype(np.float32),
            vectors_int8=quantised,
            vector_scales=scales,
            codes=pack_lines(self.codes),
            sources=pack_lines(self.sources),
        )
        digest = hashlib.sha256((folder / INDEX_FILE).read_bytes())
        decision = {"params": self.params.as_dict(), "match_threshold": self.meta.get("match_threshold")}
        digest.update(json.dumps(decision, sort_keys=True).encode("utf-8"))
        self.meta = dict(self.meta, sha256_10=digest.hexdigest()[:10])
        document = {"meta": self.meta, "params": self.params.as_dict()}
        (folder / META_FILE).write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> HsIndex:
        try:
            arrays = np.load(folder / INDEX_FILE)
            document = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
            index = cls(
                mean=arrays["mean"],
                axes=arrays["axes"],
                vectors=arrays["vectors_int8"].astype(np.float32) * arrays["vector_scales"],
                codes=unpack_lines(arrays["codes"]),
                sources=unpack_lines(arrays["sources"]),
                params=SuggestParams.from_dict(document.get("params", {})),
                meta=dict(document.get("meta", {})),
            )
        except (OSError, KeyError, ValueError) as exc:
            raise ClassifierError(f"the HS index in {folder} cannot be read ({exc}); run `tbt-alert train`.") from exc
        if not (len(index.vectors) == len(index.codes) == len(index.sources)):
            raise ClassifierError(f"the HS index in {folder} is inconsistent; run `tbt-alert train` again.")
        return index


def _suggestion(code: str, score: float, name: HsName | None) -> HsSuggestion:
    return HsSuggestion(code, score, name.name_zh if name else "", name.name_en if name else "")


def index_exists(folder: Path) -> bool:
    return (folder / INDEX_FILE).is_file() and (folder / META_FILE).is_file()


def match_threshold(folder: Path | None = None) -> float:
    """The calibrated score from which a suggestion answers an HS subscription, read from
    ``hs_index.json`` alone (composing bulletins loads neither the index nor the encoder)."""
    from classifiers.head import HEAD_DIR

    path = (folder or HEAD_DIR) / META_FILE
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return float(document["meta"]["match_threshold"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ClassifierError(f"{path} gives no match_threshold ({exc}); run `tbt-alert train`.") from exc
