"""tbt_maintenance: every night, back up the database, prune raw payloads past their
retention, and rebuild the search index if it no longer matches the database.

Thin: each task calls one function of pipeline.maintenance. The backup is named by
the night, so a rerun replaces that night's file instead of adding one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from airflow.sdk import CronDataIntervalTimetable, dag, task

from dags.common import DEFAULT_ARGS


@dag(
    dag_id="tbt_maintenance",
    description="Nightly backup, raw-payload retention, index consistency",
    # 02:30 in Zhejiang: nobody searches, and the hourly crawl has finished.
    schedule=CronDataIntervalTimetable("30 2 * * *", timezone="Asia/Shanghai"),
    start_date=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=dt.timedelta(hours=3),
    default_args=DEFAULT_ARGS,
    tags=["tbt-alert", "maintenance"],
    doc_md=__doc__,
)
def tbt_maintenance() -> None:
    @task(execution_timeout=dt.timedelta(hours=1))
    def backup_database(**context: Any) -> str:
        from pipeline.maintenance import backup_database as backup
        from tbt_alert.settings import load_settings

        # Named by the night in Zhejiang, where the schedule is set.
        night = context["data_interval_end"].astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d")
        return str(backup(load_settings(), label=night))

    # After the backup: whatever the pruning removes is still in last night's file.
    @task(execution_timeout=dt.timedelta(minutes=30))
    def prune_raw_payloads(**context: Any) -> dict[str, Any]:
        from pipeline.maintenance import prune_raw_payloads as prune
        from tbt_alert.settings import load_settings

        return prune(load_settings(), now=context["data_interval_end"])

    @task(execution_timeout=dt.timedelta(hours=1))
    def check_index() -> dict[str, Any]:
        from pipeline.maintenance import check_index as check
        from tbt_alert.settings import load_settings

        return check(load_settings())

    backup_database() >> prune_raw_payloads()
    check_index()


tbt_maintenance()
