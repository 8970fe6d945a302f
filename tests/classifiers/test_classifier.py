"""Combination logic of the classifier: HS/ICS rules first, then model or keyword rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from classifiers.classifier import Classifier
from classifiers.encoder import Encoder
from tbt_alert.errors import ClassifierError


@pytest.fixture(scope="module")
def rules() -> Classifier:
    return Classifier.load(mode="rules")


@pytest.fixture(scope="module")
def tiny(tiny_encoder_dir: Path, tiny_head_dir: Path) -> Classifier:
    return Classifier.load(mode="model", encoder_path=tiny_encoder_dir, head_dir=tiny_head_dir)


def _by_sector(preds: list) -> dict:
    return {p.sector: p for p in preds}


def test_hs_rules_come_first_with_matched_codes_as_evidence(rules: Classifier) -> None:
    [preds] = rules.classify([{"title": "Lithium-ion batteries for toys", "hs_codes": ["8507.60", "9503"]}])
    tags = _by_sector(preds)
    assert tags["batteries"].method == "hs"
    assert tags["batteries"].evidence["hs_codes"] == ["850760"]
    assert tags["batteries"].evidence["rule_prefixes"] == ["8507"]
    assert tags["toys"].method == "hs"
    assert tags["toys"].score == 1.0


def test_ics_rules_and_keyword_rules_add_sectors(rules: Classifier) -> None:
    record = {"title": "Safety of electric kettles", "ics_codes": ["97.200.50"], "hs_codes": []}
    tags = _by_sector(rules.classify([record])[0])
    assert tags["toys"].method == "ics"
    assert tags["toys"].evidence == {"ics_codes": ["97.200.50"]}
    assert tags["household_appliances"].method == "rule"
    assert "kettle" in tags["household_appliances"].evidence["keywords"]


def test_keywords_in_other_languages(rules: Classifier) -> None:
    preds = rules.classify([{"title": "Игрушки детские. Требования безопасности"}, {"title": "电动玩具安全要求"}])
    assert all("toys" in _by_sector(p) for p in preds)


def test_horizontal_measures_get_cross_sector_but_recalls_do_not(rules: Classifier) -> None:
    notification = {"title": "General product safety regulation and market surveillance of consumer products"}
    recall = dict(notification, kind="recall")
    scoped = dict(notification, hs_codes=["9503"])
    tagged, untagged, by_code = rules.classify([notification, recall, scoped])
    assert "cross_sector" in _by_sector(tagged)
    assert "cross_sector" not in _by_sector(untagged)
    assert "cross_sector" not in _by_sector(by_code)  # scoped to toys by its HS code


def test_model_adds_sectors_only_above_threshold_and_not_twice(tiny: Classifier) -> None:
    [with_hs, text_only] = tiny.classify([{"title": "toy doll", "hs_codes": ["9503"]}, {"title": "toy doll"}])
    assert [(p.sector, p.method) for p in with_hs] == [("toys", "hs")]  # the rule wins, the model adds nothing new
    [toys] = text_only  # the constructed head fires for toys only
    assert toys.method == "model"
    assert toys.score > 0.99
    assert toys.evidence["threshold"] == 0.5
    assert toys.evidence["nearest_examples"][0]["example"].startswith("constructed example")


def test_version_changes_with_mode_and_head(rules: Classifier, tiny: Classifier) -> None:
    assert rules.version.endswith("-rules")
    assert tiny.version != rules.version
    assert "-head" in tiny.version


@pytest.mark.parametrize(
    "record",
    [
        {},
        {"title": ""},
        {"title": "   ", "hs_codes": None, "ics_codes": None},
        {"title": "toy " * 25_000},  # 100 kB
        {"title": "Toys 玩具 игрушки ألعاب おもちゃ 🧸", "description": "mixed scripts"},
        {"title": "toys", "hs_codes": ["ABCD", "", "9", 12, None, "85.07.60.00.00.00"], "ics_codes": [3.5, "x"]},
        {"title": ["a", "list"], "description": 42, "products": {"odd": "type"}},
        {"title": "text", "hs_codes": "8507; 9503"},
    ],
)
def test_bad_input_gives_a_result(record: dict, rules: Classifier, tiny: Classifier) -> None:
    for clf in (rules, tiny):
        [preds] = clf.classify([record])
        assert isinstance(preds, list)


def test_empty_batch(rules: Classifier, tiny: Classifier) -> None:
    assert rules.classify([]) == []
    assert tiny.classify([]) == []


def test_model_mode_without_encoder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ClassifierError, match="model build"):
        Classifier.load(mode="model", encoder_path=tmp_path / "missing")


def test_unknown_mode_is_a_clear_error() -> None:
    with pytest.raises(ClassifierError, match="TBT_CLASSIFIER_MODE"):
        Classifier.load(mode="fast")


def test_tiny_encoder_embeds_unit_vectors_in_input_order(tiny_encoder_dir: Path) -> None:
    encoder = Encoder.load(tiny_encoder_dir)
    texts = ["toy", "a doll with a lithium battery for children", "tea"]
    vectors = encoder.embed(texts, batch_size=2)
    assert vectors.shape == (3, 32)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    again = encoder.embed(texts[::-1], batch_size=3)[::-1]
    assert np.allclose(vectors, again, atol=1e-5)
    assert encoder.embed([]).shape == (0, 32)


def test_encoder_path_that_does_not_exist_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ClassifierError, match="model build"):
        Encoder.load(tmp_path / "nothing-here")


def test_where_codes_give_sectors_or_the_record_is_a_notification_the_model_needs_the_product_named(
    tiny: Classifier,
) -> None:
    # The constructed head fires for toys on any text; only a text naming a toy keeps it.
    recall, notification, named, coded = tiny.classify(
        [
            {"title": "Telecommunication equipment standard", "kind": "recall"},
            {"title": "Telecommunication equipment standard", "kind": "notification"},
            {"title": "Safety of toys", "kind": "notification"},
            {"title": "Telecommunication equipment", "hs_codes": ["851762"]},
        ]
    )
    assert "toys" in _by_sector(recall)
    assert "toys" not in _by_sector(notification)
    assert _by_sector(named)["toys"].evidence["keywords"] == ["toy"]
    assert "toys" not in _by_sector(coded)
    assert "electronics_ict" in _by_sector(coded)  # the HS rule stands


def test_each_language_group_has_its_own_thresholds(tiny: Classifier, tiny_head_dir: Path) -> None:
    from classifiers.head import GroupCalibration, Head

    head = Head.load(tiny_head_dir)
    never = np.full(len(head.sectors), 2.0, dtype=np.float32)
    head.groups = {"cjk": GroupCalibration(0.0, 0.0, never)}
    grouped = Classifier.load(mode="model", encoder=tiny.encoder, head=head)
    english, chinese, traditional = grouped.classify([{"title": "doll"}, {"title": "娃娃"}, {"title": "洋娃娃玩偶"}])
    assert _by_sector(english)["toys"].evidence["language_group"] == "en"
    assert "toys" not in _by_sector(chinese)  # the Chinese group's bar is out of reach
    assert "toys" not in _by_sector(traditional)


def test_group_calibrations_are_saved_loaded_and_part_of_the_version(tiny_head_dir: Path, tmp_path: Path) -> None:
    from classifiers.head import GroupCalibration, Head

    head = Head.load(tiny_head_dir)
    head.save(tmp_path / "plain")
    thresholds = np.linspace(0.1, 0.9, len(head.sectors)).astype(np.float32)
    head.groups = {"latin": GroupCalibration(0.3, 0.2, thresholds)}
    head.save(tmp_path / "grouped")
    plain, grouped = Head.load(tmp_path / "plain"), Head.load(tmp_path / "grouped")
    assert plain.meta["weights_sha256_10"] == Head.load(tiny_head_dir).meta["weights_sha256_10"]
    assert grouped.meta["weights_sha256_10"] != plain.meta["weights_sha256_10"]
    latin = grouped.calibration("latin")
    assert (latin.lexical_weight, latin.neighbour_weight) == (0.3, 0.2)
    assert np.allclose(latin.thresholds, thresholds, atol=1e-4)
    assert grouped.calibration("cjk").lexical_weight == grouped.lexical_weight  # no group: the head's own


def test_vietnamese_with_combining_accents_is_read_as_composed(rules: Classifier) -> None:
    import unicodedata

    decomposed = unicodedata.normalize("NFD", "Đồ chơi nhựa mềm")
    assert "toys" in _by_sector(rules.classify([{"title": decomposed}])[0])


def test_a_text_no_sector_passed_for_gets_its_best_sector_above_the_group_floor(
    tiny: Classifier, tiny_head_dir: Path
) -> None:
    from classifiers.head import GroupCalibration, Head

    head = Head.load(tiny_head_dir)
    never = np.full(len(head.sectors), 2.0, dtype=np.float32)
    head.groups = {"cjk": GroupCalibration(0.0, 0.0, never, fallback_floor=0.5)}
    grouped = Classifier.load(mode="model", encoder=tiny.encoder, head=head)
    recall, notification = grouped.classify([{"title": "娃娃"}, {"title": "电信设备标准", "kind": "notification"}])
    [toys] = recall  # nothing passes the unreachable thresholds; toys is the best sector
    assert (toys.sector, toys.method, toys.evidence["fallback_floor"]) == ("toys", "model", 0.5)
    assert notification == []  # a notification must name the product, fallback or not


def test_a_named_sector_meets_a_lower_bar(tiny: Classifier, tiny_head_dir: Path) -> None:
    from classifiers.head import GroupCalibration, Head

    head = Head.load(tiny_head_dir)
    toys = head.sectors.index("toys")
    bar = np.full(len(head.sectors), 0.9, dtype=np.float32)
    bar[toys] = 1.5  # out of reach for the constructed head's toys score (about 1.0)
    head.groups = {"cjk": GroupCalibration(0.0, 0.0, bar, named_factor=0.5)}
    grouped = Classifier.load(mode="model", encoder=tiny.encoder, head=head)
    named, unnamed = grouped.classify([{"title": "塑料玩具"}, {"title": "塑料制品"}])
    assert _by_sector(named)["toys"].evidence["threshold"] == 0.75  # 1.5 × 0.5: 玩具 is a toys keyword
    assert "toys" not in _by_sector(unnamed)


def test_a_restricted_substance_adds_chemicals_plastics_as_the_labels_do(rules: Classifier) -> None:
    doll, lotion, plain, by_risk = rules.classify(
        [
            {"title": "Baby doll", "hazard": "The product contains the phthalate DEHP", "kind": "recall"},
            {"title": "Skin lightening cream", "hazard": "contains mercury", "kind": "recall"},
            {"title": "Baby doll", "hazard": "Small parts can come loose", "kind": "recall"},
            {"title": "Necklace", "risk_type": "Chemical", "kind": "recall"},
        ]
    )
    assert _by_sector(doll)["chemicals_plastics"].evidence == {"hazard_terms": ["phthalate", "DEHP"]}
    assert "toys" in _by_sector(doll)
    assert "chemicals_plastics" not in _by_sector(lotion)  # cosmetics: their own rules are chemical rules
    assert "chemicals_plastics" not in _by_sector(plain)
    assert _by_sector(by_risk)["chemicals_plastics"].evidence == {"hazard_terms": ["Chemical"]}
