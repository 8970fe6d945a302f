"""Login throttling: failures are counted in the database (so every worker process sees them), per
client address and per user at that address, with the address read through the trusted proxies
only; wrong passwords sent from elsewhere never lock out a user who knows the password."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from portal.app import create_app
from schema.engine import session_scope
from tests.portal.conftest import PortalEnv, csrf_of


@pytest.fixture
def account(portal_env: PortalEnv) -> tuple[str, str]:
    """A staff user of this test alone: (username, password)."""
    from portal.users import create_user

    username, password = f"throttled-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
    engine = portal_env.engine()
    try:
        with session_scope(engine) as session:
            create_user(session, username, "staff", password)
    finally:
        engine.dispose()
    return username, password


def _address() -> str:
    """A documentation address (RFC 5737) no other test uses, so its failures count for this test only."""
    n = uuid.uuid4().int
    return f"198.51.{n % 250}.{(n >> 8) % 250 + 1}"


def _login(app: Any, username: str, password: str, *, peer: str, forwarded: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    with TestClient(app, client=(peer, 40000), follow_redirects=False) as client:
        token = csrf_of(client.get("/login").text)
        response = client.post(
            "/login", data={"username": username, "password": password, "csrf_token": token}, headers=headers
        )
    return response.status_code


def test_wrong_passwords_from_elsewhere_never_lock_out_the_user(portal_app: Any, account: tuple[str, str]) -> None:
    username, password = account
    attacker = _address()
    codes = [_login(portal_app, username, "wrong-password", peer=attacker) for _ in range(7)]
    assert codes[:5] == [401] * 5
    assert codes[5:] == [429, 429]  # the attacker's address is slowed down for this user...
    assert _login(portal_app, username, password, peer=_address()) == 303  # ...the user is not


def test_one_address_trying_many_users_is_throttled(portal_app: Any, portal_env: PortalEnv) -> None:
    spraying = _address()
    codes = [
        _login(portal_app, f"nobody-{n}", "wrong-password", peer=spraying) for n in range(22)
    ]  # unknown users: the same cost as real ones, and counted the same
    assert codes[:20] == [401] * 20
    assert codes[20:] == [429, 429]
    assert _login(portal_app, "staff1", portal_env.passwords["staff1"], peer=_address()) == 303


def test_the_count_holds_across_worker_processes(portal_env: PortalEnv, account: tuple[str, str]) -> None:
    """Two apps on one database stand for two uvicorn workers: neither sees the other's memory."""
    username, _ = account
    first, second = create_app(portal_env.settings), create_app(portal_env.settings)
    attacker = _address()
    codes = [_login(app, username, "wrong-password", peer=attacker) for app in (first, second) * 3]
    assert codes == [401] * 5 + [429]


def _behind_proxy(env: PortalEnv, proxies: str) -> Any:
    from tbt_alert.settings import load_settings

    return create_app(load_settings({**env.settings.extra, "TBT_PORTAL_TRUSTED_PROXIES": proxies}))


def test_behind_the_trusted_proxy_each_client_counts_alone(portal_env: PortalEnv, account: tuple[str, str]) -> None:
    username, password = account
    proxy = "10.9.8.7"
    app = _behind_proxy(portal_env, f"{proxy}, 127.0.0.1")
    attacker = _address()
    codes = [_login(app, username, "wrong-password", peer=proxy, forwarded=attacker) for _ in range(6)]
    assert codes == [401] * 5 + [429]
    # Everyone arrives from the proxy's address: only the forwarded one tells them apart.
    assert _login(app, username, password, peer=proxy, forwarded=f"{_address()}, 127.0.0.1") == 303


def test_a_forwarded_header_from_an_untrusted_peer_is_ignored(portal_env: PortalEnv, account: tuple[str, str]) -> None:
    username, _ = account
    app = _behind_proxy(portal_env, "10.9.8.7")
    peer = _address()  # not the proxy: it may not pick the address it is counted under
    codes = [_login(app, username, "wrong-password", peer=peer, forwarded=_address()) for _ in range(6)]
    assert codes == [401] * 5 + [429]


def test_an_invalid_trusted_proxy_setting_is_refused_at_start(portal_env: PortalEnv) -> None:
    from tbt_alert.errors import TbtError

    with pytest.raises(TbtError, match="TBT_PORTAL_TRUSTED_PROXIES"):
        _behind_proxy(portal_env, "10.0.0.1, not-an-address")


def test_concurrent_guesses_get_no_more_password_checks_than_the_limit(
    portal_app: Any, account: tuple[str, str]
) -> None:
    """The attempt is counted before the password is checked, so a burst cannot slip past the count."""
    username, _ = account
    attacker = _address()
    clients = [TestClient(portal_app, client=(attacker, 40000), follow_redirects=False) for _ in range(12)]
    tokens = [csrf_of(c.get("/login").text) for c in clients]

    def guess(n: int) -> int:
        response = clients[n].post(
            "/login", data={"username": username, "password": f"guess-{n}", "csrf_token": tokens[n]}
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(pool.map(guess, range(12)))
    for c in clients:
        c.close()
    assert codes.count(401) <= 5
    assert codes.count(429) >= 7


def test_a_forwarded_header_from_an_unlisted_proxy_is_logged_once(
    portal_env: PortalEnv, account: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """A proxy the setting does not name makes every user share its address: the operator is told how to fix it."""
    username, password = account
    app = _behind_proxy(portal_env, "10.9.8.7")
    proxy = _address()
    with caplog.at_level("WARNING", logger="portal.throttle"):
        for _ in range(2):
            assert _login(app, username, password, peer=proxy, forwarded=_address()) == 303
    warnings = [r.getMessage() for r in caplog.records if r.name == "portal.throttle"]
    assert len(warnings) == 1
    assert "TBT_PORTAL_TRUSTED_PROXIES" in warnings[0]
    assert proxy in warnings[0]
