"""The evaluation report: figures computed from predictions, Markdown rendered from figures.

Neither needs the encoder: the figures here are constructed by hand or computed from
hand-written predictions, so a change of the template shows up as a change of these lines.
"""

from __future__ import annotations

import datetime as dt

from classifiers.evaluate import (
    SYSTEMS,
    Figures,
    Scores,
    SectorRow,
    SubsetRow,
    SubsetTable,
    SystemFigures,
    Target,
    compute_figures,
    render_markdown,
)
from classifiers.training_data import LabelledRecord


def _system(micro_f1: float) -> SystemFigures:
    return SystemFigures(
        micro_precision=0.9,
        micro_recall=0.8,
        micro_f1=micro_f1,
        macro_f1=0.7,
        no_hs_precision=0.6,
        no_hs_recall=0.5,
        no_hs_f1=0.4,
        non_english_micro_f1=0.3,
        non_english_empty_share=0.25,
        notification_precision=0.95,
        notification_recall=0.75,
    )


def _figures() -> Figures:
    return Figures(
        written=dt.date(2026, 12, 6),
        classifier_version="tax3-test",
        head_description="a constructed head",
        precision="int8",
        held_out_size=12,
        no_hs_size=10,
        foreign_size=3,
        systems={system: _system(0.85 if system == "combined" else 0.5) for system in SYSTEMS},
        targets=[
            Target("held-out micro-F1", "≥ 0.85", 0.84985, False),
            Target("English − non-English micro-F1", "≤ 0.05", -0.0515, True),
        ],
        subsets=[
            SubsetTable(
                "Per language",
                [SubsetRow("de", 3, {system: Scores(tp=3, fp=1, fn=0) for system in SYSTEMS})],
            )
        ],
        sectors=[
            SectorRow("toys", Scores(tp=3, fp=1, fn=1), {"hs_only": 0.0, "keywords": 0.5, "model_only": 0.75}),
        ],
        foreign_sectors=[("toys", Scores(tp=1, fp=0, fn=1))],
    )


def test_the_report_shows_each_table_of_the_figures() -> None:
    markdown = render_markdown(_figures())
    lines = markdown.split("\n")
    assert lines[0] == "# Sector classifier evaluation"
    assert lines[2] == (
        "Written by `tbt-alert evaluate` on 2026-12-06; classifier `tax3-test` (a constructed head, int8 encoder)."
    )
    assert "Held-out English test split: 12 records (10 without HS/ICS codes);" in lines[3]
    assert ": 3 records. `cross_sector` has no gold labels and is not scored." in lines[3]
    # Targets at four decimals, so that 0.84985 does not read as 0.850 and "no".
    assert "| held-out micro-F1 | ≥ 0.85 | 0.8498 | no |" in lines
    assert "| English − non-English micro-F1 | ≤ 0.05 | -0.0515 | yes |" in lines
    assert (
        "| combined | 0.900 | 0.800 | **0.850** | 0.700 | 0.600 | 0.500 | 0.400 | 0.300 | 0.250 | 0.950 / 0.750 |"
        in lines
    )
    assert (
        "| keywords | 0.900 | 0.800 | **0.500** | 0.700 | 0.600 | 0.500 | 0.400 | 0.300 | 0.250 | 0.950 / 0.750 |"
        in lines
    )
    assert "## Leave one source out" not in markdown  # only when asked for
    assert "### Per language" in lines
    assert (
        "| subset | n | combined P / R / F1 | hs_only P / R / F1 | keywords P / R / F1 | model_only P / R / F1 |"
        in lines
    )
    assert "|---|---:|---|---|---|---|" in lines
    assert "| de | 3 | " + " | ".join(["0.750 / 1.000 / **0.857**"] * 4) + " |" in lines
    assert "| toys | 4 | 0.750 | 0.750 | 0.750 | 0.000 | 0.500 | 0.750 |" in lines
    assert "| toys | 2 | 1.000 | 0.500 | 0.667 |" in lines


def test_tables_are_separated_by_one_blank_line_and_the_report_ends_with_one_newline() -> None:
    markdown = render_markdown(_figures())
    assert "\n\n\n" not in markdown
    assert markdown.endswith("| toys | 2 | 1.000 | 0.500 | 0.667 |\n")
    headings = [line for line in markdown.split("\n") if line.startswith("#")]
    assert headings == [
        "# Sector classifier evaluation",
        "## Targets",
        "## Overall (held-out English split)",
        "### Per language",
        "## Per sector (held-out English split; combined vs baselines)",
        "## Per sector (non-English sets, combined)",
    ]
    for heading in headings[1:]:
        assert f"\n\n{heading}\n\n" in markdown, heading  # one blank line each side (none has three \n)


