"""The crawling framework without a network: source YAML, replay server, URL rewrite,
validation, run status, the batched store and the `parse` command."""

from __future__ import annotations

import gzip
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from scrapy.http import Request, TextResponse
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from crawlers.items import MeasureItem, Rejected
from crawlers.middlewares import ReplayRewriteMiddleware
from crawlers.pipelines import MeasureStore, RunCounts, check_item, open_crawl_run, run_status
from crawlers.recorded import recorded_dir
from crawlers.replay import ReplayServer, load_exchanges
from crawlers.sources import load_source, load_source_file, load_sources
from pipeline.cli import main
from schema.ids import measure_id
from schema.models import Measure, QuarantinedRecord, Source
from tbt_alert.errors import SourceConfigError, UnknownLookupValue

REPO = Path(__file__).resolve().parent.parent.parent


def test_the_recall_sources_are_recalls() -> None:
    # Every source's folder, parser and recordings are checked in test_recorded.py; this pins the kinds.
    sources = load_sources()
    for source in ("eu_safety_gate", "us_cpsc", "ca_health_canada", "au_accc"):
        assert sources[source].kind == "recall"


def test_a_bad_yaml_is_refused_naming_file_and_field(tmp_path: Path) -> None:
    text = (REPO / "crawlers" / "sources" / "us_cpsc" / "us_cpsc.yml").read_text()
    bad = tmp_path / "us_cpsc.yml"
    bad.write_text(text.replace("kind: recall", "kind: rumour").replace("expected_min: 0", "expected_min: 99999"))
    with pytest.raises(SourceConfigError) as info:
        load_source_file(bad)
    assert "us_cpsc.yml" in str(info.value)
    assert "kind" in str(info.value)
    renamed = tmp_path / "other.yml"
    renamed.write_text(text)
    with pytest.raises(SourceConfigError, match="differs from the file name"):
        load_source_file(renamed)
    with pytest.raises(SourceConfigError, match="unknown source"):
        load_source("no_such_source")


def test_lookups_are_strict() -> None:
    config = load_source("eu_safety_gate")
    assert config.lookup("risk_level", "Serious  risk") == "serious"
    assert config.lookup("countries", "Unknown") is None
    with pytest.raises(UnknownLookupValue, match="eu_safety_gate.yml"):
        config.lookup("risk_level", "Apocalyptic risk")
    assert config.is_suspicious(2001)
    assert config.is_suspicious(0)  # a weekly report always lists alerts: an empty run is flagged
    assert not config.is_suspicious(10)


def test_replay_server_serves_recorded_bodies_counts_times_and_404s(tmp_path: Path) -> None:
    (tmp_path / "a.json.gz").write_bytes(gzip.compress(b'{"ok": 1}'))
    (tmp_path / "exchanges.json").write_text(
        json.dumps(
            {
                "source": "x",
                "exchanges": [
                    {"url": "https://example.org/api?b=2&a=1", "status": 503, "times": 1},
                    {
                        "url": "https://example.org/api?a=1&b=2",
                        "body": "a.json.gz",
                        "headers": {"Content-Type": "text/json"},
                    },
                    {"url": "https://example.org/any", "match": "path", "body": "a.json.gz"},
                ],
            }
        )
    )
    exchanges, _args = load_exchanges(tmp_path)
    with ReplayServer(exchanges) as server:
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(f"{server.url}/example.org/api?a=1&b=2")
        assert info.value.code == 503
        with urllib.request.urlopen(f"{server.url}/example.org/api?b=2&a=1") as answer:
            assert answer.headers["Content-Encoding"] == "gzip"
            assert gzip.decompress(answer.read()) == b'{"ok": 1}'
        with urllib.request.urlopen(f"{server.url}/example.org/any?page=7") as answer:
            assert answer.status == 200
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{server.url}/example.org/robots.txt")
        assert missing.value.code == 404
    assert len(server.requests) == 4


def test_replay_rewrite_sends_requests_to_loopback_and_restores_the_real_url() -> None:
    middleware = ReplayRewriteMiddleware("http://127.0.0.1:9999/")
    request = Request("https://www.saferproducts.gov/RestWebServices/Recall?format=json")
    rewritten = middleware.process_request(request)
    assert rewritten is not None
    assert rewritten.url == "http://127.0.0.1:9999/www.saferproducts.gov/RestWebServices/Recall?format=json"
    assert middleware.process_request(rewritten) is None  # not rewritten twice
    response = TextResponse(rewritten.url, body=b"[]", request=rewritten)
    assert middleware.process_response(rewritten, response).url == request.url
    assert ReplayRewriteMiddleware(None).process_request(request) is None


