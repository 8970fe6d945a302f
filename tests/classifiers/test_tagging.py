"""The classify stage on a real database: tags, idempotence, re-tagging on a version change."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, select

from classifiers.classifier import Classifier
from classifiers.tagging import classify_pending, tag_pending
from classifiers.versions import promote, prune
from schema.engine import session_scope
from schema.ids import measure_id
from schema.models import Measure, SectorTag, Source
from tbt_alert.settings import Settings


def _seed(engine: Engine) -> list[str]:
    """Two measures CONSTRUCTED for this test (not source records): one with HS codes, one text-only."""
    rows = [
        ("G/TBT/N/TEST/1", "Safety of toys containing button batteries", ["9503", "850650"], "tbt_notification"),
        ("TEST-RECALL-2", "Hair dryer recalled: the heating element overheats", [], "recall"),
    ]
    with session_scope(engine) as session:
        session.add(Source(id="test_source", name="Constructed test source", kind="notification", jurisdiction="WTO"))
        session.flush()
        for key, title, hs, kind in rows:
            session.add(
                Measure(
                    id=measure_id("test_source", key),
                    source_id="test_source",
                    source_key=key,
                    kind=kind,
                    title=title,
                    hs_codes=hs,
                    content_hash=key,
                )
            )
    return [measure_id("test_source", key) for key, *_ in rows]


def _tags(engine: Engine) -> dict[str, set[tuple[str, str, str]]]:
    with session_scope(engine) as session:
        out: dict[str, set[tuple[str, str, str]]] = {}
        for tag in session.scalars(select(SectorTag)):
            out.setdefault(tag.measure_id, set()).add((tag.sector, tag.method, tag.classifier_version))
        return out


def test_tags_pending_measures_once(engine: Engine) -> None:
    notification, recall = _seed(engine)
    rules = Classifier.load(mode="rules")
    first = tag_pending(engine, rules)
    assert first.measures_tagged == 2
    assert first.remaining == 0
    tags = _tags(engine)
    assert {(s, m) for s, m, _ in tags[notification]} >= {("toys", "hs"), ("batteries", "hs")}
    assert ("household_appliances", "rule", rules.version) in tags[recall]
    with session_scope(engine) as session:
        measure = session.get(Measure, recall)
        assert measure is not None
        assert measure.tagged_version == rules.version
        assert measure.language == "en"
    again = tag_pending(engine, rules)
    assert again.measures_tagged == 0
    assert again.tags_written == 0
    assert _tags(engine) == tags


def test_retags_when_the_classifier_version_changes(
    engine: Engine, tiny_encoder_dir: Path, tiny_head_dir: Path
) -> None:
    notification, recall = _seed(engine)
    rules = Classifier.load(mode="rules")
    tag_pending(engine, rules)
    with session_scope(engine) as session:  # an analyst's manual tag survives re-tagging
        session.add(
            SectorTag(
                measure_id=recall,
                sector="electronics_ict",
                score=1.0,
                method="manual",
                evidence={"by": "test"},
                classifier_version="manual",
            )
        )
    model = Classifier.load(mode="model", encoder_path=tiny_encoder_dir, head_dir=tiny_head_dir)
    assert model.version != rules.version
    outcome = tag_pending(engine, model, batch_size=1)
    assert outcome.measures_tagged == 2
    with session_scope(engine) as session:  # written beside the rules version, served after the switch (issue 26)
        assert {m.served_version for m in session.scalars(select(Measure))} == {rules.version}
        promote(session, model.version)
        prune(session)
    tags = _tags(engine)
    assert all(v in (model.version, "manual") for _, _, v in tags[recall] | tags[notification])
    assert ("electronics_ict", "manual", "manual") in tags[recall]
    assert ("toys", "model", model.version) in tags[recall]  # the constructed head always says toys
    with session_scope(engine) as session:
        assert {m.tagged_version for m in session.scalars(select(Measure))} == {model.version}


def test_limit_leaves_the_rest_pending(engine: Engine) -> None:
    _seed(engine)
    outcome = tag_pending(engine, Classifier.load(mode="rules"), limit=1)
    assert outcome.measures_tagged == 1
    assert outcome.remaining == 1


def test_classify_pending_reads_the_mode_from_settings(make_settings, tmp_path: Path) -> None:
    settings: Settings = make_settings(TBT_CLASSIFIER_MODE="rules")
    from schema.engine import make_engine

    engine = make_engine(settings.database_url)
    _seed(engine)
    outcome = classify_pending(settings)
    assert outcome.mode == "rules"
    assert outcome.measures_tagged == 2
