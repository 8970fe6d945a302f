"""The display labels every reader sees (classifiers/labels.py), including how each caller's style
(bulletins, portal, recall-risk report) shows a missing or unknown code."""

from __future__ import annotations

from classifiers import labels
from classifiers.taxonomy import UNTAGGED, load_taxonomy


def test_sectors_come_from_the_taxonomy_and_unknown_codes_show_as_they_are() -> None:
    assert labels.sector_label("toys", "zh") == "玩具"
    assert labels.sector_label("toys", "en") == "Toys"
    assert labels.sector_label("no_such_sector", "zh") == "no_such_sector"
    assert labels.known_sectors() == {s.code for s in load_taxonomy().sectors}
    assert [code for code, _ in labels.sector_choices("en")] == [s.code for s in load_taxonomy().sectors]
    assert ("toys", "玩具") in labels.sector_choices("zh")


def test_countries_in_each_style() -> None:
    assert labels.country_label("DEU", "zh") == "德国"
    assert labels.country_label("DEU", "en") == "Germany"
    assert labels.country_label("DEU", "zh", with_code=True) == "德国 (DEU)"  # the portal's style
    assert labels.country_label(None, "zh") == "未注明"  # a bulletin says that the country is missing
    assert labels.country_label("", "en") == "not stated"
    assert labels.country_label("XXX", "en", with_code=True) == "XXX"  # not in the registry: the code


def test_kinds_and_relations() -> None:
    assert labels.kind_label("tbt_notification", "zh") == "TBT通报"
    assert labels.kind_label("other", "en") == "other"
    assert labels.relation_label("addendum", "en") == "Addendum"
    assert labels.relation_label(None, "zh") == ""


def test_the_reports_placeholders() -> None:
    assert (labels.sector_zh(UNTAGGED), labels.sector_en(UNTAGGED)) == ("未分类", "untagged")
    assert (labels.sector_zh("toys"), labels.sector_en("toys")) == ("玩具", "Toys")
    assert (labels.market_zh("unknown"), labels.market_en("unknown")) == ("不明", "unknown")
    assert (labels.market_zh("EUR"), labels.market_zh("XXX")) == (labels.country_label("EUR", "zh"), "XXX")
