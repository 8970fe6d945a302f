"""Links that reach mails and pages (review finding M7): an item's ``url`` and ``documents`` are http(s),
otherwise the record is quarantined naming source, record and field; table links are allow-listed."""

from __future__ import annotations

import json

import pytest

from crawlers.items import MeasureItem, Rejected
from crawlers.parsers import get_parser
from crawlers.parsers._fields import build
from crawlers.parsers._html_tables import read_tables
from crawlers.pipelines import check_item
from crawlers.recorded import recorded_dir
from crawlers.sources import load_source

HOSTILE_LINKS = [
    "JAVASCRIPT:alert(document.cookie)",
    "javascript:alert(1)",
    " jAvAsCrIpT:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "//phish.example/recall",
    "/Recalls/2018/relative",
    "https://",
]


def _fields(**overrides: object) -> dict[str, object]:
    fields: dict[str, object] = {"source_key": "18218", "kind": "recall", "title": "Ranges"}
    fields.update(overrides)
    return fields


@pytest.mark.parametrize("link", HOSTILE_LINKS)
def test_an_item_url_that_is_not_http_quarantines_the_record(link: str) -> None:
    config = load_source("us_cpsc")
    result = build(config, "18218", "{raw}", lambda: _fields(url=link))
    assert isinstance(result, Rejected)
    assert result.field == "url"
    assert result.record_key == "18218"
    assert result.raw_payload == "{raw}"
    assert result.reason.startswith("source us_cpsc, record 18218: url: ")
    assert "http" in result.reason


@pytest.mark.parametrize("link", HOSTILE_LINKS)
def test_a_document_link_that_is_not_http_quarantines_the_record_naming_its_language(link: str) -> None:
    config = load_source("us_cpsc")
    documents = {"en": "https://www.cpsc.gov/doc.pdf", "fr": link}
    result = build(config, "18218", "{raw}", lambda: _fields(documents=documents))
    assert isinstance(result, Rejected)
    assert result.field == "documents"
    assert result.reason.startswith("source us_cpsc, record 18218: documents: ")
    assert "'fr'" in result.reason


def test_http_and_https_links_pass_whatever_their_case() -> None:
    config = load_source("us_cpsc")
    urls = {"url": "HTTPS://www.cpsc.gov/Recalls/x", "documents": {"en": "http://www.cpsc.gov/a.pdf"}}
    result = build(config, "18218", "{raw}", lambda: _fields(**urls))
    assert isinstance(result, MeasureItem)


def test_the_validate_stage_quarantines_a_dict_item_naming_source_record_and_field() -> None:
    config = load_source("us_cpsc")
    item = _fields(source_id="us_cpsc", raw_payload="{raw}", url="data:text/html,<script>x</script>")
    result = check_item(item, config)
    assert isinstance(result, Rejected)
    assert result.field == "url"
    assert result.record_key == "18218"
    assert result.reason.startswith("source us_cpsc, record 18218: url: ")


def test_the_validate_stage_rechecks_an_item_changed_after_it_was_built() -> None:
    config = load_source("us_cpsc")
    item = MeasureItem(source_id="us_cpsc", raw_payload="{}", **_fields())  # type: ignore[arg-type]
    changed = item.model_copy(update={"url": "JAVASCRIPT:alert(1)"})
    result = check_item(changed, config)
    assert isinstance(result, Rejected)
    assert result.field == "url"
    assert "source us_cpsc, record 18218" in result.reason


def test_a_recorded_cpsc_record_with_a_javascript_url_is_quarantined_and_the_others_kept() -> None:
    records = json.loads((recorded_dir("us_cpsc") / "recalls_bluestar_2018.json").read_text(encoding="utf-8"))
    records[0]["URL"] = "JAVASCRIPT:alert(1)"
    result = get_parser("us_cpsc")(json.dumps(records).encode(), "https://x.invalid", load_source("us_cpsc"))
    assert len(result.items) == len(records) - 1
    (reject,) = result.rejected
    assert reject.field == "url"
    assert reject.record_key == str(records[0]["RecallNumber"])
    assert reject.reason.startswith(f"source us_cpsc, record {records[0]['RecallNumber']}: url: ")


def test_table_links_keep_only_http_targets() -> None:
    page = (
        "<table><tr><td>"
        "<a href='JAVASCRIPT:alert(1)'>a</a><a href='data:text/html,x'>b</a><a href='MAILTO:x@y.z'>c</a>"
        "<a href='#top'>d</a><a href='vbscript:x'>e</a><a href='doc.pdf'>f</a>"
        "</td></tr></table>"
    )
    [table] = read_tables(page, "https://example.org/list/")
    assert table.rows[0].cells[0].links == ["https://example.org/list/doc.pdf"]
