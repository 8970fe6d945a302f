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

import functools
import hashlib
import json
import logging
import os
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix

from classifiers import lexical
from classifiers.hs_catalogue import HsName, load_catalogue
from classifiers.hs_threshold import META_FILE
from classifiers.lexical import LexicalVocabulary, TermMatrix, pack_lines, unpack_lines
from classifiers.neighbours import _quantise_columns, _unit, top_k
from tbt_alert.errors import ClassifierError

log = logging.getLogger(__name__)

INDEX_FILE = "hs_index.npz"
# The English texts' TF-IDF matrix, built once per machine (HsIndex._lexical); a new format
# number makes every cached file stale.
LEXICAL_CACHE_DIR = Path.home() / ".cache" / "tbt-alert" / "hs-lexical"
_LEXICAL_CACHE_FORMAT = 1
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
    lexical_weight: float = 0.0  # share of the vote given to the closest English texts by words
    lexical_k: int = 10
    lexical_temperature: float = 0.05
    lexical_floor: float = 0.2  # below this best word similarity, the words have no say

    def as_dict(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "temperature": self.temperature,
            "level_weights": list(self.level_weights),
            "distinct_headings": self.distinct_headings,
            "lexical_weight": self.lexical_weight,
            "lexical_k": self.lexical_k,
            "lexical_temperature": self.lexical_temperature,
            "lexical_floor": self.lexical_floor,
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
            lexical_weight=float(data.get("lexical_weight", 0.0)),
            lexical_k=int(data.get("lexical_k", 10)),
            lexical_temperature=float(data.get("lexical_temperature", 0.05)),
            lexical_floor=float(data.get("lexical_floor", 0.2)),
        )


