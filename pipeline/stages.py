"""The stages of the pipeline, one function each; the Airflow tasks and the CLI call these.

Each stage is idempotent for its data interval: run twice, it stores nothing twice and
sends nothing twice. Crawls decide by the sources' schedules and the crawl log whether
a source is due; tagging, indexing, composing and delivering work off what is pending
in the database; mails to analysts and the operator are claimed once in
``pipeline_state``. Every stage returns a small JSON-able summary (Airflow keeps it as
the task's result; the CLI prints it). Heavy packages are imported inside the functions,
so importing this module (as a DAG file does) costs nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.demo import SUBSCRIBERS as DEMO_SUBSCRIBERS
from tbt_alert.clock import as_utc
from tbt_alert.errors import CrawlFailed

if TYPE_CHECKING:
    from crawlers.sources import SourceConfig
    from tbt_alert.settings import Settings

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
# Crawl statuses after which a source counts as crawled for its schedule slot. A partial
# crawl stored what it could; crawling it again every hour would only hammer the site.
_DONE_STATUSES = ("success", "partial")


def summary(outcome: Any) -> dict[str, Any]:
    """A JSON-able dict of a stage's outcome (a dataclass, a pydantic model or a mapping)."""
    if outcome is None:
        return {}
    if dataclasses.is_dataclass(outcome) and not isinstance(outcome, type):
        data: Any = dataclasses.asdict(outcome)
    elif hasattr(outcome, "model_dump"):
        data = outcome.model_dump(mode="json")
    elif isinstance(outcome, Mapping):
        data = dict(outcome)
    else:
        data = {"result": outcome}
    return {str(k): _jsonable(v) for k, v in data.items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


# ------------------------------------------------------------------------- sources


def sync_sources(settings: Settings) -> dict[str, Any]:
    """Mirror ``crawlers/sources/*.yml`` into the ``sources`` table."""
    from crawlers.sources import load_sources
    from crawlers.sources import sync_sources as sync
    from schema.engine import session_for

    configs = list(load_sources().values())
    with session_for(settings) as session:
        counts = sync(session, configs)
    return {"sources": len(configs), "enabled": sum(c.enabled for c in configs), **summary(counts)}


def schedule_slot(schedule: str, at: dt.datetime) -> dt.datetime:
    """The latest time at or before ``at`` when ``schedule`` (cron or @daily...) fires."""
    from croniter import croniter

    at = as_utc(at)
    # croniter's get_prev is strictly before its start; start a second later so a slot
    # that falls exactly on ``at`` counts.
    previous = croniter(schedule, at + dt.timedelta(seconds=1)).get_prev(dt.datetime)
    return as_utc(previous)


def _last_done_crawls(settings: Settings) -> dict[str, dt.datetime]:
    from schema.engine import session_for
    from schema.queries import last_crawl_started

    with session_for(settings) as session:
        return last_crawl_started(session, _DONE_STATUSES)


def _is_due(config: SourceConfig, at: dt.datetime, last_done: Mapping[str, dt.datetime]) -> bool:
    previous = last_done.get(config.id)
    return previous is None or previous < schedule_slot(config.schedule, at)


def due_sources(settings: Settings, *, at: dt.datetime | None = None, replay_dir: Path | None = None) -> list[str]:
    """Enabled sources whose schedule fired at or before ``at`` with no crawl done since.

    A source never crawled is due; a failed crawl leaves it due (the next run tries
    again); a rerun of the same interval finds the crawl done and crawls nothing. With
    ``replay_dir`` only sources with a recorded snapshot there are considered.
    """
    from crawlers.run import replay_folder
    from crawlers.sources import load_sources

    moment = as_utc(at or dt.datetime.now(dt.UTC))
    last_done = _last_done_crawls(settings)
    due = []
    for config in load_sources().values():
        if not config.enabled:
            continue
        if replay_dir is not None and replay_folder(replay_dir, config.id) is None:
            continue
        if _is_due(config, moment, last_done):
            due.append(config.id)
    return due


# ------------------------------------------------------------------------- crawl


def crawl_source(
    settings: Settings,
    source_id: str,
    *,
    at: dt.datetime | None = None,
    replay_dir: Path | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Crawl one source in a child process (the crawl records its own CrawlRun).

    ``at``: the end of the data interval; when given and the source was already crawled
    for its schedule slot at that time, nothing is crawled (a rerun is a no-op). A count
    outside the source's expected range mails the operator; a failed crawl raises
    :class:`CrawlFailed` so the orchestrator retries it.
    """
    from crawlers.run import crawl
    from crawlers.sources import load_source
    from pipeline.operator_alerts import suspicious_crawl

    config = load_source(source_id)
    if at is not None and not _is_due(config, as_utc(at), _last_done_crawls(settings)):
        log.info("source %s was already crawled for its slot at %s; nothing to do", source_id, at)
        return {"source_id": source_id, "status": "skipped", "reason": "already crawled for this slot"}
    outcome = crawl(settings, source_id, replay_dir=replay_dir, timeout=timeout)
    result = summary(outcome)
    # A failed crawl alerts through its task's failure; "saw 0 records" on top of it is noise.
    if outcome.suspicious and outcome.status != "failed":
        result["operator_alerted"] = suspicious_crawl(settings, outcome, (config.expected_min, config.expected_max))
    if outcome.status == "failed":
        raise CrawlFailed(f"source {source_id}: crawl run {outcome.run_id} failed: {outcome.error}")
    return result


def crawl_sources(
    settings: Settings,
    source_ids: Iterable[str],
    *,
    at: dt.datetime | None = None,
    replay_dir: Path | None = None,
    timeout: float | None = None,
) -> list[dict[str, Any]]:
    """Crawl several sources one after the other; a failing source stops none of the others."""
    results = []
    for source_id in source_ids:
        try:
            results.append(crawl_source(settings, source_id, at=at, replay_dir=replay_dir, timeout=timeout))
        except CrawlFailed as exc:
            log.error("%s", exc)
            results.append({"source_id": source_id, "status": "failed", "error": str(exc)})
    return results


# ------------------------------------------------------------------------- derive


def classify(settings: Settings, *, limit: int | None = None) -> dict[str, Any]:
    """Tag every measure waiting for sector tags (new, changed, or tagged by an older classifier)."""
    from classifiers.tagging import classify_pending

    return summary(classify_pending(settings, limit=limit))


def plan_tagging(settings: Settings, *, partitions: int | None = None) -> list[dict[str, Any]]:
    """Split the pending measures into ``TBT_TAGGING_PARTITIONS`` id ranges, one per mapped
    ``tag_partition`` task; always at least one, so the later stages run when nothing is pending."""
    from classifiers.partitions import plan_partitions, planned_version
    from schema.engine import engine_scope

    version = planned_version(settings)
    with engine_scope(settings) as engine:
        plan = plan_partitions(engine, version, partitions or settings.tagging_partitions)
    log.info("tagging planned in %d partitions for classifier %s", len(plan), version)
    return [p.as_dict() for p in plan]


def tag_partition(settings: Settings, partition: Mapping[str, Any]) -> dict[str, Any]:
    """Tag what is still pending in one planned partition (a rerun resumes where a killed one stopped)."""
    from classifiers.classifier import classifier_from_settings
    from classifiers.partitions import Partition
    from classifiers.partitions import tag_partition as tag
    from schema.engine import engine_scope

    chosen = Partition.from_dict(partition)
    classifier = classifier_from_settings(settings)
    with engine_scope(settings) as engine:
        outcome = tag(engine, classifier, chosen)
    return {"partition": chosen.label, **summary(outcome)}


def update_index(settings: Settings) -> dict[str, Any]:
    """Bring the search index up to date with the database (measures and bulletins)."""
    from search.lifecycle import update_index as update

    return summary(update(settings))


def compose(settings: Settings, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Compose the bulletins due at ``now`` (one per subscriber and period, never twice).

    Without ``now``, first let the minute of the latest change pass: an immediate
    bulletin's period ends at a whole minute, so what this run stored in the current
    minute would otherwise wait for the next run (an hour, in the DAG).
    """
    from alerts.compose import compose_bulletins

    if now is None:
        _let_latest_minute_pass(settings)
    return summary(compose_bulletins(settings, now=now))


def _let_latest_minute_pass(settings: Settings) -> None:
    import time

    from schema.engine import session_for
    from schema.queries import latest_change

    with session_for(settings) as session:
        latest = latest_change(session)
    if latest is None:
        return
    minute_over = latest.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    wait = (minute_over - dt.datetime.now(dt.UTC)).total_seconds()
    if wait > 0:
        log.info("waiting %.0f s for the minute of the latest change to end before composing", wait)
        time.sleep(wait + 0.5)


def deliver(settings: Settings, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Send what waits in the outbox (each mail exactly once; failures retried later)."""
    from alerts.delivery import send_pending

    return summary(send_pending(settings, now=now))


# ------------------------------------------------------------------------- demo


def demo_subscribers(settings: Settings, path: Path = DEMO_SUBSCRIBERS) -> dict[str, Any]:
    """Add the constructed demo subscribers (see :mod:`pipeline.demo`), confirmed, once per database."""
    from pipeline.demo import add_demo_subscribers

    return add_demo_subscribers(settings, path)


# ------------------------------------------------------------------------- reports


def report_period(interval_start: dt.datetime, *, timezone: str = "Asia/Shanghai") -> str:
    """The ISO week a weekly run's data interval starts in, e.g. ``2025-W48``.

    Weeks are counted in Zhejiang's time (the schedule's): Monday 06:00 there is still
    Sunday in UTC.
    """
    from zoneinfo import ZoneInfo

    year, week, _ = as_utc(interval_start).astimezone(ZoneInfo(timezone)).isocalendar()
    return f"{year}-W{week:02d}"


def build_recall_risk_report(settings: Settings, *, period: str) -> dict[str, Any]:
    """Build (or rebuild) the recall-risk report of ``period``; files land in reports_dir."""
    from reports.recall_risk import build_report

    return {**summary(build_report(settings, period)), "period": period}


def latest_report_period(settings: Settings) -> str | None:
    """The latest quarter with recalls in the database (``2025-Q4``), or None without any.

    A quarter rather than a month: the main job's report should have enough recalls to
    show trends, and analysts read quarterly reports (the weekly DAG asks for weeks).
    """
    from reports.selection import latest_recall_quarter
    from schema.engine import session_for

    with session_for(settings) as session:
        return latest_recall_quarter(session)


def mail_report(
    settings: Settings, report: Mapping[str, Any], *, recipients: Iterable[str] | None = None
) -> dict[str, Any]:
    """Mail a built report to the analysts once per period (a rerun mails nothing).

    ``report`` is what :func:`build_recall_risk_report` returned (it names its period).
    """
    from alerts.delivery import send_pending
    from alerts.outbox import enqueue_mail
    from pipeline.bookkeeping import claim
    from reports.mail import analyst_mail
    from schema.engine import session_for

    to = list(recipients if recipients is not None else settings.analyst_emails)
    period = str(report["period"])
    if not to:
        log.warning("recall-risk report %s not mailed: TBT_ANALYST_EMAILS is empty", period)
        return {"period": period, "queued": 0}
    mail = analyst_mail(report)
    queued = 0
    with session_for(settings) as session:
        for recipient in to:
            key = f"report-mail/recall-risk/{period}/{recipient}"
            if not claim(session, key, {"report_id": report.get("report_id")}):
                continue
            enqueue_mail(session, recipient=recipient, subject=mail.subject, text=mail.text, purpose="report",
                         attachments=mail.attachments)  # fmt: skip
            queued += 1
    sent = summary(send_pending(settings)) if queued else {}
    return {"period": period, "queued": queued, "recipients": to, "delivery": sent}
