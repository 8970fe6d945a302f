"""`tbt-alert doctor`: check every dependency and say what is wrong and how to fix it."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from tbt_alert.redact import redact_text, redact_url

Check = Callable[[Any], tuple[bool, str]]


def register(sub: Any) -> None:
    parser = sub.add_parser("doctor", help="check database, Elasticsearch, SMTP and the encoder")
    parser.set_defaults(handler=_run)


def _database(settings: Any) -> tuple[bool, str]:
    from sqlalchemy import text

    from schema.engine import engine_scope
    from schema.migrate import current_revision, head_revision

    try:
        with engine_scope(settings) as engine, engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        current, head = current_revision(settings.database_url), head_revision()
    except Exception as exc:  # noqa: BLE001 - doctor reports every failure, whatever its type
        return False, f"cannot connect ({redact_text(str(exc))}); check TBT_DATABASE_URL or run `make services`"
    if current != head:
        return False, f"schema at {current}, newest is {head}; run `tbt-alert db upgrade`"
    return True, f"schema at {current}"


def _elasticsearch(settings: Any) -> tuple[bool, str]:
    from elasticsearch import Elasticsearch

    try:
        client = Elasticsearch(settings.elasticsearch_url, api_key=settings.elasticsearch_api_key, request_timeout=5)
        health = client.cluster.health()
        nodes = client.nodes.info(node_id="_local", filter_path="nodes.*.version")
    except Exception as exc:  # noqa: BLE001
        return False, (
            f"{redact_url(settings.elasticsearch_url)} unreachable ({type(exc).__name__}); "
            "run `tbt-alert services up elasticsearch` or set TBT_ELASTICSEARCH_URL"
        )
    version = next(iter(nodes["nodes"].values()))["version"]
    return health["status"] != "red", f"version {version}, cluster {health['status']}"


def _smtp(settings: Any) -> tuple[bool, str]:
    import smtplib

    try:
        cls = smtplib.SMTP_SSL if settings.smtp_ssl else smtplib.SMTP
        with cls(settings.smtp_host, settings.smtp_port, timeout=5) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            smtp.noop()
    except (OSError, smtplib.SMTPException) as exc:
        return False, (
            f"{settings.smtp_host}:{settings.smtp_port} failed ({redact_text(str(exc))}); "
            "run `tbt-alert services up smtp` or set TBT_SMTP_HOST/TBT_SMTP_PORT"
        )
    return True, f"{settings.smtp_host}:{settings.smtp_port} accepts connections"


def _encoder(settings: Any) -> tuple[bool, str]:
    path = settings.encoder_path
    if not (path / "config.json").exists():
        return False, f"no model at {path}; run `tbt-alert model build` (or set TBT_ENCODER_PATH)"
    return True, f"model folder {path}"


def _crawls(settings: Any) -> tuple[bool, str]:
    from sqlalchemy import select

    from schema.engine import session_for
    from schema.models import CrawlRun, Source

    try:
        with session_for(settings) as session:
            problems = []
            for source in session.scalars(select(Source).where(Source.enabled)):
                last = session.scalars(
                    select(CrawlRun).where(CrawlRun.source_id == source.id).order_by(CrawlRun.started_at.desc())
                ).first()
                if last is None:
                    continue
                if last.status == "failed":
                    problems.append(f"{source.id} last crawl failed: {last.error_summary}")
                elif last.suspicious:
                    problems.append(
                        f"{source.id} last crawl saw {last.seen} records, outside the expected "
                        f"{source.expected_min}-{source.expected_max}"
                    )
    except Exception as exc:  # noqa: BLE001
        return False, f"cannot read crawl runs ({redact_text(str(exc))})"
    if problems:
        return False, "; ".join(problems) + " — check the source (tbt-alert crawl SOURCE -v)"
    return True, "no failed or suspicious last crawls"


CHECKS: dict[str, Check] = {
    "database": _database,
    "elasticsearch": _elasticsearch,
    "smtp": _smtp,
    "encoder": _encoder,
    "crawls": _crawls,
}


def _run(args: argparse.Namespace) -> int:
    from tbt_alert.settings import load_settings

    settings = load_settings()
    if settings.secret_key_is_ephemeral:
        print(f"{'secret key':14} warn generated locally in {settings.data_dir}; set TBT_SECRET_KEY in production")
    failed = 0
    for name, check in CHECKS.items():
        ok, detail = check(settings)
        failed += not ok
        print(f"{name:14} {'ok  ' if ok else 'FAIL'} {detail}")
    return 1 if failed else 0
