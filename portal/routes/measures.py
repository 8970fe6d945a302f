"""The measure page: a header in the reader's language (the line a bulletin item opens with, the
gist, product, sectors each with a plain reason, market, kind, dates, comment deadline with days
left), the source's pictures (fetched through the portal), the suggested HS codes (推测, apart from
the source's codes), the revision timeline, documents, related measures with why, and the bulletins
it went out in. Raw evidence, stored reasons and the source's extra fields are for admins only."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from alerts.explain import headline, risk_text, sector_reasons
from alerts.gist import days_left, gist_zh
from alerts.products import product_line, product_text
from alerts.render import CLOSING_SOON_DAYS, reasons_text
from classifiers.hs_catalogue import dotted, hs_name
from classifiers.hs_threshold import suggestion_threshold
from classifiers.labels import country_label, kind_label
from classifiers.versions import served_only
from portal.access import STAFF, Access, current_user, role_allows
from portal.context import db_session, portal_of
from portal.i18n import translator
from portal.pictures import PictureUnavailable, fetch_picture, picture_urls
from portal.related_measures import related_measures
from portal.render import language_of, page
from schema.models import Bulletin, BulletinItem, Measure, Subscriber, SuggestedHsCode, User

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
            *served_only(),  # the served classifier version's tags (issue 26)
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


def deadline_note(deadline: dt.date | None, today: dt.date, lang: str) -> str:
    """「剩 23 天」, 「今天截止」 or 「已截止」 beside a comment deadline."""
    left = days_left(deadline, today)
    if left is None:
        return ""
    words = translator(lang)
    return (
        words["deadline_closed"]
        if left < 0
        else words["deadline_today"]
        if left == 0
        else words["deadline_days_left"].format(d=left)
    )


def _closing_soon(deadline: dt.date | None, today: dt.date) -> bool:
    left = days_left(deadline, today)
    return left is not None and 0 <= left <= CLOSING_SOON_DAYS


def header(request: Request, measure: Measure, lang: str, today: dt.date) -> dict[str, Any]:
    """What the page says first, in the reader's language, from the structured fields."""
    settings = portal_of(request).settings
    line = product_line(
        measure.hs_codes or [],
        measure.hs_suggestions,
        lang,
        min_score=suggestion_threshold(settings) if measure.hs_suggestions else None,
    )
    return {
        "headline": headline(measure, line, measure.sector_tags, lang, today),
        "gist": gist_zh(measure, measure.sector_tags, today=today),
        "product": product_text(line, translator(lang)),
        "sectors": sector_reasons(measure.sector_tags, lang),
        "market": _country(measure.country, lang),
        "kind": kind_label(measure.kind, lang),
        "risk": risk_text(measure, lang) if measure.kind == "recall" else "",
        "deadline_note": deadline_note(measure.comment_deadline, today, lang),
        "deadline_urgent": _closing_soon(measure.comment_deadline, today),
    }


def raw_json(measure: Measure, bulletins: list[dict[str, Any]]) -> str:
    """Everything the page reads in words, as stored: for an admin checking the classifier."""
    data = {
        "sector_tags": [
            {
                "sector": t.sector,
                "score": t.score,
                "method": t.method,
                "evidence": t.evidence,
                "version": t.classifier_version,
            }
            for t in measure.sector_tags
        ],
        "bulletin_reasons": [{"bulletin": b["bulletin"].id, "reasons": b["item"].reasons} for b in bulletins],
        "extra": measure.extra,
    }
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)


@router.get("/measures/{measure_id}/pictures/{number}", dependencies=[Depends(STAFF)])
def measure_picture(measure_id: str, number: int, session: Annotated[Session, Depends(db_session)]) -> Response:
    """A picture the source lists for the measure, fetched by the portal (``portal.pictures``)."""
    measure = session.get(Measure, measure_id)
    urls = picture_urls(measure.extra if measure is not None else None)
    if measure is None or not 1 <= number <= len(urls):
        raise HTTPException(404)
    try:
        content, media_type = fetch_picture(urls[number - 1])
    except PictureUnavailable as exc:
        raise HTTPException(502, detail=str(exc)) from exc
    return Response(content, media_type=media_type, headers={"Cache-Control": "private, max-age=86400"})


@router.get("/measures/{measure_id}", dependencies=[Depends(STAFF)])
def measure_page(request: Request, measure_id: str, session: Annotated[Session, Depends(db_session)]) -> Response:
    measure = load_measure(session, measure_id)
    lang = language_of(request)
    recipients = sees_recipients(current_user(request))
    today = dt.datetime.now(dt.UTC).date()
    portal = portal_of(request)
    bulletins = bulletins_of(session, measure.id, recipients=recipients)
    return page(
        request,
        "measure.html",
        {
            "m": measure,
            **header(request, measure, lang, today),
            "fields": [(f, getattr(measure, f)) for f in FIELDS],
            "country_label": _country(measure.country, lang),
            "origin_label": _country(measure.country_of_origin, lang),
            "pictures": list(range(1, len(picture_urls(measure.extra)) + 1)),
            "suggestions": suggestion_rows(measure.hs_suggestions, lang),
            "timeline": timeline(session, measure),
            "revisions": list(measure.revisions),
            "related": related_measures(session, measure, portal.settings, portal.es()),
            # Stored reasons are small dicts: the page reads them in words, as the mail did.
            "bulletins": [
                {**row, "why": reasons_text(list(row["item"].reasons or []), lang) if recipients else None}
                for row in bulletins
            ],
            "recipients": recipients,
            "raw_json": raw_json(measure, bulletins) if recipients else None,
        },
    )
