"""Build the recall-risk report for a period: analyse, score, link the rules, draw, render, store.

``build_report`` is the one entry point (CLI, DAG stage, portal). Building the same period with
the same parameters again replaces the files and updates the same Report row, so a re-run of
the weekly task changes nothing but the timestamp.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, select

from classifiers import labels as names
from reports import charts
from reports.analysis import RecallAnalysis, analyse
from reports.hazards import HazardVocabulary, load_vocabulary
from reports.periods import Period, months_back, parse_period
from reports.rules import Cluster, link_rules
from reports.score import FORMULA, RiskScore, load_exposure, score_pairs
from reports.selection import EU, RecallRow, load_recalls
from reports.standards import CitedBehind, cited_behind, comparison_csv, comparison_rows
from schema.engine import engine_scope, session_scope
from schema.models import Report
from tbt_alert.errors import TbtError
from tbt_alert.settings import Settings

KIND = "recall_risk"
CLUSTERS_LINKED = 12
T = TypeVar("T")


@dataclass(frozen=True)
class ReportOutcome:
    report_id: int
    html_path: Path
    pdf_path: Path
    summary: dict[str, Any]


@dataclass
class _Clock:
    timings: dict[str, float] = field(default_factory=dict)

    def run(self, stage: str, func: Callable[[], T]) -> T:
        began = time.perf_counter()
        try:
            return func()
        finally:
            self.timings[stage] = round(time.perf_counter() - began, 3)


def normalise_market(market: str | None) -> str | None:
    """EU, EUR, a member state's name or code -> the market code the report groups by."""
    if market is None or not market.strip():
        return None
    from tbt_alert.countries import is_eu, to_alpha3

    code = to_alpha3(market)
    if code is None:
        raise TbtError(f"market {market!r} is not a country or EU; give an ISO code (USA, CAN, AUS) or EU.")
    return EU if is_eu(code) else code


def normalise_sector(sector: str | None) -> str | None:
    if sector is None or not sector.strip():
        return None
    code = sector.strip()
    known = names.known_sectors()
    if known is not None and code not in known:
        raise TbtError(f"sector {code!r} is not in the taxonomy; use one of: {', '.join(sorted(known))}.")
    return code


def build_report(
    settings: Settings,
    period: str | Period,
    *,
    market: str | None = None,
    sector: str | None = None,
    engine: Engine | None = None,
) -> ReportOutcome:
    """Write the HTML, PDF and CSV of the recall-risk report under ``settings.reports_dir`` and
    store (or update) its Report row."""
    clock = _Clock()
    chosen = period if isinstance(period, Period) else parse_period(period)
    market_code, sector_code = normalise_market(market), normalise_sector(sector)
    with engine_scope(engine or settings) as engine:
        vocabulary = load_vocabulary()
        exposure = load_exposure()
        window_start = min(chosen.previous().start, chosen.year_ago().start, months_back(chosen.end, 12)[0].start)
        rows = clock.run("load", lambda: load_recalls(engine, window_start, chosen.end, vocabulary))
        result = clock.run("analyse", lambda: analyse(rows, chosen, market=market_code, sector=sector_code))
        scores = clock.run("score", lambda: score_pairs(rows, chosen, exposure, market=market_code, sector=sector_code))
        cluster_keys = _clusters(result, scores)
        current = [r for r in rows if chosen.contains(r.day) and r.is_china]
        clusters = clock.run("link_rules", lambda: link_rules(engine, cluster_keys, current, vocabulary))
        figures = clock.run("charts", lambda: _charts(result, scores, vocabulary))
        generated = dt.datetime.now(dt.UTC)
        context = _context(result, scores, clusters, figures, exposure, vocabulary, generated, window_start, len(rows))
        context["standards_behind"] = clock.run(
            "standards", lambda: _standards_behind(engine, current, market_code, sector_code)
        )
        html = clock.run("render_html", lambda: _render_html(context))
        stem = "_".join(["recall-risk", chosen.label, *(x for x in (market_code, sector_code) if x)])
        folder = settings.reports_dir / "recall-risk"
        folder.mkdir(parents=True, exist_ok=True)
        html_path, pdf_path, csv_path = (folder / f"{stem}.{ext}" for ext in ("html", "pdf", "csv"))
        html_path.write_text(html, encoding="utf-8")
        csv_path.write_text(_cube_csv(result, vocabulary), encoding="utf-8")
        # The bureau's standards-comparison export for the same market and sector (issue 27).
        comparison = comparison_rows(engine, market=market_code, sector=sector_code)
        (folder / f"{stem}_standards.csv").write_text(comparison_csv(comparison), encoding="utf-8")
        clock.run("render_pdf", lambda: _render_pdf(html, pdf_path, folder))
        summary = _summary(result, scores, clusters, clock.timings)
        parameters = {"market": market_code, "sector": sector_code}
        files = {"html": str(html_path), "pdf": str(pdf_path), "csv": str(csv_path)}
        report_id = clock.run("store", lambda: _store(engine, chosen.label, parameters, files, summary))
        summary["timings"] = clock.timings
        return ReportOutcome(report_id, html_path, pdf_path, summary)


