"""Partitioned tagging on the real databases: the plan covers every pending measure exactly once,
N worker processes tag exactly as one does, and a partition killed mid-way resumes without
losing or doubling a tag."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select, update

from classifiers.classifier import Classifier, Reading
from classifiers.partitions import (
    MEASURE_COST_CHARS,
    TEXT_CHARS_READ,
    Partition,
    plan_partitions,
    planned_version,
    tag_partition,
)
from classifiers.tagging import measure_record, tag_pending
from pipeline.cli import main
from schema.engine import session_scope
from schema.ids import measure_id
from schema.models import Measure, SectorTag, Source
from tbt_alert.errors import ClassifierError
from tbt_alert.settings import load_settings

# CONSTRUCTED measures (not source records): titles and HS codes combined so the rules
# classifier gives varied tags (HS, keywords, none).
_PRODUCTS = [
    ("Safety of toys with button batteries", ["9503"]),
    ("Electric hair dryers: overheating of the heating element", []),
    ("Lithium-ion batteries for e-bikes", ["850760"]),
    ("Maximum residue limits of pesticides in tea", ["0902"]),
    ("Formaldehyde in children's clothing", ["6111"]),
    ("LED lamps: energy efficiency requirements", ["853950"]),
    ("Leather footwear: chromium VI limit", ["6403"]),
    ("Medical devices: registration of surgical masks", []),
]


def _seed(engine: Engine, count: int = 40) -> list[str]:
    ids = []
    with session_scope(engine) as session:
        session.add(Source(id="test_source", name="Constructed test source", kind="notification", jurisdiction="WTO"))
        session.flush()
        for n in range(count):
            title, hs = _PRODUCTS[n % len(_PRODUCTS)]
            key = f"G/TBT/N/TEST/{n}"
            ids.append(measure_id("test_source", key))
            session.add(
                Measure(
                    id=ids[-1],
                    source_id="test_source",
                    source_key=key,
                    kind="tbt_notification",
                    title=f"{title} ({n})",
                    hs_codes=hs,
                    content_hash=key,
                )
            )
    return ids


def _tags(engine: Engine) -> list[tuple[str, str, str, float, str]]:
    with session_scope(engine) as session:
        rows = session.execute(
            select(
                SectorTag.measure_id, SectorTag.sector, SectorTag.method, SectorTag.score, SectorTag.classifier_version
            ).order_by(SectorTag.measure_id, SectorTag.sector, SectorTag.method)
        ).all()
    return [(m, s, k, round(v, 6), c) for m, s, k, v, c in rows]


def _pending_in(engine: Engine, partition: Partition) -> set[str]:
    """The ids the database itself puts in ``partition`` (its collation, as tagging compares)."""
    query = select(Measure.id).where(Measure.tagged_version.is_distinct_from(partition.classifier_version))
    if partition.first_id is not None:
        query = query.where(Measure.id >= partition.first_id)
    if partition.last_id is not None:
        query = query.where(Measure.id <= partition.last_id)
    with session_scope(engine) as session:
        return set(session.scalars(query))


def test_partitions_cover_every_pending_id_exactly_once(engine: Engine) -> None:
    ids = _seed(engine, 41)
    rules = Classifier.load(mode="rules")
    done = sorted(ids)[::5]  # already tagged by this version: not pending, in no partition's count
    with session_scope(engine) as session:
        session.execute(update(Measure).where(Measure.id.in_(done)).values(tagged_version=rules.version))
    pending = set(ids) - set(done)

    plan = plan_partitions(engine, rules.version, 3)

    assert [(p.index, p.count) for p in plan] == [(0, 3), (1, 3), (2, 3)]
    parts = [_pending_in(engine, p) for p in plan]
    assert set().union(*parts) == pending
    assert sum(len(p) for p in parts) == len(pending)  # disjoint: no id in two partitions
    costs = _costs(engine)
    weights = [sum(costs[i] for i in part) for part in parts]
    # Each range holds the rows whose running cost starts in its share: within one measure of it.
    assert max(weights) - min(weights) < 2 * max(costs.values())
    assert all(p.first_id in part and p.last_id in part for p, part in zip(plan, parts, strict=True))
    # Through XCom and to a worker process: JSON and back, unchanged.
    assert [Partition.from_dict(json.loads(json.dumps(p.as_dict()))) for p in plan] == plan


def _costs(engine: Engine) -> dict[str, int]:
    """Each measure's tagging cost as plan_partitions weighs it, computed here in Python."""
    with session_scope(engine) as session:
        rows = session.execute(select(Measure.id, Measure.title, Measure.products, Measure.description)).all()
    return {
        i: min(len(t or "") + len(p or "") + len(d or ""), TEXT_CHARS_READ) + MEASURE_COST_CHARS for i, t, p, d in rows
    }


def test_long_texts_make_short_ranges(engine: Engine) -> None:
    """Equal counts were not equal work (an ePing range of long notifications took twice as long
    as a range of short recall titles): the plan weighs each measure by the text the encoder reads."""
    ids = sorted(_seed(engine, 40))
    long_text = "Conformity assessment of toys: " + "requirements " * 80  # CONSTRUCTED, past the 128 tokens
    with session_scope(engine) as session:
        session.execute(update(Measure).where(Measure.id.in_(ids[:20])).values(description=long_text))
    rules = Classifier.load(mode="rules")
    first, second = plan_partitions(engine, rules.version, 2)
    in_first, in_second = _pending_in(engine, first), _pending_in(engine, second)
    assert in_first | in_second == set(ids)
    assert len(in_first) < 14 < 26 < len(in_second)  # by count 20 and 20; by cost about 12 and 28
    costs = _costs(engine)
    assert abs(sum(costs[i] for i in in_first) - sum(costs[i] for i in in_second)) < 2 * max(costs.values())


