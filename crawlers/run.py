"""Run one crawl as a child process and record it: the stage function of the pipeline.

``scrapy crawl`` always runs in a child process (the Twisted reactor cannot be
restarted inside a long-lived worker), with a timeout. This process opens the
CrawlRun row, serves the recorded snapshot on loopback when replaying, waits, and
makes sure the CrawlRun ends with a status even when the child dies or hangs.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawlers.outcome import CrawlOutcome
from crawlers.sources import SourceConfig, load_source, load_sources

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from tbt_alert.settings import Settings

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
# After the timeout the child gets SIGTERM (Scrapy closes the spider and stores what
# it has); if it is still alive this much later it is killed.
_GRACE_SECONDS = 30


def replay_folder(replay_dir: Path, source_id: str) -> Path | None:
    """The folder holding ``exchanges.json`` of ``source_id`` under ``replay_dir``, or None.

    ``replay_dir`` is the source folders themselves (``crawlers/sources``: ``<id>/recorded/``),
    a folder of snapshots (``DIR/<id>/``, as tests and scripts assemble them), or one snapshot.
    """
    for candidate in (replay_dir / source_id / "recorded", replay_dir / source_id, replay_dir):
        if (candidate / "exchanges.json").exists():
            if candidate == replay_dir and _replay_source(candidate) not in (None, source_id):
                continue
            return candidate
    return None


def _replay_source(folder: Path) -> str | None:
    import json

    try:
        source: str | None = json.loads((folder / "exchanges.json").read_text(encoding="utf-8")).get("source")
        return source
    except (OSError, ValueError):
        return None


def last_success(engine: Engine, source_id: str) -> dt.date | None:
    """Start date of the last successful crawl: the next crawl asks for what came since."""
    from sqlalchemy import select

    from schema.engine import session_scope
    from schema.models import CrawlRun

    with session_scope(engine) as session:
        started = session.scalar(
            select(CrawlRun.started_at)
            .where(CrawlRun.source_id == source_id, CrawlRun.status == "success")
            .order_by(CrawlRun.started_at.desc())
            .limit(1)
        )
    return started.date() if started else None


def crawl(
    settings: Settings,
    source_id: str,
    *,
    since: dt.date | None = None,
    replay_dir: Path | None = None,
    timeout: float | None = None,
    scrapy_settings: Mapping[str, Any] | None = None,
) -> CrawlOutcome:
    """Crawl one source in a ``scrapy crawl`` child process and record the CrawlRun.

    ``since``: only measures published/updated from that date (default: since the
    last successful live crawl; a replay serves its whole snapshot). ``replay_dir``:
    serve recorded responses from loopback instead of the network. ``timeout``:
    seconds (default ``settings.crawl_timeout_seconds``).
    """
    from crawlers.pipelines import open_crawl_run
    from crawlers.replay import ReplayServer, load_exchanges
    from schema.engine import engine_scope

    config = load_source(source_id)
    with engine_scope(settings) as engine:
        if since is None and replay_dir is None:
            since = last_success(engine, source_id)
        run_id = open_crawl_run(engine, config, None, since=since)
        spider_args: dict[str, str] = {}
        server: ReplayServer | None = None
        if replay_dir is not None:
            folder = replay_folder(replay_dir, source_id)
            if folder is None:
                return _fail(
                    engine,
                    config,
                    run_id,
                    f"source {source_id}: no recorded snapshot in {replay_dir}; "
                    f"record one in {replay_dir}/{source_id}/exchanges.json",
                )
            exchanges, spider_args = load_exchanges(folder)
            server = ReplayServer(exchanges).start()
        try:
            extra = dict(scrapy_settings or {})
            if server is not None:
                extra["TBT_REPLAY_URL"] = server.url
            outcome = _run_child(
                settings, engine, config, run_id, since, spider_args, extra, timeout or settings.crawl_timeout_seconds
            )
        finally:
            if server is not None:
                server.stop()
    if outcome.status == "failed":
        # wto_eping's API down or gone: the downloaded bulk workbook, when TBT_EPING_BULK_WORKBOOK names one.
        from crawlers.sources.wto_eping_excel.fallback import fall_back

        outcome = fall_back(settings, outcome)
    return outcome


def crawl_all(
    settings: Settings,
    *,
    since: dt.date | None = None,
    replay_dir: Path | None = None,
    timeout: float | None = None,
    scrapy_settings: Mapping[str, Any] | None = None,
) -> list[CrawlOutcome]:
    """Crawl every enabled source one after the other; a failing source stops none of the others.

    With ``replay_dir``, sources without a recorded snapshot there are skipped.
    """
    outcomes = []
    for config in load_sources().values():
        if not config.enabled:
            continue
        if replay_dir is not None and replay_folder(replay_dir, config.id) is None:
            log.warning("source %s has no recorded snapshot in %s; skipped", config.id, replay_dir)
            continue
        outcomes.append(
            crawl(
                settings,
                config.id,
                since=since,
                replay_dir=replay_dir,
                timeout=timeout,
                scrapy_settings=scrapy_settings,
            )
        )
    return outcomes


# The crawl child parses untrusted input: it gets no credential it does not use (it sends no mail and
# never queries the search cluster).
CHILD_WITHHELD = ("TBT_SMTP_USER", "TBT_SMTP_PASSWORD", "TBT_ELASTICSEARCH_API_KEY")


def _child_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(settings.extra)
    env.update(
        TBT_DATA_DIR=str(settings.data_dir),
        TBT_DATABASE_URL=settings.database_url,
        TBT_CONTACT_EMAIL=settings.contact_email,
        SCRAPY_SETTINGS_MODULE="crawlers.settings",
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p),
    )
    if settings.secret_key_is_ephemeral:
        env.pop("TBT_SECRET_KEY", None)
    else:
        env["TBT_SECRET_KEY"] = settings.secret_key
    # A crawl never sends mail: the SMTP login stays with the parent (security review H2/L4).
    for name in CHILD_WITHHELD:
        env.pop(name, None)
    return env


def _run_child(
    settings: Settings,
    engine: Engine,
    config: SourceConfig,
    run_id: int,
    since: dt.date | None,
    spider_args: Mapping[str, str],
    scrapy_settings: Mapping[str, Any],
    timeout: float,
) -> CrawlOutcome:
    command = [sys.executable, "-m", "scrapy", "crawl", config.spider_name, "-s", f"TBT_CRAWL_RUN_ID={run_id}"]
    if since is not None:
        command += ["-a", f"since={since.isoformat()}"]
    for name, value in spider_args.items():
        command += ["-a", f"{name}={value}"]
    for name, value in scrapy_settings.items():
        command += ["-s", f"{name}={value}"]
    log_dir = settings.data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"crawl-{config.id}-{run_id}.log"
    problem = None
    with log_path.open("wb") as log_file:
        child = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=_child_env(settings),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a timeout stops every child it made
        )
        try:
            code = child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            problem = f"source {config.id}: crawl stopped after the {timeout:g} s timeout"
            _stop(child)
            code = child.returncode
    if problem is None and code != 0:
        problem = f"source {config.id}: scrapy exited with code {code}; see {log_path}"
    return _finish(engine, config, run_id, problem, log_path)


def _stop(child: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(child.pid, signal.SIGTERM)
        child.wait(timeout=_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    except ProcessLookupError:
        child.wait()


def _tail(path: Path | None, lines: int = 15) -> str:
    if path is None or not path.exists():
        return ""
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(text[-lines:])


def _finish(
    engine: Engine, config: SourceConfig, run_id: int, problem: str | None, log_path: Path | None
) -> CrawlOutcome:
    """The CrawlRun as the child left it; a run the child could not finish becomes failed."""
    from schema.engine import session_scope
    from schema.models import CrawlRun, utcnow

    with session_scope(engine) as session:
        run = session.get(CrawlRun, run_id)
        assert run is not None, f"crawl run {run_id} disappeared"
        if run.status == "running":
            run.status = "failed"
            run.finished_at = utcnow()
            detail = problem or f"source {config.id}: the crawl process ended without recording its result"
            run.error_summary = f"{detail}\n{_tail(log_path)}".strip()
        elif problem:
            if run.status == "success":
                run.status = "partial"
            run.error_summary = "\n".join(p for p in (problem, run.error_summary) if p)
        outcome = CrawlOutcome(
            run_id=run.id,
            source_id=config.id,
            status=run.status,
            seen=run.seen,
            new=run.new,
            changed=run.changed,
            unchanged=run.unchanged,
            rejected=run.rejected,
            suspicious=run.suspicious,
            error=run.error_summary,
            log_path=log_path,
        )
    return outcome


def _fail(engine: Engine, config: SourceConfig, run_id: int, message: str) -> CrawlOutcome:
    return _finish(engine, config, run_id, message, None)
