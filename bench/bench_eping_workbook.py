"""Stream-parsing ePing's bulk workbook (Notification_EN.xlsx, every notification since 1995).

The workbook is CONSTRUCTED (no real bulk workbook is recorded): the 32 real rows of ePing's
export CSV (../shared/data/eping/eping_export_sample_32.csv) repeated to ~150,000 rows, each copy
with its own made-up symbols (crawlers/sources/wto_eping_excel/construct.py); in every copy but
the first, the words of the title and description are shuffled (seeded) and the copy number
appended, so the shared string table grows as the real one does (each notification's texts are
its own) and the file compresses like real text rather than like 32 rows said again and again.
The copies' texts are therefore not real sentences: only their size and make-up are. It is
written the way ePing's workbooks are laid out: a shared string table, symbol and link cells as
HYPERLINK formulas without a cached value, dates as serial numbers with a date style.

Each scenario runs in its own process, so its peak memory (max RSS) is its own:

- ``rows_lxml``: our reader (crawlers/parsers/_xlsx.py, lxml iterparse), cells only;
- ``rows_openpyxl``: openpyxl's read-only mode over the same sheet, cells only (the baseline);
- ``parse``: our reader + the wto_eping_excel parser -> MeasureItems (what `tbt-alert parse` does);
- ``parse_store_ready``: + the crawl pipeline's validate and normalise stages (language detection),
  i.e. everything `tbt-alert import eping` does before the database.

Target: the whole history in under 5 minutes and under 1 GB.

Measured 2026-12-07 on a shared 2-CPU AMD EPYC (load average 5-8 from other work), 150,000 rows,
44.7 MB (sheet 165 MB and shared strings 121 MB expanded): our reader 24.6 CPU s (57 s wall), openpyxl
read-only 42.9 CPU s (99 s); parse 127.8 CPU s (249 s wall, 602 rows/s), peak 229 MB; with the
validate and normalise stages 141.1 CPU s (228 s wall), peak 250 MB. Target met on both clocks.
Usage: ``python -m bench.bench_eping_workbook [--rows 150000] [--workbook PATH]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = ("rows_lxml", "rows_openpyxl", "parse", "parse_store_ready")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def bulk_rows(count: int) -> Iterator[list[Any]]:
    """``count`` worksheet rows: the real rows over and over, each copy with its own symbols and texts."""
    from crawlers.sources.wto_eping_excel.construct import HEADERS, constructed_rows, real_rows

    real = real_rows()
    title, description = HEADERS.index("Title"), HEADERS.index("Description")
    made = 0
    copy = 0
    while made < count:
        batch = real[: count - made]
        for values in constructed_rows(batch, first_number=10001 + made):
            for column in (title, description):
                if values[column] and copy:
                    words = str(values[column]).split(" ")
                    random.Random(made * 17 + column).shuffle(words)  # seeded: the same workbook each run
                    values[column] = f"{' '.join(words)} [copy {copy}]"
            yield values
        made += len(batch)
        copy += 1


def build(path: Path, count: int) -> dict[str, Any]:
    from crawlers.sources.wto_eping_excel.construct import write_shared_strings_workbook

    began = time.perf_counter()
    write_shared_strings_workbook(path, bulk_rows(count))
    return {"rows": count, "seconds": round(time.perf_counter() - began)}


def sizes(path: Path) -> str:
    """The file's size, and what its sheet and shared string table expand to (what the reader parses)."""
    with zipfile.ZipFile(path) as archive:
        parts = {i.filename: i.file_size for i in archive.infolist()}
    expanded = [
        f"{name.rsplit('/', 1)[-1]} {size / 1e6:.0f} MB"
        for name, size in sorted(parts.items())
        if "worksheets/" in name or "sharedStrings" in name
    ]
    return f"{path.stat().st_size / 1e6:.1f} MB (expanded: {', '.join(expanded)})"


