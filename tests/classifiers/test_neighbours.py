"""The neighbour votes of the head: the projected int8 index of labelled training records,
its votes and evidence, its storage, and its place in the head's mixture.

The vectors and texts here are CONSTRUCTED (clusters of random vectors, short product
names); the real figures are in MODEL_CARD.md and docs/EVALUATION.md.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from classifiers.classifier import Classifier
from classifiers.head import NEIGHBOURS_FILE, Head
from classifiers.neighbours import LabelledNeighbours
from classifiers.taxonomy import CROSS_SECTOR, load_taxonomy
from tbt_alert.errors import ClassifierError
from tests.classifiers.conftest import silent_vector_head

SECTORS = [c for c in load_taxonomy().codes if c != CROSS_SECTOR]
TOYS, FOOD = SECTORS.index("toys"), SECTORS.index("food_agri")


def _clusters(dim: int = 48, per_cluster: int = 12) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    """Two tight clusters of unit vectors sharing a large common component, as e5 vectors do;
    the first labelled toys, the second food_agri. Returns vectors, labels, texts, centres."""
    rng = np.random.default_rng(7)
    common = rng.normal(size=dim)
    centres = np.stack([common + rng.normal(scale=0.4, size=dim) for _ in range(2)])
    vectors, labels, texts = [], [], []
    for c, (sector, name) in enumerate(((TOYS, "plush toy"), (FOOD, "green tea"))):
        for i in range(per_cluster):
            vectors.append(centres[c] + rng.normal(scale=0.05, size=dim))
            row = np.zeros(len(SECTORS), dtype=np.int8)
            row[sector] = 1
            labels.append(row)
            texts.append(f"[constructed] {name} {i}")
    x = np.array(vectors, dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x, np.array(labels), texts, centres


@pytest.fixture
def index() -> LabelledNeighbours:
    vectors, labels, texts, _ = _clusters()
    return LabelledNeighbours.fit(vectors, labels, texts, dimensions=16, k=5)


def test_votes_follow_the_nearest_cluster_and_name_its_records(index: LabelledNeighbours) -> None:
    vectors, _, _, centres = _clusters()
    query = centres[1] / np.linalg.norm(centres[1])
    indices, sims = index.nearest(query[None, :].astype(np.float32))
    assert list(sims[0]) == sorted(sims[0], reverse=True)
    assert all(i >= 12 for i in indices[0])  # all five from the food cluster
    votes = index.votes(indices, sims)[0]
    assert votes[FOOD] == pytest.approx(1.0)
    assert votes[TOYS] == 0.0
    examples = index.examples_for(indices[0], sims[0], FOOD)
    assert len(examples) == 3
    assert all(e["example"].startswith("[constructed] green tea") for e in examples)
    assert index.examples_for(indices[0], sims[0], TOYS) == []
    # A training record finds itself first.
    own, own_sims = index.nearest(vectors[3:4])
    assert own[0][0] == 3
    assert own_sims[0][0] == pytest.approx(1.0, abs=0.02)


def test_votes_weigh_neighbours_by_softmax_of_similarity(index: LabelledNeighbours) -> None:
    # One toy record at similarity 0.9 and one food record at 0.8, temperature 0.05:
    # weights e^(0.1/0.05) : 1.
    votes = index.votes(np.array([[0, 12]]), np.array([[0.9, 0.8]], dtype=np.float32))[0]
    expected = np.exp(2.0) / (np.exp(2.0) + 1.0)
    assert votes[TOYS] == pytest.approx(expected, abs=1e-5)
    assert votes[FOOD] == pytest.approx(1.0 - expected, abs=1e-5)
    assert votes.sum() == pytest.approx(1.0, abs=1e-5)


def test_index_round_trips_through_its_file(index: LabelledNeighbours, tmp_path: Path) -> None:
    vectors, _, _, _ = _clusters()
    index.save(tmp_path / "n.npz")
    loaded = LabelledNeighbours.load(tmp_path / "n.npz")
    assert loaded.k == 5
    assert loaded.examples == index.examples
    assert np.array_equal(loaded.labels, index.labels)
    # The index is int8-rounded when fitted, so saving loses nothing more.
    assert np.allclose(loaded.vectors, index.vectors, atol=1e-6)
    assert np.array_equal(loaded.nearest(vectors)[0], index.nearest(vectors)[0])


def test_bad_inputs_are_clear_errors(index: LabelledNeighbours, tmp_path: Path) -> None:
    with pytest.raises(ClassifierError, match="48-dim"):
        index.nearest(np.zeros((1, 32), dtype=np.float32))
    vectors, labels, texts, _ = _clusters()
    with pytest.raises(ClassifierError, match="at least k=10"):
        LabelledNeighbours.fit(vectors[:4], labels[:4], texts[:4])
    with pytest.raises(ClassifierError, match="one label row"):
        LabelledNeighbours.fit(vectors, labels, texts[:3])
    (tmp_path / "n.npz").write_bytes(b"not a zip")
    with pytest.raises(ClassifierError, match="tbt-alert train"):
        LabelledNeighbours.load(tmp_path / "n.npz")


def test_head_mixes_the_votes_and_versions_them(index: LabelledNeighbours, tmp_path: Path) -> None:
    plain = silent_vector_head(tmp_path / "plain", dim=48, neighbours=None, neighbour_weight=0.0)
    mixed = silent_vector_head(tmp_path / "mixed", dim=48, neighbours=index, neighbour_weight=0.4)
    assert not (tmp_path / "plain" / NEIGHBOURS_FILE).exists()
    assert plain.meta["weights_sha256_10"] != mixed.meta["weights_sha256_10"]
    loaded = Head.load(tmp_path / "mixed")
    assert loaded.neighbours is not None
    assert loaded.neighbour_weight == 0.4
    assert (
        loaded.describe() == "head mixing 0.6 × logistic over embedding + 0.4 × votes of the 5 nearest training records"
    )
    assert Head.load(tmp_path / "plain").describe() == "logistic over embedding head"
    vector_part = np.full((1, len(SECTORS)), 0.5)
    votes = np.zeros((1, len(SECTORS)))
    votes[0, TOYS] = 1.0
    mixed_scores = loaded.mix(vector_part, None, votes)[0]
    assert mixed_scores[TOYS] == pytest.approx(0.6 * 0.5 + 0.4)
    assert mixed_scores[FOOD] == pytest.approx(0.3)
    with pytest.raises(ClassifierError, match="neighbour"):
        loaded.mix(vector_part)


def test_classifier_tags_by_votes_and_shows_the_records_behind_them(tiny_encoder_dir: Path, tmp_path: Path) -> None:
    from classifiers.encoder import Encoder

    encoder = Encoder.load(tiny_encoder_dir)
    names = {
        TOYS: ["rag doll", "plush toy bear", "toy car for children", "wooden puzzle", "doll house", "toy slime"],
        FOOD: ["green tea leaves", "dried fish", "rice wine", "frozen shrimp", "tea bags", "salted fish"],
    }
    texts = [n for sector in names for n in names[sector]]
    labels = np.zeros((len(texts), len(SECTORS)), dtype=np.int8)
    for row, text in enumerate(texts):
        labels[row, TOYS if any(text == n for n in names[TOYS]) else FOOD] = 1
    index = LabelledNeighbours.fit(
        encoder.embed(texts), labels, [f"[constructed] {t}" for t in texts], dimensions=8, k=3
    )
    silent_vector_head(tmp_path, dim=encoder.dim, neighbours=index, neighbour_weight=0.9)
    clf = Classifier.load(mode="model", encoder_path=tiny_encoder_dir, head_dir=tmp_path)
    doll, empty = clf.classify([{"title": "rag doll"}, {"title": ""}])
    assert "toys" in [p.sector for p in doll]
    toys = next(p for p in doll if p.sector == "toys")
    nearest = toys.evidence["nearest_examples"][0]
    assert nearest["example"] == "[constructed] rag doll"
    assert nearest["similarity"] == pytest.approx(1.0, abs=0.01)  # itself, int8-rounded
    assert toys.evidence["neighbour_score"] > 0.5
    assert 0.9 * toys.evidence["neighbour_score"] + 0.1 * toys.evidence["vector_score"] == pytest.approx(
        toys.score, abs=1e-3
    )
    assert empty == []


def test_new_thresholds_or_mixture_weights_are_a_new_version(index: LabelledNeighbours, tmp_path: Path) -> None:
    first = silent_vector_head(tmp_path / "a", dim=48, neighbours=index, neighbour_weight=0.4)
    again = Head.load(tmp_path / "a")
    again.save(tmp_path / "b")  # saved unchanged: the same version
    assert again.meta["weights_sha256_10"] == first.meta["weights_sha256_10"]
    recalibrated = Head.load(tmp_path / "a")
    recalibrated.thresholds = recalibrated.thresholds + 0.05
    recalibrated.save(tmp_path / "c")
    reweighted = silent_vector_head(tmp_path / "d", dim=48, neighbours=index, neighbour_weight=0.5)
    versions = {first.meta["weights_sha256_10"], recalibrated.meta["weights_sha256_10"]}
    assert len(versions | {reweighted.meta["weights_sha256_10"]}) == 3


@pytest.mark.parametrize("columns", [7, 300, 5_000, 33_001])
def test_top_k_finds_the_highest_columns_of_each_row_exactly(columns: int) -> None:
    """The chunk-maximum prefilter (long rows) and the plain partition (short rows) both return
    what a full sort returns; ties come by column, and a row's answer does not depend on its batch."""
    from classifiers.neighbours import top_k

    rng = np.random.default_rng(columns)
    sims = rng.standard_normal((40, columns)).astype(np.float32)
    sims[3] = 0.0  # a row of ties
    sims[4, : columns // 2] = sims[4, columns // 2 : 2 * (columns // 2)]  # pairs of equal values
    sims[5] = np.sort(sims[5])  # the highest in the last chunk
    k = min(10, columns)
    indices, values = top_k(sims, k)
    for row in range(len(sims)):
        expected = np.lexsort((np.arange(columns), -sims[row]))[:k]
        assert np.array_equal(np.sort(values[row])[::-1], sims[row, expected])
        assert np.array_equal(values[row], sims[row, indices[row]])
        assert list(values[row]) == sorted(values[row], reverse=True)
        assert len(set(indices[row].tolist())) == k
    assert np.array_equal(top_k(sims[6:7], k)[0][0], indices[6])
