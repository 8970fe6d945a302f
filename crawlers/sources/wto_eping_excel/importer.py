"""Storing an ePing workbook through the crawl's own stages: validate, normalise, store, quarantine.

`tbt-alert import eping FILE.xlsx` calls :func:`import_workbook`. The rows are streamed (the
bulk workbook is never held whole) through the same functions the Scrapy item pipelines call
(:func:`crawlers.pipelines.check_item`, :func:`crawlers.normalize.normalise`,
:class:`crawlers.pipelines.MeasureStore` batches, quarantine and follow-up links, and
:func:`crawlers.pipelines.finish_crawl_run` counts), so an import is stored exactly as a crawl is.

The measures belong to the source the workbook's YAML names in ``options.stores_as``
(``wto_eping``): keyed by the same symbols as the JSON crawl, a notification read from the API
and from a workbook is one measure, and a later read of either is an upsert. The run itself is
recorded under ``wto_eping_excel``, so an analyst's import is never taken for the daily crawl of
``wto_eping`` (its schedule, its last-crawl check in ``doctor``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from crawlers.items import MeasureItem, Rejected
from crawlers.normalize import normalise
from crawlers.outcome import CrawlOutcome
from crawlers.pipelines import MeasureStore, check_item, finish_crawl_run, open_crawl_run
from crawlers.sources import SourceConfig, load_source, sync_sources
from crawlers.sources.wto_eping_excel.parser import read_workbook
from tbt_alert.errors import StructureChanged

if TYPE_CHECKING:
    from sqlalchemy import Engine

WORKBOOK_SOURCE = "wto_eping_excel"


def owner_of(workbook: SourceConfig) -> SourceConfig:
    """The source whose measures a workbook's rows are (``options.stores_as``, else the workbook's own)."""
    owner = workbook.options.get("stores_as")
    return load_source(str(owner)) if owner else workbook


def import_workbook(engine: Engine, path: Path, *, workbook: SourceConfig | None = None) -> CrawlOutcome:
    """Store every row of the workbook at ``path``; a bad row is quarantined and the rest stored.

    A file that is not an ePing workbook fails the run (status ``failed``, the reason in ``error``).
    """
    from schema.engine import session_scope
    from schema.models import CrawlRun

    workbook = workbook or load_source(WORKBOOK_SOURCE)
    owner = owner_of(workbook)
    run_id = open_crawl_run(engine, workbook, None, since=None)
    with session_scope(engine) as session:
        sync_sources(session, [owner])  # the measures' source row, as a crawl of it would make
    store = MeasureStore(engine, owner, run_id)
    fatal = None
    try:
        for entry in read_workbook(path, workbook):
            store.add(_checked(entry, owner))
    except StructureChanged as exc:
        fatal = f"{path}: {exc}"
    store.flush()
    store.link_follow_ups()
    status = finish_crawl_run(store, fatal=fatal, errors=[], reason="finished")
    with session_scope(engine) as session:
        run = session.get(CrawlRun, run_id)
        assert run is not None, "finish_crawl_run keeps the run"
        return CrawlOutcome(
            run_id=run_id,
            source_id=owner.id,
            status=status,
            seen=run.seen,
            new=run.new,
            changed=run.changed,
            unchanged=run.unchanged,
            rejected=run.rejected,
            suspicious=run.suspicious,
            error=run.error_summary,
        )


def _checked(entry: MeasureItem | Rejected, owner: SourceConfig) -> MeasureItem | Rejected:
    """The validate and normalise stages, for a row read by the workbook parser on the owner's behalf."""
    if isinstance(entry, Rejected):
        return entry
    checked = check_item(entry.model_copy(update={"source_id": owner.id}), owner)
    return normalise(checked, owner) if isinstance(checked, MeasureItem) else checked
