"""A standard's page and its API (issue 27): every measure citing it, by market, kind and date;
the editions and parts seen; the markets whose national adoption is cited; and the Chinese
national standard that corresponds to it, where public data says so (none is recorded yet).

Everything comes from the ``cited_standards`` table, so the page needs no search index.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from classifiers.labels import country_label
from classifiers.standards import ADOPTING_MARKETS, related_keys, standard_key
from portal.access import API_STAFF, STAFF
from portal.context import db_session
from portal.i18n import translator
from portal.render import language_of, message_page, page
from portal.routes.api import api_key_scheme
from schema.models import Measure, MeasureStandard

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api", tags=["api"], dependencies=[Depends(api_key_scheme)])
MEASURES_SHOWN = 500  # a page lists the latest; the counts cover all
# Regional adopters the country registry does not name.
REGIONS = ("EAEU", "GCC")


def standard_summary(session: Session, designation: str) -> dict[str, Any]:
    """What the page and the API show for ``designation`` ("IEC 60335", "EN 71-3:2019"); 404 when
    it is not a standard designation."""
    key = standard_key(designation)
    if key is None:
        raise HTTPException(404, f"{designation!r} is not a standard designation; write it like IEC 60335")
    keys = related_keys(key)
    rows = session.execute(
        select(MeasureStandard, Measure)
        .join(Measure, Measure.id == MeasureStandard.measure_id)
        .where(MeasureStandard.key.in_(keys), Measure.withdrawn.is_(False))
        .order_by(Measure.id, MeasureStandard.rank)
    ).all()
    measures: dict[str, dict[str, Any]] = {}
    editions: Counter[str] = Counter()
    adoptions: dict[str, set[str]] = {}
    for cited, measure in rows:
        entry = measures.setdefault(
            measure.id,
            {"measure": measure, "date": measure.published_on or measure.distributed_on, "codes": []},
        )
        entry["codes"].append(cited.code)
        editions[_edition(cited)] += 1
        if cited.adopted_by:
            prefix = cited.adopted_by.split()[0]
            market = ADOPTING_MARKETS.get(prefix)
            if market:
                adoptions.setdefault(market, set()).add(cited.adopted_by)
    listed = sorted(measures.values(), key=lambda e: (e["date"] or dt.date.min, e["measure"].id), reverse=True)
    return {
        "key": key,
        "keys": keys,
        "measures": listed[:MEASURES_SHOWN],
        "total": len(listed),
        "by_market": Counter(e["measure"].country or "" for e in listed).most_common(),
        "by_kind": Counter(e["measure"].kind for e in listed).most_common(),
        "editions": sorted(editions.items()),
        "adoptions": {market: sorted(prefixes) for market, prefixes in sorted(adoptions.items())},
        # No public GB correspondence data is recorded yet (reports/data/standards_correspondence.md).
        "chinese_counterpart": None,
    }


def _edition(cited: MeasureStandard) -> str:
    """The standard as cited, without the national prefix: "EN 60335-2-30:2019"."""
    text = cited.key + (f"-{cited.part}" if cited.part else "")
    if cited.year:
        text += f":{cited.year}"
    if cited.amendment:
        text += f"+{cited.amendment}"
    return text


def market_name(code: str, lang: str) -> str:
    if code in REGIONS:
        return translator(lang)[f"region_{code}"]
    return country_label(code or None, lang, with_code=bool(code))


@router.get("/standards/{designation:path}", dependencies=[Depends(STAFF)])
def standard_page(request: Request, designation: str, session: Annotated[Session, Depends(db_session)]) -> Response:
    lang = language_of(request)
    words = translator(lang)
    if standard_key(designation) is None:
        # The page's reader gets the hint in their language, not the API's English detail.
        return message_page(request, "not_found", words["standard_unreadable"].format(text=designation), status=404)
    summary = standard_summary(session, designation)
    return page(
        request,
        "standard.html",
        {
            **summary,
            "market_rows": [(market_name(code, lang), n) for code, n in summary["by_market"]],
            "kind_rows": [(words.get(f"kind_{kind}", kind), n) for kind, n in summary["by_kind"]],
            "adoption_rows": [
                (market_name(market, lang), ", ".join(f"{p} {summary['key']}" for p in prefixes))
                for market, prefixes in summary["adoptions"].items()
            ],
            "market_name": lambda code: market_name(code, lang),
        },
    )


@api_router.get(
    "/standards/{designation:path}",
    dependencies=[Depends(API_STAFF)],
    summary="A cited standard: the measures citing it (any part or edition), editions seen, national adoptions",
)
def api_standard(designation: str, session: Annotated[Session, Depends(db_session)]) -> dict[str, Any]:
    summary = standard_summary(session, designation)
    return {
        "key": summary["key"],
        "keys": summary["keys"],
        "total": summary["total"],
        "measures": [
            {
                "id": e["measure"].id,
                "kind": e["measure"].kind,
                "country": e["measure"].country,
                "date": e["date"].isoformat() if e["date"] else None,
                "title": e["measure"].title,
                "cited_as": e["codes"],
            }
            for e in summary["measures"]
        ],
        "by_market": dict(summary["by_market"]),
        "by_kind": dict(summary["by_kind"]),
        "editions": dict(summary["editions"]),
        "adoptions": summary["adoptions"],
        "chinese_counterpart": summary["chinese_counterpart"],
    }