@dataclass
class HsIndex:
    """Product texts with known codes, in the projected space; each text's code (2 to 6 digits)."""

    mean: np.ndarray  # (dim,)
    axes: np.ndarray  # (dim, dimensions)
    vectors: np.ndarray  # (n, dimensions) unit length
    codes: list[str]  # per text: the codes it is known under (2, 4 or 6 digits; several space-separated)
    sources: list[str]  # per text: where it comes from (hs, tw_tariff, vn_declarations, ...)
    params: SuggestParams = field(default_factory=SuggestParams)
    meta: dict[str, Any] = field(default_factory=dict)
    languages: list[str] = field(default_factory=list)  # those with a mean a query is centred on
    language_means: np.ndarray | None = None  # (languages, dim) raw vectors' mean per language
    query_mean: np.ndarray | None = None  # (dim,) for a query of another or unknown language
    # The English texts the words are matched against: their rows in the index and their text.
    lexical_rows: list[int] = field(default_factory=list)
    lexical_texts: list[str] = field(default_factory=list)

    @classmethod
    def fit(
        cls,
        vectors: np.ndarray,
        codes: list[str],
        sources: list[str],
        languages: list[str],
        *,
        params: SuggestParams | None = None,
        dimensions: int = DIMENSIONS,
        lexical: dict[int, str] | None = None,
    ) -> HsIndex:
        """Each text centred on the mean of its (source, language), then projected.

        Why centred per source and language: e5 puts texts of one language and one style
        close together whatever they name (Vietnamese declarations share their boilerplate,
        notifications their formal wording), so an uncentred query finds its own language
        and style before its product. Subtracting each source's mean leaves what sets a text
        apart within its source; a query is centred on its language's mean (``project``).
        """
        if not (len(vectors) == len(codes) == len(sources) == len(languages)) or not len(vectors):
            raise ClassifierError("the HS index needs a code, a source and a language per vector, and a vector.")
        bad = [c for c in codes if not all(part.isdigit() and len(part) in LEVELS for part in c.split())]
        if bad:
            raise ClassifierError(f"the HS index takes 2, 4 or 6-digit codes; got {bad[:3]}.")
        vectors = vectors.astype(np.float32)
        centred = vectors.copy()
        units = np.array([f"{s}\t{lang}" for s, lang in zip(sources, languages, strict=True)])
        for unit in np.unique(units):
            rows = units == unit
            centred[rows] -= vectors[rows].mean(axis=0)
        language_array = np.array(languages)
        names = sorted(set(languages))
        language_means = np.stack([vectors[language_array == lang].mean(axis=0) for lang in names])
        mean = centred.mean(axis=0).astype(np.float32)
        _, _, vt = np.linalg.svd(centred[:: max(1, len(centred) // 20_000)] - mean, full_matrices=False)
        axes = vt[: min(dimensions, vt.shape[0])].T.astype(np.float32)
        quantised, scales = _quantise_columns(_unit((centred - mean) @ axes))
        return cls(
            mean,
            axes,
            quantised.astype(np.float32) * scales,
            list(codes),
            list(sources),
            params or SuggestParams(),
            languages=names,
            language_means=language_means.astype(np.float32),
            query_mean=vectors.mean(axis=0).astype(np.float32),
            lexical_rows=sorted(lexical or {}),
            lexical_texts=[" ".join(lexical[i].split()) for i in sorted(lexical or {})] if lexical else [],
        )

    @functools.cached_property
    def _split_codes(self) -> list[list[str]]:
        return [c.split() for c in self.codes]

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

    def project(self, vectors: np.ndarray, languages: Sequence[str | None] | None = None) -> np.ndarray:
        """Query vectors centred on their language's mean (else the index's), projected, unit length."""
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ClassifierError(f"the HS index expects {self.dim}-dim sentence vectors, got shape {vectors.shape}.")
        centred = vectors.astype(np.float32)
        if self.language_means is not None and self.query_mean is not None:
            position = {lang: i for i, lang in enumerate(self.languages)}
            rows = [position.get(lang or "", -1) for lang in (languages or [None] * len(vectors))]
            means = np.where(
                np.array(rows)[:, None] >= 0, self.language_means[np.maximum(rows, 0)], self.query_mean[None, :]
            )
            centred = centred - means
        return _unit((centred - self.mean) @ self.axes)

    def nearest(
        self,
        vectors: np.ndarray,
        languages: Sequence[str | None] | None = None,
        *,
        mask: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per row, the indices and similarities of the ``k`` closest texts, closest first.

        ``languages``: each row's ISO 639-1 language, where known. ``mask`` (rows × texts,
        True = hidden) keeps texts out, for held-out evaluation.
        """
        projected = self.project(vectors, languages)
        k = min(self.params.k, len(self.vectors))
        indices = np.zeros((len(vectors), k), dtype=np.int64)
        sims = np.zeros((len(vectors), k), dtype=np.float32)
        for start in range(0, len(vectors), _ROWS_PER_BLOCK):
            block = projected[start : start + _ROWS_PER_BLOCK] @ self.vectors.T
            if mask is not None:
                block[mask[start : start + len(block)]] = -2.0
            indices[start : start + len(block)], sims[start : start + len(block)] = top_k(block, k)
        return indices, sims

    @functools.cached_property
    def _lexical(self) -> tuple[LexicalVocabulary, TermMatrix, np.ndarray] | None:
        """Word and character TF-IDF of the English texts. Committed with the index, the matrix
        would be ten times the size of the rest; built in each process, it cost every new
        process (each Airflow task, each worker) about 7 s on its first batch (issue 25). So it
        is built once per machine and kept in the user's cache, named by a digest of the texts."""
        if not self.lexical_texts:
            return None
        vocabulary, matrix = _lexical_matrix(self.lexical_texts)
        return vocabulary, TermMatrix(matrix), np.array(self.lexical_rows)

    def prepare(self) -> None:
        """Build (or read) what the first suggestion would otherwise wait for; `model build` calls it."""
        _ = self._lexical

    def lexical_nearest(
        self, texts: Sequence[str], *, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Per text, the index rows and word similarities (0..1) of the closest English texts."""
        lexical = self._lexical
        if lexical is None or self.params.lexical_weight <= 0:
            return None
        vocabulary, matrix, rows = lexical
        # Each text's word and character blocks are unit vectors: the dot product is 0..2.
        sims = matrix.similarities(vocabulary.transform(list(texts))) / 2
        if mask is not None:
            sims[mask[:, rows]] = -2.0
        k = min(self.params.lexical_k, len(rows))
        columns, top_sims = top_k(sims, k)
        return rows[columns], top_sims

    def ranked(
        self,
        vectors: np.ndarray,
        languages: Sequence[str | None] | None = None,
        texts: Sequence[str] | None = None,
        *,
        mask: np.ndarray | None = None,
        limit: int = SUGGESTIONS,
    ) -> list[list[tuple[str, float]]]:
        """Per row, up to ``limit`` (HS-6 code, score) pairs, best first (``texts``: for the words)."""
        words = self.lexical_nearest(texts, mask=mask) if texts is not None else None
        return self.rank_nearest(*self.nearest(vectors, languages, mask=mask), words, limit=limit)

    def rank_nearest(
        self,
        indices: np.ndarray,
        sims: np.ndarray,
        words: tuple[np.ndarray, np.ndarray] | None = None,
        *,
        limit: int = SUGGESTIONS,
    ) -> list[list[tuple[str, float]]]:
        """Rank from precomputed neighbours (closest first; only the first ``k`` are read)."""
        k = self.params.k
        rows = range(len(indices))
        return [
            self._rank(indices[r, :k], sims[r, :k], None if words is None else (words[0][r], words[1][r]), limit)
            for r in rows
        ]

    def _votes(self, indices: np.ndarray, sims: np.ndarray, temperature: float) -> list[tuple[int, float]]:
        valid = sims > -1.5
        if not valid.any():
            return []
        indices, sims = indices[valid], sims[valid]
        weights = np.exp((sims - sims.max()) / temperature)
        return list(zip(indices.tolist(), (weights / weights.sum()).tolist(), strict=True))

    def _rank(
        self, indices: np.ndarray, sims: np.ndarray, words: tuple[np.ndarray, np.ndarray] | None, limit: int
    ) -> list[tuple[str, float]]:
        votes = self._votes(indices, sims, self.params.temperature)
        beta = self.params.lexical_weight
        if words is not None and beta > 0 and len(words[1]) and float(words[1].max()) >= self.params.lexical_floor:
            # The words have a say only where some English text shares them; a Chinese or
            # Korean query shares none, and a vote spread over unrelated texts is noise.
            votes = [(i, w * (1 - beta)) for i, w in votes]
            votes += [(i, w * beta) for i, w in self._votes(words[0], words[1], self.params.lexical_temperature)]
        if not votes:
            return []
        shares: list[dict[str, float]] = [defaultdict(float) for _ in LEVELS]
        for i, w in votes:
            # A text listing several codes (a notification) splits its vote between them.
            codes = self._split_codes[i]
            for code in codes:
                for level, share in zip(LEVELS, shares, strict=True):
                    if len(code) >= level:
                        share[code[:level]] += w / len(codes)
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

    def suggest(
        self, vectors: np.ndarray, languages: Sequence[str | None] | None = None, texts: Sequence[str] | None = None
    ) -> list[list[HsSuggestion]]:
        """Per row, the suggestions with their Chinese and English names (rows of zeros: none)."""
        names = load_catalogue()
        empty = ~np.any(vectors, axis=1)
        out: list[list[HsSuggestion]] = []
        for row, ranked in enumerate(self.ranked(vectors, languages, texts)):
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
            languages=pack_lines(self.languages),
            language_means=self.language_means if self.language_means is not None else np.zeros((0, self.dim)),
            query_mean=self.query_mean if self.query_mean is not None else self.mean,
            lexical_rows=np.array(self.lexical_rows, dtype=np.int32),
            lexical_texts=pack_lines(self.lexical_texts),
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
                languages=unpack_lines(arrays["languages"]),
                language_means=arrays["language_means"].astype(np.float32),
                query_mean=arrays["query_mean"].astype(np.float32),
                lexical_rows=arrays["lexical_rows"].tolist(),
                lexical_texts=unpack_lines(arrays["lexical_texts"]),
            )
        except (OSError, KeyError, ValueError) as exc:
            raise ClassifierError(f"the HS index in {folder} cannot be read ({exc}); run `tbt-alert train`.") from exc
        if (
            not (len(index.vectors) == len(index.codes) == len(index.sources))
            or (index.language_means is not None and len(index.language_means) != len(index.languages))
            or len(index.lexical_rows) != len(index.lexical_texts)
        ):
            raise ClassifierError(f"the HS index in {folder} is inconsistent; run `tbt-alert train` again.")
        return index


def _lexical_matrix(texts: list[str], cache_dir: Path | None = None) -> tuple[LexicalVocabulary, csr_matrix]:
    """The TF-IDF vocabulary of ``texts`` and their matrix (terms x texts), read from the cache
    where an earlier process built them from the same texts, else built and cached. A damaged or
    foreign cache file is rebuilt; one that cannot be written costs the build only."""
    digest = hashlib.sha256("\n".join(texts).encode("utf-8"))
    digest.update(f"{_LEXICAL_CACHE_FORMAT}|{_featuriser_parameters()}".encode())
    path = (cache_dir or LEXICAL_CACHE_DIR) / f"{digest.hexdigest()[:24]}.npz"
    try:
        with np.load(path) as cached:
            vocabulary = LexicalVocabulary(
                unpack_lines(cached["words"]), unpack_lines(cached["chars"]), cached["idf"].astype(np.float32)
            )
            matrix = csr_matrix(
                (cached["data"], cached["indices"], cached["indptr"]), shape=tuple(cached["shape"].tolist())
            )
        if matrix.shape == (vocabulary.size, len(texts)):
            return vocabulary, matrix
    except (OSError, KeyError, ValueError):
        pass  # absent or unreadable: build it
    vocabulary = LexicalVocabulary.fit(texts)
    matrix = vocabulary.transform(texts).T.tocsr()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp.npz")  # workers may build at once: each its own file
        np.savez(
            partial,
            words=pack_lines(vocabulary.words),
            chars=pack_lines(vocabulary.chars),
            idf=vocabulary.idf,
            data=matrix.data,
            indices=matrix.indices,
            indptr=matrix.indptr,
            shape=np.array(matrix.shape),
        )
        partial.replace(path)
    except OSError as exc:
        log.warning("the HS word index cannot be cached at %s (%s); each process builds it again", path, exc)
    return vocabulary, matrix


def _featuriser_parameters() -> str:
    """What shapes the word index besides its texts: a change of any of these in lexical.py
    names a new cache file, so no process reads a matrix built by other rules."""
    return repr(
        (lexical.MAX_CHARS, lexical.WORD_MIN_DF, lexical.WORD_MAX_FEATURES, lexical.CHAR_MIN_DF, lexical.CHAR_NGRAMS)
    )


def prepare_word_index(folder: Path) -> float | None:
    """Build (or read) the word index of the HS index in ``folder`` into the user's cache, so
    no process's first suggestion waits for it; seconds taken, or None where ``folder`` has no
    HS index. `tbt-alert model build` and the classifier bench call it."""
    if not index_exists(folder):
        return None
    started = time.perf_counter()
    HsIndex.load(folder).prepare()
    return time.perf_counter() - started


def _suggestion(code: str, score: float, name: HsName | None) -> HsSuggestion:
    return HsSuggestion(code, score, name.name_zh if name else "", name.name_en if name else "")


def index_exists(folder: Path) -> bool:
    return (folder / INDEX_FILE).is_file() and (folder / META_FILE).is_file()
