"""Rendering pages: every template gets the language, its words, the user and a CSRF token."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse

from portal.access import Access, current_user, role_allows
from portal.context import portal_of
from portal.i18n import translator
from search.timing import span


def language_of(request: Request) -> str:
    lang: str = getattr(request.state, "language", "zh")
    return lang


def csrf_token(request: Request) -> str:
    return portal_of(request).signer.csrf_token(request.state.session.sid)


def page(
    request: Request, template: str, context: Mapping[str, Any] | None = None, *, status: int = 200
) -> HTMLResponse:
    portal = portal_of(request)
    user = current_user(request)
    lang = language_of(request)
    words = translator(lang)
    values: dict[str, Any] = {
        "request": request,
        "lang": lang,
        "other_lang": "en" if lang == "zh" else "zh",
        "t": words,
        "user": user,
        "can": (lambda level: user is not None and role_allows(user.role, Access(level))),
        "csrf_token": csrf_token(request),
        "path_with_query": request.url.path + (("?" + request.url.query) if request.url.query else ""),
        "urlencode": urlencode,
        "contact_email": portal.settings.contact_email,
    }
    values.update(context or {})
    with span("render"):
        html = portal.templates.get_template(template).render(values)
    return HTMLResponse(html, status_code=status)


def message_page(request: Request, title_key: str, message: str, *, status: int) -> HTMLResponse:
    return page(request, "message.html", {"title_key": title_key, "message": message}, status=status)
