"""Who may open what: one access rule per route, checked on every request.

Each route names its rule as a dependency (``Depends(STAFF)`` ...). The rule table is
the single source of truth for the authorisation matrix test, which walks the app's
routes and fails on any route without exactly one rule.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.context import portal_of
from portal.security import SESSION_MAX_AGE_SECONDS, api_key_hash, session_key
from schema.engine import session_factory
from schema.models import ApiKey, PortalSession, User, utcnow
from search.timing import span


class Access(enum.Enum):
    PUBLIC = "public"  # login page, language switch, health, API docs
    SUBSCRIBER_LINK = "subscriber_link"  # a signed token in the link decides, not a login
    STAFF = "staff"
    ANALYST = "analyst"
    ADMIN = "admin"


# Analysts and admins do everything staff do; admins everything analysts do.
ROLE_RANK = {"staff": 1, "analyst": 2, "admin": 3}
_LEVEL_RANK = {Access.STAFF: 1, Access.ANALYST: 2, Access.ADMIN: 3}
API_KEY_HEADER = "X-API-Key"


class NotAuthenticated(Exception):
    """No valid login (pages: go to the login page; API: 401)."""

    def __init__(self, api: bool) -> None:
        self.api = api


class Forbidden(Exception):
    """Logged in, but the role is not enough (403)."""

    def __init__(self, api: bool) -> None:
        self.api = api


def role_allows(role: str, level: Access) -> bool:
    if level in (Access.PUBLIC, Access.SUBSCRIBER_LINK):
        return True
    return ROLE_RANK.get(role, 0) >= _LEVEL_RANK[level]


def _session_user(request: Request, session: Session) -> User | None:
    """The cookie's user, if the session is still open on the server (logout and a password change
    close it) and the user is active."""
    data = getattr(request.state, "session", None)
    if data is None or data.user_id is None:
        return None
    oldest = utcnow() - dt.timedelta(seconds=SESSION_MAX_AGE_SECONDS)
    user: User | None = session.execute(
        select(User)
        .join(PortalSession, PortalSession.user_id == User.id)
        .where(
            PortalSession.id == session_key(data.sid),
            PortalSession.created_at > oldest,
            User.id == data.user_id,
            User.active.is_(True),
        )
    ).scalar_one_or_none()
    return user


def _api_key_user(request: Request, session: Session) -> User | None:
    key = request.headers.get(API_KEY_HEADER)
    if not key:
        return None
    row = session.execute(
        select(User)
        .join(ApiKey, ApiKey.user_id == User.id)
        .where(ApiKey.key_hash == api_key_hash(key), ApiKey.revoked.is_(False), User.active.is_(True))
    ).scalar_one_or_none()
    return row


def current_user(request: Request) -> User | None:
    """The logged-in user (session cookie, or API key on /api), or None; cached per request."""
    if hasattr(request.state, "user"):
        cached: User | None = request.state.user
        return cached
    with span("access"), session_factory(portal_of(request).engine)() as session:
        user = _api_key_user(request, session) if request.url.path.startswith("/api") else None
        if user is None:
            user = _session_user(request, session)
        if user is not None:
            session.expunge(user)
    request.state.user = user
    return user


@dataclass(frozen=True)
class AccessRule:
    """A FastAPI dependency: returns the user when the rule allows the request, else raises."""

    level: Access
    api: bool = False

    def __call__(self, request: Request) -> User | None:
        user = current_user(request)
        if self.level in (Access.PUBLIC, Access.SUBSCRIBER_LINK):
            return user
        if user is None:
            raise NotAuthenticated(self.api)
        if not role_allows(user.role, self.level):
            raise Forbidden(self.api)
        return user


PUBLIC = AccessRule(Access.PUBLIC)
SUBSCRIBER_LINK = AccessRule(Access.SUBSCRIBER_LINK)
STAFF = AccessRule(Access.STAFF)
ANALYST = AccessRule(Access.ANALYST)
ADMIN = AccessRule(Access.ADMIN)
API_PUBLIC = AccessRule(Access.PUBLIC, api=True)
API_STAFF = AccessRule(Access.STAFF, api=True)
API_ANALYST = AccessRule(Access.ANALYST, api=True)
