"""All runtime settings of tbt-alert, read from ``TBT_*`` environment variables.

This module is a leaf: it imports nothing of ours, so every stage may read it.
Values are validated when :func:`load_settings` runs (at start-up of the CLI, a DAG
task or the portal), never at import time, and every error names the variable to set.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from tbt_alert.errors import SettingsError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """Validated settings; build one with :func:`load_settings`."""

    data_dir: Path
    database_url: str
    elasticsearch_url: str
    index_prefix: str
    smtp_host: str
    smtp_port: int
    smtp_user: str | None
    smtp_password: str | None
    smtp_starttls: bool
    smtp_ssl: bool
    smtp_rate_per_second: float
    smtp_max_attempts: int
    mail_from: str
    operator_email: str | None
    analyst_emails: tuple[str, ...]
    secret_key: str
    secret_key_is_ephemeral: bool
    encoder_path: Path
    portal_base_url: str
    contact_email: str
    raw_payload_retention_days: int
    crawl_timeout_seconds: int
    bulletin_max_items: int
    extra: Mapping[str, str] = field(default_factory=dict)
    crawl_replay_dir: Path | None = None
    classifier_mode: str = "model"
    encoder_precision: str = "int8"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def maildir(self) -> Path:
        """Where the local SMTP sink stores what it receives."""
        return self.data_dir / "maildir"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"{name}={raw!r} is not a boolean; set it to true or false.")


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int, maximum: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number; set it to an integer.") from None
    if not minimum <= value <= maximum:
        raise SettingsError(f"{name}={value} is out of range; set it between {minimum} and {maximum}.")
    return value


def _float(env: Mapping[str, str], name: str, default: float, *, minimum: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number; set it to a decimal number.") from None
    if value < minimum:
        raise SettingsError(f"{name}={value} is too small; set it to at least {minimum}.")
    return value


def _url(env: Mapping[str, str], name: str, default: str, schemes: tuple[str, ...]) -> str:
    raw = env.get(name, default).strip()
    parsed = urlparse(raw)
    if parsed.scheme not in schemes or not (parsed.netloc or parsed.path):
        raise SettingsError(
            f"{name}={raw!r} is not a valid URL; set it to a URL starting with "
            f"{' or '.join(s + '://' for s in schemes)}."
        )
    return raw


def _email(env: Mapping[str, str], name: str, default: str | None) -> str | None:
    raw = env.get(name, default)
    if raw is None or raw.strip() == "":
        return None
    value = raw.strip()
    address = value.rsplit("<", 1)[-1].rstrip(">")
    if "@" not in address or address.startswith("@") or address.endswith("@"):
        raise SettingsError(f"{name}={raw!r} is not an email address; set it to name@domain.")
    return value


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings from ``env`` (default: the process environment)."""
    env = os.environ if env is None else env

    # Default data dir inside the checkout's ignored var/ so `make run` needs no set-up
    # and never writes outside the project; production sets an absolute path.
    data_dir = Path(env.get("TBT_DATA_DIR", str(_repo_root() / "var"))).expanduser()
    if not data_dir.is_absolute():
        raise SettingsError(f"TBT_DATA_DIR={str(data_dir)!r} is relative; set it to an absolute path.")

    # SQLite is the embedded default: zero set-up for a single analyst's machine.
    database_url = env.get("TBT_DATABASE_URL") or f"sqlite:///{data_dir / 'tbt-alert.sqlite'}"
    if not database_url.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
        raise SettingsError(
            f"TBT_DATABASE_URL={database_url!r} is not supported; set it to sqlite:///PATH "
            "or postgresql+psycopg://USER:PASSWORD@HOST/DB."
        )
    if database_url.startswith("postgresql:"):
        # psycopg 3 is the driver we ship; the bare scheme would ask for psycopg2.
        database_url = "postgresql+psycopg:" + database_url[len("postgresql:") :]

    # The local single node that `tbt-alert services up` starts listens here.
    es_url = _url(env, "TBT_ELASTICSEARCH_URL", "http://127.0.0.1:9200", ("http", "https"))

    # All our indices and aliases share this prefix, so tests and tenants never collide.
    index_prefix = env.get("TBT_INDEX_PREFIX", "tbt").strip()
    if not index_prefix or not all(c.islower() or c.isdigit() or c in "-_" for c in index_prefix):
        raise SettingsError(
            f"TBT_INDEX_PREFIX={index_prefix!r} is invalid; set it to lower-case letters, digits, '-' or '_'."
        )

    smtp_host = env.get("TBT_SMTP_HOST", "127.0.0.1").strip()  # the local sink by default
    if not smtp_host:
        raise SettingsError("TBT_SMTP_HOST is empty; set it to the host name of your SMTP relay.")
    smtp_port = _int(env, "TBT_SMTP_PORT", 8025, minimum=1, maximum=65535)  # local sink's port
    smtp_starttls = _bool(env, "TBT_SMTP_STARTTLS", False)  # the loopback sink speaks plain SMTP
    smtp_ssl = _bool(env, "TBT_SMTP_SSL", False)
    if smtp_ssl and smtp_starttls:
        raise SettingsError("TBT_SMTP_SSL and TBT_SMTP_STARTTLS are both on; set only one of them.")
    smtp_user = env.get("TBT_SMTP_USER") or None
    smtp_password = env.get("TBT_SMTP_PASSWORD") or None
    if smtp_user and not smtp_password:
        raise SettingsError("TBT_SMTP_USER is set without TBT_SMTP_PASSWORD; set both or neither.")

    mail_from = _email(env, "TBT_MAIL_FROM", "tbt-alert <alerts@tbt-alert.localhost>")
    assert mail_from is not None
    operator_email = _email(env, "TBT_OPERATOR_EMAIL", "operator@tbt-alert.localhost")
    analysts_raw = env.get("TBT_ANALYST_EMAILS", "analysts@tbt-alert.localhost")
    analyst_emails = tuple(
        a for a in (_email({"TBT_ANALYST_EMAILS": p}, "TBT_ANALYST_EMAILS", None) for p in analysts_raw.split(","))
        if a
    )

    # No committed secret works in production: without TBT_SECRET_KEY a random key is
    # generated per data dir (tokens then survive restarts of one machine only), and
    # TBT_ENV=production refuses to start at all.
    secret_key = env.get("TBT_SECRET_KEY", "")
    ephemeral = False
    if not secret_key:
        if env.get("TBT_ENV", "development") == "production":
            raise SettingsError("TBT_SECRET_KEY is not set; set it to a random string of at least 32 characters.")
        secret_key = _local_secret(data_dir)
        ephemeral = True
    if len(secret_key) < 32:
        raise SettingsError("TBT_SECRET_KEY is shorter than 32 characters; set a longer random string.")

    # The converted encoder is ~470 MB: it lives in the user's cache, never in the repo.
    encoder_path = Path(
        env.get("TBT_ENCODER_PATH", str(Path.home() / ".cache" / "tbt-alert" / "models" / "multilingual-e5-small"))
    ).expanduser()
    # The model is the classifier; "rules" (HS/ICS + keywords, no encoder) must be chosen
    # explicitly, so a missing encoder never silently lowers the tagging quality.
    classifier_mode = env.get("TBT_CLASSIFIER_MODE", "model").strip().lower()
    if classifier_mode not in ("model", "rules"):
        raise SettingsError(f"TBT_CLASSIFIER_MODE={classifier_mode!r} is unknown; set it to model or rules.")
    # int8 (Linear layers quantised) is 2-3x faster than fp32 on CPU; the committed head is
    # trained on int8 vectors, so fp32 needs `tbt-alert train` first (see MODEL_CARD.md).
    encoder_precision = env.get("TBT_ENCODER_PRECISION", "int8").strip().lower()
    if encoder_precision not in ("int8", "fp32"):
        raise SettingsError(f"TBT_ENCODER_PRECISION={encoder_precision!r} is unknown; set it to int8 or fp32.")

    portal_base_url = _url(env, "TBT_PORTAL_BASE_URL", "http://127.0.0.1:8000", ("http", "https")).rstrip("/")
    contact_email = _email(env, "TBT_CONTACT_EMAIL", "tbt-alert@example.org") or "tbt-alert@example.org"
    retention = _int(env, "TBT_RAW_RETENTION_DAYS", 365, minimum=1, maximum=36500)  # one year of audit trail
    crawl_timeout = _int(env, "TBT_CRAWL_TIMEOUT", 1800, minimum=10, maximum=86400)  # half an hour per source
    # Unset = crawl the live sources. Demos and CI (no network) point it at a recorded
    # snapshot, e.g. crawlers/sources (each source's recorded/), and scheduled crawls are served from loopback.
    replay_raw = env.get("TBT_REPLAY_DIR", "").strip()
    crawl_replay_dir = Path(replay_raw).expanduser().resolve() if replay_raw else None
    if crawl_replay_dir is not None and not crawl_replay_dir.is_dir():
        raise SettingsError(f"TBT_REPLAY_DIR={replay_raw!r} is not a folder; set it to a recorded snapshot folder.")
    # A mail an exporter can read; the rest is named in the mail, and a backfill cannot
    # produce bulletins of hundreds of items (memory and mail size grow with them).
    max_items = _int(env, "TBT_BULLETIN_MAX_ITEMS", 40, minimum=1, maximum=1000)
    rate = _float(env, "TBT_SMTP_RATE", 20.0, minimum=0.1)  # messages/s; relays throttle bursts
    attempts = _int(env, "TBT_SMTP_MAX_ATTEMPTS", 5, minimum=1, maximum=50)

    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        elasticsearch_url=es_url,
        index_prefix=index_prefix,
        smtp_host=smtp_host,
        smtp_port=smtp_port,
        smtp_user=smtp_user,
        smtp_password=smtp_password,
        smtp_starttls=smtp_starttls,
        smtp_ssl=smtp_ssl,
        smtp_rate_per_second=rate,
        smtp_max_attempts=attempts,
        mail_from=mail_from,
        operator_email=operator_email,
        analyst_emails=analyst_emails,
        secret_key=secret_key,
        secret_key_is_ephemeral=ephemeral,
        encoder_path=encoder_path,
        portal_base_url=portal_base_url,
        contact_email=contact_email,
        raw_payload_retention_days=retention,
        crawl_timeout_seconds=crawl_timeout,
        bulletin_max_items=max_items,
        extra={k: v for k, v in env.items() if k.startswith("TBT_")},
        crawl_replay_dir=crawl_replay_dir,
        classifier_mode=classifier_mode,
        encoder_precision=encoder_precision,
    )


def _local_secret(data_dir: Path) -> str:
    """A random per-machine key kept in the data dir (mode 600), made on first use."""
    import secrets

    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(key)
    return key
