"""Scrapy's spider loader for the source folders: ``scrapy crawl <id>`` finds every source.

A source whose navigation needs code has ``crawlers/sources/<id>/spider.py`` with a
:class:`~crawlers.spiders.base.SourceSpider` subclass named like the source; for the
others a plain ``SourceSpider`` subclass is built from the YAML, so a source that only
follows its parser's ``follow`` URLs needs no spider file at all. The YAML option
``stop_paging_when_stale: true`` sets that flag on a built spider (newest-first listings).

Set as ``SPIDER_LOADER_CLASS`` in :mod:`crawlers.settings`; Scrapy builds it once per
crawl process, so the YAML files are read then, not at import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from scrapy.spiderloader import SpiderLoader
from scrapy.utils.spider import iter_spider_classes

from crawlers.sources import SourceConfig, load_sources, source_dir
from crawlers.spiders.base import SourceSpider
from tbt_alert.errors import UnknownSource

if TYPE_CHECKING:
    from scrapy import Spider


def spider_class(config: SourceConfig) -> type[SourceSpider]:
    """The spider of ``config``: the class in its ``spider.py``, else a generic one."""
    if (source_dir(config.id) / "spider.py").exists():
        module = importlib.import_module(f"crawlers.sources.{config.id}.spider")
        found = [cls for cls in iter_spider_classes(module) if cls.name == config.spider_name]
        if len(found) != 1 or not issubclass(found[0], SourceSpider):
            raise UnknownSource(
                f"crawlers/sources/{config.id}/spider.py must define one SourceSpider subclass with "
                f"name = {config.spider_name!r}; found {[cls.__name__ for cls in found] or 'none'}."
            )
        return found[0]
    camel = "".join(part.capitalize() for part in config.id.split("_"))
    attributes = {
        "name": config.spider_name,
        "stop_paging_when_stale": bool(config.options.get("stop_paging_when_stale", False)),
        "__doc__": f"{config.name}: the generic spider (start at base_urls, follow what the parser says).",
        "__module__": __name__,
    }
    return type(f"{camel}Spider", (SourceSpider,), attributes)


class SourceSpiderLoader(SpiderLoader):
    """Scrapy's loader, plus one spider per source YAML (``SPIDER_MODULES`` still counts)."""

    def _load_all_spiders(self) -> None:
        super()._load_all_spiders()
        for config in load_sources().values():
            spider: type[Spider] = spider_class(config)
            self._found[config.spider_name].append((spider.__module__, spider.__name__))
            self._spiders[config.spider_name] = spider
        self._check_name_duplicates()
