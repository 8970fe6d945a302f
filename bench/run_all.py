"""Run every benchmark in bench/ and write bench/RESULTS.md.

Each ``bench/bench_*.py`` prints its own figures (and ratios against its side-by-side
baseline) as markdown; this runner adds the machine and versions and collects them.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from bench.machine import describe_machine

BENCH = Path(__file__).resolve().parent
# Arguments per benchmark for `make bench`: the backfill runs on a bounded subset of the recorded
# data (60 Safety Gate reports, 3,000 Health Canada records, every other snapshot) so 1x-10x fit
# in one `make bench` (about 15 minutes here); pass other flags to the script for the full set.
ARGS = {"bench_backfill": ["--scales", "1,2,5,10", "--sg-reports", "60", "--hc-records", "3000"]}
PACKAGES = ("torch", "transformers", "scrapy", "sqlalchemy", "elasticsearch", "apache-airflow", "fastapi")


def _machine() -> list[str]:
    lines = [
        f"- date: {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}",
        f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, {_memory()}",
        f"- {describe_machine()}",
        f"- python: {platform.python_version()} on {platform.platform()}",
    ]
    for name in PACKAGES:
        try:
            lines.append(f"- {name}: {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            lines.append(f"- {name}: not installed")
    return lines


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB RAM"
    except OSError:
        pass
    return "unknown RAM"


def main() -> int:
    only = set(sys.argv[1:])
    sections = ["# Benchmark results", "", *_machine(), ""]
    failures = 0
    for script in sorted(BENCH.glob("bench_*.py")):
        if only and script.stem not in only:
            continue
        began = time.monotonic()
        print(f"== {script.name}", flush=True)
        proc = subprocess.run(
            [sys.executable, "-m", f"bench.{script.stem}", *ARGS.get(script.stem, [])],
            capture_output=True,
            text=True,
            cwd=BENCH.parent,
            timeout=3600,
        )
        took = time.monotonic() - began
        print(proc.stdout, flush=True)
        sections += [f"## {script.stem} ({took:.0f} s wall)", ""]
        if proc.returncode != 0:
            failures += 1
            sections += [f"FAILED with exit code {proc.returncode}:", "", "```", proc.stderr[-3000:], "```", ""]
            print(proc.stderr[-3000:], file=sys.stderr)
        sections += [proc.stdout.strip(), ""]
    (BENCH / "RESULTS.md").write_text("\n".join(sections) + "\n")
    print(f"wrote {BENCH / 'RESULTS.md'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
