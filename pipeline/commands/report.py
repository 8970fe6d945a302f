"""`tbt-alert report ...`: build analysts' reports (the recall-risk report)."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    parser = sub.add_parser("report", help="reports for analysts: recall-risk analysis (HTML + PDF)")
    report_sub = parser.add_subparsers(dest="report_command", metavar="REPORT", required=True)
    risk = report_sub.add_parser(
        "recall-risk",
        help="China-made recalls by market, sector and hazard, risk scores and the rules behind them",
    )
    risk.add_argument(
        "--period",
        required=True,
        help="2025 (year), 2025-Q4 (quarter), 2025-11 (month), 2025-W48 (ISO week) or 2005..2025 (years)",
    )
    risk.add_argument("--market", help="only this market: EU or an ISO country code (USA, CAN, AUS)")
    risk.add_argument("--sector", help="only this sector code of the taxonomy (e.g. toys)")
    risk.add_argument("--out", type=Path, help="also copy the HTML, PDF and CSV into this folder")
    risk.set_defaults(handler=_recall_risk)

    comparison = report_sub.add_parser(
        "standards",
        help="the standards-comparison export: cited standards per sector and market (CSV), issue 27",
    )
    comparison.add_argument("--market", help="only measures of this market (ISO alpha-3, e.g. DEU; EUR = the EU)")
    comparison.add_argument("--sector", help="only this sector code of the taxonomy (e.g. toys)")
    comparison.add_argument("--out", type=Path, required=True, help="the CSV file to write")
    comparison.set_defaults(handler=_standards)


def _recall_risk(args: argparse.Namespace) -> int:
    from reports.recall_risk import build_report
    from tbt_alert.settings import load_settings

    settings = load_settings()
    outcome = build_report(settings, args.period, market=args.market, sector=args.sector)
    summary = outcome.summary
    paths = [
        outcome.html_path,
        outcome.pdf_path,
        outcome.html_path.with_suffix(".csv"),
        outcome.html_path.with_name(outcome.html_path.stem + "_standards.csv"),
    ]
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        paths = [Path(shutil.copy2(p, args.out / p.name)) for p in paths]
    if summary["empty"]:
        print(f"report {outcome.report_id}: no recalls in {summary['period']}; the report says so.")
    else:
        print(
            f"report {outcome.report_id} for {summary['period']}: {summary['total_recalls']} recalls, "
            f"{summary['china_made']} made in China, {summary['unknown_origin']} of unknown origin."
        )
    for path in paths:
        print(path)
    return 0


def _standards(args: argparse.Namespace) -> int:
    from reports.standards import comparison_csv, comparison_rows
    from schema.engine import engine_scope
    from tbt_alert.settings import load_settings

    with engine_scope(load_settings()) as engine:
        rows = comparison_rows(engine, market=args.market, sector=args.sector)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(comparison_csv(rows), encoding="utf-8")
    print(f"{len(rows)} rows (sector × market × standard) written to {args.out}")
    return 0
