"""Which classifier version's tags readers use, and the switch from one version to the next (issue 26).

Every measure has a **served** version (``Measure.served_version``): the version whose machine sector
tags and suggested HS codes search, bulletins, reports and the portal read. A new classifier version
tags beside it (``classifiers.tagging``), so a re-tag of 150,000 measures takes half an hour without
readers seeing a mix of versions. When every measure is tagged with the new version, the index is
rebuilt from it behind the alias (``search.lifecycle.switch_version``) and :func:`promote` makes it
served everywhere in one transaction; :func:`prune` then deletes the previous version's rows.

A measure new or changed during a re-tag is tagged with the new version and served it at once: its
old tags (if any) were about a text that is gone, and it must not wait for the switch to be seen.

The ``pipeline_state`` row ``classifier.versions`` records the **active** version (the one served)
and the one **building**; the first tagging of an empty database activates its version directly.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.orm import aliased, with_loader_criteria

from schema.models import Measure, PipelineState, SectorTag, SuggestedHsCode, utcnow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
    from sqlalchemy.sql.base import ExecutableOption

STATE_KEY = "classifier.versions"
# Tags an analyst set by hand belong to no classifier version: every version's readers see them.
MANUAL = "manual"

Versioned = type[SectorTag] | type[SuggestedHsCode]


def _state(session: Session) -> dict[str, Any]:
    row = session.get(PipelineState, STATE_KEY)
    return dict(row.value) if row else {}


def _save(session: Session, value: dict[str, Any]) -> None:
    row = session.get(PipelineState, STATE_KEY)
    if row is None:
        session.add(PipelineState(key=STATE_KEY, value=value))
    else:
        row.value = value
    session.flush()


def active_version(session: Session) -> str | None:
    """The classifier version readers use; None before anything was tagged.

    A database tagged before this record existed (migration 0007) is served the version most of
    its measures carry."""
    active = _state(session).get("active")
    if active:
        return str(active)
    found = session.execute(
        select(Measure.served_version, func.count())
        .where(Measure.served_version.is_not(None))
        .group_by(Measure.served_version)
        .order_by(func.count().desc(), Measure.served_version)
        .limit(1)
    ).first()
    return str(found[0]) if found else None


def building_version(session: Session) -> str | None:
    """The classifier version being tagged beside the active one; None when no re-tag is under way."""
    building = _state(session).get("building")
    return str(building) if building else None


def begin(session: Session, version: str) -> str | None:
    """Record that ``version`` tags now; returns the version it builds beside (None: it is active).

    The first tagging of an empty database activates its version directly (nothing to keep serving)."""
    active = active_version(session)
    state = _state(session)
    if active is None or active == version:
        if state.get("active") != version or state.get("building"):
            _save(session, {"active": version, "building": None})
        return None
    if state.get("building") != version or state.get("active") != active:
        _save(session, {"active": active, "building": version})
    return active


def pending_for(session: Session, version: str) -> int:
    """Measures not yet tagged with ``version`` (their current content); 0 = ready to switch."""
    stmt = select(func.count()).select_from(Measure)
    stmt = stmt.where(or_(Measure.tagged_version.is_(None), Measure.tagged_version != version))
    return int(session.scalar(stmt) or 0)


# ------------------------------------------------------------------ what readers read


def served(entity: Versioned) -> ColumnElement[bool]:
    """Rows of ``entity`` (SectorTag or SuggestedHsCode) of their measure's served version, and manual tags.

    A measure with no served version (its rows were written outside tagging: an import, a test)
    is read whole. A correlated lookup of the measure (an alias, so it never correlates with a
    query's own ``measures``): usable in any query, joined to measures or not."""
    owner = aliased(Measure)
    clause = (
        select(owner.id)
        .where(
            owner.id == entity.measure_id,
            or_(owner.served_version.is_(None), owner.served_version == entity.classifier_version),
        )
        .exists()
    )
    if entity is SectorTag:
        return or_(clause, SectorTag.method == MANUAL)
    return clause


def built(entity: Versioned, version: str) -> ColumnElement[bool]:
    """Rows of ``entity`` of ``version`` (and manual tags): what the index is rebuilt from before a switch."""
    clause = entity.classifier_version == version
    if entity is SectorTag:
        return or_(clause, SectorTag.method == MANUAL)
    return clause


def served_only() -> list[ExecutableOption]:
    """Options for an ORM query of measures: ``measure.sector_tags`` and ``measure.hs_suggestions``
    (eager or lazy, on the measures it loads) hold the served version's rows only."""
    return [
        with_loader_criteria(SectorTag, served(SectorTag), include_aliases=True),
        with_loader_criteria(SuggestedHsCode, served(SuggestedHsCode), include_aliases=True),
    ]


# ------------------------------------------------------------------ the switch


def promote(session: Session, version: str, *, now: dt.datetime | None = None) -> int:
    """Serve ``version`` for every measure it tagged and mark it active; how many measures moved.

    A sector the new version gives a measure that its previous served version did not is stamped
    ``added_at``: the bulletin then mails that measure once more to the sector's subscribers."""
    now = now or utcnow()
    previous = aliased(SectorTag)
    had_sector = (
        select(previous.id)
        .join(Measure, Measure.id == previous.measure_id)
        .where(
            previous.measure_id == SectorTag.measure_id,
            previous.sector == SectorTag.sector,
            previous.classifier_version == Measure.served_version,
        )
        .exists()
    )
    was_served = select(Measure.id).where(
        Measure.id == SectorTag.measure_id,
        Measure.served_version.is_not(None),
        Measure.served_version != version,
        Measure.tagged_version == version,
    )
    session.execute(
        update(SectorTag)
        .where(
            SectorTag.classifier_version == version,
            SectorTag.method != MANUAL,
            SectorTag.measure_id.in_(was_served),
            ~had_sector,
        )
        .values(added_at=now)
        .execution_options(synchronize_session=False)
    )
    moved = session.execute(
        update(Measure)
        .where(
            Measure.tagged_version == version, or_(Measure.served_version.is_(None), Measure.served_version != version)
        )
        .values(served_version=version)
        .execution_options(synchronize_session=False)
    )
    _save(session, {"active": version, "building": None, "switched_at": now.isoformat()})
    return int(moved.rowcount or 0)  # type: ignore[attr-defined]


def prune(session: Session) -> tuple[int, int]:
    """Delete machine tags and suggestions of versions no measure is served; (tags, suggestions) deleted."""
    state = _state(session)
    keep = [v for v in (state.get("building"),) if v]
    tags = session.execute(
        delete(SectorTag)
        .where(SectorTag.method != MANUAL, ~served(SectorTag), SectorTag.classifier_version.not_in(keep))
        .execution_options(synchronize_session=False)
    )
    suggestions = session.execute(
        delete(SuggestedHsCode)
        .where(~served(SuggestedHsCode), SuggestedHsCode.classifier_version.not_in(keep))
        .execution_options(synchronize_session=False)
    )
    return int(tags.rowcount or 0), int(suggestions.rowcount or 0)  # type: ignore[attr-defined]
