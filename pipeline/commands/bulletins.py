"""`tbt-alert bulletins ...`: compose due bulletins, send the outbox, show its state."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any


def _when(value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an ISO date-time; write e.g. 2026-07-20T00:05Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def register(sub: Any) -> None:
    parser = sub.add_parser("bulletins", help="compose bulletins, send the outbox, show delivery status")
    actions = parser.add_subparsers(dest="bulletins_command", metavar="ACTION", required=True)
    compose = actions.add_parser("compose", help="compose and queue every bulletin due now (idempotent)")
    compose.add_argument("--now", type=_when, help="compose as if it were this UTC time (ISO 8601)")
    compose.set_defaults(handler=_compose)
    send = actions.add_parser("send", help="send pending mail over SMTP (retries, rate limit, at most once)")
    send.add_argument("--now", type=_when, help="treat this UTC time as now when deciding what is due")
    send.add_argument("--limit", type=int, help="send at most this many")
    send.set_defaults(handler=_send)
    status = actions.add_parser("status", help="count deliveries by status and list recent failures")
    status.set_defaults(handler=_status)
    requeue = actions.add_parser("requeue", help="send a failed delivery again (after checking it did not go)")
    requeue.add_argument("delivery_id", type=int)
    requeue.set_defaults(handler=_requeue)


def _compose(args: argparse.Namespace) -> int:
    from alerts.compose import compose_bulletins
    from tbt_alert.settings import load_settings

    outcome = compose_bulletins(load_settings(), now=args.now)
    print(
        f"composed {outcome.bulletins} bulletins ({outcome.items} items) and queued {outcome.deliveries} mails; "
        f"{outcome.due} due, {outcome.empty} with nothing new, {outcome.already_composed} already composed"
    )
    return 0


def _send(args: argparse.Namespace) -> int:
    from alerts.delivery import send_pending
    from tbt_alert.settings import load_settings

    outcome = send_pending(load_settings(), now=args.now, limit=args.limit)
    print(
        f"sent {outcome.sent}, retry later {outcome.retry_later}, failed {outcome.failed}, "
        f"cancelled {outcome.cancelled}, uncertain (not resent) {outcome.uncertain}"
    )
    if outcome.connection_error:
        print(
            f"tbt-alert: {outcome.connection_error}; check TBT_SMTP_HOST/TBT_SMTP_PORT, the rest waits for the next run"
        )
        return 1
    return 0


def _status(args: argparse.Namespace) -> int:
    from sqlalchemy import func, select

    from schema.engine import session_for
    from schema.models import Delivery
    from tbt_alert.settings import load_settings

    with session_for(load_settings()) as session:
        counts = dict(session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all())
        for status in ("pending", "sending", "sent", "failed", "cancelled"):
            print(f"{status:10} {counts.get(status, 0)}")
        failures = session.scalars(
            select(Delivery).where(Delivery.status == "failed").order_by(Delivery.id.desc()).limit(10)
        ).all()
        for d in failures:
            print(f"  #{d.id} {d.purpose} to {d.recipient} after {d.attempts} attempts: {d.last_error}")
    return 0


def _requeue(args: argparse.Namespace) -> int:
    from schema.engine import session_for
    from schema.models import Delivery
    from tbt_alert.settings import load_settings

    with session_for(load_settings()) as session:
        delivery = session.get(Delivery, args.delivery_id)
        if delivery is None or delivery.status != "failed":
            print(f"tbt-alert: delivery {args.delivery_id} is not a failed delivery; see `tbt-alert bulletins status`")
            return 1
        # Same Message-ID: a recipient's mail system may drop it if the first copy did arrive.
        delivery.status = "pending"
        delivery.attempts = 0
        delivery.next_attempt_at = None
        print(f"delivery {delivery.id} to {delivery.recipient} queued again")
    return 0
