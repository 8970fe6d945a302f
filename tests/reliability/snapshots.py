"""Replay snapshots built from the complete recorded data in ../shared/data, for tests that
need more than the small snapshots in crawlers/sources/<id>/recorded, and for bench/bench_backfill.py.

The report bodies are the real recorded files (linked, not copied). What is constructed is
said in each folder's meta.json: the Safety Gate *list* of reports (the recorded list is an
excerpt of 42 entries; ours lists the chosen reports of MANIFEST.csv in the real list's
format), and the URLs, which follow the documented API pattern.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from tests.paths import SHARED_DATA

SHARED = SHARED_DATA
SAFETY_GATE = SHARED / "safety_gate"
HEALTH_CANADA_DUMP = SHARED / "health_canada" / "HCRSAMOpenData_en_until_2025.json.gz"
LIST_URL = "https://ec.europa.eu/safety-gate-alerts/api/download/weeklyReport/list/xml/en"
REPORT_URL = (
    "https://ec.europa.eu/safety-gate-alerts/api/download/weeklyReport/detail/xml/{id}"
    "?language=en&search=WEB_REPORT%7C:%7C{id}"
)
HEALTH_CANADA_URL = "https://recalls-rappels.canada.ca/sites/default/files/opendata-donneesouvertes/HCRSAMOpenData.json"


@dataclass(frozen=True)
class WeeklyReport:
    """One row of safety_gate/MANIFEST.csv."""

    file: str
    report_id: str
    published: dt.date
    week: int
    notifications: int


def manifest() -> list[WeeklyReport]:
    with (SAFETY_GATE / "MANIFEST.csv").open(encoding="utf-8") as handle:
        return [
            WeeklyReport(
                file=row["file"],
                report_id=row["report_id"],
                published=dt.datetime.strptime(row["report_date"], "%d/%m/%Y").date(),
                week=int(row["report_week"]),
                notifications=int(row["notifications"]),
            )
            for row in csv.DictReader(handle)
        ]


def _list_entry(report: WeeklyReport) -> str:
    day = report.published
    # The real list's format, trailing comma in the URL included (see crawlers/sources/eu_safety_gate/recorded).
    url = REPORT_URL.format(id=report.report_id).replace("&", "&amp;")
    return (
        f"<weeklyReport><report_language>en</report_language><reference>Report-{day.year}-{report.week}</reference>"
        f"<publicationDate>{day:%d/%m/%Y}</publicationDate><year>{day.year}</year><month>{day.month}</month>"
        f"<day>{day.day}</day><week>{report.week}</week><URL>{url},</URL></weeklyReport>"
    )


def safety_gate_snapshot(folder: Path, reports: list[WeeklyReport]) -> Path:
    """``folder/eu_safety_gate/``: a constructed list of ``reports`` and their real recorded bodies."""
    target = folder / "eu_safety_gate"
    target.mkdir(parents=True, exist_ok=True)
    entries = "".join(_list_entry(r) for r in sorted(reports, key=lambda r: r.published, reverse=True))
    (target / "weekly_list.xml").write_text(
        f'<?xml version="1.0" encoding="UTF-8"?><Safety-Gate>{entries}</Safety-Gate>\n', encoding="utf-8"
    )
    exchanges = [
        {"url": LIST_URL, "headers": {"Content-Type": "application/xml;charset=UTF-8"}, "body": "weekly_list.xml"}
    ]
    for report in reports:
        link = target / report.file
        if not link.exists():
            link.symlink_to(SAFETY_GATE / "weekly_reports" / report.file)
        exchanges.append(
            {
                "url": REPORT_URL.format(id=report.report_id),
                "headers": {"Content-Type": "application/xml;charset=UTF-8"},
                "body": report.file,
            }
        )
    (target / "exchanges.json").write_text(json.dumps({"source": "eu_safety_gate", "exchanges": exchanges}, indent=1))
    (target / "meta.json").write_text(
        json.dumps(
            {
                "source": "eu_safety_gate",
                "constructed": True,
                "why": "weekly_list.xml is constructed from ../shared/data/safety_gate/MANIFEST.csv in the real "
                "list's format so that the chosen recorded reports are crawled; each report body is the real "
                "recorded file (arwfamily/oecd-global-recalls@541ee7e8b92737a7b817389074bf255a9cb78fe3:data/raw/eu/).",
                "reports": len(reports),
                "alerts": sum(r.notifications for r in reports),
            },
            indent=1,
        )
    )
    return target


def health_canada_snapshot(folder: Path) -> Path:
    """``folder/ca_health_canada/``: the whole recorded English dump (32,832 records)."""
    target = folder / "ca_health_canada"
    target.mkdir(parents=True, exist_ok=True)
    link = target / HEALTH_CANADA_DUMP.name
    if not link.exists():
        link.symlink_to(HEALTH_CANADA_DUMP)
    (target / "exchanges.json").write_text(
        json.dumps(
            {
                "source": "ca_health_canada",
                "spider_args": {"languages": "en"},
                "exchanges": [
                    {
                        "url": HEALTH_CANADA_URL,
                        "headers": {"Content-Type": "application/json"},
                        "body": HEALTH_CANADA_DUMP.name,
                    }
                ],
            },
            indent=1,
        )
    )
    (target / "meta.json").write_text(
        json.dumps(
            {
                "source": "ca_health_canada",
                "constructed": False,
                "provenance": "arwfamily/oecd-global-recalls@541ee7e8b92737a7b817389074bf255a9cb78fe3:"
                "data/raw/canada/latest.json.gz (via /work/shared/data/health_canada/, "
                "records updated before 2026)",
            },
            indent=1,
        )
    )
    return target
