"""Size limits on what a request may make the portal hold: the body and the query string.

A pure ASGI middleware, outermost in the app, so it runs before FastAPI parses a form (which it
does before any access rule or CSRF check). Starlette caps form fields one by one (1,000 fields of
1 MiB each), not the body, so without this an anonymous POST could make a worker buffer about a
gigabyte. The reverse proxy should set its own limit too (``client_max_body_size``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from markupsafe import escape
from starlette.requests import cookie_parser

from portal.i18n import LANG_COOKIE, pick_language, translator
from portal.security import SECURITY_HEADERS

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Every portal form (login, users, subscriptions, reports) is a few KiB at most.
MAX_BODY_BYTES = 64 * 1024
# A search URL with a 1,000-character Chinese query (9 bytes per character once encoded) and its filters.
MAX_QUERY_BYTES = 16 * 1024
# Facet links add one parameter per chosen value; nobody picks 200 of them.
MAX_QUERY_PARAMS = 200


class _BodyTooLarge(Exception):
    """Raised from ``receive`` when the body grows past the limit."""


class RequestLimits:
    """413 for a body over ``max_body`` bytes (declared in Content-Length or counted as it streams),
    414 for a query string over ``max_query_bytes`` bytes or ``max_query_params`` parameters."""

    def __init__(
        self,
        app: ASGIApp,
        max_body: int = MAX_BODY_BYTES,
        max_query_bytes: int = MAX_QUERY_BYTES,
        max_query_params: int = MAX_QUERY_PARAMS,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.max_query_bytes = max_query_bytes
        self.max_query_params = max_query_params

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query: bytes = scope.get("query_string", b"")
        if len(query) > self.max_query_bytes or query.count(b"&") + 1 > self.max_query_params:
            await self._refuse(scope, send, 414, "query_too_long")
            return
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            await self._refuse(scope, send, 413, "request_too_large")
            return

        received = 0
        overflowed = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, overflowed
            if overflowed:
                raise _BodyTooLarge()
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    overflowed = True
                    raise _BodyTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if overflowed:
                return  # the app's answer to a body it never got whole (FastAPI makes it a 400): ours goes out
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not overflowed:
                raise
        if overflowed and not started:
            await self._refuse(scope, send, 413, "request_too_large")

    async def _refuse(self, scope: Scope, send: Send, status: int, key: str) -> None:
        language = _language(scope)
        words = translator(language)
        limits = {"limit": self.max_body // 1024, "count": self.max_query_params, "length": self.max_query_bytes}
        title = words[key]
        detail = words[key + "_detail"].format(**limits)
        if str(scope.get("path", "")).startswith("/api"):
            # The API speaks English in all its errors; clients read "detail".
            english = translator("en")
            body = json.dumps({"detail": english[key + "_detail"].format(**limits)}).encode()
            content_type = b"application/json"
        else:
            lang = "zh-CN" if language == "zh" else "en"
            body = (
                f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{escape(title)}</title>'
                f"</head><body><h1>{escape(title)}</h1><p>{escape(detail)}</p></body></html>"
            ).encode()
            content_type = b"text/html; charset=utf-8"
        headers = [
            (b"content-type", content_type),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
            # The rest of an oversized body is never read: the connection cannot carry another request.
            (b"connection", b"close"),
        ]
        headers += [(name.lower().encode(), value.encode()) for name, value in SECURITY_HEADERS.items()]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1").strip()
    return None


def _language(scope: Scope) -> str:
    cookies = cookie_parser(_header(scope, b"cookie") or "")
    query: bytes = scope.get("query_string", b"")
    # The query string may be the oversized part: look for lang= without parsing all of it.
    asked = None
    if len(query) <= MAX_QUERY_BYTES:
        for part in query.split(b"&"):
            if part.startswith(b"lang="):
                asked = part[5:].decode("latin-1")
    return pick_language(cookies.get(LANG_COOKIE), asked)
