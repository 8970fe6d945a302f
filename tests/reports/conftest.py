"""Fixtures of the report tests: a database holding real recalls (Safety Gate, CPSC, Health Canada
excerpts in ``fixtures/``) mapped straight into Measure rows, sector tags assigned by hand, and
four constructed TBT notifications (marked so) for the rule linking.

The mapping here is deliberately the test's own, not the crawlers': the report is tested on
known rows whatever the state of the parsers.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from schema.engine import make_engine, session_scope
from schema.ids import content_hash, measure_id
from schema.models import Measure, SectorTag, Source
from tbt_alert.countries import to_alpha3
from tbt_alert.settings import Settings

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SOURCES = [
    ("eu_safety_gate", "EU Safety Gate", "recall", "EUR"),
    ("us_cpsc", "US CPSC recalls", "recall", "USA"),
    ("ca_health_canada", "Health Canada recalls", "recall", "CAN"),
    ("wto_eping", "WTO ePing", "notification", "WTO"),
]
# Sector tags assigned by hand for the fixture (the classifier is not under test here).
SG_SECTORS = {
    "Toys": ["toys"],
    "Clothing, textiles and fashion items": ["textiles_apparel"],
    "Electrical appliances and equipment": ["household_appliances"],
    "Cosmetics": ["cosmetics"],
    "Childcare articles and children's equipment": ["childcare"],
    "Lighting equipment": ["lighting"],
    "Jewellery": ["daily_commodities"],
    "Hand tools": ["hardware_tools"],
    "Hobby/sports equipment": ["sports_leisure"],
    "Furniture": ["furniture_home"],
    "Kitchen/cooking accessories": ["food_contact", "furniture_home"],
}
CPSC_SECTORS = {"toys": ["toys"], "electronics": ["electronics_ict"], "clothing-and-accessories": ["textiles_apparel"]}
HC_SECTORS = {
    "Toys and games": ["toys"],
    "Electronics": ["electronics_ict"],
    "Appliances": ["household_appliances"],
    "Beauty and personal care": ["cosmetics"],
}
SG_LEVELS = {"Serious risk": "serious", "Other risk levels": "other"}
_PAREN = re.compile(r"\([^)]*\)")
# Spellings the country registry does not know (the crawlers keep theirs in the source YAML).
COUNTRY_SPELLINGS = {"United Kingdom in respect of Northern Ireland": "GBR"}


def _country(name: str | None) -> str | None:
    if name is None or not name.strip() or name.strip() in ("Unknown", "unknown"):
        return None
    code = COUNTRY_SPELLINGS.get(name.strip()) or to_alpha3(_PAREN.sub("", name).strip())
    assert code is not None, f"fixture country {name!r} is not in the registry"
    return code


def _measure(source_id: str, key: str, sectors: list[str], raw: str, **fields: Any) -> tuple[Measure, list[SectorTag]]:
    mid = measure_id(source_id, key)
    fields.setdefault("extra", {})
    measure = Measure(
        id=mid,
        source_id=source_id,
        source_key=key,
        raw_payload=raw,
        content_hash=content_hash({k: str(v) for k, v in fields.items()}),
        **fields,
    )
    tags = [
        SectorTag(
            measure_id=mid,
            sector=s,
            score=1.0,
            method="manual",
            evidence={"fixture": True},
            classifier_version="test-fixture",
        )
        for s in sectors
    ]
    return measure, tags


def safety_gate_rows() -> list[tuple[Measure, list[SectorTag]]]:
    rows = []
    for path in sorted((FIXTURES / "eu_safety_gate").glob("*.xml")):
        root = ET.fromstring(path.read_text(encoding="utf-8"))
        day = dt.datetime.strptime(root.findtext("report_date") or "", "%d/%m/%Y").date()
        for n in root.iter("notifications"):

            def text(tag: str, n: ET.Element = n) -> str | None:
                value = (n.findtext(tag) or "").strip()
                return value or None

            case = text("caseNumber")
            assert case
            product = text("product") or text("category") or case
            rows.append(
                _measure(
                    "eu_safety_gate",
                    case,
                    SG_SECTORS.get(text("category") or "", []),
                    ET.tostring(n, encoding="unicode"),
                    kind="recall",
                    title=" – ".join(x for x in (product, text("brand")) if x and x != "Unknown"),
                    country=_country(text("notifyingCountry")),
                    country_of_origin=_country(text("countryOfOrigin")),
                    category=text("category"),
                    product_type=product,
                    brand=text("brand"),
                    risk_type=text("riskType"),
                    risk_level=SG_LEVELS.get(text("level") or ""),
                    hazard=text("danger"),
                    published_on=day,
                    url=text("reference"),
                    description=text("description"),
                )
            )
    return rows


def cpsc_rows() -> list[tuple[Measure, list[SectorTag]]]:
    rows = []
    for entry in json.loads((FIXTURES / "us_cpsc" / "recalls.json").read_text(encoding="utf-8")):
        r = entry["record"]
        countries = [_country(c["Country"]) for c in r.get("ManufacturerCountries", [])]
        codes = [c for c in countries if c]
        rows.append(
            _measure(
                "us_cpsc",
                r["RecallNumber"],
                CPSC_SECTORS[entry["slug"]],
                json.dumps(r),
                kind="recall",
                title=r["Title"],
                country="USA",
                country_of_origin=codes[0] if codes else None,
                extra={"manufacturer_countries": codes} if codes else {},
                product_type=(r.get("Products") or [{}])[0].get("Name"),
                hazard=" ".join(h["Name"] for h in r.get("Hazards", [])) or None,
                published_on=dt.date.fromisoformat(r["RecallDate"][:10]),
                url=r.get("URL"),
            )
        )
    return rows


def health_canada_rows() -> list[tuple[Measure, list[SectorTag]]]:
    rows = []
    for r in json.loads((FIXTURES / "ca_health_canada" / "recalls.json").read_text(encoding="utf-8")):
        rows.append(
            _measure(
                "ca_health_canada",
                r["NID"],
                HC_SECTORS.get(r["Category"], []),
                json.dumps(r),
                kind="recall",
                title=r["Title"],
                country="CAN",
                country_of_origin=None,
                category=r["Category"],
                product_type=r["Product"],
                risk_type=r["Issue"] or None,
                risk_level=r["Recall class"] or None,
                published_on=dt.date.fromisoformat(r["Last updated"]),
                url=r["URL"],
            )
        )
    return rows


def constructed_rule_rows() -> list[tuple[Measure, list[SectorTag]]]:
    rows = []
    for r in json.loads((FIXTURES / "constructed" / "rules.json").read_text(encoding="utf-8")):
        rows.append(
            _measure(
                r["source_id"],
                r["source_key"],
                r["sectors"],
                json.dumps(r),
                kind=r["kind"],
                title=r["title"],
                country=r["country"],
                document_symbol=r["document_symbol"],
                hs_codes=r["hs_codes"],
                distributed_on=dt.date.fromisoformat(r["distributed_on"]),
                url=r["url"],
                extra={"constructed": True},
            )
        )
    return rows


def load_fixture(engine: Engine) -> int:
    """Store every fixture row; returns the number of recalls stored."""
    rows = safety_gate_rows() + cpsc_rows() + health_canada_rows()
    with session_scope(engine) as session:
        for sid, name, kind, jurisdiction in SOURCES:
            session.add(Source(id=sid, name=name, kind=kind, jurisdiction=jurisdiction))
        session.flush()
        for measure, tags in rows + constructed_rule_rows():
            session.add(measure)
            session.flush()
            session.add_all(tags)
    return len(rows)


@pytest.fixture
def report_settings(db_url: str, make_settings: Callable[..., Settings]) -> Settings:
    """Settings on a fresh database (SQLite and PostgreSQL) that holds the fixture."""
    settings = make_settings(TBT_DATABASE_URL=db_url)
    engine = make_engine(db_url)
    try:
        load_fixture(engine)
    finally:
        engine.dispose()
    return settings
