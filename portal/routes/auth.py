"""Logging in and out, the language switch, the start page and the health check."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.access import PUBLIC, STAFF
from portal.context import db_session, portal_of
from portal.i18n import LANG_COOKIE, LANGUAGES, translator
from portal.render import page
from portal.security import SessionData, hash_password, new_session_id, verify_password
from portal.web import safe_next, verify_csrf
from schema.models import User, utcnow

router = APIRouter(include_in_schema=False)


@router.get("/", dependencies=[Depends(PUBLIC)])
def home(request: Request) -> Response:
    user = PUBLIC(request)
    return RedirectResponse("/search" if user else "/login", status_code=303)


@router.get("/healthz", dependencies=[Depends(PUBLIC)])
def health() -> PlainTextResponse:
    return PlainTextResponse("ok")


@router.get("/login", dependencies=[Depends(PUBLIC)])
def login_form(request: Request, next: str | None = None) -> Response:
    return page(request, "login.html", {"next": safe_next(next), "error": None})


@router.post("/login", dependencies=[Depends(PUBLIC), Depends(verify_csrf)])
def login(
    request: Request,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1000)],
    session: Annotated[Session, Depends(db_session)],
    next: Annotated[str | None, Form()] = None,
) -> Response:
    portal = portal_of(request)
    words = translator(request.state.language)
    client = request.client.host if request.client else "unknown"
    keys = (f"ip:{client}", f"user:{username.strip().lower()}")
    if portal.limiter.blocked(*keys):
        return page(request, "login.html", {"next": safe_next(next), "error": words["login_rate_limited"]}, status=429)
    user = session.execute(select(User).where(User.username == username.strip())).scalar_one_or_none()
    if user is None or not user.active:
        if portal.dummy_password_hash is None:
            portal.dummy_password_hash = hash_password(new_session_id())
        verify_password(portal.dummy_password_hash, password)  # same cost as a real check
        ok = False
    else:
        ok = verify_password(user.password_hash, password)
    if not ok or user is None:
        portal.limiter.fail(*keys)
        return page(request, "login.html", {"next": safe_next(next), "error": words["login_failed"]}, status=401)
    portal.limiter.reset(*keys)
    user.last_login_at = utcnow()
    session.commit()
    # A fresh session id on login: a session id planted before login is worthless after it.
    request.state.session = SessionData(sid=new_session_id(), user_id=user.id)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout", dependencies=[Depends(STAFF), Depends(verify_csrf)])
def logout(request: Request) -> Response:
    request.state.session = SessionData(sid=new_session_id())
    return RedirectResponse("/login", status_code=303)


@router.get("/lang/{code}", dependencies=[Depends(PUBLIC)])
def switch_language(code: str, next: str | None = None) -> Response:
    response = RedirectResponse(safe_next(next, "/"), status_code=303)
    if code in LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, samesite="lax", httponly=True)
    return response
