"""The analysts' mail for a built report: a bilingual subject and text, the report attached.

Only the content lives here; the pipeline stage decides who gets it, queues it once per
period and recipient, and sends it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ReportMail:
    period: str
    subject: str
    text: str
    attachments: tuple[Path, ...]


def analyst_mail(report: Mapping[str, Any]) -> ReportMail:
    """The mail for ``report``, the stage summary of a built report (it names its period and files)."""
    period = str(report["period"])
    attachments = tuple(Path(p) for p in (report.get("pdf_path"), report.get("html_path")) if p)
    return ReportMail(
        period=period,
        subject=f"出口召回风险分析报告 Recall-risk report {period}",
        text=_text(report, period),
        attachments=attachments,
    )


def _text(report: Mapping[str, Any], period: str) -> str:
    lines = [
        f"出口召回风险分析报告 / Recall-risk report, {period}",
        "",
        "报告见附件 (PDF, HTML). The report is attached (PDF, HTML).",
    ]
    facts = report.get("summary")
    if isinstance(facts, Mapping):
        lines.append("")
        # Nested tables (top lists, timings) do not read well as plain text; the attachment has them.
        lines += [f"- {key}: {value}" for key, value in facts.items() if not isinstance(value, Mapping | list)]
    return "\n".join(lines) + "\n"
