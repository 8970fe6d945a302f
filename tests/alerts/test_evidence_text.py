"""The one-line evidence a bulletin item shows for a sector tag (alerts.render).

The evidence dictionaries are CONSTRUCTED in the shapes the classifier writes.
"""

from __future__ import annotations

from alerts.render import _evidence_text


def test_model_evidence_shows_words_and_examples_not_part_scores() -> None:
    evidence = {
        "threshold": 0.41,
        "vector_score": 0.38,
        "lexical_score": 0.91,
        "terms": ["lithium", "power bank"],
        "neighbour_score": 1.0,
        "nearest_examples": [
            {"example": "[eu_safety_gate] Power bank | Portable charger with lithium cells", "similarity": 0.93},
        ],
    }
    line = _evidence_text(evidence)
    assert line == "≈ lithium, power bank; ≈ «Power bank» (0.93)"


def test_code_evidence_names_the_codes() -> None:
    assert _evidence_text({"hs_codes": ["950300"], "rule_prefixes": ["9503"]}) == "HS 950300"
