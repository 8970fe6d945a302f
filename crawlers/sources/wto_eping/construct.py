"""Builds the constructed ePing getAll pages in recorded/ from real rows (run once, kept for provenance).

No complete recorded getAll response is public (see meta.json). Every VALUE below comes from a real
record in ../shared/data/eping/; only the JSON SHAPE is ours: field names, nesting and paging as the
independent public clients of the live API read them (meta.json lists them), e.g. SPS keywords as
``spsKeywords`` and affected members as ``countriesAffected: [{"name": ...}]``.
Run: .venv/bin/python -m crawlers.sources.wto_eping.construct
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

from crawlers.recorded import write_recorded

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[2].parent / "shared" / "data" / "eping"
PAGE_SIZE = 10
URL = (
    "https://epingalert.org/api/v1/azureSearch/getAll?language=1&domainIds={domain}"
    "&sortBy=distributionDate&sortDirection=desc&page={page}&pageSize=10"
)


def split_objectives(text: str) -> list[str]:
    # Objective names contain commas ("Consumer information, labelling (TBT)"); each ends in (TBT)/(SPS).
    return [m.strip() for m in re.findall(r"\s*(.+?\((?:TBT|SPS)\))\s*(?:[,;]|$)", text)] if text else []


def coded(text: str) -> list[dict[str, str]]:
    # "3210 - Other paints ...; 0102 - Live bovine animals" -> [{code, name}], as the export printed them.
    parts = re.split(r";\s*(?=[\d.]{2,12}\s+-\s)", text) if text else []
    out = []
    for part in parts:
        code, _, name = part.partition(" - ")
        out.append({"code": code.strip(), "name": name.strip()})
    return out


def from_gcc(entry: dict[str, Any]) -> dict[str, Any]:
    meta = entry["meta"]
    item = {
        "id": int(entry["uid"]),
        "documentSymbol": meta["Document symbol(s)"],
        "notifyingMember": meta["Notifying member"],
        "area": meta["Area"],
        "distributionDate": meta["Distribution date"] + "T00:00:00",
        "commentDeadlineDate": meta["Comment deadline"] + "T00:00:00",
        "title": entry["title"],
        "titlePlain": entry["title"],
        "descriptionPlain": entry["summary"],
        "productsFreeText": meta["Products"],
        "objectives": split_objectives(meta["Objectives"]),
        "linkToNotification": entry["link"],
    }
    if entry.get("extra_link"):
        item["notifiedDocumentLink"] = entry["extra_link"]
    return item


def named(names: list[str]) -> list[dict[str, str]]:
    # Objects with a name, as the live API's keyword and member lists are read by its clients.
    return [{"name": n} for n in names]


def from_csv(row: dict[str, Any], hs_as_objects: bool, sps: bool) -> dict[str, Any]:
    keywords = [k.strip() for k in row["Keywords"].split(";") if k.strip()]
    item: dict[str, Any] = {
        "documentSymbol": row["Document symbol"],  # empty in the export: kept empty, never made up
        "notifyingMember": row["Notifying Member"],
        "distributionDate": row["Distribution date"],
        "titlePlain": row["Title"],
        "descriptionPlain": row["Description"],
        "productsFreeText": row["Products covered"],
        "objectives": split_objectives(row["Objectives"]),
        # SPS notifications carry their keywords as spsKeywords (TBT ones as keywords).
        ("spsKeywords" if sps else "keywords"): named(keywords) if sps else keywords,
        "notificationType": row["Notification type"],
    }
    hs = coded(row["HS code(s)"])
    if hs:
        item["hsCodes"] = hs if hs_as_objects else [h["code"] for h in hs]
    ics = coded(row["ICS code(s)"])
    if ics:
        item["icsCodes"] = ics
    if row["Final date for comments"]:
        item["commentDeadlineDate"] = row["Final date for comments"]
    if row["Notified document"]:
        # The export puts one document a line; the API joins them with commas (real GCC values).
        item["notifiedDocumentLink"] = ",".join(row["Notified document"].split())
    affected = row["Specific regions or countries likely to be affected"]
    if affected:
        # One cell, one entry: "Brazil, Rio Grande do Sul" is one region, so the cell is never split.
        item["countriesAffected"] = named([affected])
    return item


def domain_of(row: dict[str, Any]) -> str | None:
    signals = row["Notified document"] + " " + row["Objectives"] + " " + row["Notification type"]
    if "/TBT/" in signals or "(TBT)" in signals:
        return "TBT"
    if "/SPS/" in signals or "(SPS)" in signals:
        return "SPS"
    return None  # e.g. Egypt 2025-06-05: nothing says which agreement; left out


def main() -> None:
    gcc = json.loads((DATA / "gcc_tbt_notifications_normalized.json").read_text(encoding="utf-8"))
    entries = gcc["eping_gcc_43020"]["entries"]
    rows = list(csv.DictReader((DATA / "eping_export_sample_32.csv").open(encoding="utf-8-sig")))
    tbt = [from_gcc(e) for e in entries] + [from_csv(r, True, False) for r in rows if domain_of(r) == "TBT"]
    sps = [from_csv(r, False, True) for r in rows if domain_of(r) == "SPS"]
    for domain, items in (("1", tbt), ("2", sps)):
        items.sort(key=lambda i: i["distributionDate"][:10], reverse=True)  # sortBy=distributionDate desc
        for start in range(0, len(items), PAGE_SIZE):
            page = start // PAGE_SIZE + 1
            chunk = items[start : start + PAGE_SIZE]
            body = {"items": chunk, "totalCount": len(items), "page": page, "pageSize": PAGE_SIZE}
            name = f"{'tbt' if domain == '1' else 'sps'}_page_{page}.json"
            write_recorded(HERE, name, json.dumps(body, ensure_ascii=False, indent=1) + "\n")
            print(name, len(chunk), URL.format(domain=domain, page=page))


if __name__ == "__main__":
    main()
