"""`tbt-alert run`: the main job once, start to end, through the same stage functions
the Airflow DAGs call.

Sync sources -> crawl every enabled source (by default from the recorded snapshot in
crawlers/sources/<id>/recorded/, served on loopback: no network) -> tag sectors -> update the index ->
add the constructed demo subscribers -> compose bulletins -> deliver -> build the
recall-risk report of the most recent complete quarter that holds enough recalls to read -> print
what came out and where, with one bulletin saved as an HTML file to open.
A stage that fails is reported and the later stages still run on what did arrive.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tbt_alert.errors import TbtError
from tbt_alert.redact import redact_text, redact_url

if TYPE_CHECKING:
    from tbt_alert.settings import Settings

log = logging.getLogger(__name__)

# The shipped recordings: each source folder's recorded/ (crawlers.run.replay_folder finds them).
REPLAY_DEFAULT = Path(__file__).resolve().parent.parent.parent / "crawlers" / "sources"


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "run", help="the main job once: crawl (recorded snapshot by default), tag, index, bulletins, mail, report"
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--replay",
        type=Path,
        metavar="DIR",
        help="crawl from this recorded snapshot (default: TBT_REPLAY_DIR, else crawlers/sources)",
    )
    source.add_argument("--live", action="store_true", help="crawl the live sources over the network")
    parser.add_argument(
        "--subscribers",
        type=Path,
        metavar="CSV",
        help="demo subscribers to add once (default: the constructed pipeline/demo/subscribers.csv)",
    )
    parser.add_argument("--no-demo-subscribers", action="store_true", help="add no demo subscribers")
    parser.add_argument(
        "--period",
        help="period of the recall-risk report (default: the most recent complete quarter with enough recalls)",
    )
    parser.add_argument("--timeout", type=float, help="seconds per crawl (default TBT_CRAWL_TIMEOUT)")
    parser.set_defaults(handler=_run)


class _Job:
    """Runs stages in order, timing each; a stage's TbtError is recorded and the job goes on."""

    def __init__(self) -> None:
        self.results: dict[str, Any] = {}
        self.failures: dict[str, str] = {}

    def stage(self, name: str, func: Callable[[], Any]) -> Any:
        began = time.perf_counter()
        print(f"== {name} ...", flush=True)
        try:
            result = func()
        except TbtError as exc:
            self.failures[name] = redact_text(str(exc))
            print(f"   FAILED: {self.failures[name]}", flush=True)
            return None
        self.results[name] = result
        print(f"   done in {time.perf_counter() - began:.1f} s: {_brief(result)}", flush=True)
        return result


def _brief(result: Any) -> str:
    if isinstance(result, dict):
        parts = [f"{k} {v}" for k, v in result.items() if isinstance(v, int | float | str | bool) and len(str(v)) < 60]
        return ", ".join(parts[:8]) or "ok"
    if isinstance(result, list):
        return f"{len(result)} item(s)"
    return str(result)


def _run(args: argparse.Namespace) -> int:
    from pipeline import stages
    from pipeline.demo import SUBSCRIBERS as DEMO_SUBSCRIBERS
    from schema.migrate import upgrade
    from tbt_alert.settings import load_settings

    settings = load_settings()
    upgrade(settings.database_url)  # a fresh data dir works without a separate `db upgrade`
    replay = None if args.live else (args.replay or settings.crawl_replay_dir or REPLAY_DEFAULT).resolve()
    job = _Job()

    job.stage("sync sources", lambda: stages.sync_sources(settings))

    def crawl() -> list[dict[str, Any]]:
        from crawlers.run import replay_folder
        from crawlers.sources import load_sources

        ids = [c.id for c in load_sources().values() if c.enabled]
        if replay is not None:
            skipped = [i for i in ids if replay_folder(replay, i) is None]
            if skipped:
                print(f"   no recorded snapshot in {replay} for: {', '.join(skipped)} (skipped)")
            ids = [i for i in ids if i not in skipped]
        results = stages.crawl_sources(settings, ids, replay_dir=replay, timeout=args.timeout)
        for r in results:
            detail = (
                f"seen {r.get('seen')}, new {r.get('new')}, changed {r.get('changed')}, rejected {r.get('rejected')}"
                if r["status"] != "failed"
                else r.get("error", "")
            )
            flag = " SUSPICIOUS count (operator mailed)" if r.get("suspicious") else ""
            print(f"   {r['source_id']}: {r['status']} {detail}{flag}")
        failed = [r["source_id"] for r in results if r["status"] == "failed"]
        if failed:
            job.failures["crawl"] = f"crawl failed for {', '.join(failed)}"
        return results

    job.stage(f"crawl ({'replay of ' + str(replay) if replay else 'live sources'})", crawl)
    job.stage("classify", lambda: stages.classify(settings))
    job.stage("index update", lambda: stages.update_index(settings))
    if not args.no_demo_subscribers:
        path = args.subscribers or DEMO_SUBSCRIBERS
        job.stage("demo subscribers", lambda: stages.demo_subscribers(settings, path))
    if "classify" in job.failures:
        # As in the DAG: no bulletin from measures whose sectors are unknown; they go out
        # in the first bulletin after tagging works again.
        print("== compose bulletins: skipped, tagging failed")
    else:
        job.stage("compose bulletins", lambda: stages.compose(settings))
    # Bulletins just composed are searchable right away; the index update is incremental.
    job.stage("index bulletins", lambda: stages.update_index(settings))
    job.stage("deliver", lambda: stages.deliver(settings))

    choice = None if args.period else _report_quarter(settings)
    period = args.period or (choice.period if choice else None)
    if period is None:
        print("== recall-risk report: skipped, no recalls in the database")
    else:
        job.stage(f"recall-risk report {period}", lambda: stages.build_recall_risk_report(settings, period=period))
    if choice is not None:
        job.results["report choice"] = choice

    _print_summary(settings, job)
    return 1 if job.failures else 0


