"""Benchmark of the HS suggestions: what they cost the classifier, and how right they are.

Run: `.venv/bin/python -m bench.bench_hs [--n 512] [--batch-size 64] [--no-accuracy]`.

Speed: the same real measures (Safety Gate alerts and ePing notifications, title +
description) classified with the committed head, once without the HS index and once with
it (the suggestions read the sentence vectors the sector head reads, so the difference is
the index alone); after one warm-up pass on other measures. Target: >= 100 measures/s.

Accuracy: the held-out case sets of ``tbt-alert evaluate --hs`` (ePing notifications with
their codes hidden, declarations with their chapter hidden, nomenclature lines with their
source hidden), HS-2/4/6 top-1 and top-3, beside the baseline of plain nearest neighbours
over the English HS-6 descriptions, and the ratio of the two on HS-4 top-3.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

from bench.machine import describe_machine


def _rate(run: Callable[[], object], n: int) -> float:
    started = time.perf_counter()
    run()
    return n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=512, help="number of measures")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--no-accuracy", action="store_true", help="speed only")
    args = parser.parse_args()
    print(describe_machine())

    from classifiers.classifier import Classifier
    from classifiers.hs_train import evaluate_hs, hs_markdown
    from classifiers.model_build import ensure_model
    from classifiers.training_data import labelled_records
    from tbt_alert.settings import load_settings

    pool = [r for r in labelled_records() if r.source in ("eu_safety_gate", "wto_eping")]
    rows = [{"title": r.title, "description": r.description} for r in pool[: args.n]]
    warmup = [{"title": r.title, "description": r.description} for r in pool[args.n : 2 * args.n]]
    settings = load_settings()
    path = ensure_model(settings)
    classifier = Classifier.load(mode="model", encoder_path=path)
    classifier.batch_size = args.batch_size
    index = classifier.hs_index
    if index is None:
        raise SystemExit("no HS index in classifiers/head; run `tbt-alert train --hs` first.")
    classifier.read(warmup)
    rates = {}
    for name, hs in (("without HS suggestions", None), ("with HS suggestions", index)):
        classifier.hs_index = hs
        rates[name] = _rate(lambda: classifier.read(rows), len(rows))
    load = os.getloadavg()[0]
    print(f"{len(rows)} measures, batch {args.batch_size}, load {load:.2f}")
    for name, rate in rates.items():
        print(f"classifier {name}: {rate:.1f} measures/s")
    without, with_hs = rates.values()
    print(
        f"ratio with / without: {with_hs / without:.3f}; target >= 100 measures/s with suggestions: "
        f"{'met' if with_hs >= 100 else 'NOT met'}"
    )
    titles = [r["title"] for r in rows]
    vectors = classifier.encoder.embed(titles)
    started = time.perf_counter()
    suggestion_rows = index.suggest(vectors, None, titles)
    print(f"suggesting alone (vectors given): {len(suggestion_rows) / (time.perf_counter() - started):.0f} measures/s")
    if args.no_accuracy:
        return
    table = evaluate_hs(path, precision=settings.encoder_precision)
    print(hs_markdown(table, index))
    for name, _language, split, ours, base in table:
        if split == "all":
            ratio = ours.top3[4] / base.top3[4] if base.top3[4] else float("inf")
            print(f"{name}: HS-4 top-3 {ours.top3[4]:.3f} vs baseline {base.top3[4]:.3f} (x{ratio:.2f})")


if __name__ == "__main__":
    main()
