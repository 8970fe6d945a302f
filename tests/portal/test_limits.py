"""Request size limits: a body over the limit is refused before any form is parsed (413), whether it
says its length or streams it in chunks, and an oversized query string gets a 4xx, never a 500."""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.portal.conftest import PortalEnv, csrf_of

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
MAX_BODY_BYTES = 64 * 1024  # portal.limits.MAX_BODY_BYTES


def _big_form(size: int) -> bytes:
    return b"a=" + b"A" * size


@pytest.mark.parametrize("path", ["/login", "/admin/users", "/subscriptions/manage"])
def test_a_body_over_the_limit_is_refused_before_the_form_is_read(
    path: str, client_as: Callable[[str | None], TestClient]
) -> None:
    client = client_as(None)
    # No CSRF token and no login: the size check comes first, so the answer is 413, not 403 or a redirect.
    response = client.post(path, content=_big_form(MAX_BODY_BYTES + 1), headers=FORM)
    assert response.status_code == 413
    assert "请求内容过大" in response.text


def test_a_chunked_body_over_the_limit_is_refused(client_as: Callable[[str | None], TestClient]) -> None:
    client = client_as(None)

    def chunks() -> Iterator[bytes]:
        yield b"a="
        for _ in range(64):
            yield b"A" * 4096  # 256 KiB in all, sent without a Content-Length

    response = client.post("/login", content=chunks(), headers=FORM)
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert response.status_code == 413


def test_the_limit_speaks_english_when_asked(client_as: Callable[[str | None], TestClient]) -> None:
    client = client_as(None)
    client.get("/lang/en")
    response = client.post("/login", content=_big_form(MAX_BODY_BYTES + 1), headers=FORM)
    assert response.status_code == 413
    assert "too large" in response.text


def test_an_api_body_over_the_limit_gets_json(client_as: Callable[[str | None], TestClient]) -> None:
    response = client_as(None).post("/api/search", content=_big_form(MAX_BODY_BYTES + 1), headers=FORM)
    assert response.status_code == 413
    assert "detail" in response.json()


def test_a_form_under_the_limit_still_works(
    client_as: Callable[[str | None], TestClient], portal_env: PortalEnv
) -> None:
    client = client_as(None)
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login",
        data={"username": "staff1", "password": portal_env.passwords["staff1"], "csrf_token": token, "pad": "x" * 4000},
    )
    assert response.status_code == 303


async def _run_limited(messages: list[dict[str, Any]], headers: list[tuple[bytes, bytes]]) -> tuple[int, int, bool]:
    """(status sent, body messages the app was handed, whether the app saw the whole body)."""
    handed = 0
    whole = False
    sent: list[MutableMapping[str, Any]] = []
    queue = list(messages)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        nonlocal handed, whole
        while True:
            message = await receive()
            handed += 1
            if not message.get("more_body"):
                whole = True
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def receive() -> dict[str, Any]:
        return queue.pop(0)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    from portal.limits import RequestLimits

    scope = {"type": "http", "method": "POST", "path": "/login", "query_string": b"", "headers": headers}
    await RequestLimits(app, max_body=1000)(scope, receive, send)
    return sent[0]["status"], handed, whole


def test_the_middleware_stops_reading_a_stream_at_the_limit() -> None:
    import asyncio

    chunk = {"type": "http.request", "body": b"A" * 400, "more_body": True}
    messages = [dict(chunk) for _ in range(100)] + [{"type": "http.request", "body": b"", "more_body": False}]
    status, handed, whole = asyncio.run(_run_limited(messages, [(b"content-type", b"text/plain")]))
    assert status == 413
    assert not whole
    assert handed <= 3  # 400 + 400 fit in 1000 bytes; the third chunk goes over and nothing after it is read


def test_a_declared_length_over_the_limit_is_refused_without_reading() -> None:
    import asyncio

    messages = [{"type": "http.request", "body": b"A" * 2000, "more_body": False}]
    status, handed, _ = asyncio.run(_run_limited(messages, [(b"content-length", b"2000")]))
    assert status == 413
    assert handed == 0


@pytest.mark.parametrize(
    "query",
    [
        "&".join(f"country=C{i:04d}" for i in range(2000)),  # too many parameters
        "q=" + "x" * 40_000,  # one very long value
    ],
    ids=["many", "long"],
)
@pytest.mark.parametrize("path", ["/search", "/api/search", "/login"])
def test_an_oversized_query_string_gets_a_client_error(
    path: str, query: str, client_as: Callable[[str | None], TestClient], portal_env: PortalEnv
) -> None:
    client = client_as("staff")
    headers = {"X-API-Key": portal_env.api_keys["staff"]} if path.startswith("/api") else {}
    response = client.get(f"{path}?{query}", headers=headers)
    assert response.status_code == 414
    assert "查询参数" in response.text or "query" in response.text
