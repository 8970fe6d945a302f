"""Lexical sector scores: one linear model per sector over TF-IDF word and character n-grams.

Why beside the sentence vector: the frozen encoder runs on 4-bit weights expanded to
fp32 and then int8, which blurs product names ("hoverboard", "soother", "crayons") that
a source's category hangs on. Word uni/bigrams keep those names; character 1–4-grams
inside word boundaries carry plurals, compounds ("Kinderspielzeug") and the non-English
training parts. On the validation split the mixture of both heads beats either alone
(see MODEL_CARD.md). Vocabulary and IDF come from the training split only.

The featuriser is ours, not scikit-learn's, so inference needs numpy and scipy only and
the committed file is plain arrays: weights as int8 with one scale per sector, weights
below ``PRUNE_BELOW`` set to zero first (``compact``; neither costs anything measurable
on validation, and the file shrinks from ~7 MB to under 1 MB).
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix

from tbt_alert.errors import ClassifierError

MAX_CHARS = 1000  # the encoder reads ~128 tokens; beyond this the text adds noise and time
WORD_MIN_DF = 2
WORD_MAX_FEATURES = 50_000
CHAR_MIN_DF = 3
CHAR_NGRAMS = (1, 4)
PRUNE_BELOW = 0.1
_WORD = re.compile(r"\w\w+")
DENSE_TERM_SHARE = 0.05  # TermMatrix: a term in more than this share of the texts is kept dense
TERMS_KEPT = 512  # texts whose terms are kept: one classifier batch, read by two vocabularies


def word_terms(text: str) -> list[str]:
    """Lower-cased words of two or more characters, and each pair of neighbouring words."""
    words = _WORD.findall(text[:MAX_CHARS].lower())
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


def char_terms(text: str) -> list[str]:
    """Character n-grams inside each space-padded word (n from ``CHAR_NGRAMS``)."""
    low, high = CHAR_NGRAMS
    out: list[str] = []
    for word in text[:MAX_CHARS].lower().split():
        padded = f" {word} "
        width = len(padded)
        for n in range(low, min(high, width) + 1):
            out += [padded[i : i + n] for i in range(width - n + 1)]
    return out


@functools.lru_cache(maxsize=TERMS_KEPT)
def text_terms(text: str) -> tuple[list[str], list[str]]:
    """A text's word and character terms. Kept for the last ``TERMS_KEPT`` texts: the sector
    head's vocabulary and the HS word index read the same texts in one batch (issue 25).
    Callers must not change the lists."""
    return word_terms(text), char_terms(text)


def _document_frequencies(docs: Iterable[list[str]]) -> Counter[str]:
    df: Counter[str] = Counter()
    for terms in docs:
        df.update(set(terms))
    return df


def _select(df: Counter[str], min_df: int, max_features: int | None) -> list[str]:
    kept = [t for t, n in df.items() if n >= min_df]
    kept.sort(key=lambda t: (-df[t], t))  # most frequent first, ties by the term: reproducible
    return kept[:max_features] if max_features else kept


@dataclass
class LexicalVocabulary:
    """Word and character n-gram columns with their smoothed IDF (fitted on training texts)."""

    words: list[str]
    chars: list[str]
    idf: np.ndarray  # (len(words) + len(chars),)

    def __post_init__(self) -> None:
        self._word_index = {t: i for i, t in enumerate(self.words)}
        self._char_index = {t: i + len(self.words) for i, t in enumerate(self.chars)}

    @property
    def size(self) -> int:
        return len(self.words) + len(self.chars)

    @classmethod
    def fit(cls, texts: list[str]) -> LexicalVocabulary:
        word_docs = [word_terms(t) for t in texts]
        char_docs = [char_terms(t) for t in texts]
        word_df, char_df = _document_frequencies(word_docs), _document_frequencies(char_docs)
        words = _select(word_df, WORD_MIN_DF, WORD_MAX_FEATURES)
        chars = _select(char_df, CHAR_MIN_DF, None)
        n = len(texts)
        idf = [math.log((1 + n) / (1 + word_df[t])) + 1 for t in words]
        idf += [math.log((1 + n) / (1 + char_df[t])) + 1 for t in chars]
        return cls(words, chars, np.asarray(idf, dtype=np.float32))

    def _block(self, terms: list[str], index: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
        # Distinct terms first (Counter counts strings in C), each looked up once: this is most
        # of a measure's time outside the encoder (issue 25).
        counts = Counter(terms)
        cols = np.fromiter(map(index.get, counts, repeat(-1)), dtype=np.int64, count=len(counts))
        kept = cols >= 0
        if not kept.any():
            return _NO_COLUMNS, _NO_VALUES
        n = np.fromiter(counts.values(), dtype=np.int64, count=len(counts))[kept]
        cols = cols[kept]
        order = np.argsort(cols)
        cols, n = cols[order], n[order]
        # float32 products, as the scalar form gave them (a Python float times a float32 idf).
        values = (_log_tf(n) * self.idf[cols]).astype(np.float64)
        values /= np.linalg.norm(values)  # each block unit length: words and characters weigh alike
        return cols, values

    def transform(self, texts: list[str]) -> csr_matrix:
        indptr, indices, data, size = [0], [], [], 0
        for text in texts:
            words, chars = text_terms(text)
            for terms, index in ((words, self._word_index), (chars, self._char_index)):
                cols, values = self._block(terms, index)
                indices.append(cols)
                data.append(values)
                size += len(cols)
            indptr.append(size)
        return csr_matrix(
            (
                np.concatenate([_NO_VALUES, *data]).astype(np.float32),
                np.concatenate([_NO_COLUMNS, *indices]).astype(np.int32),
                np.asarray(indptr),
            ),
            shape=(len(texts), self.size),
        )


_NO_COLUMNS = np.zeros(0, dtype=np.int64)
_NO_VALUES = np.zeros(0, dtype=np.float64)
_LOG_TF = np.array([0.0] + [1.0 + math.log(n) for n in range(1, 1024)], dtype=np.float32)


def _log_tf(counts: np.ndarray) -> np.ndarray:
    """1 + ln(count) as float32, from math.log (a table below 1024): numpy's vector log may
    round differently in the last place, and the features would no longer be bit-identical."""
    if counts.max() < len(_LOG_TF):
        looked_up: np.ndarray = _LOG_TF[counts]
        return looked_up
    return np.array([1.0 + math.log(n) for n in counts.tolist()], dtype=np.float32)


class TermMatrix:
    """A terms x texts TF-IDF matrix, for the similarity of query features to every text.

    Most of a sparse product's work is in the few terms found in many texts (character 1- and
    2-grams: 84 % of it over the HS texts), whose rows are nearly full. Those rows are kept
    dense and multiplied by BLAS; the rest stays sparse. The sum is the sparse product's, up to
    float rounding (~1e-7), about three times faster (issue 25).
    """

    def __init__(self, matrix: csr_matrix, dense_share: float = DENSE_TERM_SHARE) -> None:
        texts_per_term = np.diff(matrix.indptr)
        dense = texts_per_term > dense_share * matrix.shape[1]
        self.shape: tuple[int, int] = (int(matrix.shape[0]), int(matrix.shape[1]))
        self._dense_terms, self._sparse_terms = np.flatnonzero(dense), np.flatnonzero(~dense)
        self._dense = np.asarray(matrix[self._dense_terms].toarray(), dtype=np.float32)
        self._sparse = matrix[self._sparse_terms].tocsr()

    def similarities(self, features: csr_matrix) -> np.ndarray:
        """(queries x texts) dot products of ``features`` (queries x terms) with every text."""
        if features.shape[1] != self.shape[0]:
            raise ClassifierError(f"features of {features.shape[1]} terms meet a matrix of {self.shape[0]}.")
        by_term = features.tocsc()
        out = np.asarray(by_term[:, self._dense_terms].toarray(), dtype=np.float32) @ self._dense
        out += (by_term[:, self._sparse_terms].tocsr() @ self._sparse).toarray()
        return out


def _quantise(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 weights and one scale per sector; exact for weights that are already quantised."""
    scales = (np.maximum(np.abs(weights).max(axis=1), 1e-8) / 127.0).astype(np.float32)
    return np.round(weights / scales[:, None]).astype(np.int8), scales


