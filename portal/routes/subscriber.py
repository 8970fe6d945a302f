"""Subscriber self-service through the signed link in their mails: no password, and a
token reaches only the subscriber (and the purpose) it was made for."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from alerts.links import CONFIRM_PATH, MANAGE_PATH, UNSUBSCRIBE_PATH
from classifiers.labels import sector_choices
from portal.access import SUBSCRIBER_LINK
from portal.context import db_session, portal_of
from portal.i18n import translator
from portal.render import language_of, page
from portal.web import split_list, verify_csrf, verify_csrf_unless_one_click
from schema.models import FREQUENCIES, MEASURE_KINDS, Subscriber, Subscription, utcnow
from tbt_alert.errors import TokenError

router = APIRouter(include_in_schema=False)
_MAX_TOKEN = 2000


class _BadLink(Exception):
    pass


def subscriber_for(request: Request, session: Session, token: str | None, purpose: str) -> Subscriber:
    if not token or len(token) > _MAX_TOKEN:
        raise _BadLink()
    from alerts.tokens import verify_token

    try:
        subscriber_id = verify_token(portal_of(request).settings, token, purpose, session=session)
    except TokenError:
        raise _BadLink() from None
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None or _issued_at(token) < int(subscriber.created_at.timestamp()):
        # A link signed before this subscriber existed was made for someone else: on SQLite a new
        # subscriber takes the id (and generation 0) of the last one deleted (review M6).
        raise _BadLink()
    return subscriber


def _issued_at(token: str) -> int:
    """When a token was signed (whole seconds, itsdangerous' payload.timestamp.signature); only read
    after verify_token has checked the signature."""
    from itsdangerous import BadData
    from itsdangerous.encoding import base64_decode, bytes_to_int

    try:
        return bytes_to_int(base64_decode(token.rsplit(".", 2)[1]))
    except (IndexError, BadData):
        return -1  # unreadable: older than any subscriber, so refused


def bad_link(request: Request) -> Response:
    words = translator(language_of(request))
    return page(request, "token_invalid.html", {"message": words["token_invalid"]}, status=400)


@router.get(CONFIRM_PATH, dependencies=[Depends(SUBSCRIBER_LINK)])
def confirm_page(
    request: Request, session: Annotated[Session, Depends(db_session)], token: str | None = None
) -> Response:
    try:
        subscriber = subscriber_for(request, session, token, "confirm")
    except _BadLink:
        return bad_link(request)
    return page(request, "subscriber_confirm.html", {"subscriber": subscriber, "token": token})


@router.post(CONFIRM_PATH, dependencies=[Depends(SUBSCRIBER_LINK), Depends(verify_csrf)])
def confirm(
    request: Request, session: Annotated[Session, Depends(db_session)], token: Annotated[str | None, Form()] = None
) -> Response:
    try:
        subscriber = subscriber_for(request, session, token, "confirm")
    except _BadLink:
        return bad_link(request)
    if not subscriber.confirmed:
        subscriber.confirmed = True
        subscriber.confirmed_at = utcnow()
        subscriber.unsubscribed_at = None
        session.commit()
    return page(request, "subscriber_confirm.html", {"subscriber": subscriber, "token": token, "done": True})


def _subscription(subscriber: Subscriber) -> Subscription | None:
    active = [s for s in subscriber.subscriptions if s.active]
    return active[0] if active else (subscriber.subscriptions[0] if subscriber.subscriptions else None)


def _manage_context(request: Request, subscriber: Subscriber, token: str, **extra: Any) -> dict[str, Any]:
    return {
        "subscriber": subscriber,
        "sub": _subscription(subscriber),
        "token": token,
        "sectors": sector_choices(language_of(request)),
        "kinds": MEASURE_KINDS,
        "frequencies": FREQUENCIES,
        **extra,
    }


@router.get(MANAGE_PATH, dependencies=[Depends(SUBSCRIBER_LINK)])
def manage_page(
    request: Request, session: Annotated[Session, Depends(db_session)], token: str | None = None, saved: int = 0
) -> Response:
    try:
        subscriber = subscriber_for(request, session, token, "manage")
    except _BadLink:
        return bad_link(request)
    assert token is not None
    return page(request, "subscriber_manage.html", _manage_context(request, subscriber, token, saved=bool(saved)))


@router.post(MANAGE_PATH, dependencies=[Depends(SUBSCRIBER_LINK), Depends(verify_csrf)])
async def manage(request: Request, session: Annotated[Session, Depends(db_session)]) -> Response:
    form = await request.form()
    token = form.get("token")
    try:
        subscriber = subscriber_for(request, session, token if isinstance(token, str) else None, "manage")
    except _BadLink:
        return bad_link(request)
    assert isinstance(token, str)
    from alerts.subscriptions import (
        add_subscription,
        change_subscription,
        check_language,
        criteria,
    )
    from tbt_alert.errors import InvalidSubscription

    values: dict[str, Any] = {
        "sectors": [str(v) for v in form.getlist("sectors")],
        "kinds": [str(v) for v in form.getlist("kinds")],
        # alerts.subscriptions takes country codes, names and the groups bri/eu in one list.
        "countries": split_list(str(form.get("countries") or "")) + [str(g) for g in form.getlist("country_groups")],
        "hs_prefixes": split_list(str(form.get("hs_prefixes") or "")),
        "keywords": split_list(str(form.get("keywords") or ""))[:50],
        "frequency": str(form.get("frequency") or "daily"),
    }
    sub = _subscription(subscriber)
    try:
        if sub is None:
            add_subscription(session, subscriber, criteria(**values))
        else:
            change_subscription(session, sub.id, {**values, "active": True})
        subscriber.language = check_language(str(form.get("language") or subscriber.language))
    except InvalidSubscription as exc:
        session.rollback()
        return page(
            request, "subscriber_manage.html", _manage_context(request, subscriber, token, error=str(exc)), status=422
        )
    session.commit()
    from urllib.parse import urlencode

    return RedirectResponse(MANAGE_PATH + "?" + urlencode({"token": token, "saved": 1}), status_code=303)


@router.get(UNSUBSCRIBE_PATH, dependencies=[Depends(SUBSCRIBER_LINK)])
def unsubscribe_page(
    request: Request, session: Annotated[Session, Depends(db_session)], token: str | None = None
) -> Response:
    try:
        subscriber = subscriber_for(request, session, token, "unsubscribe")
    except _BadLink:
        return bad_link(request)
    return page(request, "subscriber_unsubscribe.html", {"subscriber": subscriber, "token": token})


@router.post(UNSUBSCRIBE_PATH, dependencies=[Depends(SUBSCRIBER_LINK), Depends(verify_csrf_unless_one_click)])
def unsubscribe(
    request: Request, session: Annotated[Session, Depends(db_session)], token: Annotated[str | None, Form()] = None
) -> Response:
    token = token or request.query_params.get("token")  # one-click POSTs carry it in the URL
    try:
        subscriber = subscriber_for(request, session, token, "unsubscribe")
    except _BadLink:
        return bad_link(request)
    subscriber.unsubscribed_at = utcnow()
    for sub in subscriber.subscriptions:
        sub.active = False
    session.commit()
    return page(request, "subscriber_unsubscribe.html", {"subscriber": subscriber, "token": token, "done": True})
