"""`tbt-alert sources check`, offline: a loopback server plays the live web from the recordings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawlers.recorded import recorded_dir
from crawlers.replay import ReplayServer
from crawlers.replay.server import Exchange, load_exchanges
from crawlers.settings import USER_AGENT
from crawlers.sources import load_source, load_sources
from crawlers.sources.check import Fetcher, check_source
from pipeline.cli import main

CPSC = "https://www.saferproducts.gov/RestWebServices/Recall?format=json"


def _server(extra: list[Exchange], sources: list[str]) -> ReplayServer:
    """Extra exchanges first (they win), then the recorded snapshots of ``sources``."""
    exchanges = list(extra)
    for source in sources:
        exchanges.extend(load_exchanges(recorded_dir(source))[0])
    return ReplayServer(exchanges)


def _body(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def recordings() -> Iterator[ReplayServer]:
    with ReplayServer.from_folders([recorded_dir(s) for s in load_sources()]) as server:
        yield server


def test_every_enabled_source_matches_its_recording_when_the_web_answers_as_recorded(
    recordings: ReplayServer,
) -> None:
    fetcher = Fetcher(USER_AGENT, timeout=30, via=recordings.url)
    enabled = [c for c in load_sources().values() if c.enabled]
    assert len(enabled) >= 5
    for config in enabled:
        report = check_source(config, fetcher)
        assert report.verdict == "verified", (config.id, report.differences, report.error)
        assert report.live is not None
        assert report.live.items + report.live.follow > 0, config.id  # the page was read, not just fetched
    # robots.txt was asked before each page (the replay answers 404: no rules).
    assert sum(path.endswith("/robots.txt") for path in recordings.requests) == len(enabled)


def test_a_page_robots_txt_disallows_is_not_fetched(tmp_path: Path) -> None:
    robots = _body(tmp_path, "robots.txt", "User-agent: *\nDisallow: /api/\n")
    rule = Exchange("https://data.economie.gouv.fr/robots.txt", body_path=robots)
    with _server([rule], ["fr_rappelconso"]) as server:
        report = check_source(load_source("fr_rappelconso"), Fetcher(USER_AGENT, via=server.url))
        assert report.verdict == "refused_by_robots"
        assert "disallowed" in report.robots
        assert report.live is None
        assert report.http_status is None
        assert not any("/api/" in path for path in server.requests)


def test_an_empty_answer_and_an_error_status_are_reported_as_differences(tmp_path: Path) -> None:
    empty = Exchange(CPSC, headers={"Content-Type": "application/json"}, body_path=_body(tmp_path, "e.json", "[]"))
    with _server([empty], ["us_cpsc"]) as server:
        report = check_source(load_source("us_cpsc"), Fetcher(USER_AGENT, via=server.url))
    assert report.verdict == "differs"
    assert report.differences == ["the live page gave no items (the recording gives 3)"]

    refused = Exchange(CPSC, status=400, body_path=_body(tmp_path, "400.txt", "bad request"))
    with _server([refused], ["us_cpsc"]) as server:
        report = check_source(load_source("us_cpsc"), Fetcher(USER_AGENT, via=server.url))
    assert (report.verdict, report.http_status) == ("differs", 400)


def test_a_page_of_another_shape_is_a_structure_change(tmp_path: Path) -> None:
    html = Exchange(CPSC, body_path=_body(tmp_path, "m.html", "<html><body>maintenance</body></html>"))
    with _server([html], ["us_cpsc"]) as server:
        report = check_source(load_source("us_cpsc"), Fetcher(USER_AGENT, via=server.url))
    assert report.verdict == "structure_changed"
    assert "us_cpsc" in (report.error or "")


def test_the_command_writes_a_report_per_source_and_a_summary(recordings: ReplayServer, tmp_path: Path) -> None:
    out = tmp_path / "checks"
    code = main(["sources", "check", "us_cpsc", "au_accc", "--via", recordings.url, "--out", str(out)])
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["SUMMARY.md", "au_accc.json", "us_cpsc.json"]
    report = json.loads((out / "us_cpsc.json").read_text(encoding="utf-8"))
    assert (report["verdict"], report["recorded_case"], report["http_status"]) == ("verified", "gsa_fixture", 200)
    assert report["live"]["items"] == report["recorded"]["items"] == 3
    assert "| us_cpsc | verified |" in (out / "SUMMARY.md").read_text(encoding="utf-8")


def test_the_command_exits_3_when_a_source_differs(tmp_path: Path) -> None:
    empty = Exchange(CPSC, body_path=_body(tmp_path, "e.json", "[]"))
    with _server([empty], ["us_cpsc"]) as server:
        code = main(["sources", "check", "us_cpsc", "--via", server.url, "--out", str(tmp_path / "c")])
    assert code == 3