def pack_lines(lines: list[str]) -> np.ndarray:
    """One newline-separated UTF-8 buffer, for ``np.savez`` without pickling; no line may
    hold a newline (terms and example texts are split on whitespace)."""
    return np.frombuffer("\n".join(lines).encode("utf-8"), dtype=np.uint8)


def unpack_lines(buffer: np.ndarray) -> list[str]:
    text = buffer.tobytes().decode("utf-8")
    return text.split("\n") if text else []


@dataclass
class LexicalModel:
    """Per-sector logistic regressions over :class:`LexicalVocabulary` features."""

    vocabulary: LexicalVocabulary
    weights: np.ndarray  # (n_sectors, vocabulary.size)
    biases: np.ndarray  # (n_sectors,)

    def features(self, texts: list[str]) -> csr_matrix:
        return self.vocabulary.transform(texts)

    def scores(self, texts: list[str], features: csr_matrix | None = None) -> np.ndarray:
        """Probabilities (n, n_sectors); an empty text gets each sector's prior from its bias."""
        x = self.features(texts) if features is None else features
        logits = np.asarray(x @ self.weights.T) + self.biases
        probabilities: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(logits, -40, 40)))
        return probabilities

    def top_terms(self, features: csr_matrix, row: int, sector: int, k: int = 3) -> list[str]:
        """The words of one text that raise one sector's score most (evidence for a tag)."""
        start, end = features.indptr[row], features.indptr[row + 1]
        cols, values = features.indices[start:end], features.data[start:end]
        n_words = len(self.vocabulary.words)
        contributions = [
            (float(v * self.weights[sector, c]), self.vocabulary.words[c])
            for c, v in zip(cols, values, strict=True)
            if c < n_words and self.weights[sector, c] > 0
        ]
        contributions.sort(reverse=True)
        return [term for _, term in contributions[:k]]

    def compact(self) -> LexicalModel:
        """The model as saved: small weights pruned, the rest int8 with one scale per sector.

        Thresholds are calibrated on the compact model, so what ships is what was tuned.
        """
        quantised, scales = _quantise(np.where(np.abs(self.weights) >= PRUNE_BELOW, self.weights, 0.0))
        return LexicalModel(self.vocabulary, quantised.astype(np.float32) * scales[:, None], self.biases)

    def save(self, path: Path) -> None:
        """Weights as int8 (lossless after :meth:`compact`, which training always calls)."""
        quantised, scales = _quantise(self.weights)
        np.savez_compressed(
            path,
            words=pack_lines(self.vocabulary.words),
            chars=pack_lines(self.vocabulary.chars),
            idf=self.vocabulary.idf.astype(np.float32),
            weights_int8=quantised,
            weight_scales=scales,
            biases=self.biases.astype(np.float32),
        )

    @classmethod
    def load(cls, path: Path) -> LexicalModel:
        try:
            arrays = np.load(path)
            vocabulary = LexicalVocabulary(unpack_lines(arrays["words"]), unpack_lines(arrays["chars"]), arrays["idf"])
            weights = arrays["weights_int8"].astype(np.float32) * arrays["weight_scales"][:, None]
            biases = arrays["biases"]
        except (OSError, KeyError, ValueError) as exc:
            raise ClassifierError(f"the lexical head in {path} cannot be read ({exc}); run `tbt-alert train`.") from exc
        if weights.shape[1] != vocabulary.size or weights.shape[0] != len(biases):
            raise ClassifierError(f"the lexical head in {path} is inconsistent; run `tbt-alert train` again.")
        return cls(vocabulary, weights, biases)


