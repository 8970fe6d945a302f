"""Logging in and out, changing one's password, the language switch, the start page and the health check."""

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
from portal.throttle import client_address
from portal.users import end_session, open_session, set_password
from portal.web import safe_next, verify_csrf
from schema.models import User, utcnow
from tbt_alert.errors import UserError

router = APIRouter(include_in_schema=False)


def address_of(request: Request) -> str:
    """The client's address, read through the trusted proxies (portal.throttle)."""
    portal = portal_of(request)
    peer = request.client.host if request.client else None
    forwarded = request.headers.get("x-forwarded-for")
    address = client_address(peer, forwarded, portal.trusted_proxies)
    if forwarded and peer and address == peer[:100]:
        portal.throttle.note_unlisted_proxy(peer)
    return address


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
    reservation = portal.throttle.reserve(address_of(request), username)
    if reservation is None:
        return page(request, "login.html", {"next": safe_next(next), "error": words["login_rate_limited"]}, status=429)
    user = session.execute(select(User).where(User.username == username.strip())).scalar_one_or_none()
    with portal.throttle.password_check():
        if user is None or not user.active:
            if portal.dummy_password_hash is None:
                portal.dummy_password_hash = hash_password(new_session_id())
            verify_password(portal.dummy_password_hash, password)  # same cost as a real check
            ok = False
        else:
            ok = verify_password(user.password_hash, password)
    if not ok or user is None:
        return page(request, "login.html", {"next": safe_next(next), "error": words["login_failed"]}, status=401)
    portal.throttle.succeeded(reservation)
    user.last_login_at = utcnow()
    # A fresh session id on login: a session id planted before login is worthless after it.
    sid = open_session(session, user.id)
    session.commit()
    request.state.session = SessionData(sid=sid, user_id=user.id)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout", dependencies=[Depends(STAFF), Depends(verify_csrf)])
def logout(request: Request, session: Annotated[Session, Depends(db_session)]) -> Response:
    # Closed on the server: a copy of the cookie (another tab, a stolen one) is worthless from now on.
    end_session(session, request.state.session.sid)
    session.commit()
    request.state.session = SessionData(sid=new_session_id())
    return RedirectResponse("/login", status_code=303)


def _password_page(request: Request, error: str | None = None, *, status: int = 200, changed: bool = False) -> Response:
    return page(request, "account_password.html", {"error": error, "changed": changed}, status=status)


@router.get("/account/password", dependencies=[Depends(STAFF)])
def password_form(request: Request, changed: int = 0) -> Response:
    return _password_page(request, changed=bool(changed))


@router.post("/account/password", dependencies=[Depends(STAFF), Depends(verify_csrf)])
def change_password(
    request: Request,
    session: Annotated[Session, Depends(db_session)],
    current_password: Annotated[str, Form(max_length=1000)],
    new_password: Annotated[str, Form(max_length=1000)],
    new_password_again: Annotated[str, Form(max_length=1000)],
) -> Response:
    """A new password ends every session of the user; this browser gets a fresh one."""
    words = translator(request.state.language)
    me = STAFF(request)
    user = session.get(User, me.id) if me is not None else None
    if user is None:
        return _password_page(request, words["forbidden"], status=403)
    # The current password is guessed as a login would be: the same throttle counts the tries.
    reservation = portal_of(request).throttle.reserve(address_of(request), user.username)
    if reservation is None:
        return _password_page(request, words["login_rate_limited"], status=429)
    with portal_of(request).throttle.password_check():
        right = verify_password(user.password_hash, current_password)
    if not right:
        return _password_page(request, words["password_current_wrong"], status=403)
    portal_of(request).throttle.succeeded(reservation)
    if new_password != new_password_again:
        return _password_page(request, words["password_mismatch"], status=422)
    try:
        set_password(session, user.username, new_password)
    except UserError:
        return _password_page(request, words["password_too_short"], status=422)
    sid = open_session(session, user.id)
    session.commit()
    request.state.session = SessionData(sid=sid, user_id=user.id)
    return RedirectResponse("/account/password?changed=1", status_code=303)


@router.get("/lang/{code}", dependencies=[Depends(PUBLIC)])
def switch_language(code: str, next: str | None = None) -> Response:
    response = RedirectResponse(safe_next(next, "/"), status_code=303)
    if code in LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, samesite="lax", httponly=True)
    return response
