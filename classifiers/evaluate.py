"""Evaluation of the sector classifier against two baselines (``tbt-alert evaluate``).

Systems, all run in one invocation on the same records:
- **combined**: the production classifier (HS/ICS rules, then the model);
- **hs_only**: HS/ICS rules alone (what an HS filter such as ePing's gives);
- **keywords**: the multilingual keyword lists of ``sectors.yml`` alone;
- **model_only**: the trained head alone, on text.
Gold labels are the sources' own product classes (``labelling.yml``); ``cross_sector``
has no gold labels and is left out of the scores.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from classifiers.classifier import Classifier, SectorPrediction
from classifiers.embedding_cache import embed_cached
from classifiers.encoder import Encoder
from classifiers.head import HEAD_DIR, Head
from classifiers.taxonomy import CROSS_SECTOR
from classifiers.train import cache_file_for
from classifiers.training_data import LabelledRecord, labelled_records, multilingual_records

SYSTEMS = ("combined", "hs_only", "keywords", "model_only")
TEMPLATE_DIR = Path(__file__).with_name("templates")
TARGETS = {"micro_f1": 0.85, "no_hs_recall": 0.80, "no_hs_precision": 0.80, "language_gap": 0.05}


@dataclass
class CachedEncoder:
    """An encoder whose vectors go through the on-disk cache (evaluation re-runs are instant)."""

    encoder: Encoder
    cache_file: Path

    @property
    def dim(self) -> int:
        return self.encoder.dim

    @property
    def precision(self) -> str:
        return self.encoder.precision

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        return embed_cached(self.encoder, texts, cache_file=self.cache_file, batch_size=batch_size)


@dataclass
class Scores:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn) if self.tp else 0.0


def score(
    gold: list[set[str]], pred: list[set[str]], sectors: Iterable[str]
) -> tuple[Scores, dict[str, Scores], float]:
    """Micro scores, per-sector scores and macro-F1 (over sectors with gold examples)."""
    per_sector: dict[str, Scores] = {sector: Scores() for sector in sectors}
    for gold_set, pred_set in zip(gold, pred, strict=True):
        for sector, scores in per_sector.items():
            if sector in gold_set and sector in pred_set:
                scores.tp += 1
            elif sector in pred_set:
                scores.fp += 1
            elif sector in gold_set:
                scores.fn += 1
    every = per_sector.values()
    micro = Scores(sum(s.tp for s in every), sum(s.fp for s in every), sum(s.fn for s in every))
    present = [s.f1 for s in every if s.tp + s.fn]
    return micro, per_sector, float(np.mean(present)) if present else 0.0


def _predict_sets(preds: list[list[SectorPrediction]], keep: Callable[[SectorPrediction], bool]) -> list[set[str]]:
    return [{p.sector for p in row if keep(p) and p.sector != CROSS_SECTOR} for row in preds]


def run_systems(records: list[LabelledRecord], combined: Classifier, rules: Classifier) -> dict[str, list[set[str]]]:
    rows: list[dict[str, Any]] = [r.as_record() for r in records]
    full = combined.classify(rows)
    text_only = combined.classify([dict(r, hs_codes=[], ics_codes=[]) for r in rows])
    rule_preds = rules.classify(rows)
    assert rules.keywords is not None
    keyword_sets = [{s for s in rules.keywords.matches(r.text) if s != CROSS_SECTOR} for r in records]
    return {
        "combined": _predict_sets(full, lambda p: True),
        "hs_only": _predict_sets(rule_preds, lambda p: p.method in ("hs", "ics")),
        "keywords": keyword_sets,
        "model_only": _predict_sets(text_only, lambda p: p.method == "model"),
    }


@dataclass(frozen=True)
class SystemFigures:
    """One system's headline scores; ``as_dict`` of these is the figures ``evaluate`` returns."""

    micro_precision: float
    micro_recall: float
    micro_f1: float
    macro_f1: float
    no_hs_precision: float
    no_hs_recall: float
    no_hs_f1: float
    non_english_micro_f1: float


