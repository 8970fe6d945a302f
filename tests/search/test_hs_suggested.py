"""Suggested HS codes in the index: shown apart from the source's codes, filterable above the
threshold only where the source lists none, and an index of older mappings rebuilt by an update."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine, delete

from classifiers.hs_catalogue import hs_name
from schema.engine import session_scope
from schema.models import PipelineState, SuggestedHsCode
from search.documents import measure_document
from search.lifecycle import checkpoint_key, rebuild_index, update_index
from search.mappings import index_settings, measure_mappings
from search.names import MAPPING_VERSION, alias
from search.query import SearchRequest, search_measures
from tests.search.conftest import SearchEnv
from tests.search.test_mappings import _paths

MIN_SCORE = "0.5"  # TBT_HS_SUGGESTION_MIN_SCORE of these tests: no trained HS index needed
# Suggestions the tests assign (source key -> (code, score) best first): inputs, not classifier output.
SUGGESTED: dict[str, list[tuple[str, float]]] = {
    "18218": [("732111", 0.81), ("851660", 0.30)],  # gas ranges: the oven subheading scores too low
    "13117": [("851660", 0.72)],  # wall ovens, no source code: found under 8516 as suggested
    "A12/00839/21": [("950300", 0.66)],  # toy drum, no source code
    "crn:25_03831": [("851671", 0.90)],  # lists HS 3210 itself: its suggestion is never filterable
}


def _suggest(engine: Engine, ids: dict[str, str], *, at: dt.datetime | None = None) -> None:
    with session_scope(engine) as session:
        for key, suggestions in SUGGESTED.items():
            for rank, (code, score) in enumerate(suggestions, start=1):
                name = hs_name(code)
                assert name is not None
                session.add(
                    SuggestedHsCode(
                        measure_id=ids[key], rank=rank, code=code, score=score, name_zh=name.name_zh,
                        name_en=name.name_en, classifier_version="test", created_at=at or dt.datetime.now(dt.UTC),
                    )
                )  # fmt: skip


def _with_min_score(env: SearchEnv, make_settings: Any) -> SearchEnv:
    settings = make_settings(
        TBT_DATABASE_URL=env.settings.database_url,
        TBT_INDEX_PREFIX=env.settings.index_prefix,
        TBT_HS_SUGGESTION_MIN_SCORE=MIN_SCORE,
    )
    return SearchEnv(settings, env.engine, env.ids)


def _hits(es: Any, env: SearchEnv, **request: Any) -> dict[str, Any]:
    return {h.id: h for h in search_measures(es, env.settings, SearchRequest(size=100, **request)).hits}


# ------------------------------------------------------------------ documents (no services)


def _row(hs_codes: list[str], suggested: list[tuple[str, float]]) -> dict[str, Any]:
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    return {
        "id": "m1", "source_id": "us_cpsc", "source_key": "k", "kind": "recall", "title": "Kettle",
        "hs_codes": hs_codes, "first_seen": now, "last_changed": now,
        "hs_suggested": [{"code": c, "score": s, "name_zh": f"品名{c}", "name_en": f"name {c}"} for c, s in suggested],
    }  # fmt: skip


def test_a_document_marks_suggestions_and_files_only_those_above_the_threshold() -> None:
    doc = measure_document(_row([], [("851671", 0.83), ("851679", 0.2)]), hs_min_score=0.5)
    assert doc["hs_codes"] == []
    assert doc["hs_suggested"] == [
        {"code": "851671", "score": 0.83, "name_zh": "品名851671", "name_en": "name 851671", "suggested": True},
        {"code": "851679", "score": 0.2, "name_zh": "品名851679", "name_en": "name 851679", "suggested": True},
    ]
    assert doc["hs_suggested_codes"] == ["851671"]
    assert set(doc) <= _paths(measure_mappings()["properties"])
    assert {f"hs_suggested.{k}" for k in doc["hs_suggested"][0]} <= _paths(measure_mappings()["properties"])


def test_a_source_code_keeps_suggestions_out_of_the_filter() -> None:
    doc = measure_document(_row(["3210"], [("851671", 0.95)]), hs_min_score=0.5)
    assert doc["hs_codes"] == ["3210"]
    assert doc["hs_suggested_codes"] == []  # shown (hs_suggested) but never filed as a code of the measure
    assert [s["code"] for s in doc["hs_suggested"]] == ["851671"]


def test_without_a_threshold_nothing_is_filterable() -> None:
    assert measure_document(_row([], [("851671", 0.99)]))["hs_suggested_codes"] == []


# ------------------------------------------------------------------ the live index


def test_hs_filter_finds_suggested_codes_and_says_so(es: Any, search_env: SearchEnv, make_settings: Any) -> None:
    env = _with_min_score(search_env, make_settings)
    ids = env.ids
    _suggest(env.engine, ids)
    rebuild_index(env.settings, client=es)

    ovens = _hits(es, env, hs_prefix="8516")
    # 13117 by its suggestion; not 18218 (0.30 < 0.5), not the paint notification (its source lists 3210).
    assert set(ovens) == {ids["13117"]}
    assert ovens[ids["13117"]].hs_match == "suggested"
    shown = ovens[ids["13117"]].fields
    assert shown["hs_codes"] == []
    assert shown["hs_suggested"][0]["code"] == "851660"
    assert shown["hs_suggested"][0]["suggested"] is True
    assert shown["hs_suggested"][0]["name_zh"] == hs_name("851660").name_zh  # type: ignore[union-attr]

    toys = _hits(es, env, hs_prefix="9503")
    assert set(toys) == {ids["CONSTRUCTED-ZH-1"], ids["A12/00839/21"]}
    assert toys[ids["CONSTRUCTED-ZH-1"]].hs_match == "declared"
    assert toys[ids["A12/00839/21"]].hs_match == "suggested"
    assert set(_hits(es, env, hs_prefix="9503", hs_source="declared")) == {ids["CONSTRUCTED-ZH-1"]}
    assert _hits(es, env, hs_prefix="8516", hs_source="declared") == {}
    assert all(h.hs_match is None for h in _hits(es, env, q="oven").values())  # no HS filter, no claim

    paint = _hits(es, env, hs_prefix="3210")
    assert set(paint) == {ids["crn:25_03831"]}
    assert paint[ids["crn:25_03831"]].fields["hs_codes"] == ["3210"]  # the source's codes, unchanged


def test_new_suggestions_reach_the_index_on_update(es: Any, search_env: SearchEnv, make_settings: Any) -> None:
    env = _with_min_score(search_env, make_settings)
    rebuild_index(env.settings, client=es)
    assert _hits(es, env, hs_prefix="8516") == {}
    with session_scope(env.engine) as session:  # the checkpoint past the load, as a later run finds it
        state = session.get(PipelineState, checkpoint_key(env.settings))
        assert state is not None
        state.value = {**state.value, "since": (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).isoformat()}
    _suggest(env.engine, env.ids)  # a re-classification: suggestions only, the measures unchanged
    outcome = update_index(env.settings, client=es)
    assert outcome.ok
    assert outcome.indexed == len(SUGGESTED)
    assert set(_hits(es, env, hs_prefix="8516")) == {env.ids["13117"]}
    with session_scope(env.engine) as session:  # a new version suggests nothing for the ovens any more
        session.execute(delete(SuggestedHsCode).where(SuggestedHsCode.measure_id == env.ids["13117"]))
        session.add(
            SuggestedHsCode(measure_id=env.ids["13117"], rank=1, code="732111", score=0.9, name_zh="",
                            name_en="", classifier_version="test-2")
        )  # fmt: skip
    assert update_index(env.settings, client=es).ok
    assert _hits(es, env, hs_prefix="8516") == {}


def test_update_rebuilds_an_index_of_older_mappings(es: Any, search_env: SearchEnv, make_settings: Any) -> None:
    env = _with_min_score(search_env, make_settings)
    settings = env.settings
    first = rebuild_index(settings, client=es)
    # An index as the previous release built it: version 2 in its name, behind the alias, with a checkpoint.
    old = first.measures_index.replace(f"-v{MAPPING_VERSION}-", f"-v{MAPPING_VERSION - 1}-")
    mappings = measure_mappings()
    for name in ("hs_suggested", "hs_suggested_codes"):
        del mappings["properties"][name]
    es.indices.create(index=old, mappings=mappings, settings=index_settings(loading=False))
    es.indices.update_aliases(
        actions=[
            {"remove": {"index": first.measures_index, "alias": alias(settings, "measures")}},
            {"add": {"index": old, "alias": alias(settings, "measures")}},
        ]
    )
    es.indices.delete(index=first.measures_index)
    _suggest(env.engine, env.ids)

    outcome = update_index(settings, client=es)
    assert outcome.rebuilt is not None  # the strict old mapping would refuse every new document
    assert f"-v{MAPPING_VERSION}-" in outcome.rebuilt.measures_index
    assert old in outcome.rebuilt.removed_indices
    assert set(es.indices.get_alias(name=alias(settings, "measures")).body) == {outcome.rebuilt.measures_index}
    assert set(_hits(es, env, hs_prefix="8516")) == {env.ids["13117"]}
    again = update_index(settings, client=es)
    assert again.rebuilt is None  # current now: updates are incremental again


# ------------------------------------------------------------------ the command line


def test_search_command_marks_suggested_codes(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
    sqlite_url: str,
    index_prefix: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    from pipeline.cli import main
    from schema.engine import make_engine
    from tests.search.conftest import load_measures

    env = {"TBT_DATA_DIR": str(tmp_path / "data"), "TBT_DATABASE_URL": sqlite_url, "TBT_INDEX_PREFIX": index_prefix,
           "TBT_SECRET_KEY": "k" * 40, "TBT_HS_SUGGESTION_MIN_SCORE": MIN_SCORE}  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    engine = make_engine(sqlite_url)
    ids = load_measures(engine)
    _suggest(engine, ids)
    engine.dispose()
    assert main(["index", "rebuild"]) == 0
    capsys.readouterr()

    assert main(["search", "--hs", "8516", "--json"]) == 0
    response = json.loads(capsys.readouterr().out)
    assert [h["id"] for h in response["hits"]] == [ids["13117"]]
    assert response["hits"][0]["hs_match"] == "suggested"
    assert response["hits"][0]["fields"]["hs_suggested"][0]["suggested"] is True

    assert main(["search", "--hs", "8516"]) == 0
    out = capsys.readouterr().out
    name = hs_name("851660")
    assert name is not None
    assert f"HS suggested (推测): 8516.60 {name.name_zh} (0.72)" in out
    assert "matched the HS filter by a suggested code (推测)" in out
    assert "HS (declared by the source)" not in out  # the ovens' source lists no code

    assert main(["search", "--hs", "8516", "--hs-source", "declared"]) == 0
    assert capsys.readouterr().out.startswith("0 measures")
    assert main(["search", "--hs", "3210"]) == 0
    out = capsys.readouterr().out
    assert "HS (declared by the source): 3210" in out
    assert "HS suggested (推测): 8516.71" in out  # shown apart, never as the source's