def _report_quarter(settings: Settings) -> Any:
    """The quarter the report covers (reports.selection.readable_recall_quarter), or None without recalls."""
    import datetime as dt

    from reports.selection import readable_recall_quarter
    from schema.engine import session_for

    with session_for(settings) as session:
        return readable_recall_quarter(session, dt.datetime.now(dt.UTC).date())


def _why_this_quarter(choice: Any) -> str:
    """The summary's one sentence on why the report covers this quarter."""
    from reports.selection import MIN_READABLE_RECALLS

    said = {
        "readable": f"the most recent complete quarter with at least {MIN_READABLE_RECALLS} recalls",
        "fullest": f"no complete quarter has {MIN_READABLE_RECALLS} recalls; this one has the most",
        "current": "no quarter is complete yet; the current one",
    }[choice.why]
    later = (
        f"; the latest quarter, {choice.latest}, has only {choice.latest_recalls}"
        if choice.latest != choice.period
        else ""
    )
    return f"{choice.period}: {said} ({choice.recalls} recalls{later})"


def save_bulletin_to_open(settings: Settings) -> Path | None:
    """One bulletin's HTML as a file a newcomer opens in a browser: the Chinese one with the most
    items of the latest run (var/bulletins/bulletin-<id>-<lang>.html); None without bulletins."""
    from sqlalchemy import func, select

    from schema.engine import session_for
    from schema.models import Bulletin, BulletinItem

    with session_for(settings) as session:
        items = func.count(BulletinItem.measure_id)
        row = session.execute(
            select(Bulletin.id, Bulletin.language, Bulletin.html)
            .join(BulletinItem, BulletinItem.bulletin_id == Bulletin.id)
            .group_by(Bulletin.id, Bulletin.language, Bulletin.html)
            .order_by((Bulletin.language == "zh").desc(), items.desc(), Bulletin.created_at.desc(), Bulletin.id)
            .limit(1)
        ).first()
    if row is None:
        return None
    folder = settings.data_dir / "bulletins"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"bulletin-{row.id}-{row.language}.html"
    path.write_text(row.html, encoding="utf-8")
    return path


def _print_summary(settings: Settings, job: _Job) -> None:
    facts = _facts(settings)
    print()
    print("== summary")
    print(f"   measures stored:     {facts['measures']} ({facts['recalls']} recalls) from {facts['sources']} source(s)")
    print(f"   measures tagged:     {facts['tagged']} ({facts['sector_tags']} sector tags)")
    print(f"   measures indexed:    {facts.get('indexed', 'unknown')}")
    print(
        f"   bulletins composed:  {facts['bulletins']}; mailed {facts['bulletins_sent']} "
        f"({facts['pending']} mail(s) still pending, {facts['failed']} failed)"
    )
    print(f"   mails (maildir):     {settings.maildir}")
    bulletin = save_bulletin_to_open(settings)
    if bulletin is not None:
        print(f"   a bulletin to open:  {bulletin}")
    reports = [r for name, r in job.results.items() if name.startswith("recall-risk report")]
    choice = job.results.get("report choice")
    if choice is not None:
        print(f"   report period:       {_why_this_quarter(choice)}")
    for report in reports:
        print(f"   recall-risk report:  {report.get('html_path')}")
        print(f"                        {report.get('pdf_path')}")
    print(f"   reports folder:      {settings.reports_dir}")
    login = _demo_login(settings)
    if login:
        # The path, never the password: this output lands in CI and cron logs (review L6).
        print(
            f"   portal:              {redact_url(settings.portal_base_url)}  (start it: tbt-alert portal; "
            f"demo login {login[0]}, its password in {login[1]})"
        )
    if job.failures:
        print()
        print("== problems")
        for name, problem in job.failures.items():
            print(f"   {name}: {problem}")


def _facts(settings: Settings) -> dict[str, Any]:
    from sqlalchemy import func, select

    from schema.engine import session_for
    from schema.models import Bulletin, Delivery, Measure, SectorTag

    with session_for(settings) as session:

        def count(query: Any) -> int:
            return int(session.scalar(query) or 0)

        facts: dict[str, Any] = {
            "measures": count(select(func.count()).select_from(Measure)),
            "recalls": count(select(func.count()).select_from(Measure).where(Measure.kind == "recall")),
            "sources": count(select(func.count(func.distinct(Measure.source_id)))),
            "tagged": count(select(func.count()).select_from(Measure).where(Measure.tagged_version.is_not(None))),
            "sector_tags": count(select(func.count()).select_from(SectorTag)),
            "bulletins": count(select(func.count()).select_from(Bulletin)),
            "bulletins_sent": count(
                select(func.count())
                .select_from(Delivery)
                .where(Delivery.purpose == "bulletin", Delivery.status == "sent")
            ),
            "pending": count(select(func.count()).select_from(Delivery).where(Delivery.status == "pending")),
            "failed": count(select(func.count()).select_from(Delivery).where(Delivery.status == "failed")),
        }
    try:
        from search.lifecycle import index_counts

        facts["indexed"] = index_counts(settings)["index"].get("measures")
    except TbtError as exc:
        facts["indexed"] = f"unknown ({redact_text(str(exc))})"
    return facts


def _demo_login(settings: Settings) -> tuple[str, Path] | None:
    try:
        from pipeline.commands.portal import ensure_demo_user
    except ModuleNotFoundError:  # the portal is optional in a crawl-only deployment
        return None
    return ensure_demo_user(settings)
