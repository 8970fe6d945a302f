"""Suggested HS codes in the classify stage: stored beside the tags, replaced with them when the
classifier version changes, and never written into a measure's source ``hs_codes``."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, select

from classifiers.classifier import Classifier
from classifiers.hs_catalogue import hs_name
from classifiers.hs_suggest import HsIndex
from classifiers.tagging import tag_pending
from classifiers.versions import promote, prune
from schema.engine import session_scope
from schema.ids import measure_id
from schema.models import Measure, SectorTag, Source, SuggestedHsCode

SOURCE_CODES = ["9503", "850650"]


def _seed(engine: Engine) -> tuple[str, str]:
    """Two measures CONSTRUCTED for this test: a notification with source HS codes, a recall without."""
    rows = [
        ("G/TBT/N/TEST/HS/1", "Safety of toys containing button batteries", SOURCE_CODES, "tbt_notification"),
        ("TEST-RECALL-HS-2", "Electric kettle recalled: the lid opens while boiling", [], "recall"),
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
                    hs_codes=list(hs),
                    content_hash=key,
                )
            )
    return measure_id("test_source", rows[0][0]), measure_id("test_source", rows[1][0])


def _head_with_index(tiny_head_dir: Path, folder: Path, code: str, threshold: float) -> Path:
    """The tiny head beside a CONSTRUCTED HS index whose texts all carry ``code``: every
    measure is then suggested exactly that code (random vectors; they only need to exist)."""
    shutil.copytree(tiny_head_dir, folder)
    vectors = np.random.default_rng(7).normal(size=(6, 32)).astype(np.float32)
    index = HsIndex.fit(vectors, [code] * 6, ["constructed"] * 6, ["en"] * 6)
    index.meta = {"match_threshold": threshold, "constructed": True}
    index.save(folder)
    return folder


def _suggestions(engine: Engine) -> dict[str, list[tuple[int, str, str]]]:
    with session_scope(engine) as session:
        out: dict[str, list[tuple[int, str, str]]] = {}
        for row in session.scalars(select(SuggestedHsCode).order_by(SuggestedHsCode.measure_id, SuggestedHsCode.rank)):
            out.setdefault(row.measure_id, []).append((row.rank, row.code, row.classifier_version))
        return out


def test_suggestions_are_stored_and_replaced_when_the_version_changes(
    engine: Engine, tiny_encoder_dir: Path, tiny_head_dir: Path, tmp_path: Path
) -> None:
    notification, recall = _seed(engine)
    kettles = Classifier.load(
        mode="model",
        encoder_path=tiny_encoder_dir,
        head_dir=_head_with_index(tiny_head_dir, tmp_path / "kettles", "851671", 0.5),
    )
    assert kettles.version.endswith(f"-hs{kettles.hs_index.version}")  # type: ignore[union-attr]
    first = tag_pending(engine, kettles)
    assert first.measures_tagged == 2
    assert first.hs_suggestions_written == 2
    assert _suggestions(engine) == {
        notification: [(1, "851671", kettles.version)],
        recall: [(1, "851671", kettles.version)],
    }
    with session_scope(engine) as session:
        row = session.scalars(select(SuggestedHsCode).where(SuggestedHsCode.measure_id == recall)).one()
        name = hs_name("851671")
        assert name is not None
        assert (row.name_zh, row.name_en) == (name.name_zh, name.name_en)  # as the suggester names it
        assert row.name_zh
        assert 0.0 <= row.score <= 1.0
        measure = session.get_one(Measure, recall)
        assert [s.code for s in measure.hs_suggestions] == ["851671"]

    # The same classifier again: nothing pending, nothing rewritten.
    assert tag_pending(engine, kettles).measures_tagged == 0
    assert _suggestions(engine)[recall] == [(1, "851671", kettles.version)]

    # A new HS index is a new classifier version: every measure is re-read, its suggestions replaced.
    toys = Classifier.load(
        mode="model",
        encoder_path=tiny_encoder_dir,
        head_dir=_head_with_index(tiny_head_dir, tmp_path / "toys", "950300", 0.5),
    )
    assert toys.version != kettles.version
    again = tag_pending(engine, toys, batch_size=1)
    assert again.measures_tagged == 2
    # Written beside the served version's until the switch (issue 26).
    assert {v for _, _, v in _suggestions(engine)[recall]} == {kettles.version, toys.version}
    _switch(engine, toys.version)
    assert _suggestions(engine) == {
        notification: [(1, "950300", toys.version)],
        recall: [(1, "950300", toys.version)],
    }
    with session_scope(engine) as session:
        versions = {t.classifier_version for t in session.scalars(select(SectorTag))}
        assert versions == {toys.version}  # tags and suggestions move together


def test_source_hs_codes_are_never_touched(
    engine: Engine, tiny_encoder_dir: Path, tiny_head_dir: Path, tmp_path: Path
) -> None:
    notification, recall = _seed(engine)
    classifier = Classifier.load(
        mode="model",
        encoder_path=tiny_encoder_dir,
        head_dir=_head_with_index(tiny_head_dir, tmp_path / "kettles", "851671", 0.5),
    )
    tag_pending(engine, classifier)
    with session_scope(engine) as session:
        listed = session.get_one(Measure, notification)
        unlisted = session.get_one(Measure, recall)
        assert listed.hs_codes == SOURCE_CODES  # the source's codes, as stored, in their order
        assert unlisted.hs_codes == []  # a suggestion never becomes a source code
        assert [s.code for s in listed.hs_suggestions] == ["851671"]  # suggested beside them, apart
        # The sector tags from the source's codes still come from the source's codes.
        hs_tags = {t.sector for t in listed.sector_tags if t.method == "hs"}
        assert {"toys", "batteries"} <= hs_tags


def test_rules_mode_writes_no_suggestions_and_clears_old_ones(
    engine: Engine, tiny_encoder_dir: Path, tiny_head_dir: Path, tmp_path: Path
) -> None:
    _seed(engine)
    model = Classifier.load(
        mode="model",
        encoder_path=tiny_encoder_dir,
        head_dir=_head_with_index(tiny_head_dir, tmp_path / "kettles", "851671", 0.5),
    )
    tag_pending(engine, model)
    assert _suggestions(engine)
    # Rules mode reads no vectors, so it suggests nothing: a model's suggestions must not outlive its tags.
    rules = Classifier.load(mode="rules")
    outcome = tag_pending(engine, rules)
    assert outcome.measures_tagged == 2
    assert outcome.hs_suggestions_written == 0
    _switch(engine, rules.version)
    assert _suggestions(engine) == {}


def test_deleting_a_measure_deletes_its_suggestions(
    engine: Engine, tiny_encoder_dir: Path, tiny_head_dir: Path, tmp_path: Path
) -> None:
    _, recall = _seed(engine)
    model = Classifier.load(
        mode="model",
        encoder_path=tiny_encoder_dir,
        head_dir=_head_with_index(tiny_head_dir, tmp_path / "kettles", "851671", 0.5),
    )
    tag_pending(engine, model)
    with session_scope(engine) as session:
        session.delete(session.get_one(Measure, recall))
    assert recall not in _suggestions(engine)


def _switch(engine: Engine, version: str) -> None:
    """The database's part of a classifier version switch (search.lifecycle.switch_version)."""
    with session_scope(engine) as session:
        promote(session, version)
        prune(session)