def fit_per_sector_logistic(
    x: Any, y: np.ndarray, *, c: float, min_positives: int, max_iter: int = 3000
) -> tuple[np.ndarray, np.ndarray]:
    """One balanced logistic regression per sector column of ``y`` over ``x`` (dense or sparse).

    Returns (weights, biases); a sector with fewer than ``min_positives`` examples keeps
    zero weights and a bias of -20, so it never fires.
    """
    from sklearn.linear_model import LogisticRegression

    weights = np.zeros((y.shape[1], x.shape[1]), dtype=np.float32)
    biases = np.full(y.shape[1], -20.0, dtype=np.float32)
    for j in range(y.shape[1]):
        if y[:, j].sum() < min_positives:
            continue
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=max_iter)
        model.fit(x, y[:, j])
        weights[j] = model.coef_[0]
        biases[j] = model.intercept_[0]
    return weights, biases


def fit_lexical(texts: list[str], y: np.ndarray, *, c: float = 8.0, min_positives: int = 5) -> LexicalModel:
    """Vocabulary from ``texts``, then one balanced logistic regression per sector column of ``y``."""
    vocabulary = LexicalVocabulary.fit(texts)
    weights, biases = fit_per_sector_logistic(vocabulary.transform(texts), y, c=c, min_positives=min_positives)
    return LexicalModel(vocabulary, weights, biases)
