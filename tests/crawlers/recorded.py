"""The golden cases of every source's recorded responses, and how their expected output is compared.

Layout (web-poet style): ``crawlers/sources/<source>/recorded/meta.json`` (schema
:class:`crawlers.recorded.RecordedMeta`) names the provenance, whether each body was
constructed, and the cases: ``{"name", "url", "body", "expected"}``; the body file holds the
response exactly as served (the replay serves the same file), the expected file the complete
normalised result. Tests compare whole dictionaries, so a missing field and an unexpected one
both fail.

Regenerate an expected file only after reading the diff:
``.venv/bin/python -m tests.crawlers.recorded SOURCE``.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawlers.items import ParseResult
from crawlers.parsers import get_parser
from crawlers.recorded import load_meta, recorded_dir
from crawlers.sources import load_source


@dataclass(frozen=True)
class Case:
    source: str
    name: str
    url: str
    response: Path  # the recorded body, as served
    expected: Path

    def body(self) -> bytes:
        data = self.response.read_bytes()
        return gzip.decompress(data) if self.response.suffix == ".gz" else data

    def run(self) -> dict[str, Any]:
        parse = get_parser(self.source)
        return as_json(parse(self.body(), self.url, load_source(self.source)))


def meta(source: str) -> dict[str, Any]:
    """The validated ``recorded/meta.json`` of ``source`` as plain data."""
    return load_meta(source).model_dump()


def cases(source: str) -> list[Case]:
    folder = recorded_dir(source)
    return [Case(source, c.name, c.url, folder / c.body, folder / c.expected) for c in load_meta(source).cases]


def as_json(result: ParseResult) -> dict[str, Any]:
    return {
        "items": [item.model_dump(mode="json") for item in result.items],
        "rejected": [dataclasses.asdict(r) for r in result.rejected],
        "follow": list(result.follow),
    }


def expected(case: Case) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(case.expected.read_text(encoding="utf-8"))
    return data


def write_expected(source: str) -> None:
    for case in cases(source):
        case.expected.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(case.run(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"
        case.expected.write_text(text, encoding="utf-8")
        print(f"wrote {case.expected}")


def only_documented_errors(source: str, body: bytes, url: str) -> ParseResult | None:
    """Run the parser; a StructureChanged is the one documented error and gives None."""
    from tbt_alert.errors import StructureChanged

    try:
        return get_parser(source)(body, url, load_source(source))
    except StructureChanged:
        return None


def table_rows(rows: list[list[str]]) -> str:
    """HTML table rows with every cell escaped (for property tests of the HTML-table sources)."""
    from html import escape

    return "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)


def assert_rows_are_items_or_rejects(source: str, body: bytes, url: str, rows: list[list[str]]) -> None:
    """Every row with any text becomes an item or a reject; rows without text are spacers."""
    from crawlers.parsers._fields import clean_text

    result = only_documented_errors(source, body, url)
    assert result is not None
    non_empty = [row for row in rows if any(clean_text(c) for c in row)]
    assert len(result.items) + len(result.rejected) == len(non_empty)


def assert_only_documented_errors_on_damage(source: str, url: str, cut: int, junk: bytes) -> None:
    """A truncated recorded body and arbitrary bytes raise nothing but StructureChanged."""
    body = cases(source)[0].body()
    only_documented_errors(source, body[: cut % len(body)], url)
    only_documented_errors(source, junk, url)


if __name__ == "__main__":
    for name in sys.argv[1:]:
        write_expected(name)
