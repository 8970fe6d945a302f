"""`tbt-alert sources new ID` (a new source's skeleton) and `tbt-alert sources check` (live check).

`sources check [SOURCE ...]` fetches one page of each enabled source (or of the sources named)
from the live web, robots.txt obeyed, runs its parser and compares the result with the recording
(crawlers/sources/check.py); it writes one JSON report per source and a summary table under
``$TBT_DATA_DIR/source-checks/<UTC time>/`` and changes nothing else. Exit 0 when every source
checked matches its recording, 3 otherwise.

`sources new ID`:

It writes ``crawlers/sources/<ID>/`` (``__init__.py``, ``<ID>.yml``, a ``parser.py`` stub that
raises :class:`tbt_alert.errors.ParserNotWritten`, ``recorded/meta.json`` marked
``to_be_recorded``) and ``tests/crawlers/test_<ID>.py``. The YAML is valid but disabled and
unverified, so nothing crawls the source until someone fills it in; the completeness test
(tests/crawlers/test_recorded.py) fails until a response is recorded with a golden case.
"""

from __future__ import annotations

import argparse
import json
import keyword
import re
from pathlib import Path
from typing import Any

from tbt_alert.errors import UserError

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
# SourceConfig.id's pattern: the id is also a folder and a Python module name.
_SLUG = re.compile(r"[a-z][a-z0-9_]{1,63}")

_YAML = """\
# {id}: TODO one paragraph: who publishes it, what it carries, how it is read.
# Written by `tbt-alert sources new`; every TODO value below must be replaced, then set
# enabled: true (and verified: true once the parser was checked against a real page).
id: {id}
name: TODO {id}
publisher: TODO who publishes it
kind: notification  # notification, regulation, standard or recall
jurisdiction: XXX  # TODO ISO alpha-3, or EUR (EU), WTO
languages: [en]
homepage: {url}
base_urls:
  start: {url}
schedule: "@daily"
expected_min: 0
expected_max: 1000
enabled: false
verified: false
"""

_PARSER = '''\
"""{id}: TODO what a response looks like and how it becomes measures (see crawlers/README.md)."""

from __future__ import annotations

from crawlers.items import ParseResult
from crawlers.sources import SourceConfig
from tbt_alert.errors import ParserNotWritten


def parse(body: bytes, url: str, config: SourceConfig) -> ParseResult:
    # Read each record with crawlers.parsers._fields.build and file it with ParseResult.add;
    # raise StructureChanged when the page itself has changed shape.
    raise ParserNotWritten(config.id)
'''

_TEST = '''\
"""{id}: source-specific parser tests (every recorded case runs in tests/crawlers/test_recorded.py)."""

from __future__ import annotations

import pytest

from crawlers.sources import load_source
from crawlers.sources.{id}.parser import parse
from tbt_alert.errors import StructureChanged

SOURCE = "{id}"
URL = "{url}"


def test_a_page_of_another_shape_is_a_structure_change() -> None:
    with pytest.raises(StructureChanged):
        parse(b"<html><body>maintenance</body></html>", URL, load_source(SOURCE))
'''


def register(sub: Any) -> None:
    sources = sub.add_parser("sources", help="work on source definitions (crawlers/sources/<id>/)")
    actions = sources.add_subparsers(dest="sources_command", metavar="ACTION", required=True)
    new = actions.add_parser("new", help="write the skeleton folder of a new source and its test module")
    new.add_argument("source", metavar="ID", help="the new source's id: lower case, digits and _ (e.g. jp_meti)")
    new.add_argument(
        "--url",
        default="https://example.org/",
        help="the URL the spider starts from (default: a placeholder to replace)",
    )
    new.add_argument(
        "--root", type=Path, default=REPO_ROOT, help="repository root to write into (default: this checkout)"
    )
    new.set_defaults(handler=_new)

    check = actions.add_parser(
        "check",
        help="fetch one page of each enabled source live (robots.txt obeyed), parse it, compare with the "
        "recording and write a verification report per source; changes nothing",
    )
    check.add_argument("sources", nargs="*", metavar="SOURCE", help="source ids (default: every enabled source)")
    check.add_argument("--out", type=Path, help="folder for the reports (default: $TBT_DATA_DIR/source-checks/<time>)")
    check.add_argument("--timeout", type=float, default=60.0, help="seconds per request (default 60)")
    check.add_argument(
        "--via",
        metavar="URL",
        help="send every request to this server as URL/<host>/<path>?<query> (a replay server; for tests)",
    )
    check.set_defaults(handler=_check)


