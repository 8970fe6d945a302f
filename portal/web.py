"""Small request helpers shared by the page routers: CSRF check, safe redirects, form lists."""

from __future__ import annotations

from fastapi import Request

from portal.context import portal_of


class CsrfFailed(Exception):
    """A form arrived without the token of this session (403)."""


async def verify_csrf(request: Request) -> None:
    """Dependency of every form POST: the token must be the one bound to this session."""
    form = await request.form()
    token = form.get("csrf_token")
    if not portal_of(request).signer.csrf_valid(request.state.session.sid, token if isinstance(token, str) else None):
        raise CsrfFailed()


async def verify_csrf_unless_one_click(request: Request) -> None:
    """The unsubscribe POST also takes RFC 8058 one-click requests from mail clients.

    Those carry ``List-Unsubscribe=One-Click`` and the signed token in the URL, never a CSRF
    token; the HMAC token itself is the proof, and a forged request cannot produce it.
    """
    form = await request.form()
    if form.get("List-Unsubscribe") == "One-Click" and request.query_params.get("token"):
        return
    await verify_csrf(request)


def safe_next(target: str | None, default: str = "/search") -> str:
    """Only local paths: a crafted ?next= must never send a user to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def split_list(raw: str | None, *, upper: bool = False) -> list[str]:
    """'a, b ,c' -> ['a', 'b', 'c'] without empties or repeats."""
    if not raw:
        return []
    items = [part.strip() for part in raw.replace("，", ",").split(",")]
    return list(dict.fromkeys(i.upper() if upper else i for i in items if i))
