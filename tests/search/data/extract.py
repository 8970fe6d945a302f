"""Build measures.json: a few dozen measures for the search tests, run once by hand.

Real records are read with the project's own parsers (``crawlers/sources/<id>/parser.py``) from the recorded
data in ../shared/data and the crawlers' replay snapshot, then picked by source key; nothing
here invents a value of theirs. Two records are not parser output (see meta.json):
one Safety Gate API alert mapped by hand (its multilingual versions give real Arabic and
Cyrillic text; no parser reads that JSON format) and one CONSTRUCTED Chinese measure, because
no recorded source text in Chinese exists. Run: .venv/bin/python -m tests.search.data.extract
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from crawlers.parsers import get_parser
from crawlers.sources import load_source

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SHARED = ROOT.parent / "shared" / "data"
SOURCES = ROOT / "crawlers" / "sources"
OECD = "arwfamily/oecd-global-recalls@541ee7e8b92737a7b817389074bf255a9cb78fe3:data/raw"

# (source, file, url the parser is told, provenance, keys to keep)
PICKS: list[tuple[str, Path, str, str, list[str]]] = [
    (
        "eu_safety_gate", SHARED / "safety_gate/weekly_reports/report_10000050.xml.gz", "",
        f"{OECD}/eu/report_10000050.xml (Safety Gate weekly report 2021-W23)",
        ["A12/00817/21", "A11/00041/21", "A12/00839/21", "A12/00824/21", "A12/00804/21", "A12/00850/21"],
    ),
    (
        "eu_safety_gate", SHARED / "safety_gate/weekly_reports/report_300.xml.gz", "",
        f"{OECD}/eu/report_300.xml (Safety Gate weekly report, legacy sequence)", [],
    ),
    (
        "us_cpsc", SHARED / "cpsc/gsa_recalls_api__cpsc_fixture.json", "https://www.saferproducts.gov/RestWebServices/Recall?format=json",
        "GSA/recalls_api@368cbdfffea4a8f537ea3b78c0c9eba0735f1286:test/fixtures/files/cpsc.json", [],
    ),
    (
        "wto_eping", SOURCES / "wto_eping/recorded/tbt_page_1.json",
        "https://epingalert.org/api/v1/azureSearch/getAll?language=1&domainIds=1&sortBy=distributionDate&sortDirection=desc&page=1&pageSize=10",
        "crawlers/sources/wto_eping/recorded/tbt_page_1.json (CONSTRUCTED page shape, real values; see its meta.json)",
        ["G/TBT/N/BHR/780", "G/TBT/N/SAU/1437", "crn:25_03831", "crn:25_03774", "crn:25_03845"],
    ),
    (
        "wto_eping", SOURCES / "wto_eping/recorded/sps_page_1.json",
        "https://epingalert.org/api/v1/azureSearch/getAll?language=1&domainIds=2&sortBy=distributionDate&sortDirection=desc&page=1&pageSize=10",
        "crawlers/sources/wto_eping/recorded/sps_page_1.json (CONSTRUCTED page shape, real values; see its meta.json)",
        ["crn:25_03795", "crn:25_03767", "crn:25_03762"],
    ),
    (
        "ru_rosstandart", SOURCES / "ru_rosstandart/recorded/api_page_1.json", "https://x/api_page_1.json",
        "crawlers/sources/ru_rosstandart/recorded/api_page_1.json (see its meta.json)",
        ["b855d61f-af76-49f1-9ffe-128ee2bc5fa8", "488b5cd9-9474-4920-8fb3-f6f298ad9084"],
    ),
]  # fmt: skip
LEGACY_COUNT = 3  # the first alerts of the legacy report: another decade for the year facet
CPSC_COUNT = 3


def _body(path: Path) -> bytes:
    return gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()


def parsed() -> list[dict[str, Any]]:
    out = []
    for source, path, url, provenance, keys in PICKS:
        result = get_parser(source)(_body(path), url, load_source(source))
        items = result.items
        if keys:
            by_key = {i.source_key: i for i in items}
            items = [by_key[k] for k in keys]
        else:
            items = items[: LEGACY_COUNT if "report_300" in str(path) else CPSC_COUNT]
        for item in items:
            out.append({"provenance": f"{provenance}, key {item.source_key}", "item": item.model_dump(mode="json")})
    return out


def arabic_alert() -> dict[str, Any]:
    """Safety Gate API alert 10097946 (French original; corrigendum in 28 languages), mapped by hand."""
    path = SHARED / "multilingual/fr/safety_gate_api_alert_fr_2.json"
    raw = path.read_text(encoding="utf-8")
    alert = json.loads(raw)
    product = alert["product"]["versions"][0]
    risk = alert["risk"]["versions"][0]
    corrigenda = {v["language"]["key"].lower(): v["corrigendum"] for v in alert["versions"]}
    item = {
        "source_id": "eu_safety_gate",
        "source_key": alert["reference"],
        "kind": "recall",
        "title": product["name"],
        "description": f"{product['description']} {risk['riskDescription']}",
        "country": "FRA",
        "document_symbol": alert["reference"],
        "language": "fr",
        "published_on": alert["publicationDate"][:10],
        "category": "motor_vehicles",
        "brand": alert["product"]["brands"][0]["brand"],
        "risk_type": "injuries",
        "country_of_origin": "DEU",
        "extra": {
            "translations": {
                lang: {"corrigendum": corrigenda[lang]} for lang in ("ar", "bg", "uk", "en", "de") if lang in corrigenda
            }
        },
        "raw_payload": raw,
    }
    return {
        "provenance": "athompson83/data-foundry (via ../shared/data/multilingual/fr/safety_gate_api_alert_fr_2.json), "
        "Safety Gate alert SR/00581/26; fields mapped by hand by the search tests (no parser reads this format)",
        "item": item,
    }


def constructed_chinese() -> dict[str, Any]:
    return {
        "provenance": "CONSTRUCTED by the search tests: no recorded source text in Chinese exists in ../shared/data; "
        "written to test Chinese tokenisation (phrase search, highlighting) with the core analyzer",
        "constructed": True,
        "item": {
            "source_id": "wto_eping",
            "source_key": "CONSTRUCTED-ZH-1",
            "kind": "tbt_notification",
            "title": "玩具安全 第3部分：阻燃性能",
            "title_en": "Toy safety - Part 3: Flammability",
            "description": "规定了儿童玩具及其材料的阻燃性能要求和试验方法。",
            "products": "儿童玩具",
            "country": "RUS",
            "language": "zh",
            "hs_codes": ["950300"],
            "distributed_on": "2026-11-02",
            "comment_deadline": "2027-01-01",
            "raw_payload": '{"constructed": true}',
        },
    }


def main() -> None:
    records = parsed() + [arabic_alert(), constructed_chinese()]
    (HERE / "measures.json").write_text(json.dumps(records, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(records)} records to {HERE / 'measures.json'}")


if __name__ == "__main__":
    main()
