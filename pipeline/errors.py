"""The exception hierarchy of tbt-alert.

A leaf module (it imports nothing of ours) so every stage raises and catches the same
types. Each message is one sentence saying what went wrong and what to do about it.
"""

from __future__ import annotations


class TbtError(Exception):
    """Base of every error tbt-alert raises on purpose."""


class SettingsError(TbtError):
    """A ``TBT_*`` setting is missing or invalid."""


class ServiceUnavailable(TbtError):
    """A service we depend on (database, Elasticsearch, SMTP) cannot be reached."""


class SourceError(TbtError):
    """A source answered with something we cannot read (changed structure, garbage)."""

    def __init__(self, source: str, message: str, *, record: str | None = None, field: str | None = None):
        self.source = source
        self.record = record
        self.field = field
        where = f"source {source}"
        if record:
            where += f", record {record}"
        if field:
            where += f", field {field!r}"
        super().__init__(f"{where}: {message}")


class RecordRejected(SourceError):
    """One record is malformed; it is quarantined and the crawl goes on."""


class StructureChanged(SourceError):
    """A whole page no longer has the structure the parser expects; the crawl fails."""


class ClassifierError(TbtError):
    """The sector classifier or its encoder cannot run."""


class SearchError(TbtError):
    """Indexing or searching Elasticsearch failed."""


class DeliveryError(TbtError):
    """A mail could not be delivered."""


class TokenError(TbtError):
    """A signed link token is invalid, tampered with or expired."""
