"""All runtime settings of tbt-alert, read from ``TBT_*`` environment variables.

This module is a leaf: it imports nothing of ours, so every stage may read it.
Values are validated when :func:`load_settings` runs (at start-up of the CLI, a DAG
task or the portal), never at import time, and every error names the variable to set.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from tbt_alert.errors import SettingsError
from tbt_alert.redact import REDACTED, redact_env, redact_url

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


# Shown as *** in the repr; the URLs are shown without their credentials.
_SECRET_FIELDS = frozenset({"secret_key", "smtp_password", "eping_api_key", "elasticsearch_api_key"})
_URL_FIELDS = frozenset({"database_url", "elasticsearch_url", "portal_base_url"})


@dataclass(frozen=True, repr=False)
class Settings:
    """Validated settings; build one with :func:`load_settings`.

    The attributes hold the real values (``settings.secret_key`` is the key); only the repr, and
    so ``str()``, logs and tracebacks with locals, hides the secrets.
    """

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
    tagging_partitions: int = 2
    encoder_runtime: str = "onnx"
    hs_suggestion_min_score: float | None = None  # None: the calibrated threshold of the HS index
    eping_base_url: str | None = None  # None: the host of wto_eping's base_urls (its YAML)
    eping_api: str = "getall"  # "getall" (keyless) or "search" (api.wto.org, needs eping_api_key)
    eping_api_key: str | None = None
    eping_bulk_workbook: Path | None = None  # a downloaded Notification_EN.xlsx: wto_eping's fallback
    elasticsearch_api_key: str | None = None
    # The reverse proxies whose X-Forwarded-For the portal believes (login throttling, review M2).
    portal_trusted_proxies: tuple[Network, ...] = (
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("::1/128"),
    )

    def __repr__(self) -> str:
        shown = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _SECRET_FIELDS:
                value = REDACTED if value else value
            elif f.name in _URL_FIELDS:
                value = redact_url(value)
            elif f.name == "extra":
                value = redact_env(value)
            shown.append(f"{f.name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

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
            f"{name}={redact_url(raw)!r} is not a valid URL; set it to a URL starting with "
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


# --- readers of one variable: (env, variable, default) -> value ------------------------------
# Each raises SettingsError naming the variable and the remedy. They differ on purpose in how
# an empty value reads (the default, None, or an error), exactly as the settings always did.

_Reader = Callable[[Mapping[str, str], str, Any], Any]


def _int_in(minimum: int, maximum: int) -> _Reader:
    def read(env: Mapping[str, str], name: str, default: int) -> int:
        return _int(env, name, default, minimum=minimum, maximum=maximum)

    return read


def _float_from(minimum: float) -> _Reader:
    def read(env: Mapping[str, str], name: str, default: float) -> float:
        return _float(env, name, default, minimum=minimum)

    return read


def _one_of(*choices: str) -> _Reader:
    def read(env: Mapping[str, str], name: str, default: str) -> str:
        value = env.get(name, default).strip().lower()
        if value not in choices:
            raise SettingsError(f"{name}={value!r} is unknown; set it to {' or '.join(choices)}.")
        return value

    return read


def _score_or_none(env: Mapping[str, str], name: str, default: None) -> float | None:
    """A score between 0 and 1, or None when unset or empty (the caller then uses its calibrated value)."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(
            f"{name}={raw!r} is not a number; set it to a score between 0 and 1, or leave it empty."
        ) from None
    if not 0.0 <= value <= 1.0:
        raise SettingsError(f"{name}={value} is out of range; set it to a score between 0 and 1, or leave it empty.")
    return value


def _absolute_path(env: Mapping[str, str], name: str, default: str) -> Path:
    path = Path(env.get(name, default)).expanduser()
    if not path.is_absolute():
        raise SettingsError(f"{name}={str(path)!r} is relative; set it to an absolute path.")
    return path


def _path_in_home(env: Mapping[str, str], name: str, default: str) -> Path:
    """A path; the default is relative to the home directory, read when the settings are loaded."""
    return Path(env.get(name, str(Path.home() / default))).expanduser()


def _folder_or_none(env: Mapping[str, str], name: str, default: str) -> Path | None:
    raw = env.get(name, default).strip()
    folder = Path(raw).expanduser().resolve() if raw else None
    if folder is not None and not folder.is_dir():
        raise SettingsError(f"{name}={raw!r} is not a folder; set it to a recorded snapshot folder.")
    return folder


