"""Rebuilds behind the alias, the lock, incremental updates and an unreachable cluster (real ES and databases)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from devtools.processes import free_port
from schema.engine import session_scope
from schema.models import Bulletin, BulletinItem, Measure, PipelineState, SectorTag, Subscriber
from schema.upsert import store_measures
from search.lifecycle import OVERLAP, checkpoint_key, index_counts, rebuild_index, update_index
from search.lock import index_lock
from search.names import alias
from search.query import SearchRequest, search_bulletins, search_measures
from tbt_alert.errors import IndexBusy, SearchError, ServiceUnavailable
from tests.search.conftest import SearchEnv, records

N_MEASURES = len(records())


def _indices(es: Any, prefix: str) -> set[str]:
    return set(es.indices.get(index=f"{prefix}*", allow_no_indices=True, expand_wildcards="all"))


def _ids(es: Any, env: SearchEnv, **request: Any) -> set[str]:
    return {h.id for h in search_measures(es, env.settings, SearchRequest(size=100, **request)).hits}


def _checkpoint(env: SearchEnv) -> dict[str, Any] | None:
    with session_scope(env.engine) as session:
        state = session.get(PipelineState, checkpoint_key(env.settings))
        return dict(state.value) if state else None


def test_rebuild_swaps_the_alias_and_deletes_the_old_index(es: Any, search_env: SearchEnv) -> None:
    settings = search_env.settings
    first = rebuild_index(settings, client=es)
    assert first.measures == N_MEASURES
    assert es.indices.get_alias(name=alias(settings, "measures")).body.keys() == {first.measures_index}
    second = rebuild_index(settings, client=es)
    assert second.measures_index != first.measures_index
    assert sorted(second.removed_indices) == sorted([first.measures_index, first.bulletins_index])
    assert es.indices.get_alias(name=alias(settings, "measures")).body.keys() == {second.measures_index}
    assert not es.indices.exists(index=first.measures_index)
    counts = index_counts(settings, client=es)
    assert counts["index"]["measures"] == counts["database"]["measures"] == N_MEASURES
    assert counts["in_sync"] is True
    assert _checkpoint(search_env) is not None


def test_queries_keep_answering_during_rebuilds(
    es: Any, sqlite_url: str, make_settings: Any, index_prefix: str
) -> None:
    from schema.engine import make_engine
    from tests.search.conftest import load_measures

    settings = make_settings(TBT_DATABASE_URL=sqlite_url, TBT_INDEX_PREFIX=index_prefix)
    engine = make_engine(sqlite_url)
    load_measures(engine)
    engine.dispose()
    rebuild_index(settings, client=es)
    totals: list[int] = []
    failures: list[BaseException] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            try:
                totals.append(search_measures(es, settings, SearchRequest(q="toy OR Умное")).total)
            except BaseException as exc:  # noqa: BLE001 - any failure of a reader is what we look for
                failures.append(exc)

    answered_during: list[int] = []

    def wait_for_a_query(kind: str, indexed: int) -> None:
        # Mid-build (documents sent, alias not yet swapped), a query must be answered: on a busy
        # machine the reader thread could otherwise miss every rebuild.
        seen, deadline = len(totals), time.monotonic() + 30
        while len(totals) == seen and not failures and time.monotonic() < deadline:
            time.sleep(0.01)
        answered_during.append(len(totals) - seen)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for _ in range(3):
            rebuild_index(settings, client=es, progress=wait_for_a_query)
    finally:
        done.set()
        thread.join()
    assert not failures
    assert len(answered_during) >= 3
    assert all(answered_during)
    assert set(totals) == {totals[0]}
    assert totals[0] > 0


def test_interrupted_rebuild_leaves_the_alias_untouched(es: Any, search_env: SearchEnv) -> None:
    settings = search_env.settings
    live = rebuild_index(settings, client=es)
    before = _indices(es, settings.index_prefix)

    def crash(kind: str, done: int) -> None:
        raise RuntimeError("killed halfway")

    with pytest.raises(RuntimeError):
        rebuild_index(settings, client=es, progress=crash, batch_size=5)
    assert es.indices.get_alias(name=alias(settings, "measures")).body.keys() == {live.measures_index}
    assert _indices(es, settings.index_prefix) == before  # the half-built index is gone
    assert search_measures(es, settings, SearchRequest()).total == N_MEASURES
    rebuild_index(settings, client=es)  # and the lock was released


def test_a_commit_that_fails_after_the_swap_points_the_aliases_back(
    es: Any, search_env: SearchEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The swap reached Elasticsearch, then the database refused the commit that goes with it (a
    restart at that moment): search keeps the indices the database still serves, and the new ones
    go, where before they were deleted while live and search had no index until the next run."""
    settings = search_env.settings
    live = rebuild_index(settings, client=es)
    before = _indices(es, settings.index_prefix)
    sent = es.indices.update_aliases
    state = {"swapped": False, "refused": False}

    def swap(**request: Any) -> Any:
        answer = sent(**request)
        state["swapped"] = True
        return answer

    def refuse(session: Session) -> None:
        if state["swapped"] and not state["refused"]:
            state["refused"] = True
            raise RuntimeError("the database went away at commit")

    monkeypatch.setattr(es.indices, "update_aliases", swap)
    event.listen(Session, "before_commit", refuse)
    try:
        with pytest.raises(RuntimeError, match="went away"):
            rebuild_index(settings, client=es)
    finally:
        event.remove(Session, "before_commit", refuse)
    assert state["refused"]
    assert es.indices.get_alias(name=alias(settings, "measures")).body.keys() == {live.measures_index}
    assert es.indices.get_alias(name=alias(settings, "bulletins")).body.keys() == {live.bulletins_index}
    assert _indices(es, settings.index_prefix) == before
    assert search_measures(es, settings, SearchRequest()).total == N_MEASURES


