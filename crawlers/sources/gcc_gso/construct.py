"""Builds the CONSTRUCTED page of gcc_gso from real GCC TBT notifications (run once, kept for provenance).

No page of the GCC Standardization Organization's list of draft Gulf technical regulations was ever
recorded. The page below is shaped by us (HTML, column headings) after what GSO says it publishes
for comment (draft, its purpose, products, comment period, the text). Every value comes from a real
TBT notification of the GCC members in ../shared/data/eping/gcc_tbt_notifications_normalized.json:
the notifications that all GSO members made jointly (one entry per member, listing every member's
symbol) describe one Gulf technical regulation each, so each becomes one row (values of the first
member's entry). National (single-member) notifications are left out: they are not GSO's. That
file's machine-generated fields (note, severity, summarised_at) are not source data and are not used.
Run: .venv/bin/python -m crawlers.sources.gcc_gso.construct
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from crawlers.recorded import table_page, write_recorded

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[2].parent / "shared" / "data" / "eping" / "gcc_tbt_notifications_normalized.json"


def joint_notifications() -> list[dict[str, Any]]:
    entries = json.loads(DATA.read_text(encoding="utf-8"))["eping_gcc_43020"]["entries"]
    seen: dict[str, dict[str, Any]] = {}
    for entry in entries:
        symbols = entry["meta"]["Document symbol(s)"]
        if "," in symbols:
            seen.setdefault(symbols, entry)
    return list(seen.values())


def row(entry: dict[str, Any]) -> str:
    meta = entry["meta"]
    e = html.escape
    documents = " ".join(
        f'<a href="{e(link)}">{e(link.rsplit("/", 1)[-1])}</a>' for link in entry["extra_link"].split(",") if link
    )
    return f"""      <tr>
        <td>{e(entry["title"])}</td>
        <td>{e(entry["summary"])}</td>
        <td>{e(meta["Products"])}</td>
        <td>{e(meta["Objectives"])}</td>
        <td>{e(meta["Document symbol(s)"])}</td>
        <td>{e(meta["Distribution date"])}</td>
        <td>{e(meta["Comment deadline"])}</td>
        <td><a href="{e(entry["link"])}">WTO notification</a></td>
        <td>{documents}</td>
      </tr>"""


def page() -> str:
    rows = "\n".join(row(entry) for entry in joint_notifications())
    return table_page(
        lang="en",
        title="Draft Gulf Technical Regulations for comment - GSO",
        heading="Draft Gulf Technical Regulations",
        columns=[
            "Title",
            "Description",
            "Products",
            "Objectives",
            "WTO notifications",
            "Date of distribution",
            "Final date for comments",
            "Notification",
            "Notified text",
        ],
        rows=rows,
        html_attrs=' dir="ltr"',
    )


def main() -> None:
    write_recorded(HERE, "draft_regulations_constructed.html", page())


if __name__ == "__main__":
    main()
