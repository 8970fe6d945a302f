"""Item pipelines: validate -> normalise -> store (with follow-up links and counts).

Storing goes through :func:`schema.upsert.store_measures` in batches, so a record
seen again is stored once and a changed record becomes a new revision. Rejected
records are quarantined with their reason and raw payload. When the spider
closes, the CrawlRun row gets its counts, its suspicious flag (count outside the
source's expected range) and its status:

- ``failed``: a page's structure changed, or requests failed and nothing arrived;
- ``partial``: some requests failed after their retries, or records were rejected;
- ``success``: everything fetched and stored.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from scrapy import signals

from crawlers.items import MeasureItem, Rejected, storable
from crawlers.normalize import normalise
from crawlers.sources import SourceConfig

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from crawlers.spiders.base import SourceSpider

log = logging.getLogger(__name__)

# One transaction per this many items: big enough for throughput, small enough
# that a killed crawl loses little and the next run resumes.
BATCH_SIZE = 500
# Sources whose measures are recalls may only yield recalls, and so on.
KINDS_BY_SOURCE_KIND = {
    "recall": {"recall"},
    "notification": {"tbt_notification", "sps_notification"},
    "regulation": {"regulation", "standard"},
    "standard": {"standard", "regulation"},
}
# A published date this far ahead is a parsing error, not a date.
_FUTURE_SLACK = dt.timedelta(days=366)


def _spider(crawler: Crawler) -> SourceSpider:
    spider = crawler.spider
    assert spider is not None, "the pipelines run inside a crawl"
    assert hasattr(spider, "config"), "tbt-alert pipelines need a SourceSpider"
    return spider  # type: ignore[return-value]


def check_item(item: Any, config: SourceConfig, *, today: dt.date | None = None) -> MeasureItem | Rejected:
    """The validate stage: a MeasureItem of this source, of an allowed kind, with sane dates."""
    if isinstance(item, Rejected):
        return item
    if isinstance(item, dict):
        raw = str(item.get("raw_payload", ""))
        try:
            item = MeasureItem.model_validate(item)
        except ValidationError as exc:
            return _invalid(config, item, exc, raw)
    if not isinstance(item, MeasureItem):
        reason = f"source {config.id}: spider yielded a {type(item).__name__}"
        return Rejected(config.id, None, None, reason, repr(item))

    def reject(field_name: str, reason: str) -> Rejected:
        message = f"source {config.id}, record {item.source_key}: {reason}"
        return Rejected(config.id, item.source_key, field_name, message, item.raw_payload)

    if item.source_id != config.id:
        return reject("source_id", f"item says source {item.source_id!r}")
    problems = item.text_problems() + item.link_problems()
    if problems:
        return reject(*problems[0])
    if item.kind not in KINDS_BY_SOURCE_KIND[config.kind]:
        return reject("kind", f"kind {item.kind!r} is not allowed for a {config.kind} source")
    for name, length in _column_lengths().items():
        value = getattr(item, name, None)
        if isinstance(value, str) and len(value) > length:
            return reject(name, f"{name} is {len(value)} characters, the database keeps at most {length}")
    limit = (today or dt.date.today()) + _FUTURE_SLACK
    for name in ("published_on", "distributed_on"):
        value = getattr(item, name)
        if value is not None and value > limit:
            return reject(name, f"{name} {value} is in the future")
    return item


def _invalid(config: SourceConfig, item: dict[str, Any], exc: ValidationError, raw: str) -> Rejected:
    """A dict item the model refuses: quarantined naming source, record and each field."""
    key = item.get("source_key")
    record = str(key) if key is not None else None
    errors = exc.errors()
    field_name = ".".join(str(p) for p in errors[0]["loc"]) or None
    problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
    return Rejected(config.id, record, field_name, f"source {config.id}, record {record}: {problems}", raw)


def _storable(text: str | None) -> str | None:
    return None if text is None else storable(text)


def _is_record_error(exc: Exception) -> bool:
    """An error of the data (a value the database refuses), not of the connection or the schema."""
    from sqlalchemy.exc import DataError, StatementError

    if isinstance(exc, DataError | ValueError):
        return True
    # A value that cannot be encoded fails before it reaches the server, wrapped without a DBAPI error.
    return isinstance(exc, StatementError) and isinstance(exc.orig, ValueError)


@functools.cache
def _column_lengths() -> dict[str, int]:
    """Length limits of the Measure's short text columns (PostgreSQL enforces them, SQLite not)."""
    from sqlalchemy import String, inspect

    from schema.models import Measure

    return {
        c.key: int(c.type.length)
        for c in inspect(Measure).columns
        if isinstance(c.type, String) and c.type.length and c.key in MeasureItem.model_fields
    }


class ValidatePipeline:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ValidatePipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> MeasureItem | Rejected:
        return check_item(item, _spider(self.crawler).config)


