"""Pure parsers: one module per source, ``crawlers/parsers/<source_id>.py``.

Each defines ``parse(body: bytes, url: str, config: SourceConfig) -> ParseResult``:
it turns one recorded or live response into items, rejected records and further
URLs to fetch, and touches neither the network nor the database, so fixture tests
and ``tbt-alert parse`` call it directly.

The documented errors: a page whose structure changed raises
:class:`tbt_alert.errors.StructureChanged` (the crawl of that source fails, naming
the field); a single bad record becomes a :class:`crawlers.items.Rejected` in the
result (it is quarantined and the crawl goes on). Nothing else may escape.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Protocol

from tbt_alert.errors import UnknownSource

if TYPE_CHECKING:
    from crawlers.items import ParseResult
    from crawlers.sources import SourceConfig


class Parser(Protocol):
    def __call__(self, body: bytes, url: str, config: SourceConfig) -> ParseResult: ...


def get_parser(source_id: str) -> Parser:
    """The ``parse`` function of ``crawlers.parsers.<source_id>``."""
    try:
        module = importlib.import_module(f"crawlers.parsers.{source_id}")
    except ModuleNotFoundError as exc:
        if exc.name == f"crawlers.parsers.{source_id}":
            raise UnknownSource(f"no parser for source {source_id!r}; add crawlers/parsers/{source_id}.py") from None
        raise
    parse: Parser = module.parse
    return parse
