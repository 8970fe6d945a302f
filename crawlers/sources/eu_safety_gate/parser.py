"""EU Safety Gate: the weekly report list and each weekly report's XML.

A report (``<Safety-Gate>`` with ``<notifications>``) gives one recall measure per
alert, keyed by its case number (``A12/1188/13``); the list (``<weeklyReport>``
entries) gives the report URLs to fetch. The two are told apart by content, so a
saved file parses without its URL. A document with a DTD is refused unread and quarantined
whole (crawlers.parsers._xml), keyed by its URL.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from crawlers.items import MeasureItem, ParseResult, Rejected
from crawlers.parsers._fields import Fields, build, clean_text, country_code, strip_prefixes
from crawlers.parsers._xml import UnsafeDocument, cut_elements, parse_xml, quarantined_document
from crawlers.sources import SourceConfig
from tbt_alert.errors import StructureChanged

_PRODUCT_TYPE_MAX = 300  # Measure.product_type is a short label column
_XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
# Fields an alert carries that we map to Measure columns or keep in ``extra``.
_EXTRA_TEXT = (
    "name",
    "type_numberOfModel",
    "batchNumber",
    "barcode",
    "URLrecall",
    "onlineTrader",
    "companyRecallCode",
    "productionDates",
    "order",
)


@dataclass(frozen=True)
class WeeklyReportRef:
    url: str
    published_on: dt.date | None
    reference: str | None


def parse(body: bytes, url: str, config: SourceConfig) -> ParseResult:
    try:
        root = _root(body, url, config)
    except UnsafeDocument as exc:
        return ParseResult(rejected=[quarantined_document(exc, body)])
    if root.find("weeklyReport") is not None:
        return ParseResult(follow=[ref.url for ref in _weekly_reports(root, config)])
    return parse_report(body, url, config, root)


def _root(body: bytes, url: str, config: SourceConfig) -> ET.Element:
    root = parse_xml(body, config.id, document=url, root_field="Safety-Gate")
    if root.tag != "Safety-Gate":
        raise StructureChanged(config.id, f"root element is <{root.tag}>, expected <Safety-Gate>", field="Safety-Gate")
    return root


def weekly_reports(body: bytes, url: str, config: SourceConfig) -> list[WeeklyReportRef]:
    """The reports the weekly list names, newest first as published (UnsafeDocument for a DTD)."""
    return _weekly_reports(_root(body, url, config), config)


def _weekly_reports(root: ET.Element, config: SourceConfig) -> list[WeeklyReportRef]:
    refs = []
    for entry in root.iter("weeklyReport"):
        report_url = clean_text(entry.findtext("URL"))
        if not report_url:
            raise StructureChanged(config.id, "a weeklyReport entry has no URL", field="URL")
        # The list writes a stray trailing comma after the search parameter.
        report_url = report_url.rstrip(",")
        published = clean_text(entry.findtext("publicationDate"))
        try:
            date = dt.datetime.strptime(published, "%d/%m/%Y").date() if published else None
        except ValueError:
            raise StructureChanged(
                config.id, f"publicationDate {published!r} is not dd/mm/yyyy", field="publicationDate"
            ) from None
        refs.append(WeeklyReportRef(report_url, date, clean_text(entry.findtext("reference"))))
    if not refs:
        raise StructureChanged(config.id, "the weekly report list has no weeklyReport entries", field="weeklyReport")
    return refs


def parse_report(body: bytes, url: str, config: SourceConfig, root: ET.Element | None = None) -> ParseResult:
    if root is None:
        try:
            root = _root(body, url, config)
        except UnsafeDocument as exc:
            return ParseResult(rejected=[quarantined_document(exc, body)])
    for required in ("report_language", "report_date"):
        if root.find(required) is None:
            raise StructureChanged(config.id, f"the weekly report has no <{required}>", field=required)
    language = clean_text(root.findtext("report_language"))
    report_date = clean_text(root.findtext("report_date"))
    try:
        published = dt.datetime.strptime(report_date or "", "%d/%m/%Y").date()
    except ValueError:
        message = f"report_date {report_date!r} is not dd/mm/yyyy"
        raise StructureChanged(config.id, message, field="report_date") from None
    alerts = root.findall("notifications")
    # Alerts never nest, so each one's exact bytes can be cut out of the document.
    raws = cut_elements(body, "notifications")
    if len(raws) != len(alerts):
        raise StructureChanged(
            config.id, f"found {len(alerts)} alerts but {len(raws)} raw <notifications> blocks", field="notifications"
        )
    result = ParseResult()
    context = {
        "language": language,
        "published_on": published,
        "report_url": url,
        "report_week": clean_text(root.findtext("report_week")),
        "report_year": clean_text(root.findtext("report_year")),
    }
    for alert, raw in zip(alerts, raws, strict=True):
        result.add(_alert(alert, raw.decode("utf-8", errors="replace"), config, context))
    return result


def _alert(alert: ET.Element, raw: str, config: SourceConfig, context: dict[str, Any]) -> MeasureItem | Rejected:
    values: dict[str, Any] = {}
    for child in alert:
        if child.tag == "pictures":
            values["pictures"] = [clean_text(p.text) for p in child if clean_text(p.text)]
        else:
            values[child.tag] = child.text
    key = clean_text(values.get("caseNumber"))

    def make() -> dict[str, Any]:
        f = Fields(config.id, values, key)
        case = f.text("caseNumber", required=True)
        unknown = set(config.options.get("unknown_values", []))

        def known(text: str | None) -> str | None:
            return None if text is None or text in unknown else text

        product = f.text("product")
        name = known(f.text("name"))
        category_text = f.text("category")
        title = product or name or category_text
        if title is None:
            raise_missing("product")
        level = f.text("level")
        alert_type = f.text("type")
        extra: dict[str, Any] = {
            "report_url": context["report_url"],
            "report_week": context["report_week"],
            "report_year": context["report_year"],
            "category_source": category_text,
            "alert_type": config.lookup("alert_type", alert_type) if alert_type else None,
            "dto_type": alert.get(_XSI_TYPE),
        }
        for name_ in _EXTRA_TEXT:
            extra[name_] = f.text(name_)
        extra["pictures"] = f.take("pictures") or []
        extra = {k: v for k, v in extra.items() if v not in (None, "", [])}
        fields = {
            "source_key": case,
            "kind": "recall",
            "title": title,
            "description": f.text("description"),
            "products": " / ".join(p for p in (product, name) if p) or None,
            "country": country_code(config, f.text("notifyingCountry"), record=case, field="notifyingCountry"),
            "country_of_origin": country_code(config, f.text("countryOfOrigin"), record=case, field="countryOfOrigin"),
            "category": _category(config, category_text),
            # A product line can list nine products; the full text is in title and products.
            "product_type": product if product and len(product) <= _PRODUCT_TYPE_MAX else None,
            "brand": known(f.text("brand")),
            "risk_type": f.text("riskType"),
            "risk_level": config.lookup("risk_level", level) if level else None,
            "hazard": strip_prefixes(f.text("danger"), config),
            "measures_taken": f.text("measures"),
            "published_on": context["published_on"],
            "url": f.text("reference"),
            "language": context["language"],
            "extra": extra,
        }
        leftover = f.leftover()
        if leftover:
            fields["extra"]["unmapped"] = {k: clean_text(v) if isinstance(v, str) else v for k, v in leftover.items()}
        return fields

    return build(config, key, raw, make)


def raise_missing(field: str) -> None:
    from tbt_alert.errors import RecordRejected

    raise RecordRejected("eu_safety_gate", "the alert names no product, name or category", field=field)


def _category(config: SourceConfig, text: str | None) -> str | None:
    if text is None:
        return None
    # "Other - Sky lantern": the free text after "Other" is kept in extra.category_source.
    head = "Other" if text.startswith("Other -") or text == "Other" else text
    return config.lookup("category", head)
