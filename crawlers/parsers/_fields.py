"""Helpers every parser shares: strict field reading, text and date cleaning,
country lookups, and turning a record into an item or a quarantine entry.

Strict reading follows zavod: a parser pops each field it maps; fields left over
are a sign the source added something we do not read yet, recorded in the item's
``extra['unmapped']`` so nothing is lost silently.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from crawlers.items import MeasureItem, Rejected
from crawlers.sources import SourceConfig
from tbt_alert.errors import RecordRejected, StructureChanged, UnknownLookupValue

_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def clean_text(value: Any) -> str | None:
    """Text without HTML tags, entities or runs of white space; empty -> None."""
    if value is None:
        return None
    if not isinstance(value, str):
        value = str(value)
    text = html.unescape(_TAG.sub(" ", value)) if "<" in value or "&" in value else value
    text = _SPACE.sub(" ", text).strip()
    return text or None


def strip_prefixes(text: str | None, config: SourceConfig) -> str | None:
    """Remove artefact prefixes the source's YAML lists under ``options.strip_prefixes``."""
    if text is None:
        return None
    for prefix in config.options.get("strip_prefixes", []):
        if text.startswith(prefix):
            text = text[len(prefix) :].strip()
    return text or None


def parse_date(
    value: str | None, formats: tuple[str, ...], *, source: str, record: str | None, field: str
) -> dt.date | None:
    """A date in one of ``formats``; empty -> None; anything else rejects the record."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    for fmt in formats:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise RecordRejected(source, f"{text!r} is not a date ({' or '.join(formats)})", record=record, field=field)


def country_code(config: SourceConfig, value: str | None, *, record: str | None, field: str) -> str | None:
    """ISO alpha-3 for a country name or code; the YAML's ``countries`` lookup wins.

    An unknown name rejects the record rather than guessing: "unknown origin" must
    stay unknown, and a new spelling belongs in the YAML where it is visible.
    """
    text = clean_text(value)
    if text is None:
        return None
    if config.has_lookup("countries", text):
        return config.lookup("countries", text)
    code = _registry_alpha3(text)
    if code is None:
        raise RecordRejected(
            config.id,
            f"unknown country {text!r}; add it to the countries lookup in crawlers/sources/{config.id}/{config.id}.yml",
            record=record,
            field=field,
        )
    return code


def _registry_alpha3(name: str) -> str | None:
    try:
        from tbt_alert.countries import to_alpha3
    except ImportError:  # the registry module is optional for this helper
        import pycountry

        try:
            return str(pycountry.countries.lookup(name).alpha_3)
        except LookupError:
            return None
    return to_alpha3(name)


class Fields:
    """A record read field by field: ``take`` pops, ``leftover`` lists what was not read."""

    def __init__(self, source: str, record: Mapping[str, Any], key: str | None = None):
        self.source = source
        self.data = dict(record)
        self.key = key

    def take(self, name: str, *, required: bool = False) -> Any:
        if name not in self.data:
            if required:
                raise RecordRejected(self.source, "required field is missing", record=self.key, field=name)
            return None
        return self.data.pop(name)

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = clean_text(self.take(name, required=required))
        if required and value is None:
            raise RecordRejected(self.source, "required field is empty", record=self.key, field=name)
        return value

    def leftover(self) -> dict[str, Any]:
        return dict(self.data)


def require_keys(source: str, mapping: Any, keys: tuple[str, ...], where: str) -> Mapping[str, Any]:
    """The page-level shape check: a missing key means the structure changed."""
    if not isinstance(mapping, Mapping):
        raise StructureChanged(source, f"{where} is {type(mapping).__name__}, expected an object", field=where)
    for key in keys:
        if key not in mapping:
            raise StructureChanged(source, f"{where} has no {key!r}", field=key)
    return mapping


def build(
    config: SourceConfig, record_key: str | None, raw_payload: str, make: Callable[[], dict[str, Any]]
) -> MeasureItem | Rejected:
    """Run ``make`` (which reads the record) and validate; a bad record becomes a Rejected."""
    try:
        fields = make()
        return MeasureItem(source_id=config.id, raw_payload=raw_payload, **fields)
    except RecordRejected as exc:
        return Rejected(config.id, exc.record or record_key, exc.field, str(exc), raw_payload)
    except UnknownLookupValue as exc:
        return Rejected(config.id, record_key, exc.table, str(exc), raw_payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        reason = f"source {config.id}, record {record_key}: " + "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
        )
        return Rejected(config.id, record_key, field, reason, raw_payload)
    except (TypeError, AttributeError, KeyError, IndexError, ValueError) as exc:
        # A record of a shape no parser expects (a list where an object was, a number for a text):
        # that one record is quarantined, naming what went wrong, and the crawl goes on. Found by
        # fuzzing (tests/crawlers/test_parser_fuzz.py); the page-level checks still raise.
        reason = (
            f"source {config.id}, record {record_key}: the record has an unexpected shape "
            f"({type(exc).__name__}: {exc}); compare it with the source's documentation"
        )
        return Rejected(config.id, record_key, None, reason[:2000], raw_payload)


def json_array_records(body: bytes, source: str) -> list[tuple[Any, str]]:
    """Each element of a top-level JSON array with its exact text as received.

    Raw payloads must be the record as the source sent it, not our re-serialisation,
    so each element's span is cut out of the document while it is decoded.
    """
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise StructureChanged(source, f"the answer is not UTF-8 ({exc})", field="body") from None
    decoder = json.JSONDecoder()
    pos = _skip_space(text, 0)
    if pos >= len(text) or text[pos] != "[":
        raise StructureChanged(source, "the answer is not a JSON array", field="body")
    pos = _skip_space(text, pos + 1)
    out: list[tuple[Any, str]] = []
    if pos < len(text) and text[pos] == "]":
        return _trailing(text, pos + 1, source, out)
    while True:
        try:
            value, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise StructureChanged(source, f"the JSON array is broken ({exc})", field="body") from None
        out.append((value, text[pos:end]))
        pos = _skip_space(text, end)
        if pos < len(text) and text[pos] == ",":
            pos = _skip_space(text, pos + 1)
            continue
        if pos < len(text) and text[pos] == "]":
            return _trailing(text, pos + 1, source, out)
        raise StructureChanged(source, f"the JSON array is broken at character {pos}", field="body")


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _trailing(text: str, pos: int, source: str, out: list[tuple[Any, str]]) -> list[tuple[Any, str]]:
    if _skip_space(text, pos) != len(text):
        raise StructureChanged(source, "text follows the JSON array", field="body")
    return out