def _standards_behind(
    engine: Engine, current: list[RecallRow], market: str | None, sector: str | None
) -> list[CitedBehind]:
    """The standards most cited behind the period's China-made recalls, per market × sector."""
    rows = [r for r in current if market is None or r.market == market]
    return [line for line in cited_behind(engine, rows) if sector is None or line.sector == sector][:CLUSTERS_LINKED]


def _clusters(result: RecallAnalysis, scores: list[RiskScore]) -> list[tuple[str, str]]:
    """The market × sector pairs whose rules the report looks up: the highest-scored with a recall now."""
    now = {(line.market, line.sector) for line in result.sectors if line.change.current > 0}
    ranked = [(s.market, s.sector) for s in scores if (s.market, s.sector) in now]
    ranked += sorted(now - set(ranked), key=lambda k: (k[0], k[1]))
    return ranked[:CLUSTERS_LINKED]


def _charts(result: RecallAnalysis, scores: list[RiskScore], vocabulary: Any) -> dict[str, str]:
    # Every key present (empty = no chart): the template runs with StrictUndefined.
    figures: dict[str, str] = {"markets": "", "trend": "", "hazards": "", "scores": ""}
    if result.markets and result.total:
        figures["markets"] = charts.origins_by_market(
            [(m.market, m.china.current, m.other, m.unknown) for m in result.markets if m.total or m.china.current]
        )
    if any(v for series in result.monthly.values() for _, v in series):
        figures["trend"] = charts.monthly_trend(result.monthly)
    if result.top_hazards:
        figures["hazards"] = charts.bars(
            [(f"{vocabulary.name_zh(h)} {vocabulary.name_en(h)}", n) for h, n in result.top_hazards],
            "主要危害 Top hazards (China-made)",
            "召回数 recalls",
        )
    if scores:
        figures["scores"] = charts.bars(
            [(f"{names.sector_zh(s.sector)} · {s.market}", s.score) for s in scores[:15]],
            "召回风险评分 Recall-risk score",
            "0–100",
            colour="#8e44ad",
        )
    return figures


def _context(
    result: RecallAnalysis,
    scores: list[RiskScore],
    clusters: list[Cluster],
    figures: dict[str, str],
    exposure: Any,
    vocabulary: Any,
    generated: dt.datetime,
    window_start: dt.date,
    loaded: int,
) -> dict[str, Any]:
    return {
        "r": result,
        "scores": scores,
        "clusters": clusters,
        "figures": figures,
        "exposure": exposure,
        "formula": FORMULA,
        "hz": vocabulary,
        "names": names,
        "generated": generated.strftime("%Y-%m-%d %H:%M UTC"),
        "window_start": window_start,
        "loaded": loaded,
        "hazard_rows": result.hazards[:40],
        "sector_rows": result.sectors[:40],
    }


def _render_html(context: dict[str, Any]) -> str:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda v: "—" if v is None else f"{v:+.1f}%"
    env.filters["share"] = lambda v: "—" if v is None else f"{v:.1f}%"
    return env.get_template("recall_risk.html.j2").render(**context)


def _render_pdf(html: str, pdf_path: Path, base: Path) -> None:
    import logging

    from weasyprint import HTML

    # WeasyPrint logs every unsupported CSS property at WARNING; the report's CSS is ours.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    HTML(string=html, base_url=str(base)).write_pdf(pdf_path)


CUBE_COLUMNS = (
    "期间 period",
    "市场 market",
    "市场名称 market_zh",
    "行业代码 sector",
    "行业 sector_zh",
    "危害代码 hazard",
    "危害 hazard_zh",
    "中国制造召回数 china_made_recalls",
    "占该市场比例% share_of_market_pct",
    "上一期 previous_period",
    "环比变化% change_vs_previous_pct",
    "去年同期 year_ago",
    "同比变化% change_vs_year_ago_pct",
    "严重风险 serious",
)


