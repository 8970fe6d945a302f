"""Saved responses in, normalised items out: what ``tbt-alert parse`` and the fixture tests share."""

from __future__ import annotations

import gzip
import importlib
import json
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from crawlers.items import MeasureItem, Rejected
from crawlers.normalize import normalise
from crawlers.parsers import get_parser, parser_module
from crawlers.sources import SourceConfig, load_source
from schema.ids import measure_id

_GZIP_MAGIC = b"\x1f\x8b"


def read_saved(path: Path) -> bytes:
    """A recorded body, decompressed when it was stored gzip-compressed."""
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == _GZIP_MAGIC else data


def item_json(item: MeasureItem) -> dict[str, Any]:
    """An item as JSON with the Measure model's field names (``source`` for the source id)."""
    data = item.model_dump(mode="json")
    source = data.pop("source_id")
    return {"id": measure_id(source, item.source_key), "source": source, **data}


def rejected_json(reject: Rejected) -> dict[str, Any]:
    return asdict(reject)


def parse_saved(
    source_id: str, path: Path, url: str | None = None, config: SourceConfig | None = None
) -> Iterator[MeasureItem | Rejected]:
    """Normalised items and rejects of one saved response, as the crawl would store them."""
    from crawlers.pipelines import check_item

    config = config or load_source(source_id)
    parser = get_parser(source_id)
    # A parser may read a saved file as a stream (parse_file), for files too big to hold whole.
    stream = getattr(importlib.import_module(parser_module(source_id)), "parse_file", None)
    if stream is not None and not _is_gzip(path):
        for entry in stream(path, url, config):
            checked = check_item(entry, config)
            yield normalise(checked, config) if isinstance(checked, MeasureItem) else checked
        return
    result = parser(read_saved(path), url or path.resolve().as_uri(), config)
    for item in result.items:
        checked = check_item(item, config)
        yield normalise(checked, config) if isinstance(checked, MeasureItem) else checked
    yield from result.rejected


def _is_gzip(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(2) == _GZIP_MAGIC


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True)