def test_a_held_lock_stops_a_second_rebuild(es: Any, search_env: SearchEnv) -> None:
    settings = search_env.settings
    with index_lock(es, settings, "other process"), pytest.raises(IndexBusy, match="locked by"):
        rebuild_index(settings, client=es)
    # A dead holder's expired lock is taken over.
    with index_lock(es, settings, "dead", ttl=dt.timedelta(seconds=-1)):
        outcome = rebuild_index(settings, client=es)
    assert outcome.measures == N_MEASURES


def test_update_indexes_changes_retags_and_withdrawals(es: Any, search_env: SearchEnv) -> None:
    settings, engine, ids = search_env.settings, search_env.engine, search_env.ids
    rebuild_index(settings, client=es)
    # The checkpoint window must not still cover the load: move it past the overlap.
    with session_scope(engine) as session:
        state = session.get(PipelineState, checkpoint_key(settings))
        assert state is not None
        state.value = {**state.value, "since": (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).isoformat()}
    quiet = update_index(settings, client=es)
    assert (quiet.indexed, quiet.deleted) == (0, 0)

    changed = next(r for r in records() if r["source_key"] == "A12/00839/21")
    with session_scope(engine) as session:
        counts = store_measures(session, [{**changed, "title": "Toy drum with detachable springs"}])
        assert counts.changed == 1
        session.execute(update(Measure).where(Measure.id == ids["A12/00817/21"]).values(
            withdrawn=True, last_changed=dt.datetime.now(dt.UTC)))  # fmt: skip
        session.add(SectorTag(measure_id=ids["crn:25_03774"], sector="silk", score=0.9, method="model",
                              evidence={}, classifier_version="test-2"))  # fmt: skip
    outcome = update_index(settings, client=es)
    assert outcome.ok
    assert outcome.indexed == 2  # the changed and the re-tagged measure
    assert outcome.deleted == 1
    assert _ids(es, search_env, q="detachable springs") == {ids["A12/00839/21"]}
    assert ids["A12/00817/21"] not in _ids(es, search_env)
    assert _ids(es, search_env, sectors=["silk"]) == {ids["crn:25_03774"]}
    assert index_counts(settings, client=es)["in_sync"] is True


def test_a_withdrawal_outside_the_window_is_still_removed(es: Any, search_env: SearchEnv) -> None:
    settings, engine, ids = search_env.settings, search_env.engine, search_env.ids
    rebuild_index(settings, client=es)
    with session_scope(engine) as session:  # withdrawn without touching last_changed
        session.execute(update(Measure).where(Measure.id == ids["18218"]).values(withdrawn=True))
    outcome = update_index(settings, client=es)
    assert outcome.deleted == 1
    assert ids["18218"] not in _ids(es, search_env)


def test_unreachable_elasticsearch_fails_clearly_and_the_next_run_catches_up(
    es: Any, search_env: SearchEnv, make_settings: Any, db_url: str
) -> None:
    settings, engine, ids = search_env.settings, search_env.engine, search_env.ids
    rebuild_index(settings, client=es)
    before = _checkpoint(search_env)
    changed = next(r for r in records() if r["source_key"] == "13117")
    with session_scope(engine) as session:
        store_measures(session, [{**changed, "title": "BlueStar wall ovens recalled over fire hazard"}])
    down = make_settings(
        TBT_DATABASE_URL=db_url, TBT_INDEX_PREFIX=settings.index_prefix,
        TBT_ELASTICSEARCH_URL=f"http://127.0.0.1:{free_port()}",
    )  # fmt: skip
    with pytest.raises(ServiceUnavailable, match="unreachable.*TBT_ELASTICSEARCH_URL") as caught:
        update_index(down)
    assert isinstance(caught.value, SearchError)
    assert _checkpoint(search_env) == before
    outcome = update_index(settings, client=es)
    assert outcome.ok
    assert outcome.indexed >= 1
    assert ids["13117"] in _ids(es, search_env, q="fire hazard BlueStar")


