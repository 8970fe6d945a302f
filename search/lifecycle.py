"""The index lifecycle: full rebuilds behind an alias, incremental updates, and counts.

A rebuild (as yente does it) creates fresh versioned indices, bulk-loads them from the
database, refreshes, swaps both aliases in one ``update_aliases`` call and only then
deletes the old indices; anything failing before the swap deletes the half-built indices
and leaves the live alias untouched. An update re-indexes what changed since the last
successful update (checkpoint in ``pipeline_state``), deletes withdrawn measures, and
advances the checkpoint only when it got through, so a run that fails is caught up by the next.

A new classifier version (issue 26) is switched to here: once every measure is tagged with it, the
index is rebuilt from that version's tags, and the alias swap and the database's switch of the served
version (``classifiers.versions.promote``) happen in one step; a rebuild that fails leaves the old
version active and its index live. The previous version's rows are pruned afterwards.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from classifiers.versions import building_version, pending_for, promote, prune
from schema.engine import engine_scope, session_for, session_scope
from schema.models import Bulletin, PipelineState, utcnow
from search import reader
from search.bulk import BulkReport, DocumentError, delete_action, index_action, send
from search.client import cluster_info, guarded, make_client
from search.documents import bulletin_document, measure_document
from search.lock import index_lock
from search.mappings import bulletin_mappings, dynamic_settings, index_settings, measure_mappings
from search.names import KINDS, alias, is_current_index, is_versioned_index, new_index
from tbt_alert.clock import as_utc
from tbt_alert.errors import SearchError
from tbt_alert.settings import Settings

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

log = logging.getLogger(__name__)

# Re-read this much before the checkpoint: a writer's transaction may commit a little after
# the timestamp it stored, and re-indexing a measure twice costs nothing.
OVERLAP = dt.timedelta(minutes=10)
MAX_ERRORS_SHOWN = 10

Progress = Callable[[str, int], None]


class SuggestionThreshold:
    """The score from which a suggested HS code is filterable: TBT_HS_SUGGESTION_MIN_SCORE, else the
    threshold calibrated with the HS index; read once, and only when a measure has suggestions (an
    index of measures without any needs no trained HS index)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._value: float | None = None

    def __call__(self) -> float:
        if self._value is None:
            from classifiers.hs_threshold import suggestion_threshold

            self._value = suggestion_threshold(self.settings)
        return self._value


def _document(row: dict[str, Any], tags: list[dict[str, Any]], threshold: SuggestionThreshold) -> dict[str, Any]:
    """The measure's index document, the suggestion threshold resolved only where it is needed."""
    return measure_document(row, tags, hs_min_score=threshold() if row.get("hs_suggested") else None)


def checkpoint_key(settings: Settings) -> str:
    return f"search.index:{settings.index_prefix}"


@dataclass
class RebuildOutcome:
    measures_index: str
    bulletins_index: str
    measures: int
    bulletins: int
    removed_indices: list[str]
    seconds: float
    switched_to: str | None = None  # the classifier version this rebuild switched readers to
    pruned: tuple[int, int] = (0, 0)  # the previous version's (sector tags, HS suggestions) deleted

    @property
    def docs_per_second(self) -> float:
        return (self.measures + self.bulletins) / self.seconds if self.seconds > 0 else 0.0


@dataclass
class UpdateOutcome:
    indexed: int = 0
    deleted: int = 0
    bulletins: int = 0
    errors: list[DocumentError] = field(default_factory=list)
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    rebuilt: RebuildOutcome | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


# ------------------------------------------------------------------ bookkeeping


def _load_checkpoint(session: Session, settings: Settings) -> dict[str, Any] | None:
    state = session.get(PipelineState, checkpoint_key(settings))
    return dict(state.value) if state else None


def _save_checkpoint(session: Session, settings: Settings, value: dict[str, Any]) -> None:
    key = checkpoint_key(settings)
    state = session.get(PipelineState, key)
    if state is None:
        session.add(PipelineState(key=key, value=value))
    else:
        state.value = value


def _raise_for(report: BulkReport, what: str) -> None:
    if report.errors:
        shown = "; ".join(str(e) for e in report.errors[:MAX_ERRORS_SHOWN])
        more = len(report.errors) - MAX_ERRORS_SHOWN
        tail = f"; and {more} more" if more > 0 else ""
        raise SearchError(
            f"{len(report.errors)} {what} document(s) were refused ({shown}{tail}); "
            "the live index was left as it was; fix the documents and rebuild"
        )


