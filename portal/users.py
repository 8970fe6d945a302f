"""Portal users and API keys: create, issue keys, and the demo login `tbt-alert run` prints."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.access import ROLE_RANK
from portal.security import api_key_hash, hash_password, new_api_key
from schema.engine import session_for
from schema.models import ApiKey, PipelineState, User
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
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password is shorter than {MIN_PASSWORD_LENGTH} characters; choose a longer one.")
    if session.execute(select(User.id).where(User.username == name)).first():
        raise UserError(f"user {name!r} exists already; pick another username.")
    user = User(username=name, role=role, password_hash=hash_password(password), email=email)
    session.add(user)
    session.flush()
    return user


def issue_api_key(session: Session, username: str, *, name: str = "cli") -> str:
    """A new API key for ``username``; only its hash is stored, so this is the one chance to see it."""
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise UserError(f"user {username!r} does not exist; create it with `tbt-alert users add`.")
    key = new_api_key()
    session.add(ApiKey(user_id=user.id, name=name[:100], key_hash=api_key_hash(key)))
    session.flush()
    return key


def ensure_demo_user(settings: Settings) -> tuple[str, str]:
    """A staff login for a local demo: (username, password), made once per database.

    The password is random and kept in the data dir (mode 600) beside the database, so
    `make run` can print it every time without storing it in the database.
    """
    password_file = settings.data_dir / "demo_password"
    with session_for(settings) as session:
        user = session.execute(select(User).where(User.username == DEMO_USERNAME)).scalar_one_or_none()
        if user is not None and password_file.exists():
            return DEMO_USERNAME, password_file.read_text().strip()
        password = secrets.token_urlsafe(12)
        if user is None:
            create_user(session, DEMO_USERNAME, "staff", password)
        else:  # the password file was lost: give the demo user a new password
            user.password_hash = hash_password(password)
        state = session.get(PipelineState, _DEMO_STATE_KEY) or PipelineState(key=_DEMO_STATE_KEY)
        state.value = {"username": DEMO_USERNAME, "role": "staff"}
        session.merge(state)
    # Written once the user is committed: a file without its user would be a login that fails.
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    password_file.touch(mode=0o600)
    password_file.write_text(password)
    return DEMO_USERNAME, password
