"""Settings: defaults work, every invalid value gives the documented one-sentence error."""

from pathlib import Path

import pytest

from tbt_alert.errors import SettingsError
from tbt_alert.settings import load_settings

BASE = {"TBT_DATA_DIR": "/tmp/tbt-settings-test", "TBT_SECRET_KEY": "x" * 40}


def test_defaults_point_at_embedded_services() -> None:
    settings = load_settings(BASE)
    assert settings.database_url == "sqlite:////tmp/tbt-settings-test/tbt-alert.sqlite"
    assert settings.elasticsearch_url == "http://127.0.0.1:9200"
    assert settings.smtp_port == 8025
    assert settings.index_prefix == "tbt"
    assert not settings.secret_key_is_ephemeral


def test_postgres_url_gets_the_psycopg3_driver() -> None:
    settings = load_settings({**BASE, "TBT_DATABASE_URL": "postgresql://u:p@db/tbt"})
    assert settings.database_url == "postgresql+psycopg://u:p@db/tbt"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "TBT_DATABASE_URL",
            "mysql://x/y",
            "TBT_DATABASE_URL='mysql://x/y' is not supported; set it to sqlite:///PATH",
        ),
        ("TBT_ELASTICSEARCH_URL", "localhost:9200", "TBT_ELASTICSEARCH_URL='localhost:9200' is not a valid URL"),
        ("TBT_INDEX_PREFIX", "Bad Prefix", "TBT_INDEX_PREFIX='Bad Prefix' is invalid"),
        ("TBT_SMTP_PORT", "smtp", "TBT_SMTP_PORT='smtp' is not a whole number"),
        ("TBT_SMTP_PORT", "70000", "TBT_SMTP_PORT=70000 is out of range"),
        ("TBT_SMTP_STARTTLS", "maybe", "TBT_SMTP_STARTTLS='maybe' is not a boolean"),
        ("TBT_MAIL_FROM", "nobody", "TBT_MAIL_FROM='nobody' is not an email address"),
        ("TBT_SECRET_KEY", "short", "TBT_SECRET_KEY is shorter than 32 characters"),
        ("TBT_DATA_DIR", "relative/dir", "TBT_DATA_DIR='relative/dir' is relative"),
        ("TBT_SMTP_RATE", "fast", "TBT_SMTP_RATE='fast' is not a number"),
        ("TBT_HS_SUGGESTION_MIN_SCORE", "high", "TBT_HS_SUGGESTION_MIN_SCORE='high' is not a number"),
        ("TBT_HS_SUGGESTION_MIN_SCORE", "1.5", "TBT_HS_SUGGESTION_MIN_SCORE=1.5 is out of range"),
        ("TBT_EPING_BULK_WORKBOOK", "downloads/x.xlsx", "TBT_EPING_BULK_WORKBOOK='downloads/x.xlsx' is relative"),
        ("TBT_EPING_BULK_WORKBOOK", "/tmp", "TBT_EPING_BULK_WORKBOOK='/tmp' is a folder"),
    ],
)
def test_invalid_value_names_the_variable_and_the_remedy(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as error:
        load_settings({**BASE, name: value})
    assert str(error.value).startswith(message)
    assert "set" in str(error.value)


def test_hs_suggestion_min_score_is_calibrated_unless_set() -> None:
    assert load_settings(BASE).hs_suggestion_min_score is None
    assert load_settings({**BASE, "TBT_HS_SUGGESTION_MIN_SCORE": ""}).hs_suggestion_min_score is None
    assert load_settings({**BASE, "TBT_HS_SUGGESTION_MIN_SCORE": "0.4"}).hs_suggestion_min_score == 0.4


def test_the_eping_bulk_workbook_may_be_downloaded_after_start_up() -> None:
    assert load_settings(BASE).eping_bulk_workbook is None
    later = load_settings({**BASE, "TBT_EPING_BULK_WORKBOOK": "/srv/eping/Notification_EN.xlsx"})
    assert later.eping_bulk_workbook == Path("/srv/eping/Notification_EN.xlsx")


def test_smtp_user_without_password_is_refused() -> None:
    with pytest.raises(SettingsError, match="TBT_SMTP_USER is set without TBT_SMTP_PASSWORD"):
        load_settings({**BASE, "TBT_SMTP_USER": "mailer"})


def test_both_tls_modes_are_refused() -> None:
    with pytest.raises(SettingsError, match="set only one of them"):
        load_settings({**BASE, "TBT_SMTP_SSL": "true", "TBT_SMTP_STARTTLS": "true"})


def test_production_requires_a_secret_key() -> None:
    with pytest.raises(SettingsError, match="TBT_SECRET_KEY is not set"):
        load_settings({"TBT_DATA_DIR": "/tmp/x", "TBT_ENV": "production"})


def test_development_generates_a_private_local_secret(tmp_path: Path) -> None:
    first = load_settings({"TBT_DATA_DIR": str(tmp_path)})
    second = load_settings({"TBT_DATA_DIR": str(tmp_path)})
    assert first.secret_key_is_ephemeral
    assert first.secret_key == second.secret_key
    assert len(first.secret_key) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_an_empty_sender_address_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="TBT_MAIL_FROM is empty; set it to the sender address"):
        load_settings({"TBT_MAIL_FROM": ""})
