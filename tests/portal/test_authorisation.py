"""The authorisation matrix: every route of the app × every role, generated from the route table,
so a route added later is checked without anyone remembering to list it."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from portal.access import Access, AccessRule, role_allows
from portal.app import create_app
from tbt_alert.settings import load_settings
from tests.conftest import TEST_SECRET
from tests.portal.conftest import PortalEnv, csrf_of

ROLES_AND_ANONYMOUS = (None, "staff", "analyst", "admin")


def _rules(route: APIRoute) -> list[AccessRule]:
    found: list[AccessRule] = []
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, AccessRule):
            found.append(dep.call)
        stack.extend(dep.dependencies)
    return found


def _app_routes() -> list[APIRoute]:
    # Building the app connects to nothing; the settings only need a place and a key.
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(load_settings({"TBT_DATA_DIR": tmp, "TBT_SECRET_KEY": TEST_SECRET}))
        return [r for r in app.routes if isinstance(r, APIRoute)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "route_case" in metafunc.fixturenames:
        cases = [(r.path, method) for r in _app_routes() for method in sorted(r.methods)]
        metafunc.parametrize("route_case", cases, ids=[f"{m} {p}" for p, m in cases])
    if "api_route_case" in metafunc.fixturenames:
        cases = [(r.path, m) for r in _app_routes() if r.path.startswith("/api") for m in sorted(r.methods)]
        metafunc.parametrize("api_route_case", cases, ids=[f"{m} {p}" for p, m in cases])


def test_every_route_declares_exactly_one_access_rule() -> None:
    routes = _app_routes()
    assert len(routes) > 20
    missing = [(r.path, sorted(r.methods), len(_rules(r))) for r in routes if len(_rules(r)) != 1]
    assert missing == []


def test_every_form_post_checks_csrf() -> None:
    from portal.web import verify_csrf, verify_csrf_unless_one_click

    for route in _app_routes():
        if "POST" in route.methods and not route.path.startswith("/api"):
            calls = [d.call for d in route.dependant.dependencies]
            assert verify_csrf in calls or verify_csrf_unless_one_click in calls, route.path


def _fill(path: str, env: PortalEnv) -> str:
    values = {
        "measure_id": env.follow_up_id,
        "report_id": "1",
        "user_id": str(env.user_ids["spare"]),
        "key_id": str(env.spare_key_id),
        "subscriber_id": str(env.subscriber_ids[1]),
        "code": "en",
        "fmt": "html",
        "number": "1",
        "designation:path": "EN 71",  # the standard page (issue 27)
    }
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, f"no sample value for a parameter of {path}; add one to _fill"
    return path


def _request(client: TestClient, method: str, path: str, api_key: str | None) -> Any:
    headers = {"X-API-Key": api_key} if api_key else {}
    if method == "POST":
        token = csrf_of(client.get("/login").text)  # the session's token: CSRF never decides this test
        return client.post(path, data={"csrf_token": token}, headers=headers)
    return client.request(method, path, headers=headers)


@pytest.mark.parametrize("role", ROLES_AND_ANONYMOUS, ids=lambda r: r or "anonymous")
def test_route_allows_exactly_the_roles_of_its_rule(
    route_case: tuple[str, str],
    role: str | None,
    portal_app: Any,
    client_as: Callable[[str | None], TestClient],
    portal_env: PortalEnv,
) -> None:
    path, method = route_case
    route = next(r for r in portal_app.routes if isinstance(r, APIRoute) and r.path == path and method in r.methods)
    (rule,) = _rules(route)
    client = client_as(role)
    response = _request(client, method, _fill(path, portal_env), None)
    assert response.status_code < 500, response.text[:300]
    allowed = rule.level in (Access.PUBLIC, Access.SUBSCRIBER_LINK) or (
        role is not None and role_allows(role, rule.level)
    )
    to_login = response.status_code == 303 and response.headers["location"].startswith("/login?next=")
    if allowed:
        assert response.status_code not in (401, 403)
        # A public page may send visitors to the login page on purpose ("/" does); a protected one may not.
        assert rule.level is Access.PUBLIC or not to_login
    elif role is None and rule.api:
        assert response.status_code == 401
    elif role is None:
        assert to_login
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("role", ["staff", "analyst", "admin"])
def test_api_routes_accept_each_roles_key_by_its_rule(
    api_route_case: tuple[str, str], role: str, portal_app: Any, portal_env: PortalEnv
) -> None:
    path, method = api_route_case
    route = next(r for r in portal_app.routes if isinstance(r, APIRoute) and r.path == path and method in r.methods)
    (rule,) = _rules(route)
    with TestClient(portal_app, follow_redirects=False) as client:
        response = _request(client, method, _fill(path, portal_env), portal_env.api_keys[role])
        anonymous = _request(client, method, _fill(path, portal_env), "tbt_not-a-key")
    assert response.status_code < 500
    if rule.level is Access.PUBLIC:
        assert response.status_code not in (401, 403)
    else:
        assert (response.status_code not in (401, 403)) == role_allows(role, rule.level)
        assert anonymous.status_code == 401


def test_api_key_does_not_log_in_pages(portal_app: Any, portal_env: PortalEnv) -> None:
    with TestClient(portal_app, follow_redirects=False) as client:
        response = client.get("/search", headers={"X-API-Key": portal_env.api_keys["admin"]})
    assert response.status_code == 303


def test_deactivated_user_loses_the_session_at_once(
    portal_app: Any, portal_env: PortalEnv, client_as: Callable[[str | None], TestClient]
) -> None:
    from tests.portal.conftest import log_in, user_active

    admin = client_as("admin")
    token = csrf_of(admin.get("/admin/users").text)
    # The matrix may have switched the spare user off (its POST carries no "active"): switch it on.
    admin.post(f"/admin/users/{portal_env.user_ids['spare']}/active", data={"csrf_token": token, "active": "1"})
    staff = TestClient(portal_app, follow_redirects=False)
    log_in(staff, "spare1", "spare-password-0000")
    assert staff.get("/search").status_code == 200
    assert (
        admin.post(
            f"/admin/users/{portal_env.user_ids['spare']}/active", data={"csrf_token": token, "active": "0"}
        ).status_code
        == 303
    )
    assert not user_active(portal_env, portal_env.user_ids["spare"])
    assert staff.get("/search").status_code == 303
    admin.post(f"/admin/users/{portal_env.user_ids['spare']}/active", data={"csrf_token": token, "active": "1"})
    staff.close()


def test_route_table_is_what_the_matrix_covers(portal_app: Any) -> None:
    live = {(r.path, m) for r in portal_app.routes if isinstance(r, APIRoute) for m in r.methods}
    generated = {(r.path, m) for r in _app_routes() for m in r.methods}
    assert live == generated
    assert Path(__file__).exists()


# ---------------------------------------------------------------- what each role receives

SECRET_KEYWORD = "kw-only-admins-see"


@pytest.fixture(scope="module")
def sent_bulletin(portal_env: PortalEnv) -> Iterator[str]:
    """A bulletin that carried a real recall to the first test subscriber, for a keyword and a country."""
    import datetime as dt

    from schema.engine import session_scope
    from schema.models import Bulletin, BulletinItem

    engine = portal_env.engine()
    try:
        with session_scope(engine) as session:
            now = dt.datetime(2026, 7, 21, tzinfo=dt.UTC)
            bulletin = Bulletin(
                subscriber_id=portal_env.subscriber_ids[0], period_start=now - dt.timedelta(days=7), period_end=now,
                frequency="weekly", language="zh", subject="【TBT预警】权限测试简报", html="", text="",
            )  # fmt: skip
            session.add(bulletin)
            session.flush()
            reasons = [{"type": "keyword", "keyword": SECRET_KEYWORD}, {"type": "country", "country": "DEU"}]
            session.add(BulletinItem(bulletin_id=bulletin.id, measure_id=portal_env.recall_id, reasons=reasons))
        yield portal_env.recall_id
    finally:
        engine.dispose()


@pytest.mark.parametrize("role", ["staff", "analyst", "admin"])
def test_only_admins_see_who_got_a_measure_and_why(
    role: str, sent_bulletin: str, client_as: Callable[[str | None], TestClient], portal_env: PortalEnv
) -> None:
    from tests.portal.conftest import subscriber_email

    email = subscriber_email(portal_env, portal_env.subscriber_ids[0])
    html = client_as(role).get(f"/measures/{sent_bulletin}").text
    bulletins = html.split('id="bulletins"')[1].split("</table>")[0]
    assert "权限测试简报" in bulletins  # every role sees that the measure went out, and when
    if role == "admin":
        assert email in html
        assert SECRET_KEYWORD in bulletins
    else:
        assert email not in html
        assert SECRET_KEYWORD not in html
        assert "德国" not in bulletins  # the subscriber's countries are interests too


@pytest.mark.parametrize("role", ["staff", "analyst", "admin"])
def test_only_admin_keys_get_recipients_and_reasons(
    role: str, sent_bulletin: str, portal_app: Any, portal_env: PortalEnv
) -> None:
    from tests.portal.conftest import subscriber_email

    email = subscriber_email(portal_env, portal_env.subscriber_ids[0])
    with TestClient(portal_app) as client:
        response = client.get(
            f"/api/measures/{sent_bulletin}/bulletins", headers={"X-API-Key": portal_env.api_keys[role]}
        )
    assert response.status_code == 200
    rows = [row for row in response.json() if row["subject"] == "【TBT预警】权限测试简报"]
    assert len(rows) == 1
    if role == "admin":
        assert rows[0]["recipient"] == email
        assert {"type": "keyword", "keyword": SECRET_KEYWORD} in rows[0]["reasons"]
    else:
        assert "recipient" not in rows[0]
        assert "reasons" not in rows[0]
        assert email not in response.text
        assert SECRET_KEYWORD not in response.text
