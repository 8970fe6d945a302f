"""Real records for the portal tests, loaded the way a crawl stores them.

- ePing: the wto_eping fixture pages (crawlers/sources/wto_eping/recorded, marked constructed: real values
  in a reconstructed page shape, see its meta.json), parsed by the real parser, so follow-ups
  (Rev.1) and a quarantined record come with them.
- EU Safety Gate: one real weekly report from ../shared/data (report 10000285, 2025-W52),
  arwfamily/oecd-global-recalls@541ee7e8b92737a7b817389074bf255a9cb78fe3:data/raw/eu/.
- Sector tags: derived from each measure's own HS codes through the real taxonomy (method "hs"),
  the rule the classifier applies first; nothing is invented.
"""

from __future__ import annotations

import gzip
from pathlib import Path

from sqlalchemy import select

from crawlers.parsers import get_parser
from crawlers.pipelines import MeasureStore, finish_crawl_run, open_crawl_run
from crawlers.sources import load_source
from schema.engine import make_engine, session_scope
from schema.models import Measure, SectorTag
from tbt_alert.settings import Settings
from tests.crawlers.recorded import cases

SAFETY_GATE_REPORT = "safety_gate/weekly_reports/report_10000285.xml.gz"
SAFETY_GATE_URL = (
    "https://ec.europa.eu/safety-gate-alerts/api/download/weeklyReport/detail/xml/10000285"
    "?language=en&search=WEB_REPORT%7C:%7C10000285"
)
TAG_VERSION = "hs-rules-test"


def store_pages(settings: Settings, source_id: str, pages: list[tuple[bytes, str]]) -> int:
    """Parse recorded (body, url) pages with the source's real parser and store them as one crawl run
    does, follow-up links included; returns how many records the run saw. The portal bench loads its
    data with this too."""
    engine = make_engine(settings.database_url)
    try:
        config = load_source(source_id)
        parse = get_parser(source_id)
        run_id = open_crawl_run(engine, config, None, since=None)
        store = MeasureStore(engine, config, run_id)
        for body, url in pages:
            result = parse(body, url, config)
            for item in result.items:
                store.add(item)
            for reject in result.rejected:
                store.add(reject)
        store.flush()
        store.link_follow_ups()
        finish_crawl_run(store, fatal=None, errors=[], reason="finished")
        return store.counts.seen
    finally:
        engine.dispose()


def _tag_by_hs(settings: Settings) -> int:
    from classifiers.taxonomy import load_taxonomy

    taxonomy = load_taxonomy()
    engine = make_engine(settings.database_url)
    added = 0
    try:
        with session_scope(engine) as session:
            for measure in session.execute(select(Measure)).scalars():
                found: dict[str, list[str]] = {}
                for code in measure.hs_codes or []:
                    for sector, prefix in taxonomy.sectors_for_hs(code):
                        found.setdefault(sector.code, []).append(f"{code} ({prefix})")
                for sector_code, evidence in found.items():
                    session.add(
                        SectorTag(
                            measure_id=measure.id,
                            sector=sector_code,
                            score=1.0,
                            method="hs",
                            evidence={"hs_codes": evidence},
                            classifier_version=TAG_VERSION,
                        )
                    )
                    added += 1
                if found:
                    measure.tagged_version = TAG_VERSION
    finally:
        engine.dispose()
    return added


def load_real_data(settings: Settings, shared_data: Path) -> None:
    eping = [(case.body(), case.url) for case in cases("wto_eping")]
    store_pages(settings, "wto_eping", eping)
    report = gzip.decompress((shared_data / SAFETY_GATE_REPORT).read_bytes())
    store_pages(settings, "eu_safety_gate", [(report, SAFETY_GATE_URL)])
    _tag_by_hs(settings)
