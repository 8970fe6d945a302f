"""Subscribers and what they subscribe to: add, list, change, remove, and import from CSV.

A subscription names sectors (taxonomy codes), HS prefixes, countries (alpha-3) or country groups
(``bri`` = Belt-and-Road partners, ``eu``), keywords, measure kinds, a minimum relevance (the
SectorTag score) and a frequency. Every value is checked here, so matching never meets a bad one.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, selectinload

from classifiers.labels import known_sectors
from schema.models import FREQUENCIES, MEASURE_KINDS, Subscriber, Subscription
from tbt_alert.countries import to_alpha3
from tbt_alert.errors import InvalidSubscription

COUNTRY_GROUPS = ("bri", "eu")
LANGUAGES = ("zh", "en")
LIST_FIELDS = ("sectors", "hs_prefixes", "countries", "keywords", "kinds")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_KIND_ALIASES = {"tbt": "tbt_notification", "sps": "sps_notification"}


@dataclass(frozen=True)
class Criteria:
    """The checked content of one subscription."""

    sectors: tuple[str, ...] = ()
    hs_prefixes: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    country_groups: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    frequency: str = "daily"
    min_relevance: float = 0.5

    def columns(self) -> dict[str, Any]:
        return {
            "sectors": list(self.sectors),
            "hs_prefixes": list(self.hs_prefixes),
            "countries": list(self.countries),
            "country_groups": list(self.country_groups),
            "keywords": list(self.keywords),
            "kinds": list(self.kinds),
            "frequency": self.frequency,
            "min_relevance": self.min_relevance,
        }


def _split(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    items = re.split(r"[;|,]", value) if isinstance(value, str) else list(value)
    return [s.strip() for s in items if s and s.strip()]


def check_email(value: str) -> str:
    email = value.strip()
    if len(email) > 320:  # the column's width; no real address is near it (RFC 5321 allows 254)
        raise InvalidSubscription(f"email {email[:40]!r}... is {len(email)} characters long; use a real address")
    if not _EMAIL.match(email):
        raise InvalidSubscription(f"email {value!r} is not an address; use name@domain")
    return email.lower()


def check_language(value: str | None) -> str:
    lang = (value or "zh").strip().lower()
    if lang not in LANGUAGES:
        raise InvalidSubscription(f"language {value!r} is not offered; use zh or en")
    return lang


def criteria(
    *,
    sectors: str | Iterable[str] | None = None,
    hs_prefixes: str | Iterable[str] | None = None,
    countries: str | Iterable[str] | None = None,
    keywords: str | Iterable[str] | None = None,
    kinds: str | Iterable[str] | None = None,
    frequency: str | None = None,
    min_relevance: float | str | None = None,
) -> Criteria:
    """Check and normalise subscription values; ``countries`` may mix names, codes and groups."""
    known = known_sectors()
    sector_list = _split(sectors)
    bad = [s for s in sector_list if s not in known]
    if bad:
        raise InvalidSubscription(f"sector(s) {', '.join(bad)} unknown; use codes from `tbt-alert subscribers sectors`")
    hs = []
    for raw in _split(hs_prefixes):
        digits = raw.replace(".", "")
        if not (digits.isdigit() and 2 <= len(digits) <= 10):
            raise InvalidSubscription(f"HS prefix {raw!r} is not 2-10 digits; write e.g. 9503 or 6402.99")
        hs.append(digits)
    codes: list[str] = []
    groups: list[str] = []
    for raw in _split(countries):
        if raw.lower() in COUNTRY_GROUPS:
            groups.append(raw.lower())
            continue
        code = to_alpha3(raw)
        if code is None:
            raise InvalidSubscription(f"country {raw!r} is unknown; use an ISO code, a name, bri or eu")
        codes.append(code)
    kind_list = []
    for raw in _split(kinds):
        kind = _KIND_ALIASES.get(raw.lower(), raw.lower())
        if kind not in MEASURE_KINDS:
            raise InvalidSubscription(f"kind {raw!r} is unknown; use {', '.join(MEASURE_KINDS)}")
        kind_list.append(kind)
    freq = (frequency or "daily").strip().lower()
    if freq not in FREQUENCIES:
        raise InvalidSubscription(f"frequency {frequency!r} is unknown; use {', '.join(FREQUENCIES)}")
    try:
        relevance = 0.5 if min_relevance is None or min_relevance == "" else float(min_relevance)
    except ValueError:
        raise InvalidSubscription(f"min relevance {min_relevance!r} is not a number; use 0 to 1") from None
    if not 0.0 <= relevance <= 1.0:
        raise InvalidSubscription(f"min relevance {relevance} is out of range; use 0 to 1")
    return Criteria(
        sectors=tuple(dict.fromkeys(sector_list)),
        hs_prefixes=tuple(dict.fromkeys(hs)),
        countries=tuple(dict.fromkeys(codes)),
        country_groups=tuple(dict.fromkeys(groups)),
        keywords=tuple(dict.fromkeys(_split(keywords))),
        kinds=tuple(dict.fromkeys(kind_list)),
        frequency=freq,
        min_relevance=relevance,
    )


def find_subscriber(session: Session, email: str) -> Subscriber | None:
    return session.scalars(select(Subscriber).where(Subscriber.email == check_email(email))).one_or_none()


def add_subscriber(
    session: Session,
    *,
    email: str,
    name: str | None = None,
    company: str | None = None,
    language: str | None = "zh",
    confirmed: bool = False,
) -> Subscriber:
    """A new subscriber (unconfirmed unless staff hold consent on record); refuses a known address."""
    address = check_email(email)
    if find_subscriber(session, address) is not None:
        raise InvalidSubscription(f"{address} is already a subscriber; use `subscribers change`")
    subscriber = Subscriber(
        email=address,
        name=_text("name", name),
        company=_text("company", company),
        language=check_language(language),
        confirmed=confirmed,
        confirmed_at=dt.datetime.now(dt.UTC) if confirmed else None,
        token_generation=0,
    )
    session.add(subscriber)
    session.flush()
    return subscriber


def _text(column: str, value: str | None) -> str | None:
    """A stripped free-text field of a subscriber, or None; refused when its column cannot hold it
    (PostgreSQL would refuse it at the INSERT, with no line or field named) or it holds a control
    character (a NUL is refused by PostgreSQL too)."""
    text = (value or "").strip() or None
    if text is None:
        return None
    width: int | None = getattr(Subscriber.__table__.c[column].type, "length", None)
    if width is not None and len(text) > width:
        raise InvalidSubscription(f"{column} is {len(text)} characters long; shorten it to at most {width}")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise InvalidSubscription(f"{column} {text[:40]!r} holds a control character; remove it")
    return text


def add_subscription(session: Session, subscriber: Subscriber, what: Criteria) -> Subscription:
    subscription = Subscription(subscriber_id=subscriber.id, active=True, **what.columns())
    session.add(subscription)
    session.flush()
    return subscription


def change_subscription(session: Session, subscription_id: int, changes: Mapping[str, Any]) -> Subscription:
    """Replace the given fields of one subscription (values checked as for a new one)."""
    subscription = session.get(Subscription, subscription_id)
    if subscription is None:
        raise InvalidSubscription(f"subscription {subscription_id} does not exist; see `subscribers list`")
    current: dict[str, Any] = {
        "sectors": subscription.sectors,
        "hs_prefixes": subscription.hs_prefixes,
        "countries": list(subscription.countries) + list(subscription.country_groups),
        "keywords": subscription.keywords,
        "kinds": subscription.kinds,
        "frequency": subscription.frequency,
        "min_relevance": subscription.min_relevance,
    }
    unknown = set(changes) - set(current) - {"active"}
    if unknown:
        raise InvalidSubscription(f"cannot change {', '.join(sorted(unknown))}; change one of {', '.join(current)}")
    current.update({k: v for k, v in changes.items() if k != "active"})
    for key, value in criteria(**current).columns().items():
        setattr(subscription, key, value)
    if "active" in changes:
        subscription.active = bool(changes["active"])
    return subscription


def list_subscribers(session: Session) -> list[Subscriber]:
    return list(
        session.scalars(select(Subscriber).options(selectinload(Subscriber.subscriptions)).order_by(Subscriber.email))
    )


def remove_subscriber(session: Session, email: str) -> bool:
    """Delete a subscriber and their subscriptions (their bulletins go too, by cascade)."""
    subscriber = find_subscriber(session, email)
    if subscriber is None:
        return False
    session.delete(subscriber)
    return True


def remove_subscription(session: Session, subscription_id: int) -> bool:
    subscription = session.get(Subscription, subscription_id)
    if subscription is None:
        return False
    session.delete(subscription)
    return True


@dataclass
class ImportOutcome:
    added: int = 0
    subscriptions: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, message)
    new_subscribers: list[Subscriber] = field(default_factory=list)


CSV_COLUMNS = (
    "email",
    "name",
    "company",
    "language",
    "frequency",
    "sectors",
    "hs_prefixes",
    "countries",
    "keywords",
    "kinds",
    "min_relevance",
)


def import_csv(session: Session, path: Path, *, confirmed: bool = False) -> ImportOutcome:
    """Add the subscribers and subscriptions of a CSV (header: :data:`CSV_COLUMNS`, email required).

    Lists inside a cell are separated by ``;``. A row for a known address adds a subscription to it.
    Bad rows are reported by line number and skipped; good rows are kept. Each row is one savepoint:
    a row the database refuses (review L8) is rolled back whole, never half stored (a subscriber
    without its subscription), and the import goes on with the next row.
    """
    outcome = ImportOutcome()
    with Path(path).open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"email"} - set(reader.fieldnames or ())
        if missing:
            raise InvalidSubscription(f"{path}: the header has no email column; use {','.join(CSV_COLUMNS)}")
        extra = set(reader.fieldnames or ()) - set(CSV_COLUMNS)
        if extra:
            names = ", ".join(sorted(extra))
            raise InvalidSubscription(f"{path}: unknown column(s) {names}; use {','.join(CSV_COLUMNS)}")
        for row in reader:
            line = reader.line_num
            try:
                with session.begin_nested():
                    what = criteria(
                        sectors=row.get("sectors"),
                        hs_prefixes=row.get("hs_prefixes"),
                        countries=row.get("countries"),
                        keywords=row.get("keywords"),
                        kinds=row.get("kinds"),
                        frequency=row.get("frequency") or None,
                        min_relevance=row.get("min_relevance") or None,
                    )
                    new = None
                    subscriber = find_subscriber(session, check_email(row.get("email") or ""))
                    if subscriber is None:
                        subscriber = new = add_subscriber(
                            session,
                            email=row["email"],
                            name=row.get("name"),
                            company=row.get("company"),
                            language=row.get("language") or "zh",
                            confirmed=confirmed,
                        )
                    add_subscription(session, subscriber, what)
            except InvalidSubscription as exc:
                outcome.errors.append((line, str(exc)))
                continue
            except DBAPIError as exc:
                # What no check above foresaw: the savepoint is rolled back, the session goes on, and
                # the database's own words name the problem.
                reason = str(exc.orig).splitlines()[0] if exc.orig is not None else type(exc).__name__
                outcome.errors.append((line, f"the database refused this row ({reason}); correct the row"))
                continue
            # Counted only once the row's savepoint is released: a refused row counts nothing.
            if new is not None:
                outcome.added += 1
                outcome.new_subscribers.append(new)
            outcome.subscriptions += 1
    return outcome
