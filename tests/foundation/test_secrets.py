"""Secrets stay out of reprs, printed output and argv (review L4)."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest

from pipeline.cli import main
from tbt_alert.settings import load_settings

SECRET_KEY = "secret-key-value-0123456789-abcdefghij"
SMTP_PASSWORD = "smtp-pw-4711"  # made up: the output must never show it
DB_PASSWORD = "db-pw-4712"
ES_PASSWORD = "es-pw-4713"
NEW_USER_PASSWORD = "a-long-enough-password-4714"

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


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    from schema.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'tbt.sqlite'}"
    upgrade(url)
    monkeypatch.setenv("TBT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TBT_DATABASE_URL", url)
    monkeypatch.setenv("TBT_SECRET_KEY", "k" * 40)
    monkeypatch.delenv("TBT_USER_PASSWORD", raising=False)
    return url


def _password_works(url: str, username: str, password: str) -> bool:
    from sqlalchemy import select

    from portal.security import verify_password
    from schema.engine import session_for
    from schema.models import User

    with session_for(url) as session:
        user = session.execute(select(User).where(User.username == username)).scalar_one()
        return verify_password(user.password_hash, password)


def test_users_add_reads_the_password_from_stdin(
    cli_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(NEW_USER_PASSWORD + "\n"))
    assert main(["users", "add", "alice", "--role", "staff", "--password-stdin"]) == 0
    assert _password_works(cli_env, "alice", NEW_USER_PASSWORD)
    assert NEW_USER_PASSWORD not in "".join(capsys.readouterr())


def test_users_add_reads_the_password_from_the_environment(cli_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TBT_USER_PASSWORD", NEW_USER_PASSWORD)
    assert main(["users", "add", "bob", "--role", "analyst"]) == 0
    assert _password_works(cli_env, "bob", NEW_USER_PASSWORD)


def test_users_add_warns_when_the_password_is_on_the_command_line(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["users", "add", "carol", "--role", "admin", "--password", NEW_USER_PASSWORD]) == 0
    assert "--password-stdin" in capsys.readouterr().err
    assert _password_works(cli_env, "carol", NEW_USER_PASSWORD)


def test_users_add_help_names_the_ways_to_pass_a_password_off_argv(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["users", "add", "--help"])
    add_help = " ".join(capsys.readouterr().out.split())
    assert "--password-stdin" in add_help
    assert "TBT_USER_PASSWORD" in add_help


def test_airflow_local_env_prints_no_secret_and_quotes_what_it_prints() -> None:
    import os
    import subprocess
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "scripts" / "airflow-local"
    env = {**os.environ, "TBT_SECRET_KEY": "k" * 40, "TBT_SMTP_PASSWORD": "mail-secret", "TBT_NOTE": "a b;c"}
    out = subprocess.run(["bash", str(script), "env"], env=env, capture_output=True, text=True, check=True).stdout
    assert "k" * 40 not in out
    assert "mail-secret" not in out
    assert "export TBT_NOTE=a\\ b\\;c" in out.splitlines()


def test_users_passwd_keys_and_revoke_keys_from_the_command_line(
    cli_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TBT_USER_PASSWORD", NEW_USER_PASSWORD)
    assert main(["users", "add", "dora", "--role", "staff"]) == 0
    changed = NEW_USER_PASSWORD[::-1] + "x"
    monkeypatch.setattr("sys.stdin", io.StringIO(changed + "\n"))
    assert main(["users", "passwd", "dora", "--password-stdin"]) == 0
    assert _password_works(cli_env, "dora", changed)
    assert not _password_works(cli_env, "dora", NEW_USER_PASSWORD)
    assert main(["users", "apikey", "dora", "--name", "laptop"]) == 0
    assert main(["users", "apikey", "dora", "--name", "server"]) == 0
    capsys.readouterr()
    assert main(["users", "revoke-keys", "dora", "--name", "laptop"]) == 0
    assert "1 API key(s) of dora revoked" in capsys.readouterr().out
    assert main(["users", "keys", "dora"]) == 0
    listing = [line.split("\t")[1:] for line in capsys.readouterr().out.splitlines()]
    assert listing == [["laptop", "revoked"], ["server", "live"]]
