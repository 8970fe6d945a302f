"""Portal users, their sessions and API keys: create, set a password, open and end sessions, issue,
list and revoke keys, and the demo login `tbt-alert run` prints."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from portal.access import ROLE_RANK
from portal.security import (
    SESSION_MAX_AGE_SECONDS,
    api_key_hash,
    hash_password,
    new_api_key,
    new_session_id,
    session_key,
)
from schema.engine import session_for
from schema.models import ApiKey, PipelineState, PortalSession, User, utcnow
from tbt_alert.errors import UserError
from tbt_alert.settings import Settings

DEMO_USERNAME = "demo"
_DEMO_STATE_KEY = "portal.demo_user"
MIN_PASSWORD_LENGTH = 12


def create_user(session: Session, username: str, role: str, password: str, *, email: str | None = None) -> User:
    name = username.strip()
    if not name or len(name) > 100:
        raise UserError(f"username {username!r} is empty or too long; use 1-100 characters.")
    if role not in ROLE_RANK:
        raise UserError(f"role {role!r} is unknown; use one of {', '.join(ROLE_RANK)}.")
    check_new_password(password)
    if session.execute(select(User.id).where(User.username == name)).first():
        raise UserError(f"user {name!r} exists already; pick another username.")
    user = User(username=name, role=role, password_hash=hash_password(password), email=email)
    session.add(user)
    session.flush()
    return user


def _user(session: Session, username: str) -> User:
    user = session.execute(select(User).where(User.username == username.strip())).scalar_one_or_none()
    if user is None:
        raise UserError(f"user {username!r} does not exist; list the users on /admin/users.")
    return user


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password is shorter than {MIN_PASSWORD_LENGTH} characters; choose a longer one.")


def set_password(session: Session, username: str, password: str) -> User:
    """A new password for ``username``; every session of the user ends (a leaked cookie with it)."""
    check_new_password(password)
    user = _user(session, username)
    user.password_hash = hash_password(password)
    end_sessions(session, user.id)
    session.flush()
    return user


def open_session(session: Session, user_id: int) -> str:
    """A new logged-in session for ``user_id``: its id for the cookie; the database keeps its hash.

    Sessions past the cookie's maximum age are deleted on the way (nothing else would)."""
    session.execute(
        delete(PortalSession).where(PortalSession.created_at < utcnow() - dt.timedelta(seconds=SESSION_MAX_AGE_SECONDS))
    )
    sid = new_session_id()
    session.add(PortalSession(id=session_key(sid), user_id=user_id))
    session.flush()
    return sid


def end_session(session: Session, sid: str) -> None:
    session.execute(delete(PortalSession).where(PortalSession.id == session_key(sid)))


def end_sessions(session: Session, user_id: int) -> None:
    """Log ``user_id`` out everywhere."""
    session.execute(delete(PortalSession).where(PortalSession.user_id == user_id))


def api_keys_of(session: Session, username: str) -> list[ApiKey]:
    """The user's API keys, oldest first, revoked ones included (their hashes only)."""
    user = _user(session, username)
    return list(session.execute(select(ApiKey).where(ApiKey.user_id == user.id).order_by(ApiKey.id)).scalars())


def revoke_api_keys(session: Session, username: str, *, name: str | None = None, key_id: int | None = None) -> int:
    """Revoke the user's keys (those called ``name``, or the one ``key_id``, or all); how many were live."""
    user = _user(session, username)
    query = update(ApiKey).where(ApiKey.user_id == user.id, ApiKey.revoked.is_(False))
    if name is not None:
        query = query.where(ApiKey.name == name)
    if key_id is not None:
        query = query.where(ApiKey.id == key_id)
    revoked = session.execute(query.values(revoked=True)).rowcount  # type: ignore[attr-defined]
    session.flush()
    return int(revoked)


def issue_api_key(session: Session, username: str, *, name: str = "cli") -> str:
    """A new API key for ``username``; only its hash is stored, so this is the one chance to see it."""
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise UserError(f"user {username!r} does not exist; create it with `tbt-alert users add`.")
    key = new_api_key()
    session.add(ApiKey(user_id=user.id, name=name[:100], key_hash=api_key_hash(key)))
    session.flush()
    return key


def ensure_demo_user(settings: Settings) -> tuple[str, Path] | None:
    """A staff login for a local demo: (username, the file that holds its password), made once per
    database; None under ``TBT_ENV=production``, where no standing demo account may exist (review L6).

    The database keeps only the Argon2 hash. The password is written once to a file in the data dir
    that only its owner can read (mode 600), and `tbt-alert run` prints that file's path, never the
    password: its output lands in CI and cron logs.
    """
    if settings.extra.get("TBT_ENV", "development") == "production":
        return None
    password_file = settings.data_dir / "demo_password"
    with session_for(settings) as session:
        user = session.execute(select(User).where(User.username == DEMO_USERNAME)).scalar_one_or_none()
        if user is not None and password_file.exists():
            password_file.chmod(0o600)  # a file from an older version may have the umask's mode
            return DEMO_USERNAME, password_file
        password = secrets.token_urlsafe(12)
        if user is None:
            create_user(session, DEMO_USERNAME, "staff", password)
        else:  # the password file was lost: give the demo user a new password
            user.password_hash = hash_password(password)
        state = session.get(PipelineState, _DEMO_STATE_KEY) or PipelineState(key=_DEMO_STATE_KEY)
        state.value = {"username": DEMO_USERNAME, "role": "staff"}
        session.merge(state)
    # Written once the user is committed: a file without its user would be a login that fails.
    _write_private(password_file, password)
    return DEMO_USERNAME, password_file


def _write_private(path: Path, text: str) -> None:
    """``text`` in a new file that is mode 600 from its first byte (no window with the umask's mode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
