"""Login throttling that slows down password guessing without letting anyone lock out a user.

Attempts are counted in the database (``login_attempts``), so every worker process sees the same
counts. Two keys: the client address (a limit on one address trying many users) and the user *at
that address*. Wrong passwords sent from elsewhere therefore never stop the user from logging in
with the right one; only their own address's failures can. The address comes from
``X-Forwarded-For`` only through the proxies named in ``TBT_PORTAL_TRUSTED_PROXIES``: without that,
every user behind the documented TLS proxy would share the proxy's address, and anyone could pick
the address they are counted under.

An attempt is counted *before* its password is checked, and committed before the counts are read:
of any burst, at most the limit's worth get an Argon2 check, however many arrive at once. The
checks that do run are bounded per process by a semaphore (each takes 64 MiB).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine, delete, func, select

from schema.engine import session_scope
from schema.models import LoginAttempt, utcnow
from tbt_alert.settings import Network

log = logging.getLogger(__name__)

# Declared in tbt_alert.settings (Settings.portal_trusted_proxies); named here in the operator's warning.
TRUSTED_PROXIES_VARIABLE = "TBT_PORTAL_TRUSTED_PROXIES"
# Failed logins for one user from one address in the window: a person mistyping stays well under it.
ATTEMPTS_PER_USER = 5
# Failed logins from one address for any users (an office behind one NAT shares it).
ATTEMPTS_PER_ADDRESS = 20
WINDOW_SECONDS = 300
# Argon2 checks at once per process: with 64 MiB each, a burst cannot take the machine's memory.
CONCURRENT_PASSWORD_CHECKS = 4


def _is_trusted(address: str, proxies: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(peer: str | None, forwarded: str | None, proxies: tuple[Network, ...]) -> str:
    """The client's address: the peer's, or, while the hop is a trusted proxy, the address it
    forwarded (read from the right of X-Forwarded-For, where each proxy appends its own peer)."""
    current = peer or "unknown"
    hops = [h.strip() for h in (forwarded or "").split(",") if h.strip()]
    while hops and _is_trusted(current, proxies):
        current = hops.pop()
    return current[:100]


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Reservation:
    """An attempt counted before its password check: the row ids per key."""

    user_key: str
    address_attempt_id: int


class LoginThrottle:
    def __init__(
        self,
        engine: Engine,
        *,
        attempts_per_user: int = ATTEMPTS_PER_USER,
        attempts_per_address: int = ATTEMPTS_PER_ADDRESS,
        window_seconds: int = WINDOW_SECONDS,
    ) -> None:
        self.engine = engine
        self.attempts_per_user = attempts_per_user
        self.attempts_per_address = attempts_per_address
        self.window = dt.timedelta(seconds=window_seconds)
        self._checks = threading.BoundedSemaphore(CONCURRENT_PASSWORD_CHECKS)
        self._unlisted_proxies: set[str] = set()
        self._lock = threading.Lock()

    def note_unlisted_proxy(self, peer: str) -> None:
        """Log once per peer that it sends X-Forwarded-For without being a trusted proxy: behind such a
        proxy every user is counted under its address, and 20 failures lock out everyone."""
        with self._lock:
            if peer in self._unlisted_proxies:
                return
            self._unlisted_proxies.add(peer)
        log.warning(
            "%s sent X-Forwarded-For but is not in %s, so logins are counted under its address; "
            "if it is your reverse proxy, add it to %s.",
            peer,
            TRUSTED_PROXIES_VARIABLE,
            TRUSTED_PROXIES_VARIABLE,
        )

    def reserve(self, address: str, username: str) -> Reservation | None:
        """Count this attempt; None when the address, or this user at this address, is over its limit.

        A refused attempt counts too: an address that keeps guessing stays refused."""
        user_key, address_key = _key(f"user:{username.strip().lower()}@{address}"), _key(f"address:{address}")
        now = utcnow()
        with session_scope(self.engine) as session:
            session.execute(delete(LoginAttempt).where(LoginAttempt.at <= now - self.window))
            rows = [LoginAttempt(key_hash=user_key, at=now), LoginAttempt(key_hash=address_key, at=now)]
            session.add_all(rows)
            session.flush()
            address_attempt_id = rows[1].id
        # Committed: a concurrent attempt now counts this one, and this one counts every one before it.
        with session_scope(self.engine) as session:
            counts = dict(
                session.execute(
                    select(LoginAttempt.key_hash, func.count())
                    .where(LoginAttempt.key_hash.in_((user_key, address_key)), LoginAttempt.at > now - self.window)
                    .group_by(LoginAttempt.key_hash)
                ).all()
            )
        if counts.get(user_key, 0) > self.attempts_per_user or counts.get(address_key, 0) > self.attempts_per_address:
            return None
        return Reservation(user_key, address_attempt_id)

    def succeeded(self, reservation: Reservation) -> None:
        """The password was right: the user's failures at this address are forgotten, and this attempt
        does not count against the address (its earlier failures still do: logging in to one's own
        account must not reset a count that guesses at others' built up)."""
        with session_scope(self.engine) as session:
            session.execute(delete(LoginAttempt).where(LoginAttempt.key_hash == reservation.user_key))
            session.execute(delete(LoginAttempt).where(LoginAttempt.id == reservation.address_attempt_id))

    @contextmanager
    def password_check(self) -> Iterator[None]:
        with self._checks:
            yield