def _record(key: str, language: str, labels: tuple[str, ...], hs_codes: list[str] | None = None) -> LabelledRecord:
    return LabelledRecord(
        key=key,
        source=f"source_{language}",
        source_kind="recall",
        language=language,
        title=key,
        hs_codes=hs_codes or [],
        labels=labels,
    )


def test_figures_are_computed_per_split_subset_and_sector() -> None:
    held_out = [_record("a", "en", ("toys",)), _record("b", "en", ("lighting",), hs_codes=["9405"])]
    foreign = [_record("c", "de", ("toys",))]
    # Every system predicts the same: toys right, the lamp missed, the German record called lighting.
    same = [{"toys"}, set(), {"lighting"}]
    preds = {system: [set(p) for p in same] for system in SYSTEMS}
    figures = compute_figures(
        held_out,
        foreign,
        preds,
        ["toys", "lighting"],
        classifier_version="v",
        head_description="h",
        precision="fp32",
        written=dt.date(2026, 1, 1),
    )
    combined = figures.systems["combined"]
    assert (combined.micro_precision, combined.micro_recall) == (1.0, 0.5)
    assert combined.macro_f1 == 0.5  # toys 1.0, lighting 0.0
    assert (combined.no_hs_precision, combined.no_hs_recall) == (1.0, 1.0)  # the lamp has HS codes
    assert combined.non_english_micro_f1 == 0.0
    assert (figures.held_out_size, figures.no_hs_size, figures.foreign_size) == (2, 1, 1)
    # micro-F1 2/3; no-HS P and R 1.0; non-English 0.0; "de" has one record (below the five a
    # language needs to be held to the floor), so no language is: the weakest is "-" at 1.0;
    # the German record got a (wrong) sector, so none is empty; no notifications: precision 0.
    assert [t.met for t in figures.targets] == [False, True, True, False, True, True, False]
    assert [table.title for table in figures.subsets] == [
        "Per language",
        "Per source kind",
        "Per source",
        "Without HS/ICS codes (English held-out)",
    ]
    assert [(row.name, row.size) for row in figures.subsets[0].rows] == [("de", 1), ("en", 2)]
    assert [row.sector for row in figures.sectors] == ["toys", "lighting"]
    assert [(sector, (s.tp, s.fp, s.fn)) for sector, s in figures.foreign_sectors] == [
        ("toys", (0, 0, 1)),
        ("lighting", (0, 1, 0)),
    ]
    assert figures.as_dict()["systems"]["combined"]["micro_f1"] == combined.micro_f1


def test_a_language_with_five_records_is_held_to_the_floor_and_empty_answers_are_counted() -> None:
    held_out = [_record("a", "en", ("toys",))]
    foreign = [_record(f"zh{i}", "zh", ("toys",)) for i in range(5)] + [_record("ko", "ko", ("toys",))]
    # Chinese: 2 of 5 right, 3 empty; the Korean record right.
    answers = [{"toys"}, {"toys"}, {"toys"}, set(), set(), set(), {"toys"}]
    preds = {"combined": answers}
    figures = compute_figures(
        held_out,
        foreign,
        preds,
        ["toys"],
        classifier_version="v",
        head_description="h",
        precision="fp32",
        written=dt.date(2026, 1, 1),
    )
    combined = figures.systems["combined"]
    assert combined.non_english_empty_share == 0.5  # 3 of 6
    weakest = figures.targets[4]
    assert weakest.name == "weakest language with ≥ 5 records (zh)"
    assert round(weakest.value, 3) == 0.571  # 2 tp, 3 fn
    assert not weakest.met


def test_the_leave_one_source_out_table_is_rendered_when_present() -> None:
    from classifiers.loso import LosoRow

    figures = _figures()
    figures.loso.append(LosoRow("jp_tariff", 800, 0.8, 0.6, 0.6857, 0.125, {"ja": 0.6857}))
    markdown = render_markdown(figures)
    assert "## Leave one source out" in markdown
    assert "| jp_tariff | 800 | 0.800 | 0.600 | **0.686** | 0.125 | ja 0.686 |" in markdown.split("\n")
