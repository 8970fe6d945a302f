"""SQLAlchemy models of tbt-alert: the database is the source of truth.

Everything else (the search index, bulletins, reports) is derived from these tables
and can be rebuilt from them. Ids of measures come from the source's own key, never
from a sequence, so the same measure has the same id on every run and every machine.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from schema.types import UtcDateTime

# JSONB on PostgreSQL (indexable, compact), plain JSON text on SQLite.
JsonType = JSON().with_variant(JSONB(), "postgresql")

# Measure kinds, in the language of the trade.
MEASURE_KINDS = ("tbt_notification", "sps_notification", "regulation", "standard", "recall")
# How a follow-up relates to its parent measure.
FOLLOW_UP_RELATIONS = ("addendum", "corrigendum", "revision", "supplement", "update")
TAG_METHODS = ("hs", "ics", "model", "rule", "manual")
CRAWL_STATUSES = ("running", "success", "partial", "failed")
DELIVERY_STATUSES = ("pending", "sending", "sent", "failed", "cancelled")
FREQUENCIES = ("immediate", "daily", "weekly")
USER_ROLES = ("staff", "analyst", "admin")


def utcnow() -> dt.datetime:
    """Timezone-aware now; every timestamp we store is UTC."""
    return dt.datetime.now(dt.UTC)


def new_token_secret() -> str:
    """A random per-subscriber secret that subscriber link tokens are signed with (alerts.tokens)."""
    import secrets

    return secrets.token_urlsafe(32)


class Base(DeclarativeBase):
    # A datetime column without an explicit type is a UtcDateTime too.
    type_annotation_map = {dict[str, Any]: JsonType, list[Any]: JsonType, dt.datetime: UtcDateTime()}


class Source(Base):
    """A publisher we crawl; mirrors ``crawlers/sources/<id>.yml``."""

    __tablename__ = "sources"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    publisher: Mapped[str | None] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(32))  # notification, regulation, recall
    jurisdiction: Mapped[str] = mapped_column(String(8))  # ISO alpha-3, or EUR / WTO
    languages: Mapped[list[Any]] = mapped_column(default=list)
    homepage: Mapped[str | None] = mapped_column(String(500))
    schedule: Mapped[str | None] = mapped_column(String(64))  # cron expression or @daily
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    verified: Mapped[bool] = mapped_column(Boolean, default=True)
    expected_min: Mapped[int | None] = mapped_column(Integer)
    expected_max: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class Measure(Base):
    """One published item: a TBT/SPS notification, a regulation, a standard or a recall."""

    __tablename__ = "measures"
    __table_args__ = (
        UniqueConstraint("source_id", "source_key", name="uq_measures_source_key"),
        Index("ix_measures_last_changed", "last_changed"),
        Index("ix_measures_country_kind", "country", "kind"),
        Index("ix_measures_comment_deadline", "comment_deadline"),
        Index("ix_measures_tagged_version", "tagged_version"),
        Index("ix_measures_document_symbol", "document_symbol"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("sources.id"), index=True)
    source_key: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(32))
    # Follow-ups (Add.1, Corr.1, Rev.1, recall updates) point to the measure they amend.
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("measures.id", ondelete="SET NULL"), index=True)
    relation: Mapped[str | None] = mapped_column(String(32))
    # A cross-source identity (a WTO document symbol, a Safety Gate case number) so the
    # same measure seen through two sources is shown once.
    document_symbol: Mapped[str | None] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(3))  # notifying/issuing member, ISO alpha-3
    title: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    products: Mapped[str | None] = mapped_column(Text)
    hs_codes: Mapped[list[Any]] = mapped_column(default=list)
    ics_codes: Mapped[list[Any]] = mapped_column(default=list)
    objectives: Mapped[list[Any]] = mapped_column(default=list)
    keywords: Mapped[list[Any]] = mapped_column(default=list)
    language: Mapped[str | None] = mapped_column(String(8))  # ISO 639-1
    distributed_on: Mapped[dt.date | None] = mapped_column(Date)
    published_on: Mapped[dt.date | None] = mapped_column(Date, index=True)
    comment_deadline: Mapped[dt.date | None] = mapped_column(Date)
    adopted_on: Mapped[dt.date | None] = mapped_column(Date)
    entry_into_force: Mapped[dt.date | None] = mapped_column(Date)
    url: Mapped[str | None] = mapped_column(String(1000))
    documents: Mapped[dict[str, Any]] = mapped_column(default=dict)  # language -> URL
    # Recalls and safety alerts.
    category: Mapped[str | None] = mapped_column(String(200))
    product_type: Mapped[str | None] = mapped_column(String(300))
    brand: Mapped[str | None] = mapped_column(String(300))
    risk_type: Mapped[str | None] = mapped_column(String(300))
    risk_level: Mapped[str | None] = mapped_column(String(32))  # serious, high, medium, low, class I..III
    hazard: Mapped[str | None] = mapped_column(Text)
    measures_taken: Mapped[str | None] = mapped_column(Text)
    country_of_origin: Mapped[str | None] = mapped_column(String(3), index=True)
    # Source-specific structured fields (technical committee, standstill end, ...).
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Exactly as received (text of the record's JSON/XML); pruned after the retention period.
    raw_payload: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    first_seen: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_changed: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # Version of the classifier that last tagged the current content; NULL = waiting to be tagged.
    tagged_version: Mapped[str | None] = mapped_column(String(64))
    # Version whose machine tags and HS suggestions readers use (classifiers.versions): a re-tag
    # writes a newer version beside it, and the switch moves it once the whole database is tagged.
    served_version: Mapped[str | None] = mapped_column(String(64))

    source: Mapped[Source] = relationship()
    parent: Mapped[Measure | None] = relationship(remote_side=[id], back_populates="follow_ups")
    follow_ups: Mapped[list[Measure]] = relationship(back_populates="parent")
    sector_tags: Mapped[list[SectorTag]] = relationship(
        back_populates="measure", cascade="all, delete-orphan", passive_deletes=True
    )
    revisions: Mapped[list[MeasureRevision]] = relationship(
        back_populates="measure",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="MeasureRevision.revision",
    )
    # Suggested HS-6 codes (the classifier's reading), best first; never the source's hs_codes.
    hs_suggestions: Mapped[list[SuggestedHsCode]] = relationship(
        back_populates="measure",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="SuggestedHsCode.rank",
    )
    # Standards its text cites, in the order first cited (issue 27).
    cited_standards: Mapped[list[MeasureStandard]] = relationship(
        back_populates="measure",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="MeasureStandard.rank",
    )


class MeasureRevision(Base):
    """A previous content of a measure, kept when the source changed it."""

    __tablename__ = "measure_revisions"
    __table_args__ = (UniqueConstraint("measure_id", "revision", name="uq_measure_revisions"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    measure_id: Mapped[str] = mapped_column(ForeignKey("measures.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    content: Mapped[dict[str, Any]] = mapped_column()  # the measure's fields at that revision
    raw_payload: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)

    measure: Mapped[Measure] = relationship(back_populates="revisions")


class SectorTag(Base):
    """A Zhejiang export sector a measure affects, with why we think so."""

    __tablename__ = "sector_tags"
    __table_args__ = (
        # Versions side by side: a re-tag writes its rows beside the served version's (issue 26).
        UniqueConstraint("measure_id", "sector", "method", "classifier_version", name="uq_sector_tags"),
        Index("ix_sector_tags_sector", "sector"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    measure_id: Mapped[str] = mapped_column(ForeignKey("measures.id", ondelete="CASCADE"), index=True)
    sector: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    method: Mapped[str] = mapped_column(String(16))
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    classifier_version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # When a version switch added this sector to a measure the previous version had tagged without
    # it (NULL otherwise): the bulletin mails the measure once more to that sector's subscribers.
    added_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

    measure: Mapped[Measure] = relationship(back_populates="sector_tags")


class SuggestedHsCode(Base):
    """An HS-6 subheading the classifier suggests for a measure, with its score and names.

    Kept apart from ``Measure.hs_codes`` (what the source declared) so a suggestion can never
    pass for a source's code; written per classifier version beside the machine tags, and read
    only for the measure's served version (classifiers.versions).
    """

    __tablename__ = "hs_suggestions"
    __table_args__ = (
        UniqueConstraint("measure_id", "code", "classifier_version", name="uq_hs_suggestions"),
        Index("ix_hs_suggestions_code", "code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # No index of its own: uq_hs_suggestions leads with measure_id and serves lookups by measure.
    measure_id: Mapped[str] = mapped_column(ForeignKey("measures.id", ondelete="CASCADE"))
    rank: Mapped[int] = mapped_column(Integer)  # 1 = best
    code: Mapped[str] = mapped_column(String(6))  # six digits
    score: Mapped[float] = mapped_column(Float)  # 0..1
    name_zh: Mapped[str] = mapped_column(Text, default="")
    name_en: Mapped[str] = mapped_column(Text, default="")
    classifier_version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)

    measure: Mapped[Measure] = relationship(back_populates="hs_suggestions")


class MeasureVector(Base):
    """A measure's sentence vector, made when it is tagged: the search index's dense field is
    rebuilt from here, never by re-running the encoder over every measure, and a re-tag with the
    same encoder reads it instead of embedding the unchanged text again."""

    __tablename__ = "measure_vectors"

    measure_id: Mapped[str] = mapped_column(ForeignKey("measures.id", ondelete="CASCADE"), primary_key=True)
    encoder_version: Mapped[str] = mapped_column(String(64))  # the vectors' space (Classifier.encoder_version)
    dims: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # schema/vectors.py: float32 (float16 before 0008)
    # Digest of the exact text embedded, with what else shapes the vector (runtime, token limit):
    # a re-tag with the same encoder reuses the vector while the digest matches (issue 25).
    text_digest: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class MeasureStandard(Base):
    """A standard a measure's text cites (issue 27), normalised by ``classifiers.standards``.

    ``key`` (body and number, "IEC 60335") gathers every part and edition of one standard for
    search and the standard page; ``adopted_by`` is the national prefix it was cited under
    ("BS" in "BS EN 71-3"). Replaced with the machine tags whenever a measure is tagged.
    """

    __tablename__ = "cited_standards"
    __table_args__ = (
        UniqueConstraint("measure_id", "code", name="uq_cited_standards"),
        Index("ix_cited_standards_key", "key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # No index of its own: uq_cited_standards leads with measure_id and serves lookups by measure.
    measure_id: Mapped[str] = mapped_column(ForeignKey("measures.id", ondelete="CASCADE"))
    rank: Mapped[int] = mapped_column(Integer)  # 1 = first cited
    code: Mapped[str] = mapped_column(String(120))  # "BS EN 71-3:2019+A1:2021"
    key: Mapped[str] = mapped_column(String(80))  # "EN 71"
    body: Mapped[str] = mapped_column(String(24))
    number: Mapped[str] = mapped_column(String(40))
    part: Mapped[str | None] = mapped_column(String(40))
    year: Mapped[int | None] = mapped_column(Integer)
    amendment: Mapped[str | None] = mapped_column(String(80))
    adopted_by: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)

    measure: Mapped[Measure] = relationship(back_populates="cited_standards")


class CrawlRun(Base):
    """One crawl of one source, with what it saw."""

    __tablename__ = "crawl_runs"
    __table_args__ = (Index("ix_crawl_runs_source_started", "source_id", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("sources.id"))
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16), default="running")
    since: Mapped[dt.date | None] = mapped_column(Date)
    seen: Mapped[int] = mapped_column(Integer, default=0)
    new: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    suspicious: Mapped[bool] = mapped_column(Boolean, default=False)  # count outside expected range
    error_summary: Mapped[str | None] = mapped_column(Text)


class QuarantinedRecord(Base):
    """A record we could not accept, kept with the reason so nothing is lost."""

    __tablename__ = "quarantined_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("sources.id"), index=True)
    crawl_run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id", ondelete="SET NULL"))
    record_key: Mapped[str | None] = mapped_column(String(300))
    field: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    raw_payload: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)


class Subscriber(Base):
    """An exporter who receives bulletins (double opt-in)."""

    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    company: Mapped[str | None] = mapped_column(String(300))
    language: Mapped[str] = mapped_column(String(8), default="zh")
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    unsubscribed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    # Bumped to invalidate every token issued before (e.g. after a leaked link).
    token_generation: Mapped[int] = mapped_column(Integer, default=0)
    # Mixed into the key of this subscriber's link tokens: a new one (alerts.lifecycle.revoke_links)
    # withdraws only this subscriber's links, and a reused id (SQLite) never opens another subscriber.
    # NULL only for subscribers created before migration 0006: their links stay signed with the
    # global key until their links are revoked (review M6).
    token_secret: Mapped[str | None] = mapped_column(String(64), default=new_token_secret)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)

    subscriptions: Mapped[list[Subscription]] = relationship(
        back_populates="subscriber", cascade="all, delete-orphan", passive_deletes=True
    )


class Subscription(Base):
    """What one subscriber wants to hear about, and how often."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"), index=True)
    sectors: Mapped[list[Any]] = mapped_column(default=list)
    hs_prefixes: Mapped[list[Any]] = mapped_column(default=list)
    countries: Mapped[list[Any]] = mapped_column(default=list)  # ISO alpha-3
    country_groups: Mapped[list[Any]] = mapped_column(default=list)  # "bri", "eu"
    keywords: Mapped[list[Any]] = mapped_column(default=list)
    kinds: Mapped[list[Any]] = mapped_column(default=list)
    frequency: Mapped[str] = mapped_column(String(16), default="daily")
    min_relevance: Mapped[float] = mapped_column(Float, default=0.5)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_bulletin_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)

    subscriber: Mapped[Subscriber] = relationship(back_populates="subscriptions")


