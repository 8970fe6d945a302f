"""Cited standards stored at tagging time, re-read by ``classify --standards``, written by ``classify --jsonl``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from classifiers.classifier import Classifier
from classifiers.tagging import extract_all_standards, tag_pending
from pipeline.cli import main
from schema.engine import session_scope
from schema.ids import measure_id
from schema.models import Measure, MeasureStandard, Source

# Safety Gate A12/00323/22 (report_10000086.xml.gz), its danger text verbatim.
DANGER = (
    "The accessible wires have inadequate insulation. Furthermore, the cable is not properly anchored and is too "
    "thin. The cable could overheat, leading to burns or fire. The user could touch accessible live parts, which "
    "may cause an electric shock. The product does not comply with the requirements of the Low Voltage Directive "
    "nor with European standards EN 60598-1, EN 60598-2-20, EN 61347-1, EN 60228."
)


def _seed(engine: Engine) -> str:
    with session_scope(engine) as session:
        session.add(Source(id="eu_safety_gate", name="Safety Gate", kind="recall", jurisdiction="EU"))
        session.flush()
        session.add(
            Measure(
                id=measure_id("eu_safety_gate", "A12/00323/22"),
                source_id="eu_safety_gate",
                source_key="A12/00323/22",
                kind="recall",
                title="Light chain",
                hazard=DANGER,
                content_hash="h1",
            )
        )
    return measure_id("eu_safety_gate", "A12/00323/22")


def _stored(engine: Engine, mid: str) -> list[tuple[int, str, str]]:
    with session_scope(engine) as session:
        rows = session.scalars(select(MeasureStandard).where(MeasureStandard.measure_id == mid))
        return sorted((r.rank, r.code, r.key) for r in rows)


def test_tagging_stores_the_cited_standards_and_replaces_them(engine: Engine) -> None:
    mid = _seed(engine)
    outcome = tag_pending(engine, Classifier.load(mode="rules"))
    assert outcome.standards_written == 4
    assert _stored(engine, mid) == [
        (1, "EN 60598-1", "EN 60598"),
        (2, "EN 60598-2-20", "EN 60598"),
        (3, "EN 61347-1", "EN 61347"),
        (4, "EN 60228", "EN 60228"),
    ]
    with session_scope(engine) as session:
        measure = session.get(Measure, mid)
        assert measure is not None
        measure.hazard = "The product does not comply with EN 60598-1:2015+A1:2018."
        measure.tagged_version = None
    tag_pending(engine, Classifier.load(mode="rules"))
    assert _stored(engine, mid) == [(1, "EN 60598-1:2015+A1:2018", "EN 60598")]


def test_extract_all_standards_fills_measures_tagged_before(engine: Engine) -> None:
    mid = _seed(engine)
    assert _stored(engine, mid) == []
    assert extract_all_standards(engine) == (1, 4)
    assert extract_all_standards(engine) == (1, 4)  # idempotent: replaced, not added
    assert len(_stored(engine, mid)) == 4


def test_jsonl_writes_standards(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TBT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TBT_SECRET_KEY", "x" * 40)
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    records = [{"id": "a", "title": "Light chain", "hazard": DANGER}, {"id": "b", "title": "STIHL MS 361C chain saws"}]
    source.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    assert main(["classify", "--rules-only", "--jsonl", str(source), str(target)]) == 0
    out = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [s["code"] for s in out[0]["standards"]] == ["EN 60598-1", "EN 60598-2-20", "EN 61347-1", "EN 60228"]
    assert out[0]["standards"][1] == {
        "code": "EN 60598-2-20",
        "key": "EN 60598",
        "body": "EN",
        "number": "60598",
        "part": "2-20",
        "year": None,
        "amendment": None,
        "adopted_by": None,
    }
    assert out[1]["standards"] == []
