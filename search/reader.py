"""Read what the index needs from the database, in batches, without raw payloads.

Keyset pagination by id (never OFFSET) keeps every batch as cheap as the first on 60,000+
measures, and a plain column ``select`` avoids building ORM objects we would only read once.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from classifiers.head import HEAD_DIR
from classifiers.language_means import centred
from classifiers.versions import built, served
from schema.models import (
    Bulletin,
    BulletinItem,
    Measure,
    MeasureStandard,
    MeasureVector,
    SectorTag,
    Subscriber,
    SuggestedHsCode,
)
from schema.vectors import unpack_vector
from search.documents import MEASURE_COLUMNS

Row = dict[str, Any]
_IN_LIST = 500  # well below SQLite's bound-parameter limit


def _measure_select() -> Select[Any]:
    return select(*(getattr(Measure, c) for c in MEASURE_COLUMNS))


def _version_filter(entity: type[SectorTag] | type[SuggestedHsCode], version: str | None) -> Any:
    """The served version's rows, or ``version``'s when a rebuild reads the version being switched to."""
    return served(entity) if version is None else built(entity, version)


def _tags_for(session: Session, ids: Sequence[str], version: str | None = None) -> dict[str, list[Row]]:
    tags: dict[str, list[Row]] = defaultdict(list)
    for start in range(0, len(ids), _IN_LIST):
        stmt = select(
            SectorTag.measure_id, SectorTag.sector, SectorTag.score, SectorTag.method, SectorTag.classifier_version
        ).where(SectorTag.measure_id.in_(ids[start : start + _IN_LIST]), _version_filter(SectorTag, version))
        for tag in session.execute(stmt).mappings():
            tags[tag["measure_id"]].append(dict(tag))
    return tags


def _with_suggestions(session: Session, rows: list[Row], version: str | None = None) -> list[Row]:
    """``rows`` with each measure's suggested HS codes under ``hs_suggested``, best first."""
    found: dict[str, list[Row]] = defaultdict(list)
    ids = [r["id"] for r in rows]
    for start in range(0, len(ids), _IN_LIST):
        stmt = (
            select(
                SuggestedHsCode.measure_id,
                SuggestedHsCode.code,
                SuggestedHsCode.score,
                SuggestedHsCode.name_zh,
                SuggestedHsCode.name_en,
            )  # fmt: skip
            .where(
                SuggestedHsCode.measure_id.in_(ids[start : start + _IN_LIST]),
                _version_filter(SuggestedHsCode, version),
            )
            .order_by(SuggestedHsCode.measure_id, SuggestedHsCode.rank)
        )
        for suggestion in session.execute(stmt).mappings():
            found[suggestion["measure_id"]].append(dict(suggestion))
    for row in rows:
        row["hs_suggested"] = found.get(row["id"], [])
    return rows


def _with_vectors(session: Session, rows: list[Row]) -> list[Row]:
    """``rows`` with each measure's stored sentence vector under ``vector`` (absent: none made)."""
    found: dict[str, list[float]] = {}
    ids = [r["id"] for r in rows]
    for start in range(0, len(ids), _IN_LIST):
        stmt = select(MeasureVector.measure_id, MeasureVector.vector, MeasureVector.dims).where(
            MeasureVector.measure_id.in_(ids[start : start + _IN_LIST])
        )
        for measure_id, data, dims in session.execute(stmt):
            found[measure_id] = unpack_vector(data, dims)
    for row in rows:
        if row["id"] in found:
            # The index holds the vector with its language taken out (classifiers.language_means):
            # a query then finds measures by topic, not by the language it is typed in.
            row["vector"] = centred(found[row["id"]], row.get("language"), HEAD_DIR)
    return rows


def _with_standards(session: Session, rows: list[Row]) -> list[Row]:
    """``rows`` with each measure's cited standards under ``standards``, in the order first cited."""
    found: dict[str, list[Row]] = defaultdict(list)
    ids = [r["id"] for r in rows]
    for start in range(0, len(ids), _IN_LIST):
        stmt = (
            select(
                MeasureStandard.measure_id,
                MeasureStandard.code,
                MeasureStandard.key,
                MeasureStandard.year,
                MeasureStandard.adopted_by,
            )
            .where(MeasureStandard.measure_id.in_(ids[start : start + _IN_LIST]))
            .order_by(MeasureStandard.measure_id, MeasureStandard.rank)
        )
        for standard in session.execute(stmt).mappings():
            found[standard["measure_id"]].append({k: v for k, v in standard.items() if k != "measure_id"})
    for row in rows:
        row["standards"] = found.get(row["id"], [])
    return rows


def _with_readings(session: Session, rows: list[Row], version: str | None = None) -> list[Row]:
    """``rows`` with what tagging read in each measure: suggested HS codes, vector, cited standards."""
    return _with_standards(session, _with_vectors(session, _with_suggestions(session, rows, version)))