def _cube_csv(result: RecallAnalysis, vocabulary: HazardVocabulary) -> str:
    """The full market × sector × hazard table (the HTML shows the top rows only). Analysts open
    it in a spreadsheet: bilingual headers, a Chinese name beside each code, UTF-8 with a BOM."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CUBE_COLUMNS)
    for line in result.hazards:
        c = line.change
        writer.writerow(
            [
                result.period.label,
                line.market,
                names.market_zh(line.market),
                line.sector,
                names.sector_zh(line.sector),
                line.hazard,
                vocabulary.name_zh(line.hazard),
                c.current,
                _blank(line.share_of_market),
                c.previous,
                _blank(c.vs_previous),
                c.year_ago,
                _blank(c.vs_year_ago),
                line.serious,
            ]
        )
    return "\ufeff" + out.getvalue()


def _blank(value: float | None) -> str:
    return "" if value is None else f"{value}"


def _summary(
    result: RecallAnalysis, scores: list[RiskScore], clusters: list[Cluster], timings: dict[str, float]
) -> dict[str, Any]:
    return {
        "period": result.period.label,
        "start": result.period.start.isoformat(),
        "end": result.period.end.isoformat(),
        "market": result.market,
        "sector": result.sector,
        "empty": result.is_empty,
        "total_recalls": result.total,
        "china_made": result.origins.get("china", 0),
        "other_origin": result.origins.get("other", 0),
        "unknown_origin": result.origins.get("unknown", 0),
        "markets": {
            m.market: {
                "total": m.total,
                "china_made": m.china.current,
                "previous": m.china.previous,
                "year_ago": m.china.year_ago,
                "serious": m.serious,
                "other_origin": m.other,
                "unknown_origin": m.unknown,
            }
            for m in result.markets
        },
        "sectors": [
            {
                "market": s.market,
                "sector": s.sector,
                "china_made": s.change.current,
                "previous": s.change.previous,
                "year_ago": s.change.year_ago,
                "serious": s.serious,
            }
            for s in result.sectors
        ],
        "top_hazards": [{"hazard": h, "recalls": n} for h, n in result.top_hazards[:5]],
        "top_risks": [{"sector": s.sector, "market": s.market, "score": s.score} for s in scores[:5]],
        "linked_rules": sum(len(c.links) for c in clusters),
        "timings": dict(timings),
    }


def _store(
    engine: Engine, period: str, parameters: dict[str, Any], files: dict[str, str], summary: dict[str, Any]
) -> int:
    with session_scope(engine) as session:
        existing = [
            r
            for r in session.scalars(select(Report).where(Report.kind == KIND, Report.period == period))
            if (r.parameters or {}) == parameters
        ]
        report = existing[0] if existing else Report(kind=KIND, period=period, parameters=parameters)
        report.files = files
        report.summary = summary
        report.created_at = dt.datetime.now(dt.UTC)
        session.add(report)
        session.flush()
        return int(report.id)


def recall_rows_for(settings: Settings, period: str) -> list[RecallRow]:
    """The recall rows a report of ``period`` reads (for the portal and for checks)."""
    chosen = parse_period(period)
    with engine_scope(settings) as engine:
        start = min(chosen.previous().start, chosen.year_ago().start, months_back(chosen.end, 12)[0].start)
        return load_recalls(engine, start, chosen.end, load_vocabulary())


def report_mail(outcome: ReportOutcome) -> tuple[str, str]:
    """Subject and plain-text body of the analysts' mail for a built report (the stage that sends it
    queues this through the outbox with the PDF attached)."""
    s = outcome.summary
    scope = " · ".join(x for x in (s.get("market"), s.get("sector")) if x) or "全部市场 all markets"
    subject = f"出口召回风险分析报告 Recall-risk report {s['period']} ({scope})"
    lines = [subject, ""]
    if s["empty"]:
        lines.append(f"本期无召回记录。No recalls were published in {s['period']}.")
    else:
        lines.append(
            f"召回 Recalls: {s['total_recalls']} · 中国制造 China-made: {s['china_made']} · "
            f"产地不明 unknown origin: {s['unknown_origin']}"
        )
        if s["top_hazards"]:
            hazards = ", ".join(f"{h['hazard']} {h['recalls']}" for h in s["top_hazards"])
            lines.append(f"主要危害 Top hazards: {hazards}")
        if s["top_risks"]:
            lines.append(
                "最高风险 Highest risk: "
                + ", ".join(f"{r['sector']}/{r['market']} {r['score']}" for r in s["top_risks"][:3])
            )
    lines += ["", "完整报告见附件 PDF (the full report is attached).", str(outcome.pdf_path.name)]
    return subject, "\n".join(lines) + "\n"
