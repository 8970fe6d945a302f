"""The hybrid head (MLP over sentence vector ⊕ keyword features), encoder precision, the
fast keyword matcher and the leak-free split of the extra training data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from classifiers.classifier import Classifier
from classifiers.encoder import INT8_SCHEME, Encoder
from classifiers.head import Head
from classifiers.keywords import KeywordRules, keyword_rules
from classifiers.taxonomy import CROSS_SECTOR, load_taxonomy
from classifiers.training_data import labelled_records, multilingual_records
from tbt_alert.errors import ClassifierError, SettingsError
from tbt_alert.settings import load_settings

SECTORS = [c for c in load_taxonomy().codes if c != CROSS_SECTOR]


def _mlp_head(
    folder: Path, *, precision: str = "fp32", dim: int = 32, hidden: int = 8, int8_scheme: str = INT8_SCHEME
) -> Head:
    """A CONSTRUCTED MLP head (random weights); toys fires through its keyword feature."""
    rng = np.random.default_rng(1)
    n = len(SECTORS)
    hidden_weights = rng.normal(scale=0.01, size=(dim + n, hidden)).astype(np.float32)
    hidden_weights[dim + SECTORS.index("toys"), 0] = 60.0  # the toys keyword feature drives unit 0
    weights = np.zeros((n, hidden), dtype=np.float32)
    weights[SECTORS.index("toys"), 0] = 1.0
    exemplars = rng.normal(size=(1, dim)).astype(np.float32)
    exemplars /= np.linalg.norm(exemplars)
    head = Head(
        sectors=SECTORS,
        weights=weights,
        biases=np.full(n, -10.0, dtype=np.float32),
        thresholds=np.full(n, 0.5, dtype=np.float32),
        exemplar_vectors=exemplars,
        exemplar_sectors=["toys"],
        exemplar_texts=["constructed example"],
        hidden_weights=hidden_weights,
        hidden_biases=np.zeros(hidden, dtype=np.float32),
        inputs=("embedding", "keywords"),
        meta={
            "version": "test",
            "constructed": True,
            "encoder_precision": precision,
            "encoder_int8_scheme": int8_scheme if precision == "int8" else None,
        },
    )
    head.save(folder)
    return head


def test_mlp_head_round_trips_and_scores_like_its_formula(tmp_path: Path) -> None:
    saved = _mlp_head(tmp_path)
    loaded = Head.load(tmp_path)
    assert loaded.inputs == ("embedding", "keywords")
    assert loaded.dim == 32
    rng = np.random.default_rng(2)
    vectors = rng.normal(size=(3, 32)).astype(np.float32)
    keywords = np.zeros((3, len(SECTORS)), dtype=np.float32)
    keywords[1, SECTORS.index("toys")] = 1.0
    assert saved.hidden_weights is not None
    assert saved.hidden_biases is not None
    x = np.hstack([vectors, keywords])
    expected = 1 / (1 + np.exp(-(np.maximum(x @ saved.hidden_weights + saved.hidden_biases, 0) @ saved.weights.T - 10)))
    # float16 storage of the hidden layer: scores agree to well under a threshold step.
    assert np.abs(loaded.scores(vectors, keywords) - expected).max() < 1e-2
    assert loaded.scores(vectors, keywords)[1, SECTORS.index("toys")] > 0.99
    with pytest.raises(ClassifierError, match="keyword features"):
        loaded.scores(vectors)


def test_classifier_feeds_keyword_features_to_the_head(tiny_encoder_dir: Path, tmp_path: Path) -> None:
    _mlp_head(tmp_path)
    clf = Classifier.load(mode="model", encoder_path=tiny_encoder_dir, head_dir=tmp_path)
    toy, tea = clf.classify([{"title": "Plush doll for children"}, {"title": "Green tea"}])
    assert [(p.sector, p.method) for p in toy] == [("toys", "model")]
    assert tea == []


def test_head_trained_on_other_precision_is_a_clear_error(tiny_encoder_dir: Path, tmp_path: Path) -> None:
    _mlp_head(tmp_path, precision="int8")
    with pytest.raises(ClassifierError, match="TBT_ENCODER_PRECISION=int8"):
        Classifier.load(mode="model", encoder_path=tiny_encoder_dir, head_dir=tmp_path, precision="fp32")
    clf = Classifier.load(mode="model", encoder_path=tiny_encoder_dir, head_dir=tmp_path)
    assert clf.encoder.precision == "int8"  # the head's own precision by default


def test_head_of_the_earlier_int8_scheme_is_a_clear_error(tiny_encoder_dir: Path, tmp_path: Path) -> None:
    # Heads trained before per-token scales: their metadata names no scheme.
    _mlp_head(tmp_path, precision="int8", int8_scheme="")
    with pytest.raises(ClassifierError, match="earlier int8 scheme.*tbt-alert train"):
        Classifier.load(mode="model", encoder_path=tiny_encoder_dir, head_dir=tmp_path)


def test_int8_encoder_gives_unit_vectors_close_to_fp32(tiny_encoder_dir: Path) -> None:
    texts = ["toy doll for children", "lithium battery charger", "tea"]
    fp32 = Encoder.load(tiny_encoder_dir).embed(texts)
    int8 = Encoder.load(tiny_encoder_dir, precision="int8").embed(texts)
    assert np.allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-4)
    assert np.sum(fp32 * int8, axis=1).min() > 0.9
    with pytest.raises(ClassifierError, match="TBT_ENCODER_PRECISION"):
        Encoder.load(tiny_encoder_dir, precision="int4")


def test_encoder_precision_setting(tmp_path: Path) -> None:
    env = {"TBT_DATA_DIR": str(tmp_path), "TBT_SECRET_KEY": "k" * 40}
    assert load_settings(env).encoder_precision == "int8"
    assert load_settings(dict(env, TBT_ENCODER_PRECISION="FP32")).encoder_precision == "fp32"
    with pytest.raises(SettingsError, match="TBT_ENCODER_PRECISION"):
        load_settings(dict(env, TBT_ENCODER_PRECISION="fp8"))


def _naive_matches(rules: KeywordRules, text: str) -> dict[str, list[str]]:
    """The plain loop of earlier versions: every keyword's regex on every text."""
    lowered = text.lower()
    found: dict[str, list[str]] = {}
    for sector, patterns in rules.patterns.items():
        hits = list(dict.fromkeys(kw for kw, rx in patterns if rx.search(lowered)))
        if hits:
            found[sector] = hits
    return found