def _alias_targets(client: Elasticsearch, settings: Settings, name: str) -> list[str]:
    from elasticsearch import NotFoundError

    with guarded(settings, f"read the alias {name}"):
        try:
            return sorted(client.indices.get_alias(name=name))
        except NotFoundError:
            return []


# ------------------------------------------------------------------ rebuild


def _measure_actions(
    session: Session,
    index: str,
    progress: Progress | None,
    batch_size: int,
    threshold: SuggestionThreshold,
    version: str | None = None,
) -> Iterator[dict[str, Any]]:
    done = 0
    for batch in reader.iter_live_measures(session, batch_size=batch_size, version=version):
        for row, tags in batch:
            yield index_action(index, _document(row, tags, threshold))
        done += len(batch)
        if progress:
            progress("measures", done)


def _bulletin_actions(session: Session, index: str, pending_only: bool, ids: list[int]) -> Iterator[dict[str, Any]]:
    for batch in reader.iter_bulletins(session, pending_only=pending_only):
        for bulletin, subscriber, items in batch:
            ids.append(bulletin["id"])
            yield index_action(index, bulletin_document(bulletin, subscriber, items))


def rebuild_index(
    settings: Settings,
    *,
    client: Elasticsearch | None = None,
    progress: Progress | None = None,
    batch_size: int = 1000,
    threads: int = 2,
    switch_to: str | None = None,
    switched_at: dt.datetime | None = None,
) -> RebuildOutcome:
    """Build fresh measure and bulletin indices from the database and swap the aliases to them.

    ``threads`` bulk requests run in parallel while the database is read: with two, reading
    and indexing overlap (the load benchmark's 63,000 measures: 62 s with one, 37 s with two).
    ``switch_to``: build from that classifier version's tags and make it the served version in the
    transaction around the alias swap (:func:`switch_version`), dated ``switched_at`` (default: now).
    """
    client = client or make_client(settings)
    with engine_scope(settings) as engine, index_lock(client, settings, "rebuild"):
        return _rebuild_locked(client, settings, engine, progress, batch_size, threads, switch_to, switched_at)


def _rebuild_locked(
    client: Elasticsearch,
    settings: Settings,
    engine: Engine,
    progress: Progress | None,
    batch_size: int,
    threads: int,
    switch_to: str | None = None,
    switched_at: dt.datetime | None = None,
) -> RebuildOutcome:
    started = utcnow()
    clock = time.perf_counter()
    info = cluster_info(client, settings)
    targets = {kind: new_index(settings, kind, started) for kind in KINDS}
    mappings = {"measures": measure_mappings(info.chinese_analyzer), "bulletins": bulletin_mappings()}
    created: list[str] = []
    restore: list[dict[str, Any]] = []  # the swap back to the old indices, once the swap was sent
    try:
        for kind, name in targets.items():
            with guarded(settings, f"create the index {name}"):
                client.indices.create(index=name, mappings=mappings[kind], settings=index_settings(loading=True))
            created.append(name)
        with session_scope(engine) as session:
            actions = _measure_actions(
                session, targets["measures"], progress, batch_size, SuggestionThreshold(settings), switch_to
            )
            measures = send(client, settings, actions, threads=threads)
            _raise_for(measures, "measure")
            bulletin_ids: list[int] = []
            bulletins = send(client, settings, _bulletin_actions(session, targets["bulletins"], False, bulletin_ids))
            _raise_for(bulletins, "bulletin")
        swaps, back = _ready_to_swap(client, settings, targets)
        # One call: readers see either the old pair of indices or the new one, never neither. A switch
        # of classifier version commits with it: a failed swap, or a failed commit after it, rolls
        # the promotion back and the aliases with it (below).
        with session_scope(engine) as session:
            if switch_to is not None:
                promote(session, switch_to, now=switched_at or started)
                session.flush()
            restore = back
            with guarded(settings, "swap the aliases to the new indices"):
                client.indices.update_aliases(actions=swaps)
    except BaseException:
        if restore and not _swap_back_quietly(client, restore):
            raise  # the new indices may be live: they are kept, and the next rebuild replaces them
        _delete_quietly(client, created)
        raise
    removed = _delete_old(client, settings, keep=set(targets.values()))
    with session_scope(engine) as session:
        _save_checkpoint(session, settings, {"since": started.isoformat(), "failed_ids": [], "mode": "rebuild"})
        if bulletin_ids:
            session.execute(update(Bulletin).where(Bulletin.id.in_(bulletin_ids)).values(indexed_at=started))
    pruned = (0, 0)
    if switch_to is not None:
        with session_scope(engine) as session:
            pruned = prune(session)
        log.info("switched to classifier %s; pruned %d sector tags and %d HS suggestions", switch_to, *pruned)
    seconds = time.perf_counter() - clock
    outcome = RebuildOutcome(
        targets["measures"], targets["bulletins"], measures.indexed, bulletins.indexed, removed, seconds,
        switch_to, pruned,
    )  # fmt: skip
    log.info("rebuilt %s (%d measures, %d bulletins) in %.1fs", targets["measures"], outcome.measures,
             outcome.bulletins, seconds)  # fmt: skip
    return outcome


