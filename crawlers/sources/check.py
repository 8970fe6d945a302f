"""Check sources against the live web: one page each, parsed, compared with its recording.

For each source, :func:`check_source` picks the page a recorded golden case holds (the first case
the replay also serves, so the recording is what a crawl sees), asks the publisher's robots.txt,
fetches the page live if allowed, runs the source's parser on both the live body and the
recorded one and compares their shape: the records read and rejected, the item fields filled,
and the top-level keys of a JSON body. Nothing is stored: the caller writes the reports.

``via`` sends every request (robots.txt included) to a loopback server as
``{via}/<host>/<path>?<query>``, exactly as the replay middleware does, so the check is tested
offline against :class:`crawlers.replay.ReplayServer` serving the recordings.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from crawlers.items import ParseResult
from crawlers.parsers import get_parser
from crawlers.recorded import EXCHANGES, RecordedCase, load_meta, recorded_dir
from crawlers.sources import SourceConfig
from tbt_alert.errors import StructureChanged

Verdict = Literal["verified", "differs", "refused_by_robots", "unreachable", "structure_changed", "no_recording"]

# A live page larger than this is cut off and reported (Health Canada's full dump is ~60 MB).
MAX_BYTES = 200 * 1024 * 1024
# Rejection reasons quoted in a report (the rest are counted).
MAX_REASONS = 5


@dataclass
class PageShape:
    """What one body looks like to its source's parser."""

    items: int = 0
    rejected: int = 0
    follow: int = 0
    fields: list[str] = field(default_factory=list)  # item fields filled in at least one item
    top_keys: list[str] = field(default_factory=list)  # top-level keys of a JSON object body
    reasons: list[str] = field(default_factory=list)  # the first rejection reasons


@dataclass
class SourceCheck:
    """The verification report of one source (written as ``<source>.json``)."""

    source_id: str
    url: str
    verdict: Verdict
    checked_at: str
    recorded_case: str | None = None
    recording_constructed: bool | None = None
    robots: str = ""
    http_status: int | None = None
    bytes: int | None = None
    live: PageShape | None = None
    recorded: PageShape | None = None
    differences: list[str] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False, indent=1) + "\n"


@dataclass
class Fetched:
    status: int
    body: bytes
    truncated: bool = False