@pytest.mark.parametrize(
    "text",
    [
        "Children's toy with lithium-ion battery and USB charger",
        "Kinderspielzeug mit Knopfzellen; Rückruf von Käse",
        "Требования безопасности к электрическим игрушкам и тракторам",
        "电动玩具安全要求 and LED lamps",
        "Jouets et  chaussures  pour enfants",
        "",
    ],
)
def test_fast_keyword_matching_equals_the_plain_loop(text: str) -> None:
    rules = keyword_rules(load_taxonomy())
    assert rules.matches(text) == _naive_matches(rules, text)
    features = rules.features(text, SECTORS)
    assert all(0.0 <= f <= 1.0 for f in features)


def test_no_group_in_two_splits_and_the_foreign_sets_are_split_by_group(shared_data: Path) -> None:
    records = labelled_records(shared_data)
    by_group: dict[str, set[str]] = {}
    for rec in records + multilingual_records(shared_data):
        if rec.fixed_split is None:
            by_group.setdefault(rec.group or rec.key, set()).add(rec.split)
    assert all(len(splits) == 1 for splits in by_group.values())  # no group in two splits
    foreign = multilingual_records(shared_data)
    assert {r.split for r in foreign} == {"train", "val", "test"}
    per_source = {r.source for r in records if r.split == "test"}
    assert {"eu_safety_gate", "health_canada", "hs_nomenclature", "us_cpsc"} <= per_source
