"""Secrets stay out of reprs, printed output and argv (review L4)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tbt_alert.settings import load_settings

SECRET_KEY = "secret-key-value-0123456789-abcdefghij"
SMTP_PASSWORD = "smtp-pw-4711"  # made up: the output must never show it
DB_PASSWORD = "db-pw-4712"
ES_PASSWORD = "es-pw-4713"

ENV = {
    "TBT_SECRET_KEY": SECRET_KEY,
    "TBT_SMTP_USER": "mailer",
    "TBT_SMTP_PASSWORD": SMTP_PASSWORD,
    "TBT_DATABASE_URL": f"postgresql://tbt:{DB_PASSWORD}@db.example.org:5432/tbt",
    "TBT_ELASTICSEARCH_URL": f"https://elastic:{ES_PASSWORD}@es.example.org:9200",
}


@pytest.fixture
def settings_env(tmp_path: Path) -> dict[str, str]:
    return {"TBT_DATA_DIR": str(tmp_path), **ENV}


def test_settings_repr_and_str_show_no_secret(settings_env: dict[str, str]) -> None:
    settings = load_settings(settings_env)
    for text in (repr(settings), str(settings), f"{settings}", f"{settings!r}"):
        for secret in (SECRET_KEY, SMTP_PASSWORD, DB_PASSWORD, ES_PASSWORD):
            assert secret not in text
        assert "postgresql+psycopg://***@db.example.org:5432/tbt" in text
        assert "https://***@es.example.org:9200" in text
        assert "TBT_SMTP_USER" in text  # the rest of the environment is still there to read


def test_settings_keep_their_secrets_as_plain_attributes(settings_env: dict[str, str]) -> None:
    settings = load_settings(settings_env)
    assert settings.secret_key == SECRET_KEY
    assert settings.smtp_password == SMTP_PASSWORD
    assert settings.database_url == f"postgresql+psycopg://tbt:{DB_PASSWORD}@db.example.org:5432/tbt"
    assert settings.elasticsearch_url == f"https://elastic:{ES_PASSWORD}@es.example.org:9200"
    assert settings.extra["TBT_SECRET_KEY"] == SECRET_KEY
    assert dataclasses.replace(settings, smtp_port=25).secret_key == SECRET_KEY


def test_redact_env_masks_credentials_and_urls() -> None:
    from tbt_alert.redact import redact_env

    shown = redact_env({**ENV, "TBT_INDEX_PREFIX": "tbt", "TBT_SMTP_PASSWORD_UNSET": ""})
    assert shown["TBT_SECRET_KEY"] == "***"
    assert shown["TBT_SMTP_PASSWORD"] == "***"
    assert shown["TBT_DATABASE_URL"] == "postgresql://***@db.example.org:5432/tbt"
    assert shown["TBT_INDEX_PREFIX"] == "tbt"
    assert shown["TBT_SMTP_PASSWORD_UNSET"] == ""
