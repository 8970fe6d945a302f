"""Costly requests are bounded (review L3): one export or report build per user at a time, a few per
process, the rest answered at once with 429, Retry-After and a page in the user's language; and
user text reaches Elasticsearch without the fuzzy, near and slop operators."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from portal.app import create_app
from portal.costly import PER_PROCESS, RETRY_AFTER_SECONDS, CostlyWork
from schema.engine import session_scope
from search.query import SearchRequest, build_query
from tbt_alert.settings import Settings
from tests.portal.conftest import csrf_of, log_in


def test_one_job_per_user_and_a_few_per_process() -> None:
    work = CostlyWork(per_process=2)
    with work.slot("user:1") as first:
        assert first
        with work.slot("user:1") as again:
            assert not again  # the same user, a second tab
        with work.slot("user:2") as other:
            assert other
            with work.slot("user:3") as third:
                assert not third  # the process is at its bound
    with work.slot("user:1") as later, work.slot("user:3") as third_later:
        assert later
        assert third_later  # released on the way out


@pytest.fixture
def app_and_users(make_settings: Callable[..., Settings]) -> Iterator[tuple[Any, dict[str, int], dict[str, str]]]:
    from portal.users import create_user

    settings = make_settings(TBT_INDEX_PREFIX=f"tbt-test-costly-{uuid.uuid4().hex[:8]}")
    passwords = {role: f"{role}-password-{uuid.uuid4().hex[:8]}" for role in ("staff", "analyst")}
    ids: dict[str, int] = {}
    app = create_app(settings)
    with session_scope(app.state.portal.engine) as session:
        for role, password in passwords.items():
            ids[role] = create_user(session, f"{role}1", role, password).id
    yield app, ids, passwords
    app.state.portal.close()


def _client(app: Any, role: str, passwords: dict[str, str]) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    log_in(client, f"{role}1", passwords[role])
    return client


def test_a_second_export_of_the_same_user_waits_its_turn(
    app_and_users: tuple[Any, dict[str, int], dict[str, str]],
) -> None:
    app, ids, passwords = app_and_users
    client = _client(app, "staff", passwords)
    with app.state.portal.costly.slot(f"user:{ids['staff']}") as held:  # the first export, still running
        assert held
        for path in ("/search/export.csv", "/search/export.xlsx"):
            busy = client.get(path, params={"q": "toy"})
            assert busy.status_code == 429
            assert busy.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
            assert "请半分钟后再试" in busy.text  # the default language is Chinese
    # Once the first is done, the export runs (here without a cluster index: not a 429).
    assert client.get("/search/export.csv", params={"q": "toy"}).status_code != 429
    client.close()


def test_report_builds_are_bounded_per_process(app_and_users: tuple[Any, dict[str, int], dict[str, str]]) -> None:
    app, _, passwords = app_and_users
    client = _client(app, "analyst", passwords)
    others = [app.state.portal.costly.slot(f"user:other-{n}") for n in range(PER_PROCESS)]
    try:
        assert all(slot.__enter__() for slot in others)
        token = csrf_of(client.get("/reports").text)
        busy = client.post("/reports", data={"period": "2024-W01", "csrf_token": token})
        assert busy.status_code == 429
        assert busy.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    finally:
        for slot in others:
            slot.__exit__(None, None, None)
    client.close()


def test_user_text_has_no_fuzzy_near_or_slop_operators() -> None:
    body = build_query(SearchRequest(q="toy~2 AND lead"))
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "simple_query_string" in node:
                found.append(node["simple_query_string"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(body)
    assert found
    for query in found:
        flags = set(query["flags"].split("|"))
        assert not flags & {"FUZZY", "NEAR", "SLOP", "ALL"}
        assert "PREFIX" in flags  # the glossary's forms (jouet*) need it