def scenario(name: str, path: Path) -> dict[str, Any]:
    began = time.perf_counter()
    counts: dict[str, int] = {}
    if name == "rows_lxml":
        from crawlers.parsers._xlsx import sheet_rows

        counts["rows"] = sum(1 for _ in sheet_rows(path)) - 1
    elif name == "rows_openpyxl":
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True)
        counts["rows"] = sum(1 for _ in book.worksheets[0].iter_rows()) - 1
        book.close()
    else:
        from crawlers.items import MeasureItem
        from crawlers.normalize import normalise
        from crawlers.pipelines import check_item
        from crawlers.sources import load_source
        from crawlers.sources.wto_eping_excel.parser import read_workbook

        config = load_source("wto_eping_excel")
        items = rejected = 0
        for entry in read_workbook(path, config):
            if name == "parse_store_ready" and isinstance(entry, MeasureItem):
                checked = check_item(entry, config)
                entry = normalise(checked, config) if isinstance(checked, MeasureItem) else checked
            if isinstance(entry, MeasureItem):
                items += 1
            else:
                rejected += 1
        counts = {"rows": items + rejected, "items": items, "rejected": rejected}
    seconds = time.perf_counter() - began
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak_mb = usage.ru_maxrss / 1024
    return {
        "scenario": name,
        "seconds": round(seconds, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "rows_per_s": round(counts["rows"] / seconds) if seconds else 0,
        "peak_mb": round(peak_mb),
        **counts,
    }


def _run(name: str, path: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.bench_eping_workbook", "--scenario", name, "--workbook", str(path)]
    out = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, check=False, env={**os.environ, "PYTHONPATH": str(REPO)}
    )
    if out.returncode != 0:
        raise SystemExit(f"scenario {name} failed:\n{out.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=150_000, help="rows of the constructed bulk workbook")
    parser.add_argument("--workbook", type=Path, help="use this workbook (built there first if it is missing)")
    parser.add_argument("--scenario", choices=SCENARIOS, help=argparse.SUPPRESS)
    parser.add_argument("--only", help="comma-separated scenarios to run (default: all)")
    args = parser.parse_args()
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    if args.scenario:
        print(json.dumps(scenario(args.scenario, args.workbook)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        path = args.workbook or Path(tmp) / "Notification_EN_constructed.xlsx"
        print(f"CPU: {cpu_model()} ({os.cpu_count()} CPUs); Python {platform.python_version()}")
        if not path.exists():
            made = build(path, args.rows)
            print(f"built a CONSTRUCTED bulk workbook of {made['rows']:,} rows in {made['seconds']} s")
        print(f"workbook: {path.name}, {sizes(path)}")
        print()
        print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (the machine may be shared)")
        print("| scenario | rows | items | rejected | wall s | CPU s | rows/s (wall) | peak MB |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        results = {}
        for name in args.only.split(",") if args.only else SCENARIOS:
            r = results[name] = _run(name, path)
            print(
                f"| {name} | {r['rows']:,} | {r.get('items', '')} | {r.get('rejected', '')} | {r['seconds']} "
                f"| {r['cpu_s']} | {r['rows_per_s']:,} | {r['peak_mb']} |",
                flush=True,
            )
        if "rows_lxml" in results and "rows_openpyxl" in results:
            wall, cpu = (results["rows_openpyxl"][k] / max(results["rows_lxml"][k], 0.01) for k in ("seconds", "cpu_s"))
            print(f"\nreading the sheet: lxml iterparse is {wall:.1f}x (wall) / {cpu:.1f}x (CPU) openpyxl read-only")
        biggest = max(results.values(), key=lambda r: r["peak_mb"])
        for clock, key in (("wall", "seconds"), ("CPU", "cpu_s")):
            worst = max(results.values(), key=lambda r: r[key])
            verdict = "met" if worst[key] < 300 and biggest["peak_mb"] < 1024 else "NOT met"
            print(
                f"target (< 5 min, < 1 GB) on {clock} time: {verdict} - slowest {worst['scenario']} {worst[key]} s, "
                f"largest {biggest['scenario']} {biggest['peak_mb']} MB"
            )
        print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}; wall time counts other work too")
    return 0


if __name__ == "__main__":
    sys.exit(main())
