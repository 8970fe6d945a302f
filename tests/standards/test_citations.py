"""Extraction of cited standards against the hand-labelled real texts (issue 27 target: P and R >= 0.95)."""

from __future__ import annotations

import json

from classifiers.standards_eval import CITATIONS_PATH, evaluate_standards, evaluation_table, parse_label


def test_the_set_is_real_labelled_and_large_enough() -> None:
    rows = [json.loads(line) for line in CITATIONS_PATH.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert sum(len(r["standards"]) for r in rows) >= 200
    assert sum(1 for r in rows if not r["standards"]) >= 30  # texts that cite none, for precision
    for row in rows:
        assert all(row[k] for k in ("source", "record", "field", "text"))
        for label in row["standards"]:
            parse_label(label)


def test_precision_and_recall_reach_the_target() -> None:
    evaluation = evaluate_standards()
    print(evaluation_table(evaluation))
    assert evaluation.overall.precision >= 0.95
    assert evaluation.overall.recall >= 0.95


def test_a_wrong_label_lowers_the_figures(tmp_path) -> None:
    # The scorer itself can fail: a set whose labels disagree with the texts scores low.
    rows = [{"id": 1, "text": "does not comply with EN 71-1 and EN 62115.", "standards": ["EN 71-3", "ISO 8124"]}]
    path = tmp_path / "wrong.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    evaluation = evaluate_standards(path)
    assert evaluation.overall.recall == 0.0
    assert evaluation.overall.precision == 0.0
