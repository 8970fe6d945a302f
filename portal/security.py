"""Passwords, signed session cookies, CSRF tokens and API keys (the login throttle is portal.throttle).

Every secret comes from ``settings.secret_key``; nothing here keeps module-level state,
so two apps in one process (tests) never share sessions.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_COOKIE = "tbt_session"
# Under https the cookie is named __Host-...: browsers then accept it only with Secure, Path=/ and
# no Domain, so neither plain http nor a sibling subdomain can plant or overwrite it.
SECURE_SESSION_COOKIE = "__Host-" + SESSION_COOKIE
# A year; no includeSubDomains: other services may share the parent domain.
HSTS = "max-age=31536000"
# A working day plus slack: staff log in once in the morning.
SESSION_MAX_AGE_SECONDS = 12 * 3600


def hash_password(password: str) -> str:
    return PasswordHasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return PasswordHasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# A valid hash of nothing anyone knows: verifying against it for unknown usernames
# takes as long as for real ones, so response time does not reveal who exists.
def dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def new_api_key() -> str:
    return "tbt_" + secrets.token_urlsafe(32)


def api_key_hash(key: str) -> str:
    # API keys are 256-bit random strings: a plain SHA-256 is enough (no dictionary to attack),
    # and it lets us look the key up by its hash.
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class SessionData:
    """What the signed cookie carries: a random session id, and the user once logged in."""

    sid: str
    user_id: int | None = None


class SessionSigner:
    def __init__(self, secret_key: str) -> None:
        # HMAC-SHA256, as every other signature of the project (itsdangerous defaults to SHA-1).
        self._serializer = URLSafeTimedSerializer(
            secret_key, salt="tbt-portal-session", signer_kwargs={"digest_method": hashlib.sha256}
        )
        self._csrf_key = hashlib.sha256(("csrf:" + secret_key).encode()).digest()

    def dumps(self, data: SessionData) -> str:
        return self._serializer.dumps({"sid": data.sid, "uid": data.user_id})

    def loads(self, cookie: str | None) -> SessionData | None:
        if not cookie:
            return None
        try:
            raw: Any = self._serializer.loads(cookie, max_age=SESSION_MAX_AGE_SECONDS)
        except BadSignature:  # also covers SignatureExpired
            return None
        if not isinstance(raw, dict) or not isinstance(raw.get("sid"), str):
            return None
        uid = raw.get("uid")
        return SessionData(sid=raw["sid"], user_id=uid if isinstance(uid, int) else None)

    def csrf_token(self, sid: str) -> str:
        """The CSRF token is bound to the session id, so a token from another session fails."""
        return hmac.new(self._csrf_key, sid.encode(), hashlib.sha256).hexdigest()

    def csrf_valid(self, sid: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token(sid), str(token))


def session_key(sid: str) -> str:
    """What the database keeps of a session id (portal_sessions.id): its SHA-256, never the id itself."""
    return hashlib.sha256(sid.encode()).hexdigest()


def session_cookie_name(secure: bool) -> str:
    return SECURE_SESSION_COOKIE if secure else SESSION_COOKIE


def new_session_id() -> str:
    return secrets.token_urlsafe(24)


def content_security_policy() -> str:
    # Everything is served by us: no inline script or style, no frames, forms post only here.
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )


SECURITY_HEADERS = {
    "Content-Security-Policy": content_security_policy(),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
