"""Links that bulletins and mails carry; the portal serves these paths.

Manage and unsubscribe links carry a signed token (alerts.tokens); the portal verifies it and
renders a clear page for a tampered or expired one.
"""

from __future__ import annotations

from urllib.parse import quote

from alerts.tokens import TokenHolder, make_token
from tbt_alert.settings import Settings

CONFIRM_PATH = "/subscriptions/confirm"
MANAGE_PATH = "/subscriptions/manage"
UNSUBSCRIBE_PATH = "/subscriptions/unsubscribe"  # GET shows a button; POST (RFC 8058 one-click) acts


def _link(settings: Settings, path: str, token: str) -> str:
    return f"{settings.portal_base_url}{path}?token={quote(token, safe='')}"


def confirm_url(settings: Settings, subscriber: TokenHolder) -> str:
    return _link(settings, CONFIRM_PATH, make_token(settings, subscriber, "confirm"))


def manage_url(settings: Settings, subscriber: TokenHolder) -> str:
    return _link(settings, MANAGE_PATH, make_token(settings, subscriber, "manage"))


def unsubscribe_url(settings: Settings, subscriber: TokenHolder) -> str:
    return _link(settings, UNSUBSCRIBE_PATH, make_token(settings, subscriber, "unsubscribe"))
