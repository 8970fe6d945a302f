"""Portal fixtures: one database and index of real records per test module, users of every role,
and TestClients logged in as each of them."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from devtools.processes import free_port
from portal.app import create_app
from schema.engine import make_engine, session_scope
from schema.migrate import upgrade
from schema.models import ApiKey, Measure, Subscriber, User
from tbt_alert.settings import Settings, load_settings
from tests.conftest import TEST_SECRET
from tests.portal.data import load_real_data

ROLES = ("staff", "analyst", "admin")
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class PortalEnv:
    settings: Settings
    passwords: dict[str, str] = field(default_factory=dict)  # username -> password
    api_keys: dict[str, str] = field(default_factory=dict)  # role -> key
    user_ids: dict[str, int] = field(default_factory=dict)
    subscriber_ids: list[int] = field(default_factory=list)
    spare_key_id: int = 0
    follow_up_id: str = ""
    recall_id: str = ""
    tagged_id: str = ""

    def engine(self) -> Engine:
        return make_engine(self.settings.database_url)


def portal_settings(data_dir: Path, index_prefix: str, database_url: str | None = None) -> Settings:
    env = {
        "TBT_DATA_DIR": str(data_dir),
        "TBT_SECRET_KEY": TEST_SECRET,
        "TBT_INDEX_PREFIX": index_prefix,
        "TBT_CONTACT_EMAIL": "tbt-alert@example.org",
    }
    if database_url:
        env["TBT_DATABASE_URL"] = database_url
    settings = load_settings(env)
    upgrade(settings.database_url)
    return settings


def _add_people(env: PortalEnv) -> None:
    from alerts.subscriptions import add_subscriber, add_subscription, criteria
    from portal.users import create_user, issue_api_key

    engine = env.engine()
    try:
        with session_scope(engine) as session:
            for role in ROLES:
                password = f"{role}-password-{uuid.uuid4().hex[:8]}"
                user = create_user(session, f"{role}1", role, password)
                env.passwords[user.username] = password
                env.user_ids[role] = user.id
                env.api_keys[role] = issue_api_key(session, user.username)
            spare = create_user(session, "spare1", "staff", "spare-password-0000")
            env.user_ids["spare"] = spare.id
            # A key the route matrix may revoke (POST /admin/api-keys/{key_id}/revoke as admin).
            issue_api_key(session, spare.username, name="spare")
            env.spare_key_id = session.execute(select(ApiKey.id).where(ApiKey.user_id == spare.id)).scalar_one()
            # Test subscribers (example.org addresses): people, not source records.
            for n, email in enumerate(("exporter-a@example.org", "exporter-b@example.org")):
                subscriber = add_subscriber(session, email=email, company=f"Test exporter {n}", language="zh")
                add_subscription(session, subscriber, criteria(countries="EUR", kinds="recall", frequency="weekly"))
                env.subscriber_ids.append(subscriber.id)
            env.follow_up_id = (
                session.execute(select(Measure.id).where(Measure.parent_id.is_not(None)).order_by(Measure.id))
                .scalars()
                .first()
                or ""
            )
            env.recall_id = (
                session.execute(select(Measure.id).where(Measure.kind == "recall").order_by(Measure.id))
                .scalars()
                .first()
                or ""
            )
            from schema.models import SectorTag

            env.tagged_id = (
                session.execute(select(SectorTag.measure_id).order_by(SectorTag.measure_id)).scalars().first() or ""
            )
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def portal_env(tmp_path_factory: pytest.TempPathFactory, es, shared_data: Path) -> Iterator[PortalEnv]:
    """Real records (ePing fixture pages, a Safety Gate weekly report) in SQLite and a fresh index."""
    from search.lifecycle import rebuild_index

    prefix = f"tbt-test-portal-{uuid.uuid4().hex[:8]}"
    settings = portal_settings(tmp_path_factory.mktemp("portal"), prefix)
    try:
        load_real_data(settings, shared_data)
        rebuild_index(settings, client=es)
        env = PortalEnv(settings)
        _add_people(env)
        yield env
    finally:
        for name in es.indices.get(index=f"{prefix}*", allow_no_indices=True, expand_wildcards="all"):
            es.indices.delete(index=name, ignore_unavailable=True)


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def log_in(client: TestClient, username: str, password: str) -> None:
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303, response.text[:500]


@pytest.fixture(scope="module")
def portal_app(portal_env: PortalEnv):
    return create_app(portal_env.settings)


@pytest.fixture
def client_as(portal_app, portal_env: PortalEnv) -> Iterator[Callable[[str | None], TestClient]]:
    """A TestClient logged in as ``role`` (None: anonymous)."""
    clients: list[TestClient] = []

    def make(role: str | None) -> TestClient:
        client = TestClient(portal_app, follow_redirects=False)
        clients.append(client)
        if role is not None:
            log_in(client, f"{role}1", portal_env.passwords[f"{role}1"])
        return client

    yield make
    for c in clients:
        c.close()


def subscriber_email(env: PortalEnv, subscriber_id: int) -> str:
    engine = env.engine()
    try:
        with session_scope(engine) as session:
            subscriber = session.get(Subscriber, subscriber_id)
            assert subscriber is not None
            return subscriber.email
    finally:
        engine.dispose()


def user_active(env: PortalEnv, user_id: int) -> bool:
    engine = env.engine()
    try:
        with session_scope(engine) as session:
            user = session.get(User, user_id)
            return bool(user and user.active)
    finally:
        engine.dispose()


# Browser tests (marker `browser`): headless Chromium from Debian, driven by Playwright, against
# uvicorn on a free loopback port.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def live_portal(portal_env: PortalEnv) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(portal_env.settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the portal did not start on loopback within 20 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing; install Debian's chromium package (scripts/install-system-deps)")
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()
