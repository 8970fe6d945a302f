"""The relevance benchmark's judgments and metrics (bench/bench_relevance.py): the topics file is
complete, its hand-judged keys are real recorded records, and the rules grade as written."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.bench_relevance import JUDGED_SOURCES, LANGUAGES, grade, load_topics, ndcg, recall

REPO = Path(__file__).resolve().parents[2]


def test_topics_ask_every_need_in_four_languages() -> None:
    topics = load_topics()
    assert len({t.id for t in topics}) == len(topics)
    assert len(topics) * len(LANGUAGES) >= 60
    for topic in topics:
        assert set(topic.queries) >= set(LANGUAGES)
        assert all(rule.source in JUDGED_SOURCES and rule.grade in (1, 2) for rule in topic.rules)
        assert any(rule.grade == 2 for rule in topic.rules)


def test_a_topic_without_a_language_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "topics.yml"
    path.write_text("topics:\n  - {id: t, need: n, queries: {zh: 玩具, en: toys}, relevant: []}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="topic t has no query in ru, fr"):
        load_topics(path)


def _recorded_keys(source: str) -> set[str]:
    from crawlers.parsers import get_parser
    from crawlers.sources import load_source

    config = load_source(source)
    folder = REPO / "crawlers" / "sources" / source / "recorded"
    pattern = "*_page_*.json" if source == "wto_eping" else "api_page_*.json"
    keys = set()
    for path in sorted(folder.glob(pattern)):
        domain = 1 if path.name.startswith("tbt") else 2
        url = f"https://epingalert.org/api/v1/azureSearch/getAll?language=1&domainIds={domain}&page=1&pageSize=10"
        parsed = get_parser(source)(path.read_bytes(), url if source == "wto_eping" else path.as_uri(), config)
        keys |= {item.source_key for item in parsed.items if hasattr(item, "source_key")}
    return keys


@pytest.mark.parametrize("source", ["wto_eping", "ru_rosstandart"])
def test_hand_judged_keys_are_recorded_records(source: str) -> None:
    recorded = _recorded_keys(source)
    listed = {key for t in load_topics() for r in t.rules if r.source == source for key in r.conditions.get("keys", ())}
    assert listed
    assert listed <= recorded, sorted(listed - recorded)


def _topic(topic_id: str):  # type: ignore[no-untyped-def]
    return next(t for t in load_topics() if t.id == topic_id)


def test_rules_grade_by_the_sources_own_fields() -> None:
    choking = _topic("toys_choking")
    toy = {"source_id": "eu_safety_gate", "source_key": "A12/1", "category": "toys", "risk_type": "Chemical, Choking"}
    assert grade(toy, choking) == 2
    assert grade({**toy, "risk_type": "Chemical"}, choking) == 1
    assert grade({**toy, "category": "cosmetics", "risk_type": "Chemical"}, choking) == 0
    canadian = {"source_id": "ca_health_canada", "source_key": "1", "category": "Household items - Toys and games",
                "hazard": "Choking hazard - Strangulation hazard"}  # fmt: skip
    assert grade(canadian, choking) == 2
    assert grade({"source_id": "us_cpsc", "source_key": "1", "category": "toys"}, choking) is None
    chargers = _topic("charger_shock")
    usb = {"source_id": "eu_safety_gate", "source_key": "A1", "product_type": "USB Charger",
           "risk_type": "Electric shock"}  # fmt: skip
    assert grade(usb, chargers) == 2
    vehicles = _topic("motor_vehicles")
    assert grade({"source_id": "wto_eping", "source_key": "G/TBT/N/X/1", "ics_codes": ["43.020"]}, vehicles) == 2
    assert grade({"source_id": "wto_eping", "source_key": "G/TBT/N/X/1", "ics_codes": ["67.040"]}, vehicles) == 0
    medical = _topic("medical_devices")
    device = {"source_id": "ca_health_canada", "source_key": "2", "category": "Cardiovascular",
              "extra": {"organization": "Medical devices"}}  # fmt: skip
    assert grade(device, medical) == 2


def test_ndcg_and_recall() -> None:
    assert ndcg([2, 1, 0], [2, 1, 0, 0]) == 1.0
    assert ndcg([0, 0], [2]) == 0.0
    assert 0 < ndcg([0, 2], [2]) < 1
    assert ndcg([], []) == 0.0
    assert recall([1, 0, 2], 2) == 1.0
    assert recall([1] * 50 + [0], 5000) == 1.0  # the denominator is capped at 50
    assert recall([0, 1], 4) == 0.25
