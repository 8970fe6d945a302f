"""Recall-risk reports for analysts: list, open, download, and build one for a period."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from classifiers.labels import sector_choices
from portal.access import ANALYST
from portal.context import db_session, portal_of
from portal.i18n import translator
from portal.render import language_of, page
from portal.web import verify_csrf
from schema.models import Report
from tbt_alert.errors import PeriodError, TbtError

router = APIRouter(include_in_schema=False)
MEDIA_TYPES = {"html": "text/html; charset=utf-8", "pdf": "application/pdf", "csv": "text/csv; charset=utf-8"}
# A rendered report has its own inline styles and embedded chart images, but never scripts.
REPORT_CSP = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)


def _list_context(request: Request, session: Session) -> dict[str, Any]:
    reports = session.execute(select(Report).order_by(Report.created_at.desc()).limit(200)).scalars().all()
    return {
        "reports": reports,
        "sectors": sector_choices(language_of(request)),
        "error": None,
        "form": {"period": "", "market": "", "sector": ""},
    }


@router.get("/reports", dependencies=[Depends(ANALYST)])
def reports_page(request: Request, session: Annotated[Session, Depends(db_session)]) -> Response:
    return page(request, "reports.html", _list_context(request, session))


@router.post("/reports", dependencies=[Depends(ANALYST), Depends(verify_csrf)])
def generate_report(
    request: Request,
    session: Annotated[Session, Depends(db_session)],
    period: Annotated[str, Form(max_length=32)],
    market: Annotated[str, Form(max_length=8)] = "",
    sector: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    words = translator(language_of(request))
    try:
        from reports.periods import FIRST_YEAR, LAST_YEAR, parse_period
        from reports.recall_risk import build_report
    except ImportError as exc:
        context = _list_context(request, session) | {"error": words["reports_unavailable"] + str(exc)}
        return page(request, "reports.html", context, status=503)
    form = {"period": period, "market": market, "sector": sector}
    try:
        parse_period(period)
    except PeriodError:
        # Said in the page's language, with every form a period may take and the years it may name.
        error = words["report_period_invalid"].format(period=period.strip(), first=FIRST_YEAR, last=LAST_YEAR)
        context = _list_context(request, session) | {"error": error, "form": form}
        return page(request, "reports.html", context, status=422)
    from portal.busy import busy, who

    try:
        with portal_of(request).costly.slot(who(request)) as granted:
            if not granted:
                return busy(request)
            outcome = build_report(
                portal_of(request).settings,
                period.strip(),
                market=market.strip().upper() or None,
                sector=sector.strip() or None,
            )
    except (TbtError, ValueError, OverflowError) as exc:  # OverflowError: date arithmetic at the calendar's ends
        context = _list_context(request, session) | {"error": words["report_failed"] + str(exc), "form": form}
        return page(request, "reports.html", context, status=422)
    return RedirectResponse(f"/reports/{outcome.report_id}", status_code=303)


def _report(session: Session, report_id: int) -> Report:
    report = session.get(Report, report_id)
    if report is None:
        raise HTTPException(404)
    return report


@router.get("/reports/{report_id}", dependencies=[Depends(ANALYST)])
def report_page(request: Request, report_id: int, session: Annotated[Session, Depends(db_session)]) -> Response:
    report = _report(session, report_id)
    return page(
        request, "report.html", {"report": report, "formats": sorted(f for f in report.files if f in MEDIA_TYPES)}
    )


@router.get("/reports/{report_id}/file/{fmt}", dependencies=[Depends(ANALYST)])
def report_file(
    request: Request, report_id: int, fmt: str, session: Annotated[Session, Depends(db_session)]
) -> Response:
    report = _report(session, report_id)
    if fmt not in MEDIA_TYPES or not report.files.get(fmt):
        raise HTTPException(404)
    reports_dir = portal_of(request).settings.reports_dir.resolve()
    path = Path(str(report.files[fmt]))
    path = (path if path.is_absolute() else reports_dir / path).resolve()
    # Only files under the reports folder are served, whatever the database says.
    if not path.is_relative_to(reports_dir) or not path.is_file():
        raise HTTPException(404)
    headers = {"Content-Security-Policy": REPORT_CSP, "X-Frame-Options": "SAMEORIGIN"}
    if fmt == "pdf":
        headers["Content-Disposition"] = f'inline; filename="{path.name}"'
    return FileResponse(path, media_type=MEDIA_TYPES[fmt], headers=headers)
