"""`tbt-alert subscribers ...`: staff manage subscribers and their subscriptions."""

from __future__ import annotations

import argparse
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tbt_alert.settings import Settings


def _criteria_args(parser: argparse.ArgumentParser, *, change: bool = False) -> None:
    parser.add_argument("--sectors", help="sector codes, ';'-separated (see `subscribers sectors`)")
    parser.add_argument("--hs", dest="hs_prefixes", help="HS prefixes, e.g. '9503;6402'")
    parser.add_argument("--countries", help="ISO codes or names, and/or the groups bri, eu; ';'-separated")
    parser.add_argument("--keywords", help="keywords, ';'-separated")
    parser.add_argument("--kinds", help="tbt, sps, regulation, standard, recall; ';'-separated")
    parser.add_argument("--frequency", choices=("immediate", "daily", "weekly"), default=None if change else "daily")
    parser.add_argument("--min-relevance", dest="min_relevance", type=float, default=None if change else 0.5)


def register(sub: Any) -> None:
    parser = sub.add_parser("subscribers", help="add, list, change, remove and import subscribers")
    actions = parser.add_subparsers(dest="subscribers_command", metavar="ACTION", required=True)

    add = actions.add_parser("add", help="add a subscriber with one subscription (sends the confirmation mail)")
    add.add_argument("email")
    add.add_argument("--name")
    add.add_argument("--company")
    add.add_argument("--language", choices=("zh", "en"), default="zh")
    add.add_argument("--confirmed", action="store_true", help="consent is on record: skip the confirmation mail")
    _criteria_args(add)
    add.set_defaults(handler=_add)

    lst = actions.add_parser("list", help="list subscribers and their subscriptions")
    lst.set_defaults(handler=_list)

    change = actions.add_parser("change", help="change one subscription (only the options given)")
    change.add_argument("subscription_id", type=int)
    _criteria_args(change, change=True)
    change.add_argument("--active", choices=("yes", "no"))
    change.set_defaults(handler=_change)

    sub_add = actions.add_parser("subscribe", help="add another subscription to an existing subscriber")
    sub_add.add_argument("email")
    _criteria_args(sub_add)
    sub_add.set_defaults(handler=_subscribe)

    remove = actions.add_parser("remove", help="remove a subscriber (by email) or one subscription (--subscription)")
    remove.add_argument("email", nargs="?")
    remove.add_argument("--subscription", type=int)
    remove.set_defaults(handler=_remove)

    imp = actions.add_parser("import", help="import subscribers from CSV; bad rows are reported by line")
    imp.add_argument("csv", type=Path)
    imp.add_argument("--confirmed", action="store_true", help="consent is on record: skip confirmation mails")
    imp.set_defaults(handler=_import)

    sectors = actions.add_parser("sectors", help="list the sector codes subscriptions can use")
    sectors.set_defaults(handler=_sectors)


def _session() -> tuple[Settings, AbstractContextManager[Session]]:
    from schema.engine import session_for
    from tbt_alert.settings import load_settings

    settings = load_settings()
    return settings, session_for(settings)


def _what(args: argparse.Namespace, *, only_given: bool = False) -> dict[str, Any]:
    names = ("sectors", "hs_prefixes", "countries", "keywords", "kinds", "frequency", "min_relevance")
    values = {n: getattr(args, n) for n in names}
    return {k: v for k, v in values.items() if v is not None} if only_given else values


def _add(args: argparse.Namespace) -> int:
    from alerts.lifecycle import request_confirmation
    from alerts.subscriptions import add_subscriber, add_subscription, criteria

    settings, scope = _session()
    with scope as session:
        what = criteria(**_what(args))
        subscriber = add_subscriber(
            session,
            email=args.email,
            name=args.name,
            company=args.company,
            language=args.language,
            confirmed=args.confirmed,
        )
        subscription = add_subscription(session, subscriber, what)
        if not args.confirmed:
            request_confirmation(session, settings, subscriber)
        print(
            f"added {subscriber.email} (subscription {subscription.id})"
            + ("" if args.confirmed else "; confirmation mail queued, run `tbt-alert bulletins send`")
        )
    return 0


def _subscribe(args: argparse.Namespace) -> int:
    from alerts.subscriptions import add_subscription, criteria, find_subscriber
    from tbt_alert.errors import InvalidSubscription

    _, scope = _session()
    with scope as session:
        subscriber = find_subscriber(session, args.email)
        if subscriber is None:
            raise InvalidSubscription(f"{args.email} is not a subscriber; add it with `subscribers add`")
        subscription = add_subscription(session, subscriber, criteria(**_what(args)))
        print(f"subscription {subscription.id} added to {subscriber.email}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from alerts.subscriptions import list_subscribers

    _, scope = _session()
    with scope as session:
        for s in list_subscribers(session):
            state = "unsubscribed" if s.unsubscribed_at else "confirmed" if s.confirmed else "unconfirmed"
            print(f"{s.email}\t{s.language}\t{state}\t{s.name or ''}\t{s.company or ''}")
            for sub in s.subscriptions:
                print(
                    f"  #{sub.id} {sub.frequency}{'' if sub.active else ' (inactive)'} sectors={';'.join(sub.sectors)} "
                    f"hs={';'.join(sub.hs_prefixes)} countries={';'.join(sub.countries + sub.country_groups)} "
                    f"keywords={';'.join(sub.keywords)} kinds={';'.join(sub.kinds)} min_relevance={sub.min_relevance}"
                )
    return 0


def _change(args: argparse.Namespace) -> int:
    from alerts.subscriptions import change_subscription

    _, scope = _session()
    with scope as session:
        changes = _what(args, only_given=True)
        if args.active:
            changes["active"] = args.active == "yes"
        subscription = change_subscription(session, args.subscription_id, changes)
        print(f"subscription {subscription.id} changed")
    return 0


def _remove(args: argparse.Namespace) -> int:
    from alerts.subscriptions import remove_subscriber, remove_subscription

    if bool(args.email) == bool(args.subscription):
        print("tbt-alert: give either an email or --subscription ID")
        return 2
    _, scope = _session()
    with scope as session:
        done = (
            remove_subscription(session, args.subscription)
            if args.subscription
            else remove_subscriber(session, args.email)
        )
    print("removed" if done else "nothing to remove: no such subscriber or subscription")
    return 0 if done else 1


def _import(args: argparse.Namespace) -> int:
    from alerts.lifecycle import request_confirmation
    from alerts.subscriptions import import_csv

    settings, scope = _session()
    with scope as session:
        outcome = import_csv(session, args.csv, confirmed=args.confirmed)
        if not args.confirmed:
            for subscriber in outcome.new_subscribers:
                request_confirmation(session, settings, subscriber)
    for line, message in outcome.errors:
        print(f"{args.csv}:{line}: {message}")
    print(
        f"imported {outcome.added} subscribers, {outcome.subscriptions} subscriptions; {len(outcome.errors)} bad rows"
    )
    return 1 if outcome.errors else 0


def _sectors(args: argparse.Namespace) -> int:
    from classifiers.taxonomy import load_taxonomy

    for sector in load_taxonomy().sectors:
        print(f"{sector.code}\t{sector.name_zh}\t{sector.name_en}")
    return 0
