"""Mail the operator when the pipeline needs a person: a task failed, or a crawl's count
is outside the range its source's YAML expects (the source probably changed).

Operator mail goes through the same outbox and sender as every other mail
(``alerts.outbox`` / ``alerts.delivery``), so it is retried, rate-limited and sent once.
Each alert has a key (the failed try, the crawl run) claimed in the same transaction
as the mail, so a rerun never alerts twice about the same thing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tbt_alert.redact import redact_text

if TYPE_CHECKING:
    from tbt_alert.settings import Settings

log = logging.getLogger(__name__)

SUBJECT_PREFIX = "[tbt-alert operator]"


def alert_operator(settings: Settings, *, key: str, subject: str, text: str) -> bool:
    """Queue and send one operator mail for ``key``; False when none was due or possible.

    No mail without an operator address (``TBT_OPERATOR_EMAIL`` empty) or when ``key``
    was alerted already.
    """
    from alerts.delivery import send_pending
    from alerts.outbox import enqueue_mail
    from pipeline.bookkeeping import claim
    from schema.engine import session_for

    if not settings.operator_email:
        log.warning("operator alert not mailed (TBT_OPERATOR_EMAIL is empty): %s", subject)
        return False
    with session_for(settings) as session:
        if not claim(session, f"operator-alert/{key}", {"subject": subject}):
            return False
        enqueue_mail(
            session,
            recipient=settings.operator_email,
            subject=f"{SUBJECT_PREFIX} {subject}",
            text=text,
            purpose="operator",
        )
    # Sent now rather than at the next deliver stage: a broken pipeline may never get there.
    send_pending(settings)
    return True


def suspicious_crawl(settings: Settings, outcome: Any, expected: tuple[int, int]) -> bool:
    """Alert about a crawl whose record count is outside the source's expected range."""
    low, high = expected
    text = (
        f"The crawl of source {outcome.source_id} (crawl run {outcome.run_id}) saw {outcome.seen} records; "
        f"its YAML expects {low} to {high} per run.\n\n"
        "A count outside that range usually means the source changed its pages or API, or is down.\n"
        f"Check the crawl log{f' {outcome.log_path}' if outcome.log_path else ''} and the source, then fix "
        f"the spider or adjust expected_min/expected_max in "
        f"crawlers/sources/{outcome.source_id}/{outcome.source_id}.yml.\n\n"
        f"Status {outcome.status}; new {outcome.new}, changed {outcome.changed}, unchanged {outcome.unchanged}, "
        f"rejected {outcome.rejected}.\n" + (f"\nErrors:\n{redact_text(str(outcome.error))}\n" if outcome.error else "")
    )
    return alert_operator(
        settings,
        key=f"suspicious-crawl/{outcome.run_id}",
        subject=f"crawl of {outcome.source_id} saw {outcome.seen} records (expected {low}-{high})",
        text=text,
    )


def task_failed(context: Mapping[str, Any]) -> None:
    """Airflow ``on_failure_callback``: mail the operator about a task that failed for good.

    Runs after the last retry. It must never raise: an error here would only hide the
    task's own failure in the log, so it is logged instead.
    """
    try:
        from tbt_alert.settings import load_settings

        ti = context["ti"]
        map_index = getattr(ti, "map_index", -1)
        # A mapped crawl is named by its source (the DAG's map_index_template), else its index.
        label = getattr(ti, "rendered_map_index", None) or map_index
        task = ti.task_id + (f"[{label}]" if map_index is not None and map_index >= 0 else "")
        error = context.get("exception")
        log_url = _log_url(ti)
        text = (
            f"Task {ti.dag_id}.{task} failed after {getattr(ti, 'try_number', '?')} tries.\n\n"
            f"Run: {ti.run_id}\nLogical date: {context.get('logical_date')}\n"
            # Any exception can land here, with whatever URL its library put in the text.
            f"Error: {type(error).__name__ if error else 'unknown'}: {redact_text(str(error))}\n"
            + (f"Log: {log_url}\n" if log_url else "")
            + "\nOther sources and later stages went on; clear the task in Airflow to retry it once fixed.\n"
        )
        alert_operator(
            load_settings(),
            key=f"task/{ti.dag_id}/{ti.run_id}/{ti.task_id}/{map_index}/{getattr(ti, 'try_number', 0)}",
            subject=f"task {ti.dag_id}.{task} failed",
            text=text,
        )
    except Exception:
        log.exception("could not mail the operator about a failed task")


def _log_url(ti: Any) -> str | None:
    try:
        return str(ti.log_url)
    except Exception:  # noqa: BLE001 - the URL is a nicety; its absence is no error
        return None
