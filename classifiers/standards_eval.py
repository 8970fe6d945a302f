"""Extraction of cited standards scored against the hand-labelled set (``tests/standards/citations.jsonl``).

A label reads ``[ADOPTED>]BODY NUMBER[-PART][:YEAR]`` ("EN 60598-2-20", "BS 7907:1997",
"EN>ISO 9994:1996"). A citation counts as found when body, number, part and (where the label
gives one) year agree; the national prefix is scored apart, since a missed "BS" still finds
the right standard.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from classifiers.standards import CitedStandard, cited_standards

CITATIONS_PATH = Path(__file__).resolve().parents[1] / "tests" / "standards" / "citations.jsonl"

_LABEL = re.compile(
    r"^(?:(?P<adopted>[^>]+)>)?(?P<body>.+) (?P<number>[^ -]+?)(?:-(?P<part>[\d-]+?))?(?::(?P<year>\d{4}))?$"
)


@dataclass(frozen=True)
class Label:
    body: str
    number: str
    part: str | None
    year: int | None
    adopted_by: str | None

    @property
    def unit(self) -> str:
        return f"{self.body} {self.number}" + (f"-{self.part}" if self.part else "")


def parse_label(text: str) -> Label:
    match = _LABEL.match(text.strip())
    if match is None:
        raise ValueError(f"{CITATIONS_PATH}: label {text!r} is not 'BODY NUMBER[-PART][:YEAR]'; correct it.")
    year = match.group("year")
    return Label(match["body"], match["number"], match["part"], int(year) if year else None, match["adopted"])


def _unit(standard: CitedStandard) -> str:
    return standard.key + (f"-{standard.part}" if standard.part else "")


@dataclass
class Score:
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        cited = self.true_positives + self.false_negatives
        return self.true_positives / cited if cited else 1.0


@dataclass
class Evaluation:
    overall: Score
    by_family: dict[str, Score]
    texts: int
    adoption_right: int
    adoption_labelled: int


def _matches(label: Label, standard: CitedStandard) -> bool:
    if _unit(standard) != label.unit:
        return False
    return label.year is None or standard.year == label.year


def evaluate_standards(path: Path = CITATIONS_PATH) -> Evaluation:
    """Precision and recall overall and per body (the label's body, or the extractor's for a false find)."""
    overall = Score()
    families: dict[str, Score] = {}
    texts = adoption_right = adoption_labelled = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        texts += 1
        labels = [parse_label(s) for s in row["standards"]]
        found = cited_standards(row["text"])
        unmatched = list(found)
        for label in labels:
            score = families.setdefault(label.body, Score())
            hit = next((s for s in unmatched if _matches(label, s)), None)
            if hit is None:
                for target in (overall, score):
                    target.false_negatives += 1
                    target.misses.append(f"#{row['id']} missed {label.unit}")
                continue
            unmatched.remove(hit)
            overall.true_positives += 1
            score.true_positives += 1
            if label.adopted_by:
                adoption_labelled += 1
                adoption_right += hit.adopted_by == label.adopted_by
        for extra in unmatched:
            score = families.setdefault(extra.body, Score())
            for target in (overall, score):
                target.false_positives += 1
                target.misses.append(f"#{row['id']} wrongly found {extra.code}")
    return Evaluation(overall, dict(sorted(families.items())), texts, adoption_right, adoption_labelled)


def evaluation_table(evaluation: Evaluation) -> str:
    """A markdown table: overall and per-family precision and recall, with counts."""
    lines = [
        f"Cited standards: {evaluation.texts} hand-labelled texts ({CITATIONS_PATH.name})",
        "",
        "| family | cited | found right | wrong finds | precision | recall |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    rows = [("all", evaluation.overall), *evaluation.by_family.items()]
    for name, score in rows:
        cited = score.true_positives + score.false_negatives
        lines.append(
            f"| {name} | {cited} | {score.true_positives} | {score.false_positives} | "
            f"{score.precision:.3f} | {score.recall:.3f} |"
        )
    lines.append("")
    lines.append(f"national prefix right: {evaluation.adoption_right} of {evaluation.adoption_labelled}")
    counts = Counter(m.split(" ", 1)[1].split(" ", 1)[0] for m in evaluation.overall.misses)
    if evaluation.overall.misses:
        lines.append(f"errors ({dict(counts)}):")
        lines.extend(f"- {m}" for m in evaluation.overall.misses)
    return "\n".join(lines)