class NormalisePipeline:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NormalisePipeline:
        return cls(crawler)

    def process_item(self, item: MeasureItem | Rejected) -> MeasureItem | Rejected:
        if isinstance(item, Rejected):
            return item
        return normalise(item, _spider(self.crawler).config)


@dataclass
class RunCounts:
    seen: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    rejected: int = 0
    linked: int = 0
    errors: list[str] = field(default_factory=list)


def run_status(counts: RunCounts, *, fatal: str | None, errors: Sequence[str], reason: str = "finished") -> str:
    if fatal:
        return "failed"
    if errors and counts.seen == 0:
        return "failed"
    if reason not in ("finished", "closespider_itemcount", "closespider_pagecount"):
        return "partial" if counts.seen else "failed"
    if errors or counts.rejected:
        return "partial"
    return "success"


class MeasureStore:
    """Batched storing of one run's items and rejects; usable without Scrapy (bench, tests)."""

    def __init__(self, engine: Engine, config: SourceConfig, crawl_run_id: int | None):
        self.engine = engine
        self.config = config
        self.crawl_run_id = crawl_run_id
        self.counts = RunCounts()
        self._items: list[MeasureItem] = []
        self._rejects: list[Rejected] = []
        self._links: dict[str, str] = {}  # child source_key -> parent source_key

    def add(self, item: MeasureItem | Rejected) -> None:
        if isinstance(item, Rejected):
            self._rejects.append(item)
            self.counts.rejected += 1
        else:
            self._items.append(item)
            self.counts.seen += 1
            if item.parent_key:
                self._links[item.source_key] = item.parent_key
        if len(self._items) + len(self._rejects) >= BATCH_SIZE:
            self.flush()

    def flush(self) -> None:
        """Store the buffered items and rejects; a record the database refuses is quarantined alone."""
        if not self._items and not self._rejects:
            return
        # Taken off the buffers first: a batch that fails is never retried whole on the next add.
        items, rejects = self._items, self._rejects
        self._items, self._rejects = [], []
        try:
            self._store(items, rejects)
        except Exception as exc:
            if not _is_record_error(exc):
                raise
            log.warning("source %s: a batch failed to store (%s); storing it record by record", self.config.id, exc)
            self._store_one_by_one(items, rejects)

    def _store(self, items: list[MeasureItem], rejects: list[Rejected]) -> None:
        from sqlalchemy import func, update

        from schema.engine import session_scope
        from schema.models import CrawlRun
        from schema.upsert import store_measures

        with session_scope(self.engine) as session:
            result = store_measures(session, [i.to_record() for i in items]) if items else None
            if rejects:
                self._quarantine(session, rejects)
            if result is not None and self.crawl_run_id is not None:
                # The run's counts move in the transaction that stores the batch: a run cut off
                # (database restart, killed process) keeps what it stored, so a retry that finds
                # those measures "unchanged" does not lose them from every count.
                session.execute(
                    update(CrawlRun)
                    .where(CrawlRun.id == self.crawl_run_id)
                    .values(
                        new=func.coalesce(CrawlRun.new, 0) + result.inserted,
                        changed=func.coalesce(CrawlRun.changed, 0) + result.changed,
                        unchanged=func.coalesce(CrawlRun.unchanged, 0) + result.unchanged,
                    )
                )
        if result is not None:
            self.counts.new += result.inserted
            self.counts.changed += result.changed
            self.counts.unchanged += result.unchanged

    def _store_one_by_one(self, items: list[MeasureItem], rejects: list[Rejected]) -> None:
        refused: list[Rejected] = []
        for item in items:
            try:
                self._store([item], [])
            except Exception as exc:
                if not _is_record_error(exc):
                    raise
                refused.append(self._refused(item, exc))
        self._store([], rejects + refused)

    def _refused(self, item: MeasureItem, exc: Exception) -> Rejected:
        """The quarantine entry of an item the database refused; it no longer counts as seen."""
        cause = getattr(exc, "orig", None) or exc
        first_line = (str(cause).splitlines() or [type(cause).__name__])[0]
        reason = (
            f"source {self.config.id}, record {item.source_key}: the database refused the record ({first_line}); "
            "it is quarantined and the rest of the run stored - check the source's data"
        )
        log.warning("%s", reason)
        self.counts.seen -= 1
        self.counts.rejected += 1
        self._links.pop(item.source_key, None)
        return Rejected(self.config.id, item.source_key, None, reason, item.raw_payload)

    def _quarantine(self, session: Session, rejects: list[Rejected]) -> None:
        """Keep each rejected record once: the same reject in the next run adds no row."""
        from sqlalchemy import select

        from schema.models import QuarantinedRecord

        # Escape what PostgreSQL refuses (NUL), so the quarantine itself cannot fail on it.
        rejects = [
            Rejected(
                r.source_id, _storable(r.record_key), _storable(r.field), storable(r.reason), storable(r.raw_payload)
            )
            for r in rejects
        ]
        keys = {r.record_key for r in rejects if r.record_key}
        existing: set[tuple[str | None, str, str | None]] = set()
        if keys:
            rows = session.execute(
                select(QuarantinedRecord.record_key, QuarantinedRecord.reason, QuarantinedRecord.raw_payload).where(
                    QuarantinedRecord.source_id == self.config.id,
                    QuarantinedRecord.resolved.is_(False),
                    QuarantinedRecord.record_key.in_(keys),
                )
            )
            existing = {(k, reason, raw) for k, reason, raw in rows}
        for reject in rejects:
            identity = (reject.record_key, reject.reason, reject.raw_payload)
            if reject.record_key and identity in existing:
                continue
            existing.add(identity)
            session.add(
                QuarantinedRecord(
                    source_id=self.config.id,
                    crawl_run_id=self.crawl_run_id,
                    record_key=(reject.record_key or "")[:300] or None,
                    field=(reject.field or "")[:100] or None,
                    reason=reject.reason,
                    raw_payload=reject.raw_payload,
                )
            )

    def link_follow_ups(self) -> int:
        """Point follow-ups at their parents, wherever in the run (or before) the parent came."""
        from sqlalchemy import select, update

        from schema.engine import session_scope
        from schema.ids import measure_id
        from schema.models import Measure

        if not self._links:
            return 0
        source = self.config.id
        pairs = {measure_id(source, child): measure_id(source, parent) for child, parent in self._links.items()}
        linked = 0
        with session_scope(self.engine) as session:
            parents = set(pairs.values())
            present = set(session.scalars(select(Measure.id).where(Measure.id.in_(parents))))
            for child_id, parent_id in pairs.items():
                if parent_id in present and parent_id != child_id:
                    result = session.execute(
                        update(Measure)
                        .where(Measure.id == child_id, Measure.parent_id.is_distinct_from(parent_id))
                        .values(parent_id=parent_id)
                    )
                    linked += result.rowcount or 0  # type: ignore[attr-defined]
        self.counts.linked += linked
        return linked


