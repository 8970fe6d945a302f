"""Every source's recorded cases parse to their golden output, and every source folder is complete.

One test for all sources (a new source's cases run here without a line of test code); the
source-specific checks stay in ``test_<source>.py``.
"""

from __future__ import annotations

import json

import pytest

from crawlers.parsers import get_parser
from crawlers.recorded import EXCHANGES, load_meta, recorded_dir
from crawlers.replay import REPLAY_DIR, load_exchanges
from crawlers.run import replay_folder
from crawlers.sources import load_sources, source_dir
from tests.crawlers.recorded import Case, cases, expected

SOURCES = sorted(load_sources())
ALL_CASES = [case for source in SOURCES for case in cases(source)]

# Sources allowed to ship without a replay snapshot, each with its reason. Empty today: every
# source has one; add an entry here (not a skip) if a source cannot be replayed.
NO_REPLAY: dict[str, str] = {}


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: f"{c.source}-{c.name}")
def test_recorded_cases_parse_to_the_expected_output(case: Case) -> None:
    # Whole dictionaries: a missing field and an unexpected one both fail.
    assert case.run() == expected(case)


@pytest.mark.parametrize("source", SOURCES)
def test_every_source_folder_is_complete(source: str) -> None:
    folder = source_dir(source)
    assert callable(get_parser(source)), f"{folder}/parser.py must define parse()"
    meta = load_meta(source)  # validated by crawlers.recorded.RecordedMeta
    assert not meta.to_be_recorded, f"{folder}/recorded/meta.json: record a response first"
    assert meta.cases, f"{folder}/recorded/meta.json: add at least one case"
    recorded = recorded_dir(source)
    for case in meta.cases:
        assert (recorded / case.body).is_file(), f"case {case.name}: {recorded / case.body} is missing"
        assert (recorded / case.expected).is_file(), f"case {case.name}: {recorded / case.expected} is missing"
    if source in NO_REPLAY:
        assert not (recorded / EXCHANGES).exists(), f"{source} has a snapshot now: drop it from NO_REPLAY"
        return
    assert replay_folder(REPLAY_DIR, source) == recorded
    exchanges, _ = load_exchanges(recorded)  # every body it names exists
    assert exchanges
    assert json.loads((recorded / EXCHANGES).read_text(encoding="utf-8"))["source"] == source


def test_every_recorded_file_is_used_and_stored_once() -> None:
    for source in SOURCES:
        recorded = recorded_dir(source)
        meta = load_meta(source)
        named = {c.body for c in meta.cases} | {c.expected for c in meta.cases} | {"meta.json", EXCHANGES}
        named |= {e.body_path.name for e in load_exchanges(recorded)[0] if e.body_path is not None}
        present = {str(p.relative_to(recorded)) for p in recorded.rglob("*") if p.is_file()}
        assert present <= named, f"{recorded}: files no case and no exchange uses: {sorted(present - named)}"
        assert set(meta.replay.files) <= present, f"{recorded}/meta.json describes files that are not there"
