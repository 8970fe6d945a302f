"""Admin pages: users, subscribers, and the operations overview of sources and the index."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from portal.access import ADMIN, ROLE_RANK
from portal.context import db_session, portal_of
from portal.i18n import translator
from portal.render import language_of, page
from portal.security import hash_password
from portal.web import verify_csrf
from schema.models import ApiKey, CrawlRun, Measure, QuarantinedRecord, Source, Subscriber, User
from tbt_alert.errors import SearchError, ServiceUnavailable

router = APIRouter(include_in_schema=False)
MIN_PASSWORD_LENGTH = 12
QUARANTINE_SHOWN = 50


def _users_page(request: Request, session: Session, error: str | None = None, status: int = 200) -> Response:
    users = session.execute(select(User).order_by(User.username)).scalars().all()
    keys = session.execute(
        select(ApiKey, User.username).join(User, User.id == ApiKey.user_id).order_by(User.username, ApiKey.id)
    ).all()
    return page(
        request,
        "admin_users.html",
        {"users": users, "roles": list(ROLE_RANK), "error": error, "api_keys": keys},
        status=status,
    )


@router.get("/admin/users", dependencies=[Depends(ADMIN)])
def users_page(request: Request, session: Annotated[Session, Depends(db_session)]) -> Response:
    return _users_page(request, session)


@router.post("/admin/users", dependencies=[Depends(ADMIN), Depends(verify_csrf)])
def add_user(
    request: Request,
    session: Annotated[Session, Depends(db_session)],
    username: Annotated[str, Form(min_length=1, max_length=100)],
    password: Annotated[str, Form(max_length=1000)],
    role: Annotated[str, Form()],
    email: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    words = translator(language_of(request))
    if role not in ROLE_RANK:
        raise HTTPException(422, f"role must be one of {', '.join(ROLE_RANK)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        return _users_page(request, session, words["password_too_short"], 422)
    if session.execute(select(User.id).where(User.username == username.strip())).first():
        return _users_page(request, session, words["user_exists"], 409)
    session.add(
        User(username=username.strip(), password_hash=hash_password(password), role=role, email=email.strip() or None)
    )
    session.commit()
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{user_id}/active", dependencies=[Depends(ADMIN), Depends(verify_csrf)])
def set_user_active(
    request: Request,
    user_id: int,
    session: Annotated[Session, Depends(db_session)],
    active: Annotated[str, Form()] = "0",
) -> Response:
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(404)
    me = ADMIN(request)
    if me is not None and me.id == user.id:
        raise HTTPException(422, "You cannot deactivate yourself.")
    user.active = active == "1"
    session.commit()
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/api-keys/{key_id}/revoke", dependencies=[Depends(ADMIN), Depends(verify_csrf)])
def revoke_api_key(key_id: int, session: Annotated[Session, Depends(db_session)]) -> Response:
    """A leaked key stops working at once; the user's other keys keep working."""
    key = session.get(ApiKey, key_id)
    if key is None:
        raise HTTPException(404)
    key.revoked = True
    session.commit()
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/subscribers/{subscriber_id}/revoke-links", dependencies=[Depends(ADMIN), Depends(verify_csrf)])
def revoke_subscriber_links(subscriber_id: int, session: Annotated[Session, Depends(db_session)]) -> Response:
    """Every confirm, manage and unsubscribe link sent so far stops working (a forwarded or leaked mail);
    the next mail carries new ones."""
    from alerts.lifecycle import revoke_links

    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise HTTPException(404)
    revoke_links(session, subscriber)
    session.commit()
    return RedirectResponse("/admin/subscribers", status_code=303)


@router.get("/admin/subscribers", dependencies=[Depends(ADMIN)])
def subscribers_page(request: Request, session: Annotated[Session, Depends(db_session)]) -> Response:
    subscribers = (
        session.execute(select(Subscriber).options(selectinload(Subscriber.subscriptions)).order_by(Subscriber.email))
        .scalars()
        .all()
    )
    return page(request, "admin_subscribers.html", {"subscribers": subscribers})


def _counts(session: Session, query: Any) -> dict[str, int]:
    return {str(key): int(count) for key, count in session.execute(query)}


def source_overview(session: Session) -> list[dict[str, Any]]:
    """Each source with its latest crawl run and its quarantine count."""
    latest = (
        select(CrawlRun.source_id, func.max(CrawlRun.started_at).label("started"))
        .group_by(CrawlRun.source_id)
        .subquery()
    )
    runs = {
        r.source_id: r
        for r in session.execute(
            select(CrawlRun).join(
                latest, (CrawlRun.source_id == latest.c.source_id) & (CrawlRun.started_at == latest.c.started)
            )
        ).scalars()
    }
    quarantined = _counts(
        session,
        select(QuarantinedRecord.source_id, func.count())
        .where(QuarantinedRecord.resolved.is_(False))
        .group_by(QuarantinedRecord.source_id),
    )
    measures = _counts(session, select(Measure.source_id, func.count()).group_by(Measure.source_id))
    suspicious = _counts(
        session,
        select(CrawlRun.source_id, func.count()).where(CrawlRun.suspicious.is_(True)).group_by(CrawlRun.source_id),
    )
    sources = session.execute(select(Source).order_by(Source.id)).scalars().all()
    return [
        {
            "source": s,
            "run": runs.get(s.id),
            "quarantined": quarantined.get(s.id, 0),
            "measures": measures.get(s.id, 0),
            "suspicious_runs": suspicious.get(s.id, 0),
        }
        for s in sources
    ]


@router.get("/admin/operations", dependencies=[Depends(ADMIN)])
def operations_page(request: Request, session: Annotated[Session, Depends(db_session)]) -> Response:
    records = (
        session.execute(
            select(QuarantinedRecord)
            .where(QuarantinedRecord.resolved.is_(False))
            .order_by(QuarantinedRecord.created_at.desc())
            .limit(QUARANTINE_SHOWN)
        )
        .scalars()
        .all()
    )
    consistency: Any = None
    consistency_error: str | None = None
    try:
        from search.lifecycle import index_counts

        consistency = index_counts(portal_of(request).settings)
    except (ImportError, SearchError, ServiceUnavailable) as exc:
        consistency_error = str(exc)
    return page(
        request,
        "admin_operations.html",
        {
            "sources": source_overview(session),
            "quarantine": records,
            "consistency": consistency,
            "consistency_error": consistency_error,
        },
    )
