"""The analysts' mail for a built report: what it says and what it attaches."""

from __future__ import annotations

from pathlib import Path

from reports.mail import analyst_mail


def test_analyst_mail_names_the_period_attaches_the_files_and_lists_flat_facts(tmp_path: Path) -> None:
    report = {
        "period": "2025-W48",
        "report_id": 7,
        "pdf_path": str(tmp_path / "r.pdf"),
        "html_path": str(tmp_path / "r.html"),
        "summary": {"total_recalls": 12, "china_made": 5, "top_hazards": [{"hazard": "chemical"}]},
    }
    mail = analyst_mail(report)
    assert mail.subject == "出口召回风险分析报告 Recall-risk report 2025-W48"
    assert mail.attachments == (tmp_path / "r.pdf", tmp_path / "r.html")
    assert mail.text.splitlines() == [
        "出口召回风险分析报告 / Recall-risk report, 2025-W48",
        "",
        "报告见附件 (PDF, HTML). The report is attached (PDF, HTML).",
        "",
        "- total_recalls: 12",
        "- china_made: 5",
    ]


def test_analyst_mail_without_files_or_summary_still_says_which_report() -> None:
    mail = analyst_mail({"period": "2025-Q4"})
    assert mail.attachments == ()
    assert mail.text.startswith("出口召回风险分析报告 / Recall-risk report, 2025-Q4\n")
