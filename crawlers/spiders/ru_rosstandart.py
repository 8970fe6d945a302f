"""Rosstandart: page 1 of the draft-standards registry says how many pages there are; fetch the newest."""

from __future__ import annotations

from crawlers.spiders.base import SourceSpider


class RuRosstandartSpider(SourceSpider):
    # The parser turns page 1 into requests for the last pages (options.pages_from_end), where the
    # registry keeps its newest drafts; the base spider does the rest.
    name = "ru_rosstandart"
