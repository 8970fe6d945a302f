"""The answer to a costly request over its bound (portal.costly): who it is counted under, and a
429 page in the user's language with a Retry-After."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from portal.access import current_user
from portal.costly import RETRY_AFTER_SECONDS
from portal.i18n import translator
from portal.render import language_of, message_page


def who(request: Request) -> str:
    """The key a costly job is counted under: the logged-in user (the routes that use it need one)."""
    user = current_user(request)
    return f"user:{user.id}" if user is not None else f"address:{request.client.host if request.client else '-'}"


def busy(request: Request) -> Response:
    """429 with a page in the user's language saying to try again, and when."""
    words = translator(language_of(request))
    response = message_page(request, "busy", words["costly_busy"], status=429)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