@dataclass(frozen=True)
class Target:
    name: str
    goal: str  # as printed, e.g. "≥ 0.85"
    value: float
    met: bool


@dataclass(frozen=True)
class SubsetRow:
    name: str
    size: int
    micro: dict[str, Scores]  # by system


@dataclass(frozen=True)
class SubsetTable:
    title: str
    rows: list[SubsetRow]


@dataclass(frozen=True)
class SectorRow:
    sector: str
    combined: Scores
    baseline_f1: dict[str, float]  # by system other than combined


@dataclass(frozen=True)
class Figures:
    """Everything the evaluation report shows; computed once, rendered by the template."""

    written: dt.date
    classifier_version: str
    head_description: str
    precision: str
    held_out_size: int
    no_hs_size: int
    foreign_size: int
    systems: dict[str, SystemFigures]
    targets: list[Target]
    subsets: list[SubsetTable]
    sectors: list[SectorRow]  # held-out English split
    foreign_sectors: list[tuple[str, Scores]]  # non-English sets, combined; sectors never gold nor predicted left out

    def as_dict(self) -> dict[str, Any]:
        return {
            "classifier_version": self.classifier_version,
            "systems": {name: asdict(figures) for name, figures in self.systems.items()},
        }


def _targets(combined: SystemFigures) -> list[Target]:
    gap = combined.micro_f1 - combined.non_english_micro_f1
    return [
        Target(
            "held-out micro-F1",
            f"≥ {TARGETS['micro_f1']}",
            combined.micro_f1,
            combined.micro_f1 >= TARGETS["micro_f1"],
        ),
        Target(
            "no-HS recall",
            f"≥ {TARGETS['no_hs_recall']}",
            combined.no_hs_recall,
            combined.no_hs_recall >= TARGETS["no_hs_recall"],
        ),
        Target(
            "no-HS precision",
            f"≥ {TARGETS['no_hs_precision']}",
            combined.no_hs_precision,
            combined.no_hs_precision >= TARGETS["no_hs_precision"],
        ),
        Target("English − non-English micro-F1", f"≤ {TARGETS['language_gap']}", gap, gap <= TARGETS["language_gap"]),
    ]


def _subset_table(
    title: str, groups: dict[str, list[int]], gold: list[set[str]], preds: dict[str, list[set[str]]], sectors: list[str]
) -> SubsetTable:
    rows = [
        SubsetRow(
            name,
            len(idx),
            {s: score([gold[i] for i in idx], [preds[s][i] for i in idx], sectors)[0] for s in SYSTEMS},
        )
        for name, idx in sorted(groups.items())
    ]
    return SubsetTable(title, rows)


def _subset_tables(
    records: list[LabelledRecord],
    no_hs: list[int],
    gold: list[set[str]],
    preds: dict[str, list[set[str]]],
    sectors: list[str],
) -> list[SubsetTable]:
    """Micro scores per language, source kind and source (all records), and of the English records without codes."""
    by_language: dict[str, list[int]] = defaultdict(list)
    by_source: dict[str, list[int]] = defaultdict(list)
    by_kind: dict[str, list[int]] = defaultdict(list)
    for i, rec in enumerate(records):
        by_language[rec.language].append(i)
        by_source[rec.source].append(i)
        by_kind[rec.source_kind].append(i)
    return [
        _subset_table("Per language", by_language, gold, preds, sectors),
        _subset_table("Per source kind", by_kind, gold, preds, sectors),
        _subset_table("Per source", by_source, gold, preds, sectors),
        _subset_table("Without HS/ICS codes (English held-out)", {"no HS/ICS codes": no_hs}, gold, preds, sectors),
    ]