def iter_live_measures(
    session: Session, *, batch_size: int = 1000, version: str | None = None
) -> Iterator[list[tuple[Row, list[Row]]]]:
    """Every measure that is not withdrawn, with its sector tags (and its suggested HS codes in the
    row), in batches ordered by id: those of each measure's served version, or of ``version`` (a
    rebuild for the switch to it, issue 26)."""
    after = ""
    while True:
        stmt = (
            _measure_select()
            .where(Measure.withdrawn.is_(False), Measure.id > after)
            .order_by(Measure.id)
            .limit(batch_size)
        )
        rows = _with_readings(session, [dict(r) for r in session.execute(stmt).mappings()], version)
        if not rows:
            return
        if version is not None:
            for row in rows:  # the document says which version it was built from
                row["served_version"] = version
        tags = _tags_for(session, [r["id"] for r in rows], version)
        yield [(r, tags.get(r["id"], [])) for r in rows]
        after = rows[-1]["id"]


def measures_by_id(session: Session, ids: Sequence[str]) -> list[tuple[Row, list[Row]]]:
    """The given measures (withdrawn ones included, so the caller can delete them) with tags."""
    rows: list[Row] = []
    for start in range(0, len(ids), _IN_LIST):
        stmt = _measure_select().where(Measure.id.in_(ids[start : start + _IN_LIST]))
        rows.extend(dict(r) for r in session.execute(stmt).mappings())
    rows = _with_readings(session, rows)
    tags = _tags_for(session, [r["id"] for r in rows])
    return [(r, tags.get(r["id"], [])) for r in rows]


def changed_measure_ids(session: Session, since: dt.datetime) -> list[str]:
    """Measures whose content changed, or that were (re-)tagged or given new HS suggestions, after ``since``."""
    changed = set(session.scalars(select(Measure.id).where(Measure.last_changed > since)))
    # Only served rows: a re-tag writing its version beside changes nothing a reader sees (issue 26).
    changed.update(
        session.scalars(select(SectorTag.measure_id).where(SectorTag.created_at > since, served(SectorTag)).distinct())
    )
    changed.update(
        session.scalars(
            select(SuggestedHsCode.measure_id)
            .where(SuggestedHsCode.created_at > since, served(SuggestedHsCode))
            .distinct()
        )
    )
    changed.update(
        session.scalars(select(MeasureStandard.measure_id).where(MeasureStandard.created_at > since).distinct())
    )
    return sorted(changed)


def withdrawn_ids(session: Session) -> list[str]:
    return list(session.scalars(select(Measure.id).where(Measure.withdrawn.is_(True)).order_by(Measure.id)))


def live_measure_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Measure).where(Measure.withdrawn.is_(False))) or 0)


def bulletin_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Bulletin)) or 0)


def iter_bulletins(
    session: Session, *, pending_only: bool = False, batch_size: int = 500
) -> Iterator[list[tuple[Row, Row, list[Row]]]]:
    """Bulletins (all, or only those not indexed yet) with subscriber and items.

    A bulletin never changes once composed, so ``indexed_at`` alone says what is left to do.
    """
    after = 0
    columns = (
        Bulletin.id, Bulletin.subscriber_id, Bulletin.language, Bulletin.frequency, Bulletin.period_start,
        Bulletin.period_end, Bulletin.created_at, Bulletin.subject, Bulletin.text,
    )  # fmt: skip
    while True:
        stmt = select(*columns).where(Bulletin.id > after).order_by(Bulletin.id).limit(batch_size)
        if pending_only:
            stmt = stmt.where(Bulletin.indexed_at.is_(None))
        bulletins = [dict(r) for r in session.execute(stmt).mappings()]
        if not bulletins:
            return
        ids = [b["id"] for b in bulletins]
        items: dict[int, list[Row]] = defaultdict(list)
        for item in session.execute(
            select(BulletinItem.bulletin_id, BulletinItem.measure_id, BulletinItem.section, BulletinItem.reasons)
            .where(BulletinItem.bulletin_id.in_(ids))
            .order_by(BulletinItem.id)
        ).mappings():
            items[item["bulletin_id"]].append(dict(item))
        subscriber_ids = sorted({b["subscriber_id"] for b in bulletins})
        subscribers = {
            s["id"]: dict(s)
            for s in session.execute(
                select(Subscriber.id, Subscriber.email, Subscriber.name, Subscriber.company).where(
                    Subscriber.id.in_(subscriber_ids)
                )
            ).mappings()
        }
        yield [(b, subscribers.get(b["subscriber_id"], {}), items.get(b["id"], [])) for b in bulletins]
        after = bulletins[-1]["id"]
