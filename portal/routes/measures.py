"""The measure page: every field, sector tags with evidence, the revision timeline,
documents, related measures and the bulletins it went out in — all from the database."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from classifiers.labels import country_label, sector_label
from portal.access import STAFF
from portal.context import db_session
from portal.render import language_of, page
from schema.models import Bulletin, BulletinItem, Measure, SectorTag, Subscriber

router = APIRouter(include_in_schema=False)

# Shown in this order on the page; the rest of the columns are bookkeeping.
FIELDS = (
    "id",
    "source_id",
    "source_key",
    "kind",
    "document_symbol",
    "country",
    "title",
    "title_en",
    "description",
    "products",
    "hs_codes",
    "ics_codes",
    "objectives",
    "keywords",
    "language",
    "distributed_on",
    "published_on",
    "comment_deadline",
    "adopted_on",
    "entry_into_force",
    "category",
    "product_type",
    "brand",
    "risk_type",
    "risk_level",
    "hazard",
    "measures_taken",
    "country_of_origin",
    "revision",
    "withdrawn",
    "first_seen",
    "last_seen",
    "last_changed",
)
RELATED_LIMIT = 10


def load_measure(session: Session, measure_id: str) -> Measure:
    measure = session.execute(
        select(Measure)
        .where(Measure.id == measure_id)
        .options(selectinload(Measure.sector_tags), selectinload(Measure.revisions), selectinload(Measure.follow_ups))
    ).scalar_one_or_none()
    if measure is None:
        raise HTTPException(404)
    return measure


def timeline(session: Session, measure: Measure) -> list[dict[str, Any]]:
    """The notification and all its follow-ups (addenda, corrigenda, revisions), oldest first."""
    root = measure
    seen = {root.id}
    while root.parent_id and root.parent_id not in seen:
        parent = session.get(Measure, root.parent_id)
        if parent is None:
            break
        root = parent
        seen.add(root.id)
    entries: list[dict[str, Any]] = []
    frontier = [(root, 0)]
    visited: set[str] = set()
    while frontier:
        node, depth = frontier.pop(0)
        if node.id in visited:
            continue
        visited.add(node.id)
        entries.append(
            {
                "measure": node,
                "depth": depth,
                "relation": node.relation or "original",
                "date": node.distributed_on or node.published_on,
                "current": node.id == measure.id,
            }
        )
        children = session.execute(select(Measure).where(Measure.parent_id == node.id)).scalars().all()
        frontier.extend((c, depth + 1) for c in children)
    return sorted(entries, key=lambda e: (e["depth"] > 0, str(e["date"] or ""), e["measure"].id))


def related(session: Session, measure: Measure) -> list[Measure]:
    """Measures about the same thing: the same document symbol from other sources, and the
    other kind (recalls for a notification, notifications for a recall) in the same sectors
    and the same country."""
    found: dict[str, Measure] = {}
    if measure.document_symbol:
        for other in session.execute(
            select(Measure)
            .where(Measure.document_symbol == measure.document_symbol, Measure.id != measure.id)
            .limit(RELATED_LIMIT)
        ).scalars():
            found[other.id] = other
    sectors = {t.sector for t in measure.sector_tags}
    if sectors:
        other_kinds = (Measure.kind != "recall") if measure.kind == "recall" else (Measure.kind == "recall")
        country_match = (
            or_(Measure.country == measure.country, Measure.country_of_origin == measure.country)
            if measure.country
            else Measure.id.is_not(None)
        )
        query = (
            select(Measure)
            .join(SectorTag, SectorTag.measure_id == Measure.id)
            .where(SectorTag.sector.in_(sectors), Measure.id != measure.id, other_kinds, country_match)
            .order_by(Measure.published_on.desc().nulls_last(), Measure.id)
            .distinct()
            .limit(RELATED_LIMIT)
        )
        for other in session.execute(query).scalars():
            found.setdefault(other.id, other)
    return list(found.values())[: RELATED_LIMIT * 2]


def bulletins_of(session: Session, measure_id: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Bulletin, BulletinItem, Subscriber.email)
        .join(BulletinItem, BulletinItem.bulletin_id == Bulletin.id)
        .join(Subscriber, Subscriber.id == Bulletin.subscriber_id)
        .where(BulletinItem.measure_id == measure_id)
        .order_by(Bulletin.created_at.desc())
    ).all()
    return [{"bulletin": b, "item": i, "recipient": email} for b, i, email in rows]


def _country(alpha3: str | None, lang: str) -> str:
    # The page shows nothing where a measure names no country (bulletins say "not stated").
    return country_label(alpha3, lang, with_code=True) if alpha3 else ""


@router.get("/measures/{measure_id}", dependencies=[Depends(STAFF)])
def measure_page(request: Request, measure_id: str, session: Annotated[Session, Depends(db_session)]) -> Response:
    measure = load_measure(session, measure_id)
    lang = language_of(request)
    tags = sorted(measure.sector_tags, key=lambda t: -t.score)
    return page(
        request,
        "measure.html",
        {
            "m": measure,
            "fields": [(f, getattr(measure, f)) for f in FIELDS],
            "country_label": _country(measure.country, lang),
            "origin_label": _country(measure.country_of_origin, lang),
            "tags": [{"tag": t, "name": sector_label(t.sector, lang)} for t in tags],
            "timeline": timeline(session, measure),
            "revisions": list(measure.revisions),
            "related": related(session, measure),
            "bulletins": bulletins_of(session, measure.id),
        },
    )
