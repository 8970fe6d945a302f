"""Security: headers, CSRF, login rate limit, safe redirects, escaping of hostile source text,
and subscriber links that reach only their own subscriber and purpose."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from alerts.tokens import make_token
from portal.app import create_app
from schema.engine import make_engine, session_scope
from schema.models import Measure, Subscriber
from schema.upsert import store_measures
from tests.portal.conftest import PortalEnv, csrf_of, portal_settings, subscriber_email


def test_security_headers_on_every_page(client_as: Callable[[str | None], TestClient]) -> None:
    client = client_as("staff")
    for path in ("/login", "/search", "/api/openapi.json", "/static/portal.css"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "same-origin"
        assert headers["x-content-type-options"] == "nosniff"


def test_session_cookie_is_httponly_and_samesite(client_as: Callable[[str | None], TestClient]) -> None:
    response = client_as(None).get("/login")
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie


def test_form_without_or_with_a_foreign_csrf_token_is_refused(
    client_as: Callable[[str | None], TestClient], portal_env: PortalEnv
) -> None:
    client = client_as(None)
    client.get("/login")
    form = {"username": "staff1", "password": portal_env.passwords["staff1"]}
    assert client.post("/login", data=form).status_code == 403
    other = client_as(None)
    foreign = csrf_of(other.get("/login").text)
    assert client.post("/login", data={**form, "csrf_token": foreign}).status_code == 403
    assert client.post("/login", data={**form, "csrf_token": csrf_of(client.get("/login").text)}).status_code == 303


def test_login_is_rate_limited(portal_app: Any, portal_env: PortalEnv) -> None:
    # Failures are counted in the database per address: an address of its own, so the other tests,
    # logging in from "testclient", are not counted with it.
    with TestClient(portal_app, client=("192.0.2.61", 50000), follow_redirects=False) as client:
        token = csrf_of(client.get("/login").text)
        codes = [
            client.post(
                "/login", data={"username": "staff1", "password": "wrong-password", "csrf_token": token}
            ).status_code
            for _ in range(6)
        ]
        right = client.post(
            "/login", data={"username": "staff1", "password": portal_env.passwords["staff1"], "csrf_token": token}
        )
    assert codes[:5] == [401] * 5
    assert codes[5] == 429
    assert right.status_code == 429  # from the guessing address; test_throttle shows other addresses are not


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example"])
def test_login_never_redirects_off_site(
    target: str, client_as: Callable[[str | None], TestClient], portal_env: PortalEnv
) -> None:
    client = client_as(None)
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login",
        data={"username": "staff1", "password": portal_env.passwords["staff1"], "csrf_token": token, "next": target},
    )
    assert response.headers["location"] == "/search"
    assert client.get("/lang/en", params={"next": target}).headers["location"] == "/"


def test_hostile_source_text_is_escaped(tmp_path: Path) -> None:
    """A CONSTRUCTED record (not real data): a source whose title carries markup and a javascript: link."""
    from portal.users import create_user

    settings = portal_settings(tmp_path / "data", "tbt-test-unused")
    engine = make_engine(settings.database_url)
    with session_scope(engine) as session:
        from crawlers.sources import load_source, sync_sources

        sync_sources(session, [load_source("eu_safety_gate")])
        store_measures(
            session,
            [
                {
                    "source_id": "eu_safety_gate",
                    "source_key": "CONSTRUCTED-XSS-1",
                    "kind": "recall",
                    "title": '<script>alert("x")</script><img src=x onerror=alert(1)>',
                    "url": "javascript:alert(1)",
                    "documents": {"en": "javascript:alert(2)"},
                    "raw_payload": "constructed for the escaping test",
                }
            ],
        )
        create_user(session, "staff9", "staff", "staff9-password-x")
        measure_id = session.query(Measure.id).scalar()
    engine.dispose()
    with TestClient(create_app(settings), follow_redirects=False) as client:
        token = csrf_of(client.get("/login").text)
        client.post("/login", data={"username": "staff9", "password": "staff9-password-x", "csrf_token": token})
        html = client.get(f"/measures/{measure_id}").text
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;" in html
    assert 'href="javascript:' not in html


def test_highlight_keeps_only_mark() -> None:
    from portal.searching import highlight

    assert str(highlight("a <mark>toy</mark> &lt;b&gt;")) == "a <mark>toy</mark> &lt;b&gt;"
    assert "<script>" not in str(highlight("<script>x</script> <mark>y</mark>"))
    assert str(highlight("Toy slime &#x2F; Coffee")) == "Toy slime &#x2F; Coffee"  # ES's html encoder


# ---------------------------------------------------------------- subscriber links


def _token(env: PortalEnv, subscriber_id: int, purpose: str) -> str:
    engine = env.engine()
    try:
        with session_scope(engine) as session:
            subscriber = session.get(Subscriber, subscriber_id)
            assert subscriber is not None
            return make_token(env.settings, subscriber, purpose)
    finally:
        engine.dispose()


def _tampered(token: str) -> str:
    middle = len(token) // 2
    return token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]


def test_manage_link_shows_and_changes_only_its_subscriber(
    client_as: Callable[[str | None], TestClient], portal_env: PortalEnv
) -> None:
    a, b = portal_env.subscriber_ids
    client = client_as(None)
    token = _token(portal_env, a, "manage")
    page = client.get("/subscriptions/manage", params={"token": token})
    assert page.status_code == 200
    assert subscriber_email(portal_env, a) in page.text
    assert subscriber_email(portal_env, b) not in page.text
    saved = client.post(
        "/subscriptions/manage",
        data={
            "csrf_token": csrf_of(page.text),
            "token": token,
            "countries": "DEU, FRA",
            "country_groups": "bri",
            "kinds": ["recall", "tbt_notification"],
            "hs_prefixes": "9503",
            "keywords": "toy",
            "frequency": "daily",
            "language": "en",
        },
    )
    assert saved.status_code == 303
    after = client.get(saved.headers["location"]).text
    assert 'id="saved"' in after
    assert "DEU, FRA" in after
    assert 'value="bri" checked' in after
    other = client.get("/subscriptions/manage", params={"token": _token(portal_env, b, "manage")}).text
    assert "DEU" not in other


def test_invalid_subscription_values_are_explained(
    client_as: Callable[[str | None], TestClient], portal_env: PortalEnv
) -> None:
    client = client_as(None)
    token = _token(portal_env, portal_env.subscriber_ids[1], "manage")
    page = client.get("/subscriptions/manage", params={"token": token})
    response = client.post(
        "/subscriptions/manage",
        data={"csrf_token": csrf_of(page.text), "token": token, "countries": "Atlantis", "frequency": "daily"},
    )
    assert response.status_code == 422
    assert "Atlantis" in response.text


@pytest.mark.parametrize("case", ["tampered", "wrong_purpose", "garbage", "missing"])
def test_bad_links_get_a_clear_page(
    case: str, client_as: Callable[[str | None], TestClient], portal_env: PortalEnv
) -> None:
    client = client_as(None)
    good = _token(portal_env, portal_env.subscriber_ids[0], "manage")
    params: dict[str, Any] = {
        "tampered": {"token": _tampered(good)},
        "wrong_purpose": {"token": good},
        "garbage": {"token": "<script>x</script>"},
        "missing": {},
    }[case]
    path = "/subscriptions/unsubscribe" if case == "wrong_purpose" else "/subscriptions/manage"
    response = client.get(path, params=params)
    assert response.status_code == 400
    assert 'id="token-invalid"' in response.text
    assert "tbt-alert@example.org" in response.text
    assert subscriber_email(portal_env, portal_env.subscriber_ids[0]) not in response.text


def test_expired_link_gets_the_clear_page(
    client_as: Callable[[str | None], TestClient], portal_env: PortalEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as m:
        long_ago = time.time() - 400 * 86400
        m.setattr(time, "time", lambda: long_ago)
        old = _token(portal_env, portal_env.subscriber_ids[0], "unsubscribe")
    response = client_as(None).get("/subscriptions/unsubscribe", params={"token": old})
    assert response.status_code == 400
    assert 'id="token-invalid"' in response.text


def test_confirm_and_unsubscribe(client_as: Callable[[str | None], TestClient], portal_env: PortalEnv) -> None:
    client = client_as(None)
    subscriber = portal_env.subscriber_ids[1]
    token = _token(portal_env, subscriber, "confirm")
    page = client.get("/subscriptions/confirm", params={"token": token})
    assert page.status_code == 200
    done = client.post("/subscriptions/confirm", data={"csrf_token": csrf_of(page.text), "token": token})
    assert 'id="confirmed"' in done.text
    token = _token(portal_env, subscriber, "unsubscribe")
    page = client.get("/subscriptions/unsubscribe", params={"token": token})
    forged = client.post(
        "/subscriptions/unsubscribe", data={"csrf_token": csrf_of(page.text), "token": _tampered(token)}
    )
    assert forged.status_code == 400
    done = client.post("/subscriptions/unsubscribe", data={"csrf_token": csrf_of(page.text), "token": token})
    assert 'id="unsubscribed"' in done.text
    engine = portal_env.engine()
    with session_scope(engine) as session:
        row = session.get(Subscriber, subscriber)
        assert row is not None
        assert row.confirmed
        assert row.unsubscribed_at is not None
        assert not any(s.active for s in row.subscriptions)
    engine.dispose()


def test_one_click_unsubscribe_from_a_mail_client(portal_app: Any, portal_env: PortalEnv) -> None:
    """RFC 8058: the mail client POSTs List-Unsubscribe=One-Click to the link, with no session or CSRF token."""
    from alerts.links import unsubscribe_url
    from schema.models import Subscriber as SubscriberRow

    engine = portal_env.engine()
    with session_scope(engine) as session:
        row = session.get(SubscriberRow, portal_env.subscriber_ids[0])
        assert row is not None
        url = unsubscribe_url(portal_env.settings, row)
    engine.dispose()
    path = url[len(portal_env.settings.portal_base_url) :]
    with TestClient(portal_app) as client:
        forged = client.post(path.replace("token=", "token=x"), data={"List-Unsubscribe": "One-Click"})
        without = client.post(path, data={})
        done = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert forged.status_code == 400
    assert without.status_code == 403  # a browser form without the CSRF token is still refused
    assert done.status_code == 200
    assert 'id="unsubscribed"' in done.text


def test_a_deleted_subscribers_link_never_opens_the_next_one_with_its_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite a new subscriber takes the id of the last one deleted (review M6): the typo's
    confirm link, mailed an hour before, must not open the corrected subscriber."""
    from alerts.subscriptions import add_subscriber, remove_subscriber

    settings = portal_settings(tmp_path / "data", "tbt-test-unused")
    engine = make_engine(settings.database_url)
    with monkeypatch.context() as m:
        an_hour_ago = time.time() - 3600
        m.setattr(time, "time", lambda: an_hour_ago)
        with session_scope(engine) as session:
            typo = add_subscriber(session, email="wang@exmaple.com", company="Typo")
            typo_id = typo.id
            old_links = {p: make_token(settings, typo, p) for p in ("confirm", "manage", "unsubscribe")}
    with session_scope(engine) as session:
        assert remove_subscriber(session, "wang@exmaple.com")
    with session_scope(engine) as session:
        right = add_subscriber(session, email="wang@example.com", company="Right")
        assert right.id == typo_id  # the reuse this guards against
        new_link = make_token(settings, right, "manage")
    engine.dispose()
    with TestClient(create_app(settings), follow_redirects=False) as client:
        for purpose, token in old_links.items():
            response = client.get(f"/subscriptions/{purpose}", params={"token": token})
            assert response.status_code == 400, purpose
            assert "wang@example.com" not in response.text
        assert "wang@example.com" in client.get("/subscriptions/manage", params={"token": new_link}).text
