"""Fuzzing every source parser with Hypothesis (issue 23): random bytes, byte-level mutations of the
recorded real responses, and, for JSON sources, the recorded documents with one value swapped for
any other JSON value.

Whatever the input, a parser returns a ParseResult or raises the documented StructureChanged naming
its source (crawlers/parsers/__init__.py); it never crashes with another exception, never runs
longer than a few seconds on a small body, and every item it returns is either storable or
quarantined by the validate stage (crawlers.pipelines.check_item), never an exception there.
Examples are bounded (sizes and counts) so the whole file runs in well under a minute.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawlers.items import MeasureItem, ParseResult, Rejected
from crawlers.parsers import get_parser
from crawlers.pipelines import check_item
from crawlers.sources import load_source, load_sources
from tbt_alert.errors import StructureChanged
from tests.crawlers.recorded import cases

SOURCES = sorted(load_sources())
# Per input, on a shared 2-core machine: the bodies are at most ~60 kB, real ones parse in
# milliseconds. Far above that is a hang (the quadratic regex of review M5 took minutes).
SECONDS_PER_INPUT = 5
# Per test and source; TBT_FUZZ_EXAMPLES=500 for a deeper run by hand.
EXAMPLES = int(os.environ.get("TBT_FUZZ_EXAMPLES", "25"))

_FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # timed by the alarm below: Hypothesis' deadline would flake on a busy machine
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,  # the same examples on every run: a failure here is reproducible in CI
    database=None,
)


class ParserHung(AssertionError):
    pass


@contextmanager
def time_limit(seconds: int, what: str) -> Iterator[None]:
    """Raise ParserHung after ``seconds``; an outer alarm (pytest-timeout's) is restored afterwards."""

    def _expired(signum: int, frame: Any) -> None:
        raise ParserHung(f"{what} ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, _expired)
    started = time.monotonic()
    outer, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer:
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - started), 0.001))


@cache
def _recorded(source: str) -> tuple[tuple[str, bytes], ...]:
    """(url, body) of each recorded case of ``source``."""
    return tuple((case.url, case.body()) for case in cases(source))


def assert_parses_or_says_why(source: str, body: bytes, url: str) -> None:
    config = load_source(source)
    parse = get_parser(source)
    started = time.monotonic()
    refused: StructureChanged | None = None
    try:
        with time_limit(SECONDS_PER_INPUT, f"the {source} parser on {len(body)} bytes"):
            result = parse(body, url, config)
    except StructureChanged as exc:
        refused = exc
    assert time.monotonic() - started < SECONDS_PER_INPUT
    if refused is not None:  # the documented error, naming the source
        assert refused.source == source
        assert str(refused).startswith(f"source {source}")
        return
    assert isinstance(result, ParseResult)
    for item in result.items:
        assert isinstance(item, MeasureItem)
        checked = check_item(item, config)
        assert isinstance(checked, MeasureItem | Rejected)
        if isinstance(checked, Rejected):
            assert checked.reason  # quarantined with a reason, never stored
    for rejected in result.rejected:
        assert isinstance(rejected, Rejected)
        assert rejected.source_id == source
        assert rejected.reason
    for link in result.follow:
        assert isinstance(link, str)


# ------------------------------------------------------------------ strategies


@st.composite
def mutated(draw: st.DrawFn, source: str) -> tuple[str, bytes]:
    """A recorded body of ``source`` cut, spliced, with bytes flipped or a slice repeated."""
    recorded = _recorded(source)
    url, body = recorded[draw(st.integers(0, len(recorded) - 1))]
    size = max(len(body), 1)
    at = draw(st.integers(0, size))
    end = draw(st.integers(at, min(size, at + 256)))
    junk = draw(st.binary(max_size=64) | st.sampled_from([b"\x00", b"<", b"&#0;", b"\\u0000", b'"', b"{", b"]"]))
    how = draw(st.sampled_from(["cut", "insert", "replace", "delete", "flip", "repeat"]))
    if how == "cut":
        return url, body[:at]
    if how == "insert":
        return url, body[:at] + junk + body[at:]
    if how == "replace":
        return url, body[:at] + junk + body[end:]
    if how == "delete":
        return url, body[:at] + body[end:]
    if how == "flip":
        flipped = bytes(b ^ draw(st.integers(1, 255)) for b in body[at:end])
        return url, body[:at] + flipped + body[end:]
    return url, body[:at] + body[at:end] * draw(st.integers(2, 20)) + body[end:]