def _item(**overrides: object) -> MeasureItem:
    fields: dict[str, object] = {
        "source_id": "us_cpsc",
        "source_key": "18218",
        "kind": "recall",
        "title": "Ranges",
        "raw_payload": "{}",
    }
    fields.update(overrides)
    return MeasureItem.model_validate(fields)


def test_validation_rejects_wrong_kind_source_and_future_dates() -> None:
    import datetime as dt

    config = load_source("us_cpsc")
    assert isinstance(check_item(_item(), config), MeasureItem)
    for bad, field in [
        (_item(kind="tbt_notification"), "kind"),
        (_item(source_id="au_accc"), "source_id"),
        (_item(published_on=dt.date.today() + dt.timedelta(days=800)), "published_on"),
    ]:
        result = check_item(bad, config)
        assert isinstance(result, Rejected)
        assert result.field == field
        assert "us_cpsc" in result.reason
    assert isinstance(check_item({"source_id": "us_cpsc", "raw_payload": "x"}, config), Rejected)


def test_run_status() -> None:
    assert run_status(RunCounts(seen=3), fatal=None, errors=[]) == "success"
    assert run_status(RunCounts(seen=3, rejected=1), fatal=None, errors=[]) == "partial"
    assert run_status(RunCounts(seen=3), fatal=None, errors=["HTTP 500"]) == "partial"
    assert run_status(RunCounts(seen=0), fatal=None, errors=["HTTP 500"]) == "failed"
    assert run_status(RunCounts(seen=9), fatal="structure changed", errors=[]) == "failed"
    assert run_status(RunCounts(seen=9), fatal=None, errors=[], reason="shutdown") == "partial"


def test_store_links_follow_ups_across_batches_and_quarantines_once(sqlite_engine: Engine) -> None:
    config = load_source("us_cpsc")
    run_id = open_crawl_run(sqlite_engine, config, None, since=None)
    store = MeasureStore(sqlite_engine, config, run_id)
    store.add(_item(source_key="2", parent_key="1", relation="update"))
    store.flush()  # the follow-up arrives in an earlier batch than its parent
    store.add(_item(source_key="1"))
    reject = Rejected("us_cpsc", "3", "RecallDate", "source us_cpsc, record 3: bad date", '{"RecallNumber": "3"}')
    store.add(reject)
    store.add(reject)
    store.flush()
    assert store.link_follow_ups() == 1
    with Session(sqlite_engine) as session:
        child = session.get(Measure, measure_id("us_cpsc", "2"))
        assert child is not None
        assert (child.parent_id, child.relation) == (measure_id("us_cpsc", "1"), "update")
        assert session.scalar(select(func.count()).select_from(QuarantinedRecord)) == 1
        assert session.get(Source, "us_cpsc") is not None
    assert (store.counts.seen, store.counts.new, store.counts.rejected) == (2, 2, 2)


def test_parse_command_prints_measure_fields_and_rejects(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    report = recorded_dir("eu_safety_gate") / "report_10000282.xml.gz"
    assert main(["parse", "eu_safety_gate", str(report)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 47
    first = lines[0]
    for name in ("source", "source_key", "kind", "country", "title", "hs_codes", "country_of_origin", "raw_payload"):
        assert name in first
    assert first["source"] == "eu_safety_gate"
    assert first["id"] == measure_id("eu_safety_gate", first["source_key"])

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"RecallNumber": "1", "Title": "T", "RecallDate": "soon"}]))
    assert main(["parse", "us_cpsc", str(bad)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert json.loads(captured.err)["field"] == "RecallDate"

    broken = tmp_path / "broken.json"
    broken.write_text("<html>")
    assert main(["parse", "us_cpsc", str(broken)]) == 1
    assert "source us_cpsc" in capsys.readouterr().err


def test_values_longer_than_their_column_are_rejected_before_the_database_sees_them() -> None:
    result = check_item(_item(brand="B" * 301), load_source("us_cpsc"))
    assert isinstance(result, Rejected)
    assert result.field == "brand"
    assert "301 characters" in result.reason


def test_parse_of_an_unknown_source_says_so_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    from pipeline.cli import main

    assert main(["parse", "no_such_source", "f.json"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tbt-alert: unknown source 'no_such_source'; known sources: ")
    assert "Traceback" not in err


def test_a_source_without_a_parser_is_a_user_error() -> None:
    from crawlers.parsers import get_parser
    from tbt_alert.errors import TbtError

    with pytest.raises(TbtError, match="no parser for source 'no_such_source'"):
        get_parser("no_such_source")