class Fetcher:
    """GET with our user agent, gzip understood, optionally through a loopback replay server."""

    def __init__(self, user_agent: str, *, timeout: float = 60.0, via: str | None = None):
        self.user_agent = user_agent
        self.timeout = timeout
        self.via = via.rstrip("/") if via else None

    def target(self, url: str) -> str:
        if self.via is None:
            return url
        parts = urlsplit(url)
        target = f"{self.via}/{parts.netloc}{parts.path or '/'}"
        return f"{target}?{parts.query}" if parts.query else target

    def get(self, url: str) -> Fetched:
        """The answer to a GET of ``url``; an HTTP error status is an answer, a dead host raises OSError."""
        request = urllib.request.Request(
            self.target(url), headers={"User-Agent": self.user_agent, "Accept-Encoding": "gzip"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status, encoding, body = (
                    response.status,
                    response.headers.get("Content-Encoding"),
                    response.read(MAX_BYTES + 1),
                )
        except urllib.error.HTTPError as exc:
            status, encoding, body = exc.code, exc.headers.get("Content-Encoding"), exc.read(MAX_BYTES + 1)
        truncated = len(body) > MAX_BYTES
        if encoding == "gzip" and not truncated:
            body = gzip.decompress(body)
        return Fetched(status, body[:MAX_BYTES], truncated)


def robots_verdict(fetcher: Fetcher, url: str) -> tuple[bool | None, str]:
    """(allowed, what robots.txt said); allowed is None when robots.txt could not be read.

    As Scrapy's RobotsTxtMiddleware and RFC 9309 read it: 401/403 forbid everything, any other
    4xx (no robots.txt) allows everything; a 5xx or a dead host leaves the page unfetched.
    """
    parts = urlsplit(url)
    robots_url = f"{parts.scheme}://{parts.netloc}/robots.txt"
    try:
        answer = fetcher.get(robots_url)
    except OSError as exc:
        return None, f"{robots_url} unreachable ({exc}); page not fetched"
    if answer.status in (401, 403):
        return False, f"{robots_url} answered {answer.status}: everything disallowed"
    if 400 <= answer.status < 500:
        return True, f"{robots_url} answered {answer.status}: no rules, allowed"
    if answer.status >= 500:
        return None, f"{robots_url} answered {answer.status}; page not fetched"
    rules = RobotFileParser()
    rules.parse(answer.body.decode("utf-8", "replace").splitlines())
    if rules.can_fetch(fetcher.user_agent, url):
        return True, f"{robots_url}: allowed"
    return False, f"{robots_url}: disallowed for our user agent"


def check_page(source_id: str, sources: Path | None = None) -> tuple[str, RecordedCase | None]:
    """The URL to check and the recorded case that holds its recording.

    The first case whose URL the replay snapshot serves (what a crawl reads); else the first case;
    else, with no case at all, the first base URL without a placeholder.
    """
    from crawlers.replay import ReplayServer, load_exchanges

    meta = load_meta(source_id, sources)
    folder = recorded_dir(source_id, sources)
    if (folder / EXCHANGES).exists():
        served = ReplayServer(load_exchanges(folder)[0])
        for case in meta.cases:
            parts = urlsplit(case.url)
            if served.pick(f"/{parts.netloc}{parts.path or '/'}" + (f"?{parts.query}" if parts.query else "")):
                return case.url, case
    if meta.cases:
        return meta.cases[0].url, meta.cases[0]
    from crawlers.sources import load_source

    urls = [u for u in load_source(source_id, sources).base_urls.values() if "{" not in u]
    return (urls[0] if urls else ""), None


def shape(config: SourceConfig, body: bytes, url: str) -> PageShape:
    """The parser's reading of ``body`` (StructureChanged propagates)."""
    result: ParseResult = get_parser(config.id)(body, url, config)
    fields = sorted(
        {name for item in result.items for name, value in item.model_dump().items() if value not in (None, "", [], {})}
    )
    return PageShape(
        items=len(result.items),
        rejected=len(result.rejected),
        follow=len(result.follow),
        fields=fields,
        top_keys=_top_keys(body),
        reasons=[f"{r.record_key} {r.field}: {r.reason}" for r in result.rejected[:MAX_REASONS]],
    )


def _top_keys(body: bytes) -> list[str]:
    if body.lstrip()[:1] != b"{":
        return []
    try:
        data = json.loads(body)
    except ValueError:
        return []
    return sorted(data) if isinstance(data, dict) else []


def differences(live: PageShape, recorded: PageShape) -> list[str]:
    """What in the live page's shape departs from the recording's (empty: the same shape)."""
    found = []
    if live.items == 0 and recorded.items > 0:
        found.append(f"the live page gave no items (the recording gives {recorded.items})")
    if live.rejected and (recorded.items + recorded.rejected == 0 or live.rejected > recorded.rejected):
        found.append(
            f"{live.rejected} live records rejected (recording: {recorded.rejected}): " + "; ".join(live.reasons)
        )
    if live.items:
        missing = sorted(set(recorded.fields) - set(live.fields))
        if missing:
            found.append("item fields the recording fills and no live item does: " + ", ".join(missing))
    gone = sorted(set(recorded.top_keys) - set(live.top_keys))
    if gone:
        found.append("top-level keys of the recording missing live: " + ", ".join(gone))
    return found


def check_source(
    config: SourceConfig,
    fetcher: Fetcher,
    *,
    sources: Path | None = None,
    now: dt.datetime | None = None,
) -> SourceCheck:
    """Fetch, parse and compare one page of ``config``'s source; never raises for the source's faults."""
    checked_at = (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    url, case = check_page(config.id, sources)
    report = SourceCheck(config.id, url, "no_recording", checked_at)
    if case is None:
        report.error = f"no recorded case in {recorded_dir(config.id, sources)}; record one first"
        return report
    report.recorded_case = case.name
    report.recording_constructed = case.constructed
    body_path = recorded_dir(config.id, sources) / case.body
    recorded_body = body_path.read_bytes()
    if body_path.suffix == ".gz":
        recorded_body = gzip.decompress(recorded_body)
    report.recorded = shape(config, recorded_body, case.url)

    allowed, report.robots = robots_verdict(fetcher, url)
    if allowed is None:
        report.verdict = "unreachable"
        return report
    if not allowed:
        report.verdict = "refused_by_robots"
        return report
    try:
        answer = fetcher.get(url)
    except OSError as exc:
        report.verdict, report.error = "unreachable", f"GET {url}: {exc}"
        return report
    report.http_status, report.bytes = answer.status, len(answer.body)
    if answer.status != 200:
        report.verdict = "differs"
        report.differences.append(f"HTTP {answer.status} (the recording was a 200 answer)")
        return report
    if answer.truncated:
        report.differences.append(f"the live body is over {MAX_BYTES} bytes; only its start was parsed")
    try:
        report.live = shape(config, answer.body, url)
    except StructureChanged as exc:
        report.verdict, report.error = "structure_changed", str(exc)
        return report
    report.differences.extend(differences(report.live, report.recorded))
    report.verdict = "differs" if report.differences else "verified"
    return report
