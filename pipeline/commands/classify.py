"""``tbt-alert classify``, ``train`` and ``evaluate``: the sector classifier's commands."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

_MODE_HELP = (
    "tag with HS/ICS and keyword rules only, without the encoder "
    "(same as TBT_CLASSIFIER_MODE=rules; the default is the model)"
)


def register(subparsers: Any) -> None:
    classify = subparsers.add_parser("classify", help="tag pending measures (or a JSON-lines file) with sectors")
    classify.add_argument(
        "--jsonl",
        nargs=2,
        metavar=("IN", "OUT"),
        type=Path,
        help="classify records of a JSON-lines file into OUT instead of the database",
    )
    classify.add_argument("--limit", type=int, help="tag at most this many measures (with --workers 1)")
    classify.add_argument(
        "--workers",
        type=int,
        default=1,
        help="tag in this many processes, each loading the classifier once and tagging one id range "
        "of the pending measures (default 1: one process, as the pipeline's classify stage)",
    )
    classify.add_argument("--batch-size", type=int, default=64)
    classify.add_argument("--rules-only", action="store_true", help=_MODE_HELP)
    classify.add_argument(
        "--retag",
        action="store_true",
        help="tag beside the served classifier version, then, once every measure is tagged, rebuild the "
        "search index from the new version and switch readers to it (search and bulletins go on meanwhile)",
    )
    classify.add_argument(
        "--standards",
        action="store_true",
        help="only re-read every measure's cited standards (text only, no classifier; after an upgrade)",
    )
    classify.set_defaults(handler=_classify)

    train = subparsers.add_parser("train", help="train the sector head and the HS suggester on the recorded data")
    train.add_argument("--data-dir", type=Path, help="the shared data folder (default ../shared/data)")
    train.add_argument("--out", type=Path, help="where to write head.npz/head.json (default classifiers/head)")
    train.add_argument("--hs", action="store_true", help="rebuild only the HS suggester's index and name table")
    train.set_defaults(handler=_train)

    evaluate = subparsers.add_parser("evaluate", help="evaluate the classifier and two baselines; write a report")
    evaluate.add_argument("--data-dir", type=Path, help="the shared data folder (default ../shared/data)")
    evaluate.add_argument("--out", type=Path, default=Path("docs/EVALUATION.md"), help="markdown report path")
    evaluate.add_argument(
        "--previous", type=Path, help="an earlier classifier's `classify --jsonl` answers on --export-jsonl's records"
    )
    evaluate.add_argument("--export-jsonl", type=Path, help="also write the evaluation records as classify input")
    evaluate.add_argument(
        "--loso",
        help="leave these source families out of training in turn (comma-separated, or 'all'); minutes per family",
    )
    evaluate.add_argument(
        "--hs",
        action="store_true",
        help="evaluate the HS suggestions instead (HS-2/4/6 top-1 and top-3 beside the baseline; "
        "report in docs/HS_EVALUATION.md unless --out is given)",
    )
    evaluate.add_argument(
        "--standards",
        action="store_true",
        help="score the cited-standards extraction on the hand-labelled set instead (overall and per family)",
    )
    evaluate.set_defaults(handler=_evaluate)


def _mode(args: argparse.Namespace) -> str | None:
    return "rules" if args.rules_only else None


def _classify(args: argparse.Namespace) -> int:
    from tbt_alert.settings import load_settings

    settings = load_settings()
    if args.workers < 1:
        print(f"tbt-alert classify: --workers must be 1 or more, not {args.workers}.", file=sys.stderr)
        return 2
    if args.workers > 1 and (args.standards or args.jsonl or args.limit is not None):
        print(
            "tbt-alert classify: --workers tags the database's pending measures only; "
            "drop --standards, --jsonl and --limit, or use --workers 1.",
            file=sys.stderr,
        )
        return 2
    if args.standards:
        return _extract_standards(settings)
    if args.workers > 1:
        return _classify_in_workers(settings, args.workers, _mode(args), args.batch_size)
    if args.jsonl:
        from classifiers.classifier import classifier_from_settings

        source, target = args.jsonl
        return _classify_jsonl(classifier_from_settings(settings, mode=_mode(args)), source, target, args.batch_size)
    from classifiers.classifier import classifier_from_settings
    from classifiers.tagging import tag_pending
    from schema.engine import engine_scope

    classifier = classifier_from_settings(settings, mode=_mode(args))
    with engine_scope(settings) as engine:
        outcome = tag_pending(engine, classifier, limit=args.limit, batch_size=args.batch_size)
    print(
        f"tagged {outcome.measures_tagged} measures with {outcome.tags_written} sector tags and "
        f"{outcome.hs_suggestions_written} suggested HS codes and {outcome.standards_written} cited standards, "
        f"{outcome.vectors_reused} from stored sentence vectors of unchanged text "
        f"(classifier {outcome.classifier_version}, mode {outcome.mode}, {outcome.seconds}s; "
        f"{outcome.remaining} still pending)"
    )
    if args.retag:
        return _switch(settings, outcome.remaining)
    return 0


def _switch(settings: Any, remaining: int) -> int:
    from search.lifecycle import switch_version

    if remaining:
        print(f"not switched yet: {remaining} measures still to tag; readers keep the active classifier version")
        return 0
    rebuilt = switch_version(settings)
    if rebuilt is None:
        print("nothing to switch: the classifier version tagged is the active one")
        return 0
    print(
        f"switched to classifier {rebuilt.switched_to}: index {rebuilt.measures_index} rebuilt with "
        f"{rebuilt.measures} measures in {rebuilt.seconds:.1f}s; pruned {rebuilt.pruned[0]} sector tags and "
        f"{rebuilt.pruned[1]} HS suggestions of the previous version"
    )
    return 0


def _classify_in_workers(settings: Any, workers: int, mode: str | None, batch_size: int) -> int:
    """Plan the pending measures in ``workers`` id ranges and tag them in as many spawned processes."""
    import dataclasses
    import time
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from multiprocessing import get_context

    from classifiers.encoder import available_cpus
    from classifiers.partitions import plan_partitions, planned_version
    from schema.engine import engine_scope

    started = time.monotonic()
    settings = dataclasses.replace(settings, classifier_mode=mode or settings.classifier_mode)
    with engine_scope(settings) as engine:
        plan = plan_partitions(engine, planned_version(settings), workers)
    # The CPUs shared out: N processes of all-CPU torch each would only fight over the cores.
    threads = max(1, available_cpus() // len(plan))
    outcomes: dict[int, dict[str, Any]] = {}
    failures: dict[int, str] = {}
    # spawn, not fork: a forked child would inherit the parent's engine and any torch threads.
    with ProcessPoolExecutor(max_workers=len(plan), mp_context=get_context("spawn")) as pool:
        futures = {
            pool.submit(_tag_partition_process, p.as_dict(), settings.classifier_mode, batch_size, threads): p
            for p in plan
        }
        for future in as_completed(futures):
            partition = futures[future]
            try:
                outcomes[partition.index] = future.result()
            except Exception as exc:  # noqa: BLE001 - one partition's failure is reported, the others finish
                failures[partition.index] = f"{type(exc).__name__}: {exc}"
    total = tagged = 0
    for partition in plan:
        name = f"partition {partition.label} ({partition.first_id or '…'} .. {partition.last_id or '…'})"
        if partition.index in failures:
            print(f"{name}: FAILED, {failures[partition.index]}")
            continue
        done = outcomes[partition.index]
        tagged += done["measures_tagged"]
        total += done["tags_written"]
        print(
            f"{name}: tagged {done['measures_tagged']} measures with {done['tags_written']} sector tags "
            f"in {done['seconds']}s; {done['remaining']} still pending"
        )
    print(
        f"tagged {tagged} measures with {total} sector tags in {len(plan)} partitions "
        f"(classifier {plan[0].classifier_version}, {round(time.monotonic() - started, 2)}s)"
    )
    if failures:
        print(
            f"tbt-alert classify: {len(failures)} partition(s) failed; what they tagged is kept, "
            "run the same command again to tag the rest.",
            file=sys.stderr,
        )
        return 1
    return 0


def _tag_partition_process(partition: dict[str, Any], mode: str, batch_size: int, threads: int) -> dict[str, Any]:
    """One worker process: load the classifier once, tag one partition, return its counts."""
    import dataclasses

    from classifiers.classifier import classifier_from_settings
    from classifiers.partitions import Partition, tag_partition
    from schema.engine import engine_scope
    from tbt_alert.settings import load_settings

    settings = load_settings()
    classifier = classifier_from_settings(settings, mode=mode)
    if classifier.encoder is not None:
        import torch

        torch.set_num_threads(threads)
    with engine_scope(settings) as engine:
        outcome = tag_partition(engine, classifier, Partition.from_dict(partition), batch_size=batch_size)
    return dataclasses.asdict(outcome)


def _extract_standards(settings: Any) -> int:
    from classifiers.tagging import extract_all_standards
    from schema.engine import engine_scope

    with engine_scope(settings) as engine:
        read, stored = extract_all_standards(engine)
    print(f"read the cited standards of {read} measures: {stored} citations stored")
    return 0


def _classify_jsonl(classifier: Any, source: Path, target: Path, batch_size: int) -> int:
    from classifiers.language import detect_language
    from classifiers.standards import record_standards

    records: list[dict[str, Any]] = []
    errors = 0
    with source.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                print(f"tbt-alert: {source}, line {number}: not JSON ({exc.msg}); line skipped.", file=sys.stderr)
                errors += 1
                continue
            if not isinstance(record, dict):
                print(f"tbt-alert: {source}, line {number}: not a JSON object; line skipped.", file=sys.stderr)
                errors += 1
                continue
            records.append(record)
    # The language first: the classifier calibrates by language group, and a whole record's
    # text identifies its language better than the classifier's script-and-words reading.
    for record in records:
        if not record.get("language"):
            text = " ".join(str(record.get(k) or "") for k in ("title", "description", "products"))
            record["language"] = detect_language(text)
    with target.open("w", encoding="utf-8") as out:
        for start in range(0, len(records), batch_size):
            chunk = records[start : start + batch_size]
            for record, reading in zip(chunk, classifier.read(chunk), strict=True):
                # Suggested codes beside, never inside, the record's own hs_codes.
                result = dict(
                    record,
                    sectors=[p.as_dict() for p in reading.sectors],
                    hs_suggested=[s.as_dict() for s in reading.hs_suggested],
                    standards=[s.as_dict() for s in record_standards(record)],
                )
                out.write(json.dumps(result, ensure_ascii=False) + "\n")
    print(f"classified {len(records)} records into {target} (classifier {classifier.version}); {errors} lines skipped")
    return 1 if errors else 0


def _train(args: argparse.Namespace) -> int:
    from classifiers.head import HEAD_DIR
    from classifiers.model_build import ensure_model
    from classifiers.train import train
    from tbt_alert.settings import load_settings

    settings = load_settings()
    if args.hs:
        from classifiers.hs_train import train_hs

        report = train_hs(
            ensure_model(settings), data_dir=args.data_dir, out=args.out, precision=settings.encoder_precision
        )
        print(
            f"HS index built: parameters {report.params.as_dict()}, validation objective {report.objective:.4f}, "
            f"match threshold {report.match_threshold:.3f}; saved to {args.out or HEAD_DIR}"
        )
        return 0
    result = train(
        ensure_model(settings), data_dir=args.data_dir, out=args.out or HEAD_DIR, precision=settings.encoder_precision
    )
    print(
        f"head trained ({result.head.meta.get('kind')}, {settings.encoder_precision} encoder): "
        f"validation micro-F1 {result.val_micro_f1:.4f}; saved to {args.out or HEAD_DIR}"
    )
    from classifiers.hs_train import train_hs

    report = train_hs(
        ensure_model(settings), data_dir=args.data_dir, out=args.out, precision=settings.encoder_precision
    )
    print(f"HS index built (match threshold {report.match_threshold:.3f}); saved to {args.out or HEAD_DIR}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from classifiers.evaluate import evaluate
    from classifiers.model_build import ensure_model
    from tbt_alert.settings import load_settings

    if args.hs:
        return _evaluate_hs(args)
    if args.standards:
        return _evaluate_standards()
    markdown, _ = evaluate(
        ensure_model(load_settings()),
        data_dir=args.data_dir,
        out=args.out,
        previous=args.previous,
        loso=args.loso.split(",") if args.loso else None,
        export=args.export_jsonl,
    )
    print(markdown)
    print(f"\nreport written to {args.out}")
    return 0


def _evaluate_standards() -> int:
    from classifiers.standards_eval import evaluate_standards, evaluation_table

    evaluation = evaluate_standards()
    print(evaluation_table(evaluation))
    # Issue 27's target; a regression below it fails the command (and CI that runs it).
    return 0 if evaluation.overall.precision >= 0.95 and evaluation.overall.recall >= 0.95 else 1


def _evaluate_hs(args: argparse.Namespace) -> int:
    from classifiers.head import HEAD_DIR
    from classifiers.hs_suggest import HsIndex
    from classifiers.hs_train import evaluate_hs, hs_markdown
    from classifiers.model_build import ensure_model
    from tbt_alert.settings import load_settings

    settings = load_settings()
    rows = evaluate_hs(ensure_model(settings), data_dir=args.data_dir, precision=settings.encoder_precision)
    markdown = "# HS suggestions: held-out accuracy\n\n" + hs_markdown(rows, HsIndex.load(HEAD_DIR))
    out = args.out if args.out != Path("docs/EVALUATION.md") else Path("docs/HS_EVALUATION.md")
    out.write_text(markdown, encoding="utf-8")
    print(markdown)
    print(f"report written to {out}")
    return 0
