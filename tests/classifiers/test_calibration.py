"""Threshold calibration and the choice of the mixture on validation (classifiers.train).

Scores and labels here are CONSTRUCTED so the best thresholds are known by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

from classifiers.train import THRESHOLD_PRIOR, _choose_mixture, calibrate


def _separable(n_pos: int, cut: float, n_neg: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Positives just above ``cut``, negatives just below: only thresholds near ``cut`` are perfect."""
    probs = np.concatenate([np.full(n_pos, cut + 0.01), np.full(n_neg, cut - 0.06)])
    labels = np.concatenate([np.ones(n_pos, dtype=np.int8), np.zeros(n_neg, dtype=np.int8)])
    return probs, labels


def test_a_well_supported_sector_keeps_nearly_its_own_threshold_and_a_rare_one_leans_on_the_shared() -> None:
    common_p, common_y = _separable(400, 0.8)
    rare_p, rare_y = _separable(4, 0.3)
    probs = np.stack([common_p, np.concatenate([rare_p, np.zeros(len(common_p) - len(rare_p))])], axis=1)
    y = np.stack([common_y, np.concatenate([rare_y, np.zeros(len(common_y) - len(rare_y), dtype=np.int8)])], axis=1)
    thresholds = calibrate(probs, y)
    # Own best thresholds: the first grid step above the negatives, 0.75 (common) and 0.25
    # (rare). The shared one is the common sector's, 0.75: it holds nearly all positives.
    own_common = 400 / (400 + THRESHOLD_PRIOR)
    own_rare = 4 / (4 + THRESHOLD_PRIOR)
    assert thresholds[0] == pytest.approx(own_common * 0.75 + (1 - own_common) * 0.75)
    assert thresholds[1] == pytest.approx(own_rare * 0.25 + (1 - own_rare) * 0.75)


def test_a_sector_without_validation_positives_gets_the_shared_threshold() -> None:
    probs, labels = _separable(50, 0.6)
    y = np.stack([labels, np.zeros_like(labels)], axis=1)
    thresholds = calibrate(np.stack([probs, probs], axis=1), y)
    assert thresholds[1] == thresholds[0]


def test_the_mixture_keeps_only_parts_that_help() -> None:
    y = np.zeros((300, 2), dtype=np.int8)
    y[:150, 0] = 1
    y[150:, 1] = 1
    rng = np.random.default_rng(5)
    useful = y + rng.normal(scale=0.1, size=y.shape)  # nearly the labels
    noise = rng.uniform(size=y.shape)
    lexical_weight, neighbour_weight, score, _, mixes = _choose_mixture(y, useful, noise, noise)
    assert (lexical_weight, neighbour_weight) == (0.0, 0.0)
    assert score == pytest.approx(1.0)
    lexical_weight, neighbour_weight, _, _, _ = _choose_mixture(y, noise, noise, useful)
    assert neighbour_weight > 0.0
    assert len(mixes) == len({(m["lexical_weight"], m["neighbour_weight"]) for m in mixes})


def test_the_fallback_floor_adds_the_best_sector_only_where_it_is_right_more_often_than_not() -> None:
    from classifiers.head import NO_FALLBACK
    from classifiers.train import choose_fallback

    y = np.array([[1, 0], [0, 1], [1, 0], [1, 0]])
    thresholds = np.array([0.9, 0.9])  # nothing passes: every row is empty
    # The best sector is right in the first three rows and wrong, at a low score, in the last.
    right = np.array([[0.6, 0.1], [0.2, 0.7], [0.8, 0.1], [0.1, 0.3]])
    floor = choose_fallback(right, thresholds, y)
    assert 0.3 < floor <= 0.6  # above the wrong one, low enough for the right ones
    wrong = np.where(y == 1, 0.1, 0.7)  # the best sector is always wrong
    assert choose_fallback(wrong, thresholds, y) == NO_FALLBACK


def test_the_named_factor_lowers_the_bar_only_as_far_as_named_sectors_are_right() -> None:
    from classifiers.train import choose_named_factor

    y = np.array([[1, 0], [1, 0], [0, 1], [0, 0]])
    thresholds = np.array([0.8, 0.8])
    probs = np.array([[0.6, 0.1], [0.5, 0.1], [0.1, 0.45], [0.5, 0.1]])
    named = np.array([[True, False], [True, False], [False, False], [False, False]])
    # Lowering named bars to 0.8 × 0.55 = 0.44 takes both named positives; the unnamed
    # positive (0.45) and the unnamed negative (0.5) stay on the other side of 0.8.
    assert choose_named_factor(probs, thresholds, named, y) == 0.55
    # Named but wrong: no lowering helps.
    assert choose_named_factor(probs, thresholds, named, 1 - y) == 1.0