def test_update_without_an_index_builds_one(es: Any, search_env: SearchEnv) -> None:
    outcome = update_index(search_env.settings, client=es)
    assert outcome.rebuilt is not None
    assert outcome.rebuilt.measures == N_MEASURES


def test_bulletins_are_indexed_and_found(es: Any, search_env: SearchEnv) -> None:
    settings, engine, ids = search_env.settings, search_env.engine, search_env.ids
    rebuild_index(settings, client=es)
    now = dt.datetime.now(dt.UTC)
    with session_scope(engine) as session:  # bulletin rows as the alerts stage writes them (constructed here)
        subscriber = Subscriber(email="buyer@example.com", name="李明", company="Yiwu Toys Co.", confirmed=True)
        session.add(subscriber)
        session.flush()
        bulletin = Bulletin(
            subscriber_id=subscriber.id, period_start=now - dt.timedelta(days=1), period_end=now,
            frequency="daily", language="zh", subject="TBT 预警：玩具 2 项", html="<p>..</p>",
            text="玩具 Toy drum; Play frame with slide and swings",
        )  # fmt: skip
        session.add(bulletin)
        session.flush()
        for key in ("A12/00839/21", "A11/00041/21"):
            session.add(BulletinItem(bulletin_id=bulletin.id, measure_id=ids[key], section="new",
                                     reasons=[{"sector": "toys"}]))  # fmt: skip
    outcome = update_index(settings, client=es)
    assert outcome.bulletins == 1
    found = search_bulletins(es, settings, measure_id=ids["A12/00839/21"])
    assert found.total == 1
    assert found.hits[0].fields["subject"] == "TBT 预警：玩具 2 项"
    assert search_bulletins(es, settings, subscriber_email="buyer@example.com").total == 1
    assert search_bulletins(es, settings, q="预警").total == 1
    assert search_bulletins(es, settings, measure_id=ids["18218"]).total == 0
    with session_scope(engine) as session:
        assert session.scalar(select(Bulletin.indexed_at)) is not None
    assert update_index(settings, client=es).bulletins == 0  # indexed once, not again


def test_a_refused_document_is_reported_and_retried(es: Any, search_env: SearchEnv) -> None:
    settings, engine, ids = search_env.settings, search_env.engine, search_env.ids
    live = rebuild_index(settings, client=es)
    # Corrupt one row behind the validators' back: a 40,000-character "HS code" is an immense
    # keyword term that Elasticsearch refuses for that one document.
    with session_scope(engine) as session:
        session.execute(update(Measure).where(Measure.id == ids["crn:25_03831"]).values(
            hs_codes=["9" * 40_000], last_changed=dt.datetime.now(dt.UTC)))  # fmt: skip
    outcome = update_index(settings, client=es)
    assert not outcome.ok
    assert [e.doc_id for e in outcome.errors] == [ids["crn:25_03831"]]
    assert "immense term" in outcome.errors[0].reason or "max_bytes_length" in outcome.errors[0].reason
    state = _checkpoint(search_env)
    assert state is not None
    assert state["failed_ids"] == [ids["crn:25_03831"]]
    # A rebuild refuses to publish an index that lacks the document; the live alias stays.
    with pytest.raises(SearchError, match="refused"):
        rebuild_index(settings, client=es)
    assert es.indices.get_alias(name=alias(settings, "measures")).body.keys() == {live.measures_index}
    # Once the row is repaired, the next update retries it even though nothing changed since.
    with session_scope(engine) as session:
        session.execute(update(Measure).where(Measure.id == ids["crn:25_03831"]).values(hs_codes=["3210"]))
        state_row = session.get(PipelineState, checkpoint_key(settings))
        assert state_row is not None
        # Past the overlap window: only the retry list can bring the measure back.
        later = dt.datetime.now(dt.UTC) + OVERLAP + dt.timedelta(minutes=1)
        state_row.value = {**state_row.value, "since": later.isoformat()}
    retried = update_index(settings, client=es)
    assert retried.ok
    assert retried.indexed == 1
    assert _ids(es, search_env, hs_prefix="3210") == {ids["crn:25_03831"]}
    assert (_checkpoint(search_env) or {})["failed_ids"] == []
