"""Pure parsers: one module per source, ``crawlers/sources/<source_id>/parser.py``.

This package keeps what the parsers share (``_fields``, ``_html_tables``) and finds a
source's parser by its folder (:func:`get_parser`).

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
import re
from typing import TYPE_CHECKING, Protocol

from tbt_alert.errors import UnknownSource

if TYPE_CHECKING:
    from crawlers.items import ParseResult
    from crawlers.sources import SourceConfig


# The pattern of SourceConfig.id: a source id is also a folder and a module name.
_SLUG = re.compile(r"[a-z][a-z0-9_]{1,63}")


class Parser(Protocol):
    def __call__(self, body: bytes, url: str, config: SourceConfig) -> ParseResult: ...


def parser_module(source_id: str) -> str:
    """The dotted name of the parser module of ``source_id``."""
    return f"crawlers.sources.{source_id}.parser"


def get_parser(source_id: str) -> Parser:
    """The ``parse`` function of ``crawlers/sources/<source_id>/parser.py``."""
    hint = f"no parser for source {source_id!r}; add crawlers/sources/{source_id}/parser.py"
    if not _SLUG.fullmatch(source_id):
        # Not a folder name a source can have; importing it could reach any module.
        raise UnknownSource(hint)
    name = parser_module(source_id)
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        # Only the missing folder or parser is "unknown"; a parser's own broken import is a bug to see.
        if exc.name in (name, name.rpartition(".")[0]):
            raise UnknownSource(hint) from None
        raise
    parse: Parser = module.parse
    return parse
