"""tbt_pipeline: every hour, crawl the sources that are due, then tag, compose, index, deliver.

Thin: each task calls one function of pipeline.stages. One mapped task instance per
due source, each a ``scrapy crawl`` child process with a timeout and retries; a source
that fails stops neither the other sources nor the later stages, which work on
whatever did arrive (trigger rule all_done). Tagging is planned in id ranges and mapped
too, one task instance per partition, so several workers share it. A new source is a new YAML in
crawlers/sources/: this file does not change.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import CronDataIntervalTimetable, Param, TriggerRule, dag, get_current_context, task

from dags.common import DEFAULT_ARGS, replay_dir


@dag(
    dag_id="tbt_pipeline",
    description="Crawl due sources, tag sectors, compose bulletins, update the index, deliver mail",
    schedule=CronDataIntervalTimetable("@hourly", timezone="UTC"),
    start_date=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    # Two overlapping runs could crawl one source twice at once.
    max_active_runs=1,
    dagrun_timeout=dt.timedelta(hours=3),
    default_args=DEFAULT_ARGS,
    tags=["tbt-alert", "crawl", "classify", "bulletins"],
    params={
        "replay_dir": Param(
            None,
            type=["null", "string"],
            description="Crawl from this recorded snapshot folder instead of the network (default: TBT_REPLAY_DIR)",
        ),
    },
    doc_md=__doc__,
)
def tbt_pipeline() -> None:
    @task
    def due_sources(**context: Any) -> list[str]:
        from pipeline import stages
        from tbt_alert.settings import load_settings

        settings = load_settings()
        stages.sync_sources(settings)
        return stages.due_sources(
            settings,
            at=context["data_interval_end"],
            replay_dir=replay_dir(context["params"], settings.crawl_replay_dir),
        )

    # The crawl child has its own timeout (TBT_CRAWL_TIMEOUT); this one is the backstop.
    @task(execution_timeout=dt.timedelta(hours=2), map_index_template="{{ source_id }}", max_active_tis_per_dag=2)
    def crawl(source_id: str, **context: Any) -> dict[str, Any]:
        from pipeline import stages
        from tbt_alert.settings import load_settings

        get_current_context()["source_id"] = source_id  # type: ignore[typeddict-unknown-key]
        settings = load_settings()
        return stages.crawl_source(
            settings,
            source_id,
            at=context["data_interval_end"],
            replay_dir=replay_dir(context["params"], settings.crawl_replay_dir),
        )

    # all_done: a failed source stops no tagging of what did arrive. The plan is a few id ranges
    # (TBT_TAGGING_PARTITIONS), never empty, so the mapped tagging below always runs.
    @task(trigger_rule=TriggerRule.ALL_DONE, execution_timeout=dt.timedelta(minutes=10))
    def plan_tagging() -> list[dict[str, Any]]:
        from pipeline import stages
        from tbt_alert.settings import load_settings

        return stages.plan_tagging(load_settings())

    # One task instance per partition, so each Celery worker can take one; a retry (or the rerun
    # of a killed worker's partition) tags only what is still pending in its range.
    @task(execution_timeout=dt.timedelta(hours=1), map_index_template="{{ partition_label }}")
    def tag_partition(partition: dict[str, Any]) -> dict[str, Any]:
        from pipeline import stages
        from tbt_alert.settings import load_settings

        label = f"{int(partition['index']) + 1}/{int(partition['count'])}"
        get_current_context()["partition_label"] = label  # type: ignore[typeddict-unknown-key]
        return stages.tag_partition(load_settings(), partition)

    # Only after every partition was tagged: a bulletin built from untagged measures would miss sectors.
    # Composed as of now, not of the interval's end: the measures this run stored were
    # stored after that end. Each subscription remembers the end of its last bulletin,
    # so a rerun finds nothing new and composes nothing twice.
    @task(execution_timeout=dt.timedelta(minutes=30))
    def compose() -> dict[str, Any]:
        from pipeline import stages
        from tbt_alert.settings import load_settings

        return stages.compose(load_settings())

    # After compose so the run's new bulletins are searchable too; all_done so the
    # measures that did arrive are indexed even when tagging or composing failed.
    @task(trigger_rule=TriggerRule.ALL_DONE, execution_timeout=dt.timedelta(minutes=30))
    def update_index() -> dict[str, Any]:
        from pipeline import stages
        from tbt_alert.settings import load_settings

        return stages.update_index(load_settings())

    # all_done: the outbox also holds earlier bulletins and retries; it always drains.
    @task(trigger_rule=TriggerRule.ALL_DONE, execution_timeout=dt.timedelta(minutes=30))
    def deliver() -> dict[str, Any]:
        from pipeline import stages
        from tbt_alert.settings import load_settings

        return stages.deliver(load_settings())

    crawled = crawl.expand(source_id=due_sources())
    planned = plan_tagging()
    tagged = tag_partition.expand(partition=planned)
    composed = compose()
    crawled >> planned
    tagged >> composed >> [update_index(), deliver()]


tbt_pipeline()