class StorePipeline:
    """Store items, quarantine rejects, link follow-ups, and finish the CrawlRun."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.store: MeasureStore | None = None
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        from schema.engine import make_engine
        from tbt_alert.settings import load_settings

        spider = _spider(self.crawler)
        settings = load_settings()
        engine = make_engine(settings.database_url)
        run_id = self.crawler.settings.getint("TBT_CRAWL_RUN_ID") or None
        run_id = open_crawl_run(engine, spider.config, run_id, since=spider.since)
        self.store = MeasureStore(engine, spider.config, run_id)

    def process_item(self, item: MeasureItem | Rejected) -> MeasureItem | Rejected:
        assert self.store is not None
        self.store.add(item)
        return item

    def close_spider(self) -> None:
        assert self.store is not None
        spider = _spider(self.crawler)
        try:
            self.store.flush()
            self.store.link_follow_ups()
        except Exception as exc:
            spider.fatal = spider.fatal or f"source {spider.name}: storing failed: {exc}"
            log.exception("storing failed")

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.store is None:
            return
        finish_crawl_run(self.store, fatal=spider.fatal, errors=spider.errors, reason=reason)
        self.store.engine.dispose()


def open_crawl_run(engine: Engine, config: SourceConfig, run_id: int | None, *, since: dt.date | None) -> int:
    """The CrawlRun to record into: the one the parent process made, or a new one."""
    from crawlers.sources import sync_sources
    from schema.engine import session_scope
    from schema.models import CrawlRun

    with session_scope(engine) as session:
        sync_sources(session, [config])
        if run_id is not None and session.get(CrawlRun, run_id) is not None:
            return run_id
        run = CrawlRun(source_id=config.id, status="running", since=since)
        session.add(run)
        session.flush()
        return run.id


def finish_crawl_run(store: MeasureStore, *, fatal: str | None, errors: Sequence[str], reason: str) -> str:
    from schema.engine import session_scope
    from schema.models import CrawlRun, utcnow

    counts = store.counts
    status = run_status(counts, fatal=fatal, errors=errors, reason=reason)
    problems = ([fatal] if fatal else []) + list(errors)
    if reason not in ("finished",) and not fatal:
        problems.append(f"source {store.config.id}: crawl ended early ({reason})")
    if counts.rejected:
        problems.append(f"{counts.rejected} record(s) quarantined")
    with session_scope(store.engine) as session:
        run = session.get(CrawlRun, store.crawl_run_id)
        if run is None:
            return status
        run.seen, run.new, run.changed = counts.seen, counts.new, counts.changed
        run.unchanged, run.rejected = counts.unchanged, counts.rejected
        run.suspicious = store.config.is_suspicious(counts.seen)
        run.status = status
        run.finished_at = utcnow()
        run.error_summary = "\n".join(problems)[:20000] or None
    return status
