"""The exception hierarchy of tbt-alert: every error a user can see is a :class:`TbtError`.

A leaf module (it imports nothing of ours) so every stage raises and catches the same
types, and the CLI turns any of them into one line instead of a traceback. Classes that
also derive from a builtin (``ValueError``, ``KeyError``, ``LookupError``) keep the
``except`` clauses that predate the hierarchy working. Each message is one sentence saying
what went wrong and what to do about it.
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


# ------------------------------------------------------------------ settings and sources


class SourceConfigError(TbtError, ValueError):
    """A source YAML is missing or invalid; the message names the file and the field."""


class UnknownSource(TbtError, LookupError):
    """No source (YAML or parser) has this id; the message lists where to add one."""


class ParserNotWritten(TbtError, NotImplementedError):
    """A scaffolded source whose parser is still the stub `tbt-alert sources new` wrote."""

    def __init__(self, source: str):
        self.source = source
        super().__init__(
            f"source {source}: the parser is not written yet; write parse() in "
            f"crawlers/sources/{source}/parser.py (see crawlers/README.md)"
        )


class UnknownLookupValue(TbtError, KeyError):
    """A value the source's YAML lookup table does not list (add it to the YAML)."""

    def __init__(self, source: str, table: str, value: str):
        self.source, self.table, self.value = source, table, value
        super().__init__(
            f"source {source}: {value!r} is not in lookup table {table!r}; "
            f"add it to crawlers/sources/{source}/{source}.yml"
        )

    def __str__(self) -> str:
        # KeyError would print the message with quotes around it.
        return str(self.args[0])


class InvalidSymbol(TbtError, ValueError):
    """The text is not a WTO TBT/SPS notification symbol."""


class CrawlFailed(TbtError):
    """A crawl ended as failed; raised so the orchestrator retries it."""


# ------------------------------------------------------------------ search


class SearchUnavailable(ServiceUnavailable, SearchError):
    """Elasticsearch cannot be reached; both ServiceUnavailable and SearchError catch it."""


class IndexBusy(SearchError):
    """Another process holds the index lock."""


# ------------------------------------------------------------------ alerts, reports, portal, operations


class InvalidSubscription(TbtError, ValueError):
    """A subscriber or subscription value is not acceptable; the message says which and what to use."""


class PeriodError(TbtError):
    """A report period string cannot be read."""


class UserError(TbtError):
    """A user cannot be created or found; the message says what to change."""


class BackupError(TbtError):
    """A backup or restore could not be made."""