def _file_or_none(env: Mapping[str, str], name: str, default: str) -> Path | None:
    """An absolute file path, or None when unset. The file need not exist yet: the download job
    that fills it may run after the portal starts; its absence is reported where it is read."""
    raw = env.get(name, default).strip()
    if not raw:
        return None
    path = Path(raw).expanduser()
    if not path.is_absolute():
        raise SettingsError(f"{name}={raw!r} is relative; set it to the absolute path of the downloaded file.")
    if path.is_dir():
        raise SettingsError(f"{name}={raw!r} is a folder; set it to the downloaded file itself.")
    return path


def _networks(env: Mapping[str, str], name: str, default: str) -> tuple[Network, ...]:
    """Comma-separated IP addresses or networks (``10.0.0.0/24``); an empty value is none at all."""
    networks = []
    for part in (p.strip() for p in env.get(name, default).split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise SettingsError(
                f"{name} names {part!r}, which is no IP address or network; "
                "list the reverse proxy's addresses, e.g. 127.0.0.1, 10.0.0.0/24."
            ) from None
    return tuple(networks)


def _http_url(env: Mapping[str, str], name: str, default: str) -> str:
    return _url(env, name, default, ("http", "https"))


def _base_url(env: Mapping[str, str], name: str, default: str) -> str:
    return _http_url(env, name, default).rstrip("/")


def _base_url_or_none(env: Mapping[str, str], name: str, default: str) -> str | None:
    """An http(s) base URL without its trailing slash, or None when unset or empty."""
    if not env.get(name, default).strip():
        return None
    return _base_url(env, name, default)


def _index_prefix(env: Mapping[str, str], name: str, default: str) -> str:
    prefix = env.get(name, default).strip()
    if not prefix or not all(c.islower() or c.isdigit() or c in "-_" for c in prefix):
        raise SettingsError(f"{name}={prefix!r} is invalid; set it to lower-case letters, digits, '-' or '_'.")
    return prefix


def _host(env: Mapping[str, str], name: str, default: str) -> str:
    host = env.get(name, default).strip()
    if not host:
        raise SettingsError(f"{name} is empty; set it to the host name of your SMTP relay.")
    return host


def _optional(env: Mapping[str, str], name: str, default: None) -> str | None:
    return env.get(name) or default


def _required_email(env: Mapping[str, str], name: str, default: str) -> str:
    value = _email(env, name, default)
    if value is None:
        raise SettingsError(f"{name} is empty; set it to the sender address, e.g. 'tbt-alert <alerts@example.org>'.")
    return value


def _email_or_default(env: Mapping[str, str], name: str, default: str) -> str:
    return _email(env, name, default) or default


def _email_list(env: Mapping[str, str], name: str, default: str) -> tuple[str, ...]:
    """Comma-separated addresses; empty entries are skipped."""
    addresses = (_email({name: part}, name, None) for part in env.get(name, default).split(","))
    return tuple(a for a in addresses if a)


# --- rules over several variables: (env, settings read so far) -> None ---------------------------

_Rule = Callable[[Mapping[str, str], dict[str, Any]], None]


def _database_url(env: Mapping[str, str], values: dict[str, Any]) -> None:
    # SQLite is the embedded default: zero set-up for a single analyst's machine.
    database_url = env.get("TBT_DATABASE_URL") or f"sqlite:///{values['data_dir'] / 'tbt-alert.sqlite'}"
    if not database_url.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
        raise SettingsError(
            f"TBT_DATABASE_URL={redact_url(database_url)!r} is not supported; set it to sqlite:///PATH "
            "or postgresql+psycopg://USER:PASSWORD@HOST/DB."
        )
    if database_url.startswith("postgresql:"):
        # psycopg 3 is the driver we ship; the bare scheme would ask for psycopg2.
        database_url = "postgresql+psycopg:" + database_url[len("postgresql:") :]
    values["database_url"] = database_url


def _one_tls_mode(env: Mapping[str, str], values: dict[str, Any]) -> None:
    if values["smtp_ssl"] and values["smtp_starttls"]:
        raise SettingsError("TBT_SMTP_SSL and TBT_SMTP_STARTTLS are both on; set only one of them.")


def _user_with_password(env: Mapping[str, str], values: dict[str, Any]) -> None:
    if values["smtp_user"] and not values["smtp_password"]:
        raise SettingsError("TBT_SMTP_USER is set without TBT_SMTP_PASSWORD; set both or neither.")


def _eping_key(env: Mapping[str, str], values: dict[str, Any]) -> None:
    if values["eping_api"] == "search" and not values["eping_api_key"]:
        raise SettingsError(
            "TBT_EPING_API=search needs TBT_EPING_API_KEY; set it to your api.wto.org subscription key "
            "(apiportal.wto.org) or set TBT_EPING_API=getall."
        )


def _secret_key(env: Mapping[str, str], values: dict[str, Any]) -> None:
    # No committed secret works in production: without TBT_SECRET_KEY a random key is
    # generated per data dir (tokens then survive restarts of one machine only), and
    # TBT_ENV=production refuses to start at all.
    secret_key = env.get("TBT_SECRET_KEY", "")
    ephemeral = False
    if not secret_key:
        if env.get("TBT_ENV", "development") == "production":
            raise SettingsError("TBT_SECRET_KEY is not set; set it to a random string of at least 32 characters.")
        secret_key = _local_secret(values["data_dir"])
        ephemeral = True
    if len(secret_key) < 32:
        raise SettingsError("TBT_SECRET_KEY is shorter than 32 characters; set a longer random string.")
    values["secret_key"] = secret_key
    values["secret_key_is_ephemeral"] = ephemeral


@dataclass(frozen=True)
class _Setting:
    field: str  # of Settings
    variable: str
    read: _Reader
    default: Any
    reason: str = ""  # why the default is what it is


# In the order they are checked: the first invalid value is the error reported, and the
# local secret key is only written once everything before it is valid.
_SETTINGS: tuple[_Setting | _Rule, ...] = (
    _Setting(
        "data_dir",
        "TBT_DATA_DIR",
        _absolute_path,
        str(_repo_root() / "var"),
        "inside the checkout's ignored var/ so `make run` needs no set-up and never writes outside the project; "
        "production sets an absolute path",
    ),
    _database_url,
    _Setting(
        "elasticsearch_url",
        "TBT_ELASTICSEARCH_URL",
        _http_url,
        "http://127.0.0.1:9200",
        "the local single node that `tbt-alert services up` starts listens here",
    ),
    _Setting(
        "elasticsearch_api_key",
        "TBT_ELASTICSEARCH_API_KEY",
        _optional,
        None,
        "unset for the local node (security off on loopback); a secured cluster takes an API key here, never "
        "user:password in TBT_ELASTICSEARCH_URL, which messages and logs would carry",
    ),
    _Setting(
        "index_prefix",
        "TBT_INDEX_PREFIX",
        _index_prefix,
        "tbt",
        "all our indices and aliases share this prefix, so tests and tenants never collide",
    ),
    _Setting("smtp_host", "TBT_SMTP_HOST", _host, "127.0.0.1", "the local sink"),
    _Setting("smtp_port", "TBT_SMTP_PORT", _int_in(1, 65535), 8025, "the local sink's port"),
    _Setting("smtp_starttls", "TBT_SMTP_STARTTLS", _bool, False, "the loopback sink speaks plain SMTP"),
    _Setting("smtp_ssl", "TBT_SMTP_SSL", _bool, False),
    _one_tls_mode,
    _Setting("smtp_user", "TBT_SMTP_USER", _optional, None),
    _Setting("smtp_password", "TBT_SMTP_PASSWORD", _optional, None),
    _user_with_password,
    _Setting("mail_from", "TBT_MAIL_FROM", _required_email, "tbt-alert <alerts@tbt-alert.localhost>"),
    _Setting("operator_email", "TBT_OPERATOR_EMAIL", _email, "operator@tbt-alert.localhost"),
    _Setting("analyst_emails", "TBT_ANALYST_EMAILS", _email_list, "analysts@tbt-alert.localhost"),
    _secret_key,
    _Setting(
        "encoder_path",
        "TBT_ENCODER_PATH",
        _path_in_home,
        ".cache/tbt-alert/models/multilingual-e5-small",
        "the converted encoder is ~470 MB: it lives in the user's cache, never in the repo",
    ),
    _Setting(
        "classifier_mode",
        "TBT_CLASSIFIER_MODE",
        _one_of("model", "rules"),
        "model",
        "the model is the classifier; rules (HS/ICS + keywords, no encoder) must be chosen explicitly, "
        "so a missing encoder never silently lowers the tagging quality",
    ),
    _Setting(
        "encoder_precision",
        "TBT_ENCODER_PRECISION",
        _one_of("int8", "fp32"),
        "int8",
        "int8 (Linear layers quantised) is 2-3x faster than fp32 on CPU; the committed head is trained on "
        "int8 vectors, so fp32 needs `tbt-alert train` first (see MODEL_CARD.md)",
    ),
    _Setting(
        "tagging_partitions",
        "TBT_TAGGING_PARTITIONS",
        _int_in(1, 256),
        2,
        "the pending measures are split into this many id ranges, one mapped Airflow task each, so two "
        "Celery workers share the tagging; set it to the number of workers (more only evens out a slow worker)",
    ),
    _Setting(
        "encoder_runtime",
        "TBT_ENCODER_RUNTIME",
        _one_of("onnx", "torch"),
        "onnx",
        "ONNX Runtime (the graphs `tbt-alert model build` exports) needs no torch and was the faster on a "
        "2-core AVX2 machine (bench/bench_classify.py); torch needs the [train] extra. Read again by "
        "classifiers/encoder.py wherever an encoder is loaded",
    ),
    _Setting(
        "hs_suggestion_min_score",
        "TBT_HS_SUGGESTION_MIN_SCORE",
        _score_or_none,
        None,
        "empty = the threshold calibrated with the HS index (classifiers/head/hs_index.json), from which a "
        "suggested code answers an HS subscription and the HS filter; set a score to be stricter or looser "
        "(a change reaches the index on `tbt-alert index rebuild`)",
    ),
    _Setting("portal_base_url", "TBT_PORTAL_BASE_URL", _base_url, "http://127.0.0.1:8000"),
    _Setting(
        "portal_trusted_proxies",
        "TBT_PORTAL_TRUSTED_PROXIES",
        _networks,
        "127.0.0.1, ::1",
        "the documented TLS proxy runs on the same host and talks to the portal over loopback; only a listed "
        "peer's X-Forwarded-For names the client, so nobody else picks the address their logins are counted "
        "under (an empty value believes no proxy)",
    ),
    _Setting("contact_email", "TBT_CONTACT_EMAIL", _email_or_default, "tbt-alert@example.org"),
    _Setting("raw_payload_retention_days", "TBT_RAW_RETENTION_DAYS", _int_in(1, 36500), 365, "one year of audit trail"),
    _Setting("crawl_timeout_seconds", "TBT_CRAWL_TIMEOUT", _int_in(10, 86400), 1800, "half an hour per source"),
    _Setting(
        "crawl_replay_dir",
        "TBT_REPLAY_DIR",
        _folder_or_none,
        "",
        "unset = crawl the live sources; demos and CI (no network) point it at a recorded snapshot, "
        "e.g. crawlers/sources (each source's recorded/), and scheduled crawls are served from loopback",
    ),
    _Setting(
        "bulletin_max_items",
        "TBT_BULLETIN_MAX_ITEMS",
        _int_in(1, 1000),
        40,
        "a mail an exporter can read; the rest is named in the mail, and a backfill cannot produce bulletins "
        "of hundreds of items (memory and mail size grow with them)",
    ),
    _Setting(
        "eping_base_url",
        "TBT_EPING_BASE_URL",
        _base_url_or_none,
        "",
        "unset = epingalert.org, where ePing's keyless getAll API answers today; ePing is moving to "
        "https://eping.wto.org: set that (one of options.hosts in crawlers/sources/wto_eping/wto_eping.yml) "
        "once it answers there",
    ),
    _Setting(
        "eping_api",
        "TBT_EPING_API",
        _one_of("getall", "search"),
        "getall",
        "getall needs no key; search is WTO's keyed api.wto.org/eping/notifications/search, for when the "
        "keyless API is retired",
    ),
    _Setting("eping_api_key", "TBT_EPING_API_KEY", _optional, None, "sent as a header only, never in a URL or log"),
    _eping_key,
    _Setting(
        "eping_bulk_workbook",
        "TBT_EPING_BULK_WORKBOOK",
        _file_or_none,
        "",
        "unset = a failed wto_eping crawl stays failed; a downloaded Notification_EN.xlsx named here is stored "
        "instead (crawlers/sources/wto_eping_excel/fallback.py)",
    ),
    _Setting("smtp_rate_per_second", "TBT_SMTP_RATE", _float_from(0.1), 20.0, "messages/s; relays throttle bursts"),
    _Setting("smtp_max_attempts", "TBT_SMTP_MAX_ATTEMPTS", _int_in(1, 50), 5),
)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings from ``env`` (default: the process environment)."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for step in _SETTINGS:
        if isinstance(step, _Setting):
            values[step.field] = step.read(env, step.variable, step.default)
        else:
            step(env, values)
    return Settings(**values, extra={k: v for k, v in env.items() if k.startswith("TBT_")})


def _local_secret(data_dir: Path) -> str:
    """A random per-machine key kept in the data dir (mode 600), made on first use."""
    import secrets

    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    # Only its owner may enter the data dir: it holds the database, backups and this key (review L5).
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(key)
    return key