def _ready_to_swap(
    client: Elasticsearch, settings: Settings, targets: dict[str, str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Open the built indices to searches; the alias actions that swap to them, and those that swap back."""
    swaps: list[dict[str, Any]] = []
    back: list[dict[str, Any]] = []
    for kind, name in targets.items():
        with guarded(settings, f"refresh the index {name}"):
            client.indices.put_settings(index=name, settings=dynamic_settings(loading=False))
            client.indices.refresh(index=name)
        name_of_alias = alias(settings, kind)
        old = _alias_targets(client, settings, name_of_alias)
        swaps += [{"remove": {"index": o, "alias": name_of_alias}} for o in old]
        swaps.append({"add": {"index": name, "alias": name_of_alias}})
        # must_exist=False: a swap that never reached the cluster left nothing to remove.
        back.append({"remove": {"index": name, "alias": name_of_alias, "must_exist": False}})
        back += [{"add": {"index": o, "alias": name_of_alias}} for o in old]
    return swaps, back


def _swap_back_quietly(client: Elasticsearch, actions: list[dict[str, Any]]) -> bool:
    """Point the aliases at the old indices again, after a swap whose reply was lost or whose
    database commit failed: search must serve the version the database serves. False where
    Elasticsearch refused; the aliases may then be on the new indices until the next rebuild."""
    from elasticsearch import ApiError, TransportError

    try:
        client.indices.update_aliases(actions=actions)
    except (ApiError, TransportError) as exc:
        log.error("could not point the aliases back at the old indices (%s); the next rebuild repairs them", exc)
        return False
    return True


def _delete_quietly(client: Elasticsearch, names: list[str]) -> None:
    # Best effort while another error is already on its way up; a leftover is removed by the next rebuild.
    from elasticsearch import ApiError, TransportError

    for name in names:
        try:
            client.indices.delete(index=name, ignore_unavailable=True)
        except (ApiError, TransportError) as exc:
            log.warning("could not delete the half-built index %s (%s); the next rebuild removes it", name, exc)


def _delete_old(client: Elasticsearch, settings: Settings, *, keep: set[str]) -> list[str]:
    """Delete our previous and orphaned versioned indices, by exact name (no wildcard delete)."""
    with guarded(settings, "list the indices"):
        listing = client.cat.indices(format="json", h="index", expand_wildcards="all").body
    existing = [row["index"] for row in cast(list[dict[str, str]], listing)]
    doomed = sorted(
        name for name in existing
        if name not in keep and any(is_versioned_index(settings, kind, name) for kind in KINDS)
    )  # fmt: skip
    for name in doomed:
        with guarded(settings, f"delete the old index {name}"):
            client.indices.delete(index=name, ignore_unavailable=True)
    return doomed


# ------------------------------------------------------------------ classifier version switch


def ready_to_switch(settings: Settings) -> str | None:
    """The classifier version being built, when every measure is tagged with it; else None."""
    with session_for(settings) as session:
        version = building_version(session)
        if version is None or pending_for(session, version):
            return None
        return version


def switch_version(
    settings: Settings, *, client: Elasticsearch | None = None, now: dt.datetime | None = None
) -> RebuildOutcome | None:
    """Switch readers to the classifier version being built, if every measure is tagged with it.

    Rebuilds the index from that version behind the alias, swaps it and marks the version active in
    one step, then prunes the previous version's rows. None: nothing to switch (yet). On failure
    the old version stays active and its index live."""
    version = ready_to_switch(settings)
    if version is None:
        return None
    return rebuild_index(settings, client=client, switch_to=version, switched_at=now)


# ------------------------------------------------------------------ incremental update


def update_index(
    settings: Settings, *, client: Elasticsearch | None = None, now: dt.datetime | None = None
) -> UpdateOutcome:
    """Index measures changed, re-tagged or withdrawn since the last successful update, and new bulletins.

    Without a live index, or a checkpoint, or when the live index was built with older mappings
    (search.names.MAPPING_VERSION), this is a full rebuild. Documents Elasticsearch refuses are
    reported in the outcome and retried by the next update.
    """
    client = client or make_client(settings)
    # A re-tag that is complete is switched to first: that is a full rebuild from the new version.
    switched = switch_version(settings, client=client, now=now)
    if switched is not None:
        return UpdateOutcome(rebuilt=switched)
    with engine_scope(settings) as engine:
        with session_scope(engine) as session:
            state = _load_checkpoint(session, settings)
        targets = {kind: _alias_targets(client, settings, alias(settings, kind)) for kind in KINDS}
        live = all(targets.values())
        current = all(is_current_index(settings, kind, name) for kind, names in targets.items() for name in names)
        if state is None or not live or not current:
            if live and not current:
                log.info("the live indices %s predate the current mappings; rebuilding", targets)
            return UpdateOutcome(rebuilt=rebuild_index(settings, client=client))
        with index_lock(client, settings, "update"):
            return _update_locked(client, settings, engine, state, as_utc(now or utcnow()))


def _update_locked(
    client: Elasticsearch, settings: Settings, engine: Engine, state: dict[str, Any], until: dt.datetime
) -> UpdateOutcome:
    since = dt.datetime.fromisoformat(state["since"]) - OVERLAP
    measures_alias, bulletins_alias = alias(settings, "measures"), alias(settings, "bulletins")
    outcome = UpdateOutcome(since=since, until=until)
    with session_scope(engine) as session:
        ids = sorted(set(reader.changed_measure_ids(session, since)) | set(state.get("failed_ids") or []))
        rows = reader.measures_by_id(session, ids)
        threshold = SuggestionThreshold(settings)
        actions = [
            delete_action(measures_alias, row["id"]) if row["withdrawn"]
            else index_action(measures_alias, _document(row, tags, threshold))
            for row, tags in rows
        ]  # fmt: skip
        # A measure gone from the database entirely is gone from the index too.
        actions += [delete_action(measures_alias, i) for i in sorted(set(ids) - {r["id"] for r, _ in rows})]
        actions += [delete_action(measures_alias, i) for i in _withdrawn_in_index(client, settings, session)]
        measures = send(client, settings, actions)
        bulletin_ids: list[int] = []
        bulletins = send(client, settings, list(_bulletin_actions(session, bulletins_alias, True, bulletin_ids)))
        with guarded(settings, "refresh the live indices"):
            client.indices.refresh(index=[measures_alias, bulletins_alias])
        failed_bulletins = {int(e.doc_id) for e in bulletins.errors}
        done = [b for b in bulletin_ids if b not in failed_bulletins]
        if done:
            session.execute(update(Bulletin).where(Bulletin.id.in_(done)).values(indexed_at=until))
        _save_checkpoint(
            session, settings, {"since": until.isoformat(), "failed_ids": measures.failed_ids, "mode": "update"}
        )
    outcome.indexed, outcome.deleted = measures.indexed, measures.deleted
    outcome.bulletins = bulletins.indexed
    outcome.errors = measures.errors + bulletins.errors
    for error in outcome.errors:
        log.error("index update: %s", error)
    return outcome


def _withdrawn_in_index(client: Elasticsearch, settings: Settings, session: Session) -> list[str]:
    """Withdrawn measures still in the index (a withdrawal the checkpoint window missed)."""
    withdrawn = reader.withdrawn_ids(session)
    present: list[str] = []
    for start in range(0, len(withdrawn), 1000):
        chunk = withdrawn[start : start + 1000]
        with guarded(settings, "look up withdrawn measures"):
            found = client.search(
                index=alias(settings, "measures"), query={"ids": {"values": chunk}}, size=len(chunk), source=False
            )
        present += [hit["_id"] for hit in found["hits"]["hits"]]
    return present


# ------------------------------------------------------------------ status


def index_counts(settings: Settings, *, client: Elasticsearch | None = None) -> dict[str, Any]:
    """Database versus index counts, the live indices and the checkpoint, for `tbt-alert index status`."""
    client = client or make_client(settings)
    with session_for(settings) as session:
        database = {"measures": reader.live_measure_count(session), "bulletins": reader.bulletin_count(session)}
        state = _load_checkpoint(session, settings)
    indexed: dict[str, int | None] = {}
    live: dict[str, list[str]] = {}
    for kind in KINDS:
        name = alias(settings, kind)
        live[kind] = _alias_targets(client, settings, name)
        if live[kind]:
            with guarded(settings, f"count the documents behind {name}"):
                indexed[kind] = int(client.count(index=name)["count"])
        else:
            indexed[kind] = None
    return {
        "database": database,
        "index": indexed,
        "live_indices": live,
        "checkpoint": state.get("since") if state else None,
        "failed_ids": list(state.get("failed_ids") or []) if state else [],
        "in_sync": all(indexed[k] == database[k] for k in KINDS),
    }
