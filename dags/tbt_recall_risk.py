"""tbt_recall_risk: every Monday morning (Beijing time), the recall-risk report of the
week that just ended, mailed to the analysts (TBT_ANALYST_EMAILS).

Thin: each task calls one function of pipeline.stages. A rerun of the same week
rebuilds the report files but mails nobody twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import CronDataIntervalTimetable, dag, task

from dags.common import DEFAULT_ARGS


@dag(
    dag_id="tbt_recall_risk",
    description="Weekly recall-risk report for analysts",
    # Monday 06:00 in Zhejiang: the report is there when the analysts start the week.
    schedule=CronDataIntervalTimetable("0 6 * * 1", timezone="Asia/Shanghai"),
    start_date=dt.datetime(2025, 1, 6, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=dt.timedelta(hours=2),
    default_args=DEFAULT_ARGS,
    tags=["tbt-alert", "reports"],
    doc_md=__doc__,
)
def tbt_recall_risk() -> None:
    @task(execution_timeout=dt.timedelta(hours=1))
    def build_report(**context: Any) -> dict[str, Any]:
        from pipeline import stages
        from tbt_alert.settings import load_settings

        period = stages.report_period(context["data_interval_start"])
        return stages.build_recall_risk_report(load_settings(), period=period)

    @task(execution_timeout=dt.timedelta(minutes=30))
    def mail_analysts(report: dict[str, Any]) -> dict[str, Any]:
        from pipeline import stages
        from tbt_alert.settings import load_settings

        return stages.mail_report(load_settings(), report)

    mail_analysts(build_report())  # type: ignore[arg-type]  # an XComArg resolves to the dict at run time


tbt_recall_risk()
