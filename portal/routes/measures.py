"""The measure page: every field, sector tags with evidence, the suggested HS codes (推测, apart
from the source's codes), the revision timeline, documents, related measures and the bulletins it
went out in — all from the database."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from alerts.products import product_line, product_text
from alerts.render import reasons_text
from classifiers.hs_catalogue import dotted, hs_name
from classifiers.hs_threshold import suggestion_threshold
from classifiers.labels import country_label, sector_label
from portal.access import STAFF, Access, current_user, role_allows
from portal.context import db_session, portal_of
from portal.i18n import translator
from portal.render import language_of, page
from schema.models import Bulletin, BulletinItem, Measure, SectorTag, Subscriber, SuggestedHsCode, User

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
# A measure sent to every subscriber goes out in many bulletins: the page lists the latest.
BULLETINS_SHOWN = 100


def load_measure(session: Session, measure_id: str) -> Measure:
    measure = session.execute(
        select(Measure)
        .where(Measure.id == measure_id)
        .options(
            selectinload(Measure.sector_tags),
            selectinload(Measure.hs_suggestions),
            selectinload(Measure.revisions),
            selectinload(Measure.follow_ups),
        )
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


def bulletins_of(session: Session, measure_id: str, *, recipients: bool) -> list[dict[str, Any]]:
    """The bulletins a measure went out in, newest first (the latest ``BULLETINS_SHOWN``).

    Who got it (the e-mail) and why (the reasons: the subscriber's keywords, sectors and
    countries) are subscriber data, as admin-only as the subscriber list: with ``recipients``
    false neither is read, and the rows say only which bulletin, when and in which section.
    """
    columns: tuple[Any, ...] = (Bulletin, BulletinItem, Subscriber.email) if recipients else (Bulletin, BulletinItem)
    query = select(*columns).join(BulletinItem, BulletinItem.bulletin_id == Bulletin.id)
    if recipients:
        query = query.join(Subscriber, Subscriber.id == Bulletin.subscriber_id)
    rows = session.execute(
        query.where(BulletinItem.measure_id == measure_id)
        .order_by(Bulletin.created_at.desc(), Bulletin.id.desc())
        .limit(BULLETINS_SHOWN)
    ).all()
    if not recipients:
        return [{"bulletin": b, "item": i} for b, i in rows]
    return [{"bulletin": b, "item": i, "recipient": email} for b, i, email in rows]


def sees_recipients(user: User | None) -> bool:
    return user is not None and role_allows(user.role, Access.ADMIN)


def suggestion_rows(suggestions: list[SuggestedHsCode], lang: str) -> list[dict[str, Any]]:
    """The suggested codes as the page lists them: rank, 8516.71, the name in the page's language
    (a Chinese page shows no English name: without a Chinese one it shows none), the score."""
    rows = []
    for s in sorted(suggestions, key=lambda s: s.rank):
        name = s.name_zh if lang == "zh" else s.name_en
        if not name:
            known = hs_name(s.code)
            name = (known.name_zh if lang == "zh" else known.name_en) if known else ""
        rows.append({"rank": s.rank, "code": dotted(s.code), "name": name, "score": f"{s.score:.2f}"})
    return rows


def _country(alpha3: str | None, lang: str) -> str:
    # The page shows nothing where a measure names no country (bulletins say "not stated").
    return country_label(alpha3, lang, with_code=True) if alpha3 else ""


@router.get("/measures/{measure_id}", dependencies=[Depends(STAFF)])
def measure_page(request: Request, measure_id: str, session: Annotated[Session, Depends(db_session)]) -> Response:
    measure = load_measure(session, measure_id)
    lang = language_of(request)
    recipients = sees_recipients(current_user(request))
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
            "product": product_text(
                product_line(
                    measure.hs_codes or [],
                    measure.hs_suggestions,
                    lang,
                    min_score=suggestion_threshold(portal_of(request).settings) if measure.hs_suggestions else None,
                ),
                translator(lang),
            ),
            "suggestions": suggestion_rows(measure.hs_suggestions, lang),
            "timeline": timeline(session, measure),
            "revisions": list(measure.revisions),
            "related": related(session, measure),
            # Stored reasons are small dicts: the page reads them in words, as the mail did.
            "bulletins": [
                {**row, "why": reasons_text(list(row["item"].reasons or []), lang) if recipients else None}
                for row in bulletins_of(session, measure.id, recipients=recipients)
            ],
            "recipients": recipients,
        },
    )
