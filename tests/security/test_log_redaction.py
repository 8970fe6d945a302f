"""The loggers the root filter does not reach (review H2): uvicorn's error and access loggers, which
have handlers of their own, and the logs of Airflow tasks, whose masker knows nothing of our settings."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

PASSWORD = "s3cret-pw-0815"  # made up: no log line may show it
TOKEN = "ImV4YW1wbGUi.Z1abcd.made-up-signature"  # the shape of a subscriber link token

_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


@pytest.fixture
def uvicorn_log() -> Iterator[io.StringIO]:
    """What uvicorn's handlers write, configured as `tbt-alert portal` configures them (their streams
    swapped for one buffer); the loggers are restored afterwards."""
    import uvicorn

    from portal.log_config import uvicorn_log_config

    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).level) for n in _UVICORN_LOGGERS}
    uvicorn.Config(app="portal.asgi:app", log_config=uvicorn_log_config(), log_level="info").configure_logging()
    buffer = io.StringIO()
    for name in _UVICORN_LOGGERS:
        for handler in logging.getLogger(name).handlers:
            assert isinstance(handler, logging.StreamHandler)
            handler.setStream(buffer)
    yield buffer
    for name, (handlers, level) in saved.items():
        logging.getLogger(name).handlers[:] = handlers
        logging.getLogger(name).setLevel(level)


def test_uvicorn_access_lines_show_no_link_token(uvicorn_log: io.StringIO) -> None:
    # Exactly as uvicorn's h11/httptools protocols log a request.
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d',
        "203.0.113.7:40000",
        "GET",
        f"/subscriptions/unsubscribe?token={TOKEN}&lang=zh",
        "1.1",
        200,
    )
    out = uvicorn_log.getvalue()
    assert TOKEN not in out
    assert "/subscriptions/unsubscribe?token=***&lang=zh" in out
    assert "200" in out
    assert "Logging error" not in out, out  # the access formatter still got its arguments


def test_uvicorn_error_lines_show_no_password(uvicorn_log: io.StringIO) -> None:
    url = f"http://elastic:{PASSWORD}@127.0.0.1:9299"
    logging.getLogger("uvicorn.error").error("Exception in ASGI application: cannot reach %s", url)
    try:
        raise ConnectionError(f"Elasticsearch at {url} is unreachable")
    except ConnectionError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    out = uvicorn_log.getvalue()
    assert PASSWORD not in out
    assert "http://***@127.0.0.1:9299" in out


def test_every_airflow_task_masks_the_credentials_of_the_settings() -> None:
    from airflow.sdk._shared.secrets_masker import redact

    from dags.common import DEFAULT_ARGS
    from pipeline.log_redaction import redact_task_logs

    assert DEFAULT_ARGS["on_execute_callback"] is redact_task_logs
    masked = redact_task_logs(
        {},
        env={
            "TBT_ELASTICSEARCH_URL": f"https://elastic:{PASSWORD}@es.example.org:9200",
            "TBT_SMTP_PASSWORD": "smtp-" + PASSWORD,
            "TBT_INDEX_PREFIX": "tbt",
        },
    )
    assert masked >= 2
    line = f"retrying https://elastic:{PASSWORD}@es.example.org:9200 (smtp login smtp-{PASSWORD})"
    shown = redact(line)
    assert PASSWORD not in shown
    assert "es.example.org" in shown
    assert redact("index prefix tbt") == "index prefix tbt"


def test_credentials_in_finds_secret_names_and_url_passwords() -> None:
    from tbt_alert.redact import credentials_in

    found = credentials_in(
        {
            "TBT_SECRET_KEY": "k" * 40,
            "TBT_DATABASE_URL": "postgresql+psycopg://tbt:p%40ss@db/tbt",
            "TBT_ELASTICSEARCH_URL": "http://127.0.0.1:9200/?api_key=abc123",
            "TBT_INDEX_PREFIX": "tbt",
        }
    )
    assert found == ["k" * 40, "p%40ss", "p@ss", "abc123"]
