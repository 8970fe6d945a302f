"""The lexical part of the head: TF-IDF word and character n-grams, one logistic regression
per sector, compact int8 storage, and its mixture with the vector part.

The training texts here are CONSTRUCTED (a dozen short product names per sector), enough
to check the code paths; the real figures are in MODEL_CARD.md and docs/EVALUATION.md.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from classifiers.classifier import Classifier
from classifiers.head import LEXICAL_FILE, Head
from classifiers.lexical import (
    MAX_CHARS,
    LexicalModel,
    LexicalVocabulary,
    TermMatrix,
    char_terms,
    fit_lexical,
    word_terms,
)
from classifiers.taxonomy import CROSS_SECTOR, load_taxonomy
from tbt_alert.errors import ClassifierError
from tests.classifiers.conftest import silent_vector_head

SECTORS = [c for c in load_taxonomy().codes if c != CROSS_SECTOR]

CONSTRUCTED = {
    "toys": ["plush doll", "toy car for children", "doll house", "stuffed toy bear", "toy slime", "rag doll"],
    "food_agri": ["green tea leaves", "dried fish", "rice wine", "frozen shrimp", "tea bags", "salted fish"],
    "batteries": ["lithium battery", "power bank", "battery pack", "button cell battery", "lithium cells"],
}


def _corpus() -> tuple[list[str], np.ndarray]:
    texts, rows = [], []
    for sector, names in CONSTRUCTED.items():
        for name in names:
            texts.append(name)
            row = np.zeros(len(SECTORS), dtype=np.int8)
            row[SECTORS.index(sector)] = 1
            rows.append(row)
    return texts, np.array(rows)


@pytest.fixture(scope="module")
def lexical() -> LexicalModel:
    texts, y = _corpus()
    return fit_lexical(texts, y, min_positives=3).compact()


def test_terms_are_words_with_bigrams_and_padded_character_grams() -> None:
    assert word_terms("Plush DOLL, a toy") == ["plush", "doll", "toy", "plush doll", "doll toy"]
    grams = char_terms("Tea")
    assert {" ", "t", " t", "tea", " tea", "tea "} <= set(grams)
    assert all(len(g) <= 4 for g in grams)
    # Only the first MAX_CHARS characters count: 200 five-character words, 199 bigrams.
    assert len(word_terms("word " * 10_000)) == len(word_terms("word " * (MAX_CHARS // 5))) == 399


def test_vocabulary_keeps_frequent_terms_and_rows_are_unit_length_per_block() -> None:
    texts, _ = _corpus()
    vocabulary = LexicalVocabulary.fit(texts)
    assert "doll" in vocabulary.words
    assert "tea" in vocabulary.words
    assert "plush" not in vocabulary.words  # in one text only: below the minimum document frequency
    x = vocabulary.transform(["plush doll with tea", "", "Ж"]).toarray()
    n_words = len(vocabulary.words)
    assert np.isclose(np.linalg.norm(x[0, :n_words]), 1.0)
    assert np.isclose(np.linalg.norm(x[0, n_words:]), 1.0)
    assert not x[1].any()  # no text: an empty row, not an error
    assert not x[2, :n_words].any()  # an unknown word: only the padding character gram is known
    assert np.count_nonzero(x[2]) == 1


def test_a_row_is_the_log_count_tf_idf_of_each_block_bit_for_bit() -> None:
    """The vectorised featuriser (issue 25) gives the values of the plain formula exactly."""
    texts, _ = _corpus()
    vocabulary = LexicalVocabulary.fit(texts)
    text = "doll doll doll toy doll house with tea tea"  # counts above one: the log term matters
    row = vocabulary.transform([text])
    expected: dict[int, float] = {}
    for terms, offset, names in (
        (word_terms(text), 0, vocabulary.words),
        (char_terms(text), len(vocabulary.words), vocabulary.chars),
    ):
        index = {t: i + offset for i, t in enumerate(names)}
        counts = Counter(index[t] for t in terms if t in index)
        values = np.array(
            [np.float32(1.0 + math.log(counts[c])) * vocabulary.idf[c] for c in sorted(counts)], dtype=np.float64
        )
        values /= np.linalg.norm(values)
        expected.update(zip(sorted(counts), values.astype(np.float32).tolist(), strict=True))
    assert max(Counter(char_terms(text)).values()) > 1
    assert row.indices.tolist() == sorted(expected)
    assert row.data.tolist() == [expected[c] for c in sorted(expected)]


def test_term_matrix_gives_the_sparse_product_with_common_terms_dense() -> None:
    texts, _ = _corpus()
    vocabulary = LexicalVocabulary.fit(texts)
    matrix = vocabulary.transform(texts).T.tocsr()  # terms x texts, as the HS word index keeps it
    split = TermMatrix(matrix, dense_share=0.3)
    assert 0 < len(split._dense_terms) < matrix.shape[0]  # both halves are exercised
    queries = vocabulary.transform(["plush doll with tea", "", "lithium battery pack", "Ж"])
    expected = (queries @ matrix).toarray()
    assert np.allclose(split.similarities(queries), expected, atol=1e-6)
    assert np.allclose(TermMatrix(matrix, dense_share=1.0).similarities(queries), expected, atol=1e-6)
    with pytest.raises(ClassifierError, match="terms"):
        split.similarities(queries[:, :-1])


def test_lexical_model_separates_sectors_and_explains_with_words(lexical: LexicalModel) -> None:
    texts = ["baby doll", "oolong tea", "lithium battery charger"]
    scores = lexical.scores(texts)
    best = [SECTORS[j] for j in scores.argmax(axis=1)]
    assert best == ["toys", "food_agri", "batteries"]
    features = lexical.features(texts)
    assert lexical.top_terms(features, 0, SECTORS.index("toys"))[0] == "doll"
    assert lexical.top_terms(features, 0, SECTORS.index("food_agri")) == []  # "doll" says nothing for food


def test_compact_model_saves_and_loads_exactly(lexical: LexicalModel, tmp_path: Path) -> None:
    lexical.save(tmp_path / "lexical.npz")
    loaded = LexicalModel.load(tmp_path / "lexical.npz")
    texts = ["plush toy", "dried tea", "", "混合 scripts и кириллица " * 50]
    assert np.array_equal(loaded.weights, lexical.weights)
    assert np.allclose(loaded.scores(texts), lexical.scores(texts), atol=1e-6)
    assert loaded.vocabulary.words == lexical.vocabulary.words


def test_compact_prunes_small_weights() -> None:
    texts, y = _corpus()
    full = fit_lexical(texts, y, min_positives=3)
    compact = full.compact()
    assert np.count_nonzero(compact.weights) < np.count_nonzero(full.weights)
    assert np.abs(compact.weights - full.weights).max() < 0.2


def test_damaged_lexical_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "lexical.npz").write_bytes(b"not a zip")
    with pytest.raises(ClassifierError, match="tbt-alert train"):
        LexicalModel.load(tmp_path / "lexical.npz")


def test_head_mixes_both_parts_and_round_trips(lexical: LexicalModel, tmp_path: Path) -> None:
    silent_vector_head(tmp_path, lexical=lexical, lexical_weight=0.6)
    loaded = Head.load(tmp_path)
    assert loaded.lexical is not None
    assert loaded.lexical_weight == 0.6
    vector_part = np.full((1, len(SECTORS)), 0.5)
    lexical_part = np.zeros((1, len(SECTORS)))
    assert np.allclose(loaded.mix(vector_part, lexical_part), 0.2)
    with pytest.raises(ClassifierError, match="lexical"):
        loaded.mix(vector_part, None)


def test_a_new_lexical_part_is_a_new_classifier_version(lexical: LexicalModel, tmp_path: Path) -> None:
    plain = silent_vector_head(tmp_path / "plain", lexical=None, lexical_weight=0.0)
    mixed = silent_vector_head(tmp_path / "mixed", lexical=lexical, lexical_weight=0.6)
    assert not (tmp_path / "plain" / LEXICAL_FILE).exists()
    assert plain.meta["weights_sha256_10"] != mixed.meta["weights_sha256_10"]
    assert Head.load(tmp_path / "plain").lexical is None


def test_classifier_uses_the_lexical_part_and_shows_its_evidence(
    tiny_encoder_dir: Path, lexical: LexicalModel, tmp_path: Path
) -> None:
    silent_vector_head(tmp_path, lexical=lexical, lexical_weight=0.6)
    clf = Classifier.load(mode="model", encoder_path=tiny_encoder_dir, head_dir=tmp_path)
    doll, empty, huge = clf.classify([{"title": "Rag doll for children"}, {"title": ""}, {"title": "doll " * 30_000}])
    assert [p.sector for p in doll] == ["toys"]
    evidence = doll[0].evidence
    assert evidence["terms"][0] == "doll"
    assert evidence["lexical_score"] > evidence["vector_score"]
    assert 0.6 * evidence["lexical_score"] + 0.4 * evidence["vector_score"] == pytest.approx(doll[0].score, abs=1e-3)
    assert empty == []
    assert [p.sector for p in huge] == ["toys"]
