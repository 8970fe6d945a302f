"""No error message, printed line or log line carries the credentials of a URL (review H2).

The Elasticsearch tests use the real client against a loopback port where nothing listens,
so the text checked is the text a user sees when the cluster is down.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from pipeline.cli import main
from tbt_alert.errors import SearchUnavailable, SettingsError
from tbt_alert.settings import load_settings

PASSWORD = "s3cret-pw-4711"  # made up: the output must never show it


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on: bound once by the OS, then released."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def es_url_with_password(closed_port: int) -> str:
    return f"http://elastic:{PASSWORD}@127.0.0.1:{closed_port}"


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, es_url_with_password: str, closed_port: int) -> None:
    monkeypatch.setenv("TBT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TBT_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("TBT_ELASTICSEARCH_URL", es_url_with_password)
    monkeypatch.setenv("TBT_SMTP_PORT", str(closed_port))  # doctor: fail fast, nothing to reach


def test_redact_url_keeps_scheme_host_port_and_path() -> None:
    from tbt_alert.redact import redact_url

    assert (
        redact_url(f"https://elastic:{PASSWORD}@es.example.org:9200/prefix") == "https://***@es.example.org:9200/prefix"
    )
    assert redact_url(f"postgresql+psycopg://tbt:{PASSWORD}@db/tbt") == "postgresql+psycopg://***@db/tbt"
    assert redact_url("http://token-only@127.0.0.1:9200") == "http://***@127.0.0.1:9200"
    assert (
        redact_url(f"postgresql://db/tbt?user=tbt&password={PASSWORD}") == "postgresql://db/tbt?user=tbt&password=***"
    )
    assert redact_url("http://127.0.0.1:9200") == "http://127.0.0.1:9200"
    assert redact_url("sqlite:////var/tbt/tbt-alert.sqlite") == "sqlite:////var/tbt/tbt-alert.sqlite"


def test_redact_url_handles_an_at_sign_in_the_password() -> None:
    from tbt_alert.redact import redact_url

    assert redact_url("https://elastic:p@ss@es:9200") == "https://***@es:9200"


def test_redact_text_finds_every_url_in_a_message() -> None:
    from tbt_alert.redact import redact_text

    text = f"GET https://elastic:{PASSWORD}@es:9200/_search failed; fallback postgresql://u:{PASSWORD}@db/x too"
    redacted = redact_text(text)
    assert PASSWORD not in redacted
    assert redacted == "GET https://***@es:9200/_search failed; fallback postgresql://***@db/x too"
    assert redact_text("no url here: 127.0.0.1:9200") == "no url here: 127.0.0.1:9200"


def test_search_command_does_not_print_the_elasticsearch_password(
    cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", "toy", "--retrieval", "bm25"]) == 1
    out, err = capsys.readouterr()
    assert "unreachable" in err
    assert "127.0.0.1" in err
    assert PASSWORD not in out + err


def test_unreachable_cluster_error_carries_no_credentials(es_url_with_password: str, tmp_path: Path) -> None:
    from search.client import guarded, make_client

    settings = load_settings({"TBT_DATA_DIR": str(tmp_path), "TBT_ELASTICSEARCH_URL": es_url_with_password})
    client = make_client(settings, request_timeout=5)
    with pytest.raises(SearchUnavailable) as error, guarded(settings, "read the cluster health"):
        client.cluster.health()
    assert "is unreachable while trying to read the cluster health" in str(error.value)
    assert PASSWORD not in str(error.value)
    assert "elastic:" not in str(error.value)


def test_doctor_does_not_print_the_elasticsearch_password(cli_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor"]) == 1
    out, err = capsys.readouterr()
    assert "elasticsearch  FAIL" in out
    assert PASSWORD not in out + err


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TBT_DATABASE_URL", f"mysql://tbt:{PASSWORD}@db/tbt"),
        ("TBT_ELASTICSEARCH_URL", f"ftp://elastic:{PASSWORD}@es:9200"),
        ("TBT_PORTAL_BASE_URL", f"gopher://admin:{PASSWORD}@portal"),
    ],
)
def test_invalid_url_setting_error_does_not_echo_the_password(name: str, value: str, tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as error:
        load_settings({"TBT_DATA_DIR": str(tmp_path), "TBT_SECRET_KEY": "k" * 40, name: value})
    assert str(error.value).startswith(f"{name}=")
    assert PASSWORD not in str(error.value)


def test_cli_log_lines_are_redacted(
    cli_env: None, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    main(["db", "current"])
    logging.getLogger("tbt-alert.test").warning("connecting to %s", f"https://elastic:{PASSWORD}@es:9200")
    assert "connecting to https://***@es:9200" in caplog.text
    assert PASSWORD not in caplog.text


def test_operator_mail_about_a_failed_task_carries_no_credentials(
    cli_env: None, monkeypatch: pytest.MonkeyPatch, sqlite_url: str
) -> None:
    from email import message_from_string, policy
    from types import SimpleNamespace

    from sqlalchemy import select

    from pipeline.operator_alerts import task_failed
    from schema.engine import session_for
    from schema.models import Delivery

    monkeypatch.setenv("TBT_DATABASE_URL", sqlite_url)
    # What Airflow hands the failure callback: the task instance and the exception, here one whose
    # text embeds a node URL the way a client library's connection error may.
    ti = SimpleNamespace(dag_id="tbt_pipeline", task_id="index_update", run_id="manual__1", try_number=3, map_index=-1)
    error = ConnectionError(f"GET https://elastic:{PASSWORD}@es.example.org:9200/_bulk failed")
    task_failed({"ti": ti, "exception": error, "logical_date": "2030-01-01"})
    with session_for(sqlite_url) as session:
        (body,) = session.scalars(select(Delivery.body).where(Delivery.purpose == "operator")).all()
    text = message_from_string(body, policy=policy.default).get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "https://***@es.example.org:9200/_bulk" in text
    assert PASSWORD not in text


def test_redacting_filter_passes_a_malformed_log_call_to_the_handler() -> None:
    from tbt_alert.redact import RedactingFilter

    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "%s and %s", ("one",), None)
    assert RedactingFilter().filter(record)