def test_fewer_pending_than_partitions_and_none_pending(engine: Engine) -> None:
    ids = _seed(engine, 2)
    rules = Classifier.load(mode="rules")
    plan = plan_partitions(engine, rules.version, 4)
    assert [p.count for p in plan] == [2, 2]  # two measures: two partitions, not four
    assert {frozenset(_pending_in(engine, p)) for p in plan} == {frozenset({i}) for i in ids}
    tag_pending(engine, rules)
    # Nothing pending: still one (open) partition, so the mapped task and the stages after it run.
    assert plan_partitions(engine, rules.version, 4) == [Partition(0, 1, None, None, rules.version)]
    with pytest.raises(ClassifierError, match="TBT_TAGGING_PARTITIONS"):
        plan_partitions(engine, rules.version, 0)


class _DiesOnBatch:
    """The rules classifier, killed (an exception) when its ``dies_on``-th batch is read."""

    def __init__(self, inner: Classifier, dies_on: int) -> None:
        self.inner, self.dies_on, self.batches = inner, dies_on, 0
        self.version, self.encoder_version, self.mode = inner.version, inner.encoder_version, inner.mode

    def embedding_texts(self, records: Sequence[dict[str, Any]]) -> list[str]:
        return self.inner.embedding_texts(records)

    def read(self, records: Sequence[dict[str, Any]], *, vectors: Any = None, texts: Any = None) -> list[Reading]:
        self.batches += 1
        if self.batches == self.dies_on:
            raise RuntimeError("worker killed")
        return self.inner.read(records)


def test_an_interrupted_partition_reruns_to_every_tag_once(engine: Engine) -> None:
    _seed(engine, 30)
    rules = Classifier.load(mode="rules")
    first, second = plan_partitions(engine, rules.version, 2)
    in_first = _pending_in(engine, first)

    with pytest.raises(RuntimeError, match="worker killed"):
        tag_partition(engine, _DiesOnBatch(rules, dies_on=2), first, batch_size=4)  # type: ignore[arg-type]
    # The first batch was committed, the second rolled back; the other partition untouched.
    assert len(in_first - _pending_in(engine, first)) == 4
    assert len(_pending_in(engine, second)) == 15

    resumed = tag_partition(engine, rules, first, batch_size=4)
    assert resumed.measures_tagged == len(in_first) - 4
    assert resumed.remaining == 0
    tag_partition(engine, rules, second, batch_size=4)
    assert tag_partition(engine, rules, first, batch_size=4).measures_tagged == 0  # a rerun tags nothing

    with session_scope(engine) as session:
        measures = list(session.scalars(select(Measure).order_by(Measure.id)))
        assert {m.tagged_version for m in measures} == {rules.version}
        readings = rules.read([measure_record(m) for m in measures])
        expected = {m.id: len(r.sectors) for m, r in zip(measures, readings, strict=True) if r.sectors}
        stored = dict(session.execute(select(SectorTag.measure_id, func.count()).group_by(SectorTag.measure_id)).all())
    assert sum(expected.values()) > len(expected) > 0
    assert stored == expected  # per measure: no tag lost, none written twice


def test_a_worker_with_another_classifier_refuses_the_partition(engine: Engine) -> None:
    _seed(engine, 3)
    plan = plan_partitions(engine, "tax0-some-other-version", 1)
    with pytest.raises(ClassifierError, match="same commit"):
        tag_partition(engine, Classifier.load(mode="rules"), plan[0])


def test_two_worker_processes_tag_exactly_like_one(
    db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = _seed(engine, 40)
    monkeypatch.setenv("TBT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TBT_SECRET_KEY", "x" * 40)
    monkeypatch.setenv("TBT_DATABASE_URL", db_url)

    assert main(["classify", "--rules-only", "--workers", "1", "--batch-size", "8"]) == 0
    one = _tags(engine)
    assert one
    assert {t[0] for t in one} <= set(ids)
    with session_scope(engine) as session:  # back to untagged, tags gone
        session.execute(delete(SectorTag))
        session.execute(update(Measure).values(tagged_version=None))
    capsys.readouterr()

    assert main(["classify", "--rules-only", "--workers", "2", "--batch-size", "8"]) == 0

    printed = capsys.readouterr().out
    assert "partition 1/2" in printed
    assert "partition 2/2" in printed
    assert "tagged 40 measures" in printed
    assert _tags(engine) == one
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Measure).where(Measure.tagged_version.is_(None))) == 0


def test_the_planned_version_is_the_taggers_without_loading_the_encoder(
    tmp_path: Path, tiny_encoder_dir: Path, tiny_head_dir: Path
) -> None:
    env = {"TBT_DATA_DIR": str(tmp_path), "TBT_SECRET_KEY": "x" * 40}
    rules = load_settings({**env, "TBT_CLASSIFIER_MODE": "rules"})
    assert planned_version(rules) == Classifier.load(mode="rules").version
    model = load_settings({**env, "TBT_CLASSIFIER_MODE": "model", "TBT_ENCODER_PATH": str(tiny_encoder_dir)})
    loaded = Classifier.load(mode="model", encoder_path=tiny_encoder_dir, head_dir=tiny_head_dir)
    assert planned_version(model, head_dir=tiny_head_dir) == loaded.version != planned_version(rules)