class Bulletin(Base):
    """One rendered early-warning mail for one subscriber and one period."""

    __tablename__ = "bulletins"
    __table_args__ = (UniqueConstraint("subscriber_id", "period_start", "period_end", name="uq_bulletins_period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"), index=True)
    period_start: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    period_end: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    frequency: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(500))
    html: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    indexed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

    items: Mapped[list[BulletinItem]] = relationship(
        back_populates="bulletin", cascade="all, delete-orphan", passive_deletes=True
    )


class BulletinItem(Base):
    """A measure inside a bulletin, with the reasons it matched."""

    __tablename__ = "bulletin_items"
    __table_args__ = (UniqueConstraint("bulletin_id", "measure_id", name="uq_bulletin_items"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletins.id", ondelete="CASCADE"))
    measure_id: Mapped[str] = mapped_column(ForeignKey("measures.id", ondelete="CASCADE"), index=True)
    section: Mapped[str] = mapped_column(String(32), default="new")  # new, changed, closing_soon
    reasons: Mapped[list[Any]] = mapped_column(default=list)

    bulletin: Mapped[Bulletin] = relationship(back_populates="items")
    measure: Mapped[Measure] = relationship()


class Delivery(Base):
    """The outbox: one row per mail to send; sent exactly once."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("bulletin_id", "recipient", name="uq_deliveries"),
        Index("ix_deliveries_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bulletin_id: Mapped[int | None] = mapped_column(ForeignKey("bulletins.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int | None] = mapped_column(ForeignKey("subscribers.id", ondelete="SET NULL"))
    recipient: Mapped[str] = mapped_column(String(320))
    purpose: Mapped[str] = mapped_column(String(32), default="bulletin")  # bulletin, confirm, report, operator
    subject: Mapped[str | None] = mapped_column(String(500))
    body: Mapped[str | None] = mapped_column(Text)  # the full MIME message for non-bulletin mail
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    message_id: Mapped[str] = mapped_column(String(300), unique=True)  # fixed before the first attempt
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Report(Base):
    """A rendered recall-risk (or other) report for analysts."""

    __tablename__ = "reports"
    __table_args__ = (Index("ix_reports_kind_period", "kind", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(32))  # 2025-Q4, 2025-W48, 2025-11, 2025
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    files: Mapped[dict[str, Any]] = mapped_column(default=dict)  # format -> path
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class User(Base):
    """A portal user (staff, analyst or admin)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    email: Mapped[str | None] = mapped_column(String(320))
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class ApiKey(Base):
    """A key for the JSON API; only its hash is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class PortalSession(Base):
    """A logged-in portal session. The signed cookie carries a random session id; this table holds its
    SHA-256 (a copy of the table opens no session). Logout deletes the row and a password change
    deletes the user's rows, so a copied cookie stops working at once, not after 12 hours."""

    __tablename__ = "portal_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 hex of the cookie's session id
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class LoginAttempt(Base):
    """One login attempt that counts against a throttle key (a client address, or a user at an address).

    In the database, not in memory, so every portal worker process counts the same attempts. The key
    is stored as a SHA-256: what people type into the username field stays out of the table."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)

    __table_args__ = (Index("ix_login_attempts_key_at", "key_hash", "at"),)


class PipelineState(Base):
    """Bookkeeping of the stages (e.g. the last successful index update), by key."""

    __tablename__ = "pipeline_state"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)