def compute_figures(
    held_out: list[LabelledRecord],
    foreign: list[LabelledRecord],
    preds: dict[str, list[set[str]]],
    sectors: list[str],
    *,
    classifier_version: str,
    head_description: str,
    precision: str,
    written: dt.date,
) -> Figures:
    """Scores of every system on ``held_out + foreign``, whose predictions ``preds`` holds in that order."""
    records = held_out + foreign
    gold = [set(r.labels) for r in records]
    english = list(range(len(held_out)))
    non_english = list(range(len(held_out), len(records)))
    no_hs = [i for i in english if not records[i].hs_codes and not records[i].ics_codes]

    def scores_of(system: str, idx: list[int]) -> tuple[Scores, dict[str, Scores], float]:
        return score([gold[i] for i in idx], [preds[system][i] for i in idx], sectors)

    systems: dict[str, SystemFigures] = {}
    per_sector: dict[str, dict[str, Scores]] = {}
    for system in SYSTEMS:
        english_micro, per_sector[system], english_macro_f1 = scores_of(system, english)
        no_hs_micro = scores_of(system, no_hs)[0]
        systems[system] = SystemFigures(
            micro_precision=english_micro.precision,
            micro_recall=english_micro.recall,
            micro_f1=english_micro.f1,
            macro_f1=english_macro_f1,
            no_hs_precision=no_hs_micro.precision,
            no_hs_recall=no_hs_micro.recall,
            no_hs_f1=no_hs_micro.f1,
            non_english_micro_f1=scores_of(system, non_english)[0].f1,
        )

    baselines = [s for s in SYSTEMS if s != "combined"]
    sector_rows = [
        SectorRow(sector, per_sector["combined"][sector], {s: per_sector[s][sector].f1 for s in baselines})
        for sector in sectors
    ]
    foreign_per_sector = scores_of("combined", non_english)[1]
    return Figures(
        written=written,
        classifier_version=classifier_version,
        head_description=head_description,
        precision=precision,
        held_out_size=len(held_out),
        no_hs_size=len(no_hs),
        foreign_size=len(foreign),
        systems=systems,
        targets=_targets(systems["combined"]),
        subsets=_subset_tables(records, no_hs, gold, preds, sectors),
        sectors=sector_rows,
        foreign_sectors=[
            (sector, scores) for sector, scores in foreign_per_sector.items() if scores.tp + scores.fn + scores.fp
        ],
    )


def render_markdown(figures: Figures) -> str:
    """The evaluation report (docs/EVALUATION.md) for ``figures``."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        undefined=StrictUndefined,
        autoescape=False,  # Markdown, not HTML
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["fmt"] = lambda value: f"{value:.3f}"
    # Targets at four decimals: at three, 0.8498 reads "0.850 | no".
    env.filters["fmt4"] = lambda value: f"{value:.4f}"
    return env.get_template("evaluation.md.j2").render(figures=figures, systems=SYSTEMS)


def _load_classifiers(encoder_path: Path, head_dir: Path) -> tuple[Classifier, Classifier, str]:
    """The production classifier (model mode, vectors cached on disk), the rules alone, and the encoder precision."""
    precision = Head.load(head_dir).precision
    encoder = CachedEncoder(
        Encoder.load(encoder_path, precision=precision), cache_file_for(encoder_path, precision=precision)
    )
    combined = Classifier.load(mode="model", encoder=encoder, head_dir=head_dir)
    rules = Classifier.load(mode="rules", taxonomy=combined.taxonomy)
    return combined, rules, precision


def evaluate(
    encoder_path: Path, *, data_dir: Path | None = None, out: Path | None = None, head_dir: Path = HEAD_DIR
) -> tuple[str, dict[str, Any]]:
    """Run every system on the held-out split and the non-English sets; return (markdown, figures)."""
    combined, rules, precision = _load_classifiers(encoder_path, head_dir)
    held_out = [r for r in labelled_records(data_dir, combined.taxonomy) if r.split == "test"]
    # Only the test part: the train and validation parts of the non-English sets are training data.
    foreign = [r for r in multilingual_records(data_dir, combined.taxonomy) if r.split == "test"]
    figures = compute_figures(
        held_out,
        foreign,
        run_systems(held_out + foreign, combined, rules),
        [code for code in combined.taxonomy.codes if code != CROSS_SECTOR],
        classifier_version=combined.version,
        head_description=combined.head.describe() if combined.head else "?",
        precision=precision,
        written=dt.date.today(),
    )
    markdown = render_markdown(figures)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(markdown, encoding="utf-8")
    return markdown, figures.as_dict()
