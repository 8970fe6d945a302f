"""The JSON API under /api: the search page's search, filters and facets, measures, sectors.

Authenticated with an API key in the ``X-API-Key`` header (``tbt-alert users apikey``), or a
logged-in session. Parameters are named fields only; no Elasticsearch query passes through.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyHeader
from pydantic import ValidationError
from sqlalchemy.orm import Session

from portal.access import API_KEY_HEADER, API_PUBLIC, API_STAFF, current_user
from portal.context import db_session, portal_of
from portal.render import page
from portal.routes.measures import FIELDS, bulletins_of, load_measure, sees_recipients, timeline
from portal.searching import MAX_RESULT_WINDOW, build_request
from portal.unavailable import public_reason
from search.timing import span
from tbt_alert.errors import SearchError, ServiceUnavailable

# Declared so the OpenAPI document shows the scheme; AccessRule does the checking.
api_key_scheme = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, description="Your API key")
router = APIRouter(prefix="/api", tags=["api"], dependencies=[Depends(api_key_scheme)])
CountryCode = Annotated[str, Query(pattern=r"^[A-Za-z]{3}$")]
Code = Annotated[str, Query(max_length=64)]


def _unavailable(exc: Exception) -> JSONResponse:
    reason = public_reason(exc) or "try again later; the operators find the reason in the log"
    return JSONResponse({"detail": f"Search is unavailable: {reason}"}, status_code=503)


@router.get(
    "/search",
    dependencies=[Depends(API_STAFF)],
    summary="Search measures with filters and facets; fields.hs_suggested lists suggested HS codes (suggested: true)",
)
def api_search(
    q: Annotated[str | None, Query(max_length=500, description="Free text")] = None,
    country: Annotated[list[CountryCode] | None, Query(description="ISO alpha-3 codes (EUR = the EU)")] = None,
    bri_only: bool = False,
    eu_only: bool = False,
    sector: Annotated[list[Code] | None, Query(description="Sector codes of the taxonomy")] = None,
    hs_prefix: Annotated[
        str | None,
        Query(
            pattern=r"^\d{2,10}$",
            description="HS code prefix: codes the source lists or, where it lists none, codes suggested above "
            "the threshold (each hit's hs_match says which)",
        ),
    ] = None,
    hs_source: Annotated[
        Literal["any", "declared"],
        Query(description="declared: match the source's own HS codes only, never a suggested code"),
    ] = "any",
    standard: Annotated[
        list[Annotated[str, Query(max_length=120)]] | None,
        Query(description='a cited standard ("IEC 60335"): every part and edition; repeatable, all must be cited'),
    ] = None,
    kind: Annotated[
        list[Literal["tbt_notification", "sps_notification", "regulation", "standard", "recall"]] | None, Query()
    ] = None,
    language: Annotated[list[Annotated[str, Query(pattern=r"^[a-z]{2}$")]] | None, Query()] = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    open_for_comment: bool = False,
    deadline_within_days: Annotated[int | None, Query(ge=0, le=3650)] = None,
    risk_level: Annotated[list[Code] | None, Query()] = None,
    origin_china: bool = False,
    sort: Literal["relevance", "date", "deadline"] = "relevance",
    understand: Annotated[
        bool, Query(description="false: search the words as typed, without reading sectors or countries into them")
    ] = True,
    ignore: Annotated[
        list[Annotated[str, Query(max_length=200)]] | None,
        Query(description='readings of the query to switch off, as the response names them ("sector:toys")'),
    ] = None,
    page: Annotated[int, Query(ge=1, le=500)] = 1,
    size: Annotated[int, Query(ge=1, le=100)] = 20,
    *,
    request: Request,
) -> Any:
    values: dict[str, Any] = {
        "q": q,
        "countries": [c.upper() for c in country or []],
        "bri_only": bri_only,
        "eu_only": eu_only,
        "sectors": sector or [],
        "hs_prefix": hs_prefix,
        "hs_source": hs_source,
        "standards": standard or [],
        "kinds": kind or [],
        "languages": language or [],
        "date_from": date_from,
        "date_to": date_to,
        "open_for_comment": open_for_comment,
        "deadline_within_days": deadline_within_days,
        "risk_levels": risk_level or [],
        "origin_china": origin_china,
        "sort": sort,
        "ignore": ignore or [],
        "page": page,
        "size": size,
    }
    values = {k: v for k, v in values.items() if v not in (None, [], False)}
    values["understand"] = understand
    if page * size > MAX_RESULT_WINDOW:
        return JSONResponse(
            {"detail": f"page {page} of size {size} is beyond the first {MAX_RESULT_WINDOW} hits; narrow the filters"},
            status_code=422,
        )
    try:
        from search.query import search_measures

        portal = portal_of(request)
        result = search_measures(portal.es(), portal.settings, build_request(values), wait_for_encoder=False)
    except ValidationError as exc:
        return JSONResponse(
            {"detail": jsonable_encoder(exc.errors(include_url=False, include_context=False))}, status_code=422
        )
    except (ImportError, SearchError, ServiceUnavailable) as exc:
        return _unavailable(exc)
    # Pydantic's own serialiser: FastAPI's jsonable_encoder walked the 20 hits and their facets
    # in Python and cost more than the search's assembly.
    with span("serialise"):
        body = result.model_dump_json()
    return Response(body, media_type="application/json")


def measure_json(measure: Any) -> dict[str, Any]:
    data = {f: getattr(measure, f) for f in FIELDS}
    data.update(
        {
            "parent_id": measure.parent_id,
            "relation": measure.relation,
            "url": measure.url,
            "documents": measure.documents,
            "extra": measure.extra,
            # The classifier's suggestions (推测), never the source's hs_codes above.
            "hs_suggested": [
                {
                    "code": s.code,
                    "score": s.score,
                    "name_zh": s.name_zh,
                    "name_en": s.name_en,
                    "rank": s.rank,
                    "classifier_version": s.classifier_version,
                    "suggested": True,
                }
                for s in measure.hs_suggestions
            ],
            "sector_tags": [
                {
                    "sector": t.sector,
                    "score": t.score,
                    "method": t.method,
                    "evidence": t.evidence,
                    "classifier_version": t.classifier_version,
                }
                for t in measure.sector_tags
            ],
        }
    )
    return data


@router.get(
    "/measures/{measure_id}",
    dependencies=[Depends(API_STAFF)],
    summary="One measure with its tags and suggested HS codes (hs_suggested, apart from the source's hs_codes)",
)
def api_measure(
    measure_id: Annotated[str, Path(max_length=64)], session: Annotated[Session, Depends(db_session)]
) -> Any:
    measure = load_measure(session, measure_id)
    data = measure_json(measure)
    data["timeline"] = [
        {"id": e["measure"].id, "relation": e["relation"], "date": e["date"]} for e in timeline(session, measure)
    ]
    return jsonable_encoder(data)


@router.get(
    "/measures/{measure_id}/bulletins",
    dependencies=[Depends(API_STAFF)],
    summary="Bulletins a measure went out in, the latest 100; recipient and reasons for admin keys only",
)
def api_measure_bulletins(
    request: Request,
    measure_id: Annotated[str, Path(max_length=64)],
    session: Annotated[Session, Depends(db_session)],
) -> Any:
    load_measure(session, measure_id)
    recipients = sees_recipients(current_user(request))
    rows = []
    for row in bulletins_of(session, measure_id, recipients=recipients):
        entry = {
            "bulletin_id": row["bulletin"].id,
            "subject": row["bulletin"].subject,
            "period_start": row["bulletin"].period_start,
            "period_end": row["bulletin"].period_end,
            "created_at": row["bulletin"].created_at,
            "section": row["item"].section,
        }
        if recipients:  # subscriber data: admin keys only, as the subscriber list
            entry |= {"reasons": row["item"].reasons, "recipient": row["recipient"]}
        rows.append(entry)
    return jsonable_encoder(rows)


@router.get("/sectors", dependencies=[Depends(API_STAFF)], summary="The sector taxonomy")
def api_sectors() -> Any:
    try:
        from classifiers.taxonomy import load_taxonomy
    except ImportError as exc:
        raise HTTPException(503, f"The sector taxonomy is not available: {exc}") from None
    return [
        {
            "code": s.code,
            "name_zh": s.name_zh,
            "name_en": s.name_en,
            "description_zh": s.description_zh,
            "description_en": s.description_en,
        }
        for s in load_taxonomy().sectors
    ]


@router.get("/docs", dependencies=[Depends(API_PUBLIC)], include_in_schema=False)
def api_docs(request: Request) -> Response:
    spec = request.app.openapi()
    operations = []
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "parameters": op.get("parameters", []),
                }
            )
    return page(request, "api_docs.html", {"operations": operations})
