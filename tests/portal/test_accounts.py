"""Revoking credentials: logout ends the session on the server, a password change ends the user's
other sessions, API keys are revoked from the admin page (and portal.users for the CLI), and an
admin can invalidate a subscriber's links."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from alerts.tokens import make_token
from schema.engine import session_scope
from schema.models import ApiKey, Subscriber
from tests.portal.conftest import PortalEnv, csrf_of, log_in


@dataclass
class Person:
    username: str
    password: str
    user_id: int


@pytest.fixture
def person(portal_env: PortalEnv) -> Person:
    """A staff user of this test alone, so changing its password or keys touches no other test."""
    from portal.users import create_user

    username = f"person-{uuid.uuid4().hex[:8]}"
    password = f"pw-{uuid.uuid4().hex}"
    engine = portal_env.engine()
    try:
        with session_scope(engine) as session:
            user = create_user(session, username, "staff", password)
            user_id = user.id
    finally:
        engine.dispose()
    return Person(username, password, user_id)


def _client(app: Any) -> TestClient:
    return TestClient(app, follow_redirects=False)


def test_logout_ends_the_session_on_the_server(portal_app: Any, person: Person) -> None:
    browser = _client(portal_app)
    log_in(browser, person.username, person.password)
    copied = dict(browser.cookies)
    assert browser.get("/search", params={"kind": "recall"}).status_code == 200
    token = csrf_of(browser.get("/search", params={"kind": "recall"}).text)
    assert browser.post("/logout", data={"csrf_token": token}).status_code == 303
    thief = _client(portal_app)
    thief.cookies.update(copied)  # the cookie as it was before logout, replayed
    response = thief.get("/search", params={"kind": "recall"})
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def _change(client: TestClient, current: str, new: str, again: str | None = None) -> Any:
    token = csrf_of(client.get("/account/password").text)
    return client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": current,
            "new_password": new,
            "new_password_again": again or new,
        },
    )


def test_password_change_ends_the_other_sessions(portal_app: Any, person: Person) -> None:
    here, elsewhere = _client(portal_app), _client(portal_app)
    log_in(here, person.username, person.password)
    log_in(elsewhere, person.username, person.password)
    page = here.get("/account/password")
    assert page.status_code == 200
    assert "修改密码" in page.text

    wrong = _change(here, "not-the-password", "a-new-password-123")
    assert wrong.status_code == 403
    assert "当前密码不正确" in wrong.text
    short = _change(here, person.password, "short")
    assert short.status_code == 422
    assert "12" in short.text
    mismatch = _change(here, person.password, "a-new-password-123", "another-password-456")
    assert mismatch.status_code == 422
    assert "不一致" in mismatch.text

    done = _change(here, person.password, "a-new-password-123")
    assert done.status_code == 303
    assert here.get("/search", params={"kind": "recall"}).status_code == 200  # this browser stays logged in
    assert elsewhere.get("/search", params={"kind": "recall"}).status_code == 303  # every other session ends
    fresh = _client(portal_app)
    token = csrf_of(fresh.get("/login").text)
    old = fresh.post("/login", data={"username": person.username, "password": person.password, "csrf_token": token})
    assert old.status_code == 401
    log_in(fresh, person.username, "a-new-password-123")


def test_set_password_for_the_cli_ends_every_session(portal_app: Any, portal_env: PortalEnv, person: Person) -> None:
    from portal.users import set_password
    from tbt_alert.errors import UserError

    browser = _client(portal_app)
    log_in(browser, person.username, person.password)
    engine = portal_env.engine()
    try:
        with session_scope(engine) as session:
            with pytest.raises(UserError, match="12"):
                set_password(session, person.username, "short")
            set_password(session, person.username, "set-by-the-admin-1")
    finally:
        engine.dispose()
    assert browser.get("/search", params={"kind": "recall"}).status_code == 303
    log_in(_client(portal_app), person.username, "set-by-the-admin-1")


def _issue(portal_env: PortalEnv, username: str, name: str) -> tuple[str, int]:
    from portal.security import api_key_hash
    from portal.users import issue_api_key

    engine = portal_env.engine()
    try:
        with session_scope(engine) as session:
            key = issue_api_key(session, username, name=name)
            key_id = session.execute(select(ApiKey.id).where(ApiKey.key_hash == api_key_hash(key))).scalar_one()
    finally:
        engine.dispose()
    return key, key_id


def test_admin_revokes_an_api_key_on_the_users_page(
    portal_app: Any, portal_env: PortalEnv, person: Person, client_as: Callable[[str | None], TestClient]
) -> None:
    key, key_id = _issue(portal_env, person.username, "laptop")
    other, _ = _issue(portal_env, person.username, "server")
    api = _client(portal_app)
    assert api.get("/api/sectors", headers={"X-API-Key": key}).status_code == 200
    admin = client_as("admin")
    page = admin.get("/admin/users").text
    assert "laptop" in page
    assert f'action="/admin/api-keys/{key_id}/revoke"' in page
    revoked = admin.post(f"/admin/api-keys/{key_id}/revoke", data={"csrf_token": csrf_of(page)})
    assert revoked.status_code == 303
    assert api.get("/api/sectors", headers={"X-API-Key": key}).status_code == 401
    assert api.get("/api/sectors", headers={"X-API-Key": other}).status_code == 200  # only that key
    assert "已吊销" in admin.get("/admin/users").text


def test_revoke_api_keys_for_the_cli(portal_app: Any, portal_env: PortalEnv, person: Person) -> None:
    from portal.users import api_keys_of, revoke_api_keys

    key, _ = _issue(portal_env, person.username, "ci")
    spare, _ = _issue(portal_env, person.username, "backup")
    engine = portal_env.engine()
    try:
        with session_scope(engine) as session:
            assert [k.name for k in api_keys_of(session, person.username) if not k.revoked] == ["ci", "backup"]
            assert revoke_api_keys(session, person.username, name="ci") == 1
        with session_scope(engine) as session:
            assert revoke_api_keys(session, person.username) == 1  # all that are left: the backup key
    finally:
        engine.dispose()
    api = _client(portal_app)
    assert api.get("/api/sectors", headers={"X-API-Key": key}).status_code == 401
    assert api.get("/api/sectors", headers={"X-API-Key": spare}).status_code == 401


def test_admin_revokes_a_subscribers_links(
    portal_env: PortalEnv, client_as: Callable[[str | None], TestClient]
) -> None:
    subscriber_id = portal_env.subscriber_ids[1]
    engine = portal_env.engine()
    try:
        with session_scope(engine) as session:
            old = make_token(portal_env.settings, session.get_one(Subscriber, subscriber_id), "manage")
    finally:
        engine.dispose()
    visitor = client_as(None)
    assert visitor.get("/subscriptions/manage", params={"token": old}).status_code == 200
    admin = client_as("admin")
    page = admin.get("/admin/subscribers").text
    assert f'action="/admin/subscribers/{subscriber_id}/revoke-links"' in page
    done = admin.post(f"/admin/subscribers/{subscriber_id}/revoke-links", data={"csrf_token": csrf_of(page)})
    assert done.status_code == 303
    assert visitor.get("/subscriptions/manage", params={"token": old}).status_code == 400
    engine = portal_env.engine()
    try:
        with session_scope(engine) as session:
            new = make_token(portal_env.settings, session.get_one(Subscriber, subscriber_id), "manage")
    finally:
        engine.dispose()
    assert visitor.get("/subscriptions/manage", params={"token": new}).status_code == 200