_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
    | st.sampled_from(["", " ", "\x00", "javascript:alert(1)", "2024-02-30", "9999-12-31", "1e999", "CHN"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=6,
)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value inside a JSON document (the root excluded)."""
    children: list[tuple[Any, Any]] = []
    if isinstance(node, dict):
        children = list(node.items())
    elif isinstance(node, list):
        children = list(enumerate(node))
    for key, child in children:
        yield (*path, key)
        yield from _paths(child, (*path, key))


def _json_cases(source: str) -> list[tuple[str, Any]]:
    found = []
    for url, body in _recorded(source):
        try:
            found.append((url, json.loads(body)))
        except ValueError:
            continue
    return found


JSON_SOURCES = [s for s in SOURCES if _json_cases(s)]


@st.composite
def json_swapped(draw: st.DrawFn, source: str) -> tuple[str, bytes]:
    """A recorded JSON document of ``source`` with one value (at any depth) replaced, or deleted."""
    recorded = _json_cases(source)
    url, document = recorded[draw(st.integers(0, len(recorded) - 1))]
    document = json.loads(json.dumps(document))  # a copy to change
    paths = list(_paths(document))
    if not paths:
        return url, json.dumps(draw(_JSON_VALUES)).encode()
    path = paths[draw(st.integers(0, len(paths) - 1))]
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    if draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(_JSON_VALUES)
    return url, json.dumps(document, ensure_ascii=draw(st.booleans())).encode()


# ------------------------------------------------------------------ the tests


@pytest.mark.parametrize("source", SOURCES)
@_FUZZ
@given(body=st.binary(max_size=2048))
def test_random_bytes_parse_or_raise_structure_changed(source: str, body: bytes) -> None:
    url = _recorded(source)[0][0]
    assert_parses_or_says_why(source, body, url)


@pytest.mark.parametrize("source", SOURCES)
@_FUZZ
@given(data=st.data())
def test_mutated_recorded_responses_parse_or_raise_structure_changed(source: str, data: st.DataObject) -> None:
    url, body = data.draw(mutated(source))
    assert_parses_or_says_why(source, body, url)


@pytest.mark.parametrize("source", JSON_SOURCES)
@_FUZZ
@given(data=st.data())
def test_recorded_json_with_any_value_swapped_parses_or_raises_structure_changed(
    source: str, data: st.DataObject
) -> None:
    url, body = data.draw(json_swapped(source))
    assert_parses_or_says_why(source, body, url)


def test_the_fuzzing_covers_every_parser() -> None:
    """A new source is fuzzed without a change here; a source without a recorded case is a gap."""
    assert len(SOURCES) >= 12
    for source in SOURCES:
        assert _recorded(source), f"{source} has no recorded case to mutate"
    assert {"wto_eping", "us_cpsc", "au_accc", "fr_rappelconso"} <= set(JSON_SOURCES)


def test_the_time_limit_stops_a_hang() -> None:
    """The guard the fuzzing relies on: a parser that hangs fails the test instead of stalling it."""

    def hang() -> None:
        with time_limit(1, "a hanging parser"):
            while True:
                time.sleep(0.05)

    started = time.monotonic()
    with pytest.raises(ParserHung, match="ran longer than 1 s"):
        hang()
    assert time.monotonic() - started < 3