def _new(args: argparse.Namespace) -> int:
    for path in scaffold(args.source, args.root, url=args.url):
        print(f"wrote {path}")
    print(
        f"next: fill in the YAML, record a response into crawlers/sources/{args.source}/recorded/ "
        "with its case in meta.json, then write parse()"
    )
    return 0


def _check(args: argparse.Namespace) -> int:
    import datetime as dt

    from crawlers.settings import USER_AGENT
    from crawlers.sources import load_source, load_sources
    from crawlers.sources.check import Fetcher, check_source
    from tbt_alert.settings import load_settings

    configs = (
        [load_source(s) for s in args.sources] if args.sources else [c for c in load_sources().values() if c.enabled]
    )
    now = dt.datetime.now(dt.UTC)
    out = args.out or load_settings().data_dir / "source-checks" / now.strftime("%Y%m%dT%H%M%SZ")
    out.mkdir(parents=True, exist_ok=True)
    fetcher = Fetcher(USER_AGENT, timeout=args.timeout, via=args.via)
    reports = []
    for config in configs:
        report = check_source(config, fetcher, now=now)
        (out / f"{config.id}.json").write_text(report.to_json(), encoding="utf-8")
        reports.append(report)
        counts = ""
        if report.live and report.recorded:
            counts = f" items {report.live.items} live / {report.recorded.items} recorded"
        print(f"{config.id}: {report.verdict}{counts}")
        for line in [*report.differences, *([report.error] if report.error else [])]:
            print(f"  {line}")
    summary = write_summary(out, reports)
    print(f"reports: {out} (summary: {summary.name})")
    return 0 if reports and all(r.verdict == "verified" for r in reports) else 3


def write_summary(out: Path, reports: list[Any]) -> Path:
    """A Markdown table of the verdicts beside the per-source reports."""
    lines = [
        "| source | verdict | page | live items | recorded items | recording | notes |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in reports:
        live = str(r.live.items) if r.live else "-"
        recorded = str(r.recorded.items) if r.recorded else "-"
        kind = "constructed" if r.recording_constructed else ("real" if r.recording_constructed is False else "-")
        notes = "; ".join([*r.differences, *([r.error] if r.error else []), r.robots]).replace("|", "/")
        lines.append(f"| {r.source_id} | {r.verdict} | {r.url} | {live} | {recorded} | {kind} | {notes} |")
    path = out / "SUMMARY.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def check_new_id(source_id: str, root: Path) -> None:
    """Refuse an id that is not a valid slug or that a source (or its test module) already uses."""
    if not _SLUG.fullmatch(source_id) or keyword.iskeyword(source_id):
        raise UserError(
            f"{source_id!r} is not a valid source id: use 2-64 characters, a lower-case letter first, "
            "then lower-case letters, digits or _ (e.g. jp_meti)."
        )
    import crawlers.sources

    # A folder named like a module attribute (load_source, SOURCES_DIR, ...) would shadow it on import.
    if hasattr(crawlers.sources, source_id):
        raise UserError(f"{source_id!r} is a name inside crawlers.sources; choose another id (e.g. add a country).")
    folder = root / "crawlers" / "sources" / source_id
    test = root / "tests" / "crawlers" / f"test_{source_id}.py"
    for existing in (folder, test):
        if existing.exists():
            raise UserError(f"source {source_id!r} exists already ({existing}); choose another id or edit it.")


def scaffold(source_id: str, root: Path, *, url: str = "https://example.org/") -> list[Path]:
    """Write the skeleton of ``source_id`` under ``root``; the paths written, in order."""
    check_new_id(source_id, root)
    if not url.startswith(("https://", "http://")):
        raise UserError(f"--url {url!r} must be an absolute http(s) URL.")
    folder = root / "crawlers" / "sources" / source_id
    meta = {
        "source": source_id,
        "constructed": False,
        "why": "To be recorded: save a real response in this folder, say where it came from in provenance, "
        "add a case and write expected/<case>.json with `.venv/bin/python -m tests.crawlers.recorded ID`.",
        "provenance": [],
        "captured": None,
        "to_be_recorded": True,
        "cases": [],
    }
    files = {
        folder / "__init__.py": f'"""The {source_id} source: YAML, parser and recorded responses."""\n',
        folder / f"{source_id}.yml": _YAML.format(id=source_id, url=url),
        folder / "parser.py": _PARSER.format(id=source_id),
        folder / "recorded" / "meta.json": json.dumps(meta, ensure_ascii=False, indent=1) + "\n",
        root / "tests" / "crawlers" / f"test_{source_id}.py": _TEST.format(id=source_id, url=url),
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(files)
