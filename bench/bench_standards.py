"""Benchmark: what extracting cited standards adds to classification (issue 27 target: < 5 %).

Run: `.venv/bin/python -m bench.bench_standards [--n 256] [--rules-only]`.
Records are the 226 real texts of the hand-labelled set (``tests/standards/citations.jsonl``:
Safety Gate, Health Canada, CPSC, ePing, Rosstandart), most of them citing standards, so
extraction meets real work; the warm-up pass reads other real Safety Gate and ePing records.
The classifier is timed after that warm-up pass; extraction (``record_standards`` over every
text field) is timed over the same records, repeated for at least a second so the figure is
not lost in timer noise. The machine is shared: the 1-minute load average is printed beside
each figure.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any


def _load() -> str:
    return f"load {os.getloadavg()[0]:.2f}"


def _extraction_seconds_per_pass(rows: list[dict[str, Any]]) -> tuple[float, int]:
    from classifiers.standards import record_standards

    passes = found = 0
    started = time.perf_counter()
    while passes == 0 or time.perf_counter() - started < 1.0:
        found = sum(len(record_standards(row)) for row in rows)
        passes += 1
    return (time.perf_counter() - started) / passes, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rules-only", action="store_true", help="time the rules-only classifier (no encoder)")
    args = parser.parse_args()

    from classifiers.classifier import Classifier
    from classifiers.standards_eval import CITATIONS_PATH
    from classifiers.training_data import labelled_records

    texts = [json.loads(line)["text"] for line in CITATIONS_PATH.read_text(encoding="utf-8").splitlines() if line]
    rows: list[dict[str, Any]] = [{"title": t[:120], "description": t} for t in texts]
    pool = [r for r in labelled_records() if r.source in ("eu_safety_gate", "wto_eping")]
    warmup: list[dict[str, Any]] = [{"title": r.title, "description": r.description} for r in pool[:128]]
    if args.rules_only:
        classifier = Classifier.load(mode="rules")
    else:
        from classifiers.model_build import ensure_model
        from tbt_alert.settings import load_settings

        classifier = Classifier.load(mode="model", encoder_path=ensure_model(load_settings()))
    classifier.classify(warmup)
    started = time.perf_counter()
    classifier.classify(rows)
    classify_s = time.perf_counter() - started
    classify_load = _load()
    extract_s, found = _extraction_seconds_per_pass(rows)
    share = 100 * extract_s / classify_s
    print(
        f"{len(rows)} measures; classifier ({classifier.mode}): {classify_s:.3f} s ({classify_load}); "
        f"standards extraction: {extract_s * 1000:.1f} ms ({_load()}), {found} citations found; "
        f"extraction adds {share:.2f} % to classification (target < 5 %: {'met' if share < 5 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
