"""Builds the recorded bodies of ru_rosstandart from the real records (run once, kept for provenance).

recorded/registry_excerpt.json: a real EXCERPT of the third party's normalised registry (the first
20 draft standards, every one carrying 'matched_keywords' among them, and the first 3 notices on codes
of practice), values and field names untouched.
recorded/api_page_{1,2}.json: CONSTRUCTED pages of the fgis.gost.ru JSON API. Field names and the
link format come from that third party's scraper (src/gost_scraper.py, which reads the live API);
every value comes from a real record. Run: .venv/bin/python -m crawlers.sources.ru_rosstandart.construct
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crawlers.recorded import write_recorded

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[2].parent / "shared" / "data" / "multilingual" / "ru" / "rosstandart_draft_standards.json"
API_FIELDS = {
    "program": "@rsprs-nds:subProgram",
    "doc_type": "@rsprs-nds:gostR",
    "project_name": "@rsprsPrns:draftSt",
    "technical_committee": "@rsprsPrns:tk",
    "developer": "@rsprsDeveloper:flUl",
    "start_date": "@rsprs-nds:submitted-public-discussion-date",
    "end_date": "@rsprs-nds:public-discussion-completed-date",
    "status": "@lecm-statemachine:status",
}


def api_row(record: dict[str, Any]) -> dict[str, Any]:
    link = f"<a target='_blank' href='../rsprs/nds-details?uuid={record['id']}'>{record['prns_code']}</a>"
    row = {"@rsprsPrns:prns": link}
    row.update({api: record[name] for name, api in API_FIELDS.items()})
    return row


def main() -> None:
    data = json.loads(DATA.read_text(encoding="utf-8"))
    gost = data["gost"]
    with_keywords = [r for r in gost if "matched_keywords" in r]
    sample = gost[:19] + with_keywords[:1]
    excerpt = {"metadata": data["metadata"], "gost": sample, "sp": data["sp"][:3]}
    write_recorded(HERE, "registry_excerpt.json", json.dumps(excerpt, ensure_ascii=False, indent=2) + "\n")
    rows = [api_row(r) for r in gost[20:60]]
    for page in (1, 2):
        body = {"total": "2", "records": str(len(rows)), "page": page, "rows": rows[(page - 1) * 20 : page * 20]}
        write_recorded(HERE, f"api_page_{page}.json", json.dumps(body, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    main()
