"""Evaluation of the sector classifier against two baselines (``tbt-alert evaluate``).

Systems, all run in one invocation on the same records:
- **combined**: the production classifier (HS/ICS rules, then the model);
- **hs_only**: HS/ICS rules alone (what an HS filter such as ePing's gives);
- **keywords**: the multilingual keyword lists of ``sectors.yml`` alone;
- **model_only**: the trained head alone, on text;
- **previous** (optional): what an earlier classifier answered on the same records
  (``tbt-alert classify --jsonl`` of the earlier code over ``--export-jsonl``), shown beside.
Gold labels are the sources' own product classes (``labelling.yml``); ``cross_sector``
has no gold labels and is left out of the scores.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from classifiers.classifier import Classifier, SectorPrediction
from classifiers.embedding_cache import EmbeddingCache
from classifiers.encoder import Encoder
from classifiers.head import HEAD_DIR, Head
from classifiers.loso import LosoRow, leave_one_source_out
from classifiers.scores import Scores, score
from classifiers.taxonomy import CROSS_SECTOR
from classifiers.train import cache_file_for, training_records
from classifiers.training_data import LabelledRecord, labelled_records
from tbt_alert.errors import ClassifierError

SYSTEMS = ("combined", "hs_only", "keywords", "model_only")
PREVIOUS = "previous"
TEMPLATE_DIR = Path(__file__).with_name("templates")
TARGETS = {
    "micro_f1": 0.85,
    "no_hs_recall": 0.80,
    "no_hs_precision": 0.80,
    "non_english_f1": 0.80,
    "language_f1": 0.70,
    "notification_precision": 0.85,
    "empty_share": 0.05,
}
LANGUAGE_MIN_RECORDS = 5  # a language is held to its own target from this many records


@dataclass
class CachedEncoder:
    """An encoder whose vectors go through the on-disk cache (evaluation re-runs are instant)."""

    encoder: Encoder
    cache_file: Path
    _cache: EmbeddingCache | None = field(default=None, init=False, repr=False)

    @property
    def dim(self) -> int:
        return self.encoder.dim

    @property
    def precision(self) -> str:
        return self.encoder.precision

    def text_digest(self, text: str) -> str:
        return self.encoder.text_digest(text)

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        if self._cache is None:  # read the file once, on first use
            self._cache = EmbeddingCache(self.cache_file)
        return self._cache.embed(self.encoder, texts, batch_size=batch_size)


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
    non_english_empty_share: float  # non-English records with a gold sector that got none
    notification_precision: float
    notification_recall: float


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
    loso: list[LosoRow] = field(default_factory=list)  # leave-one-source-out, when asked for

    def as_dict(self) -> dict[str, Any]:
        return {
            "classifier_version": self.classifier_version,
            "systems": {name: asdict(figures) for name, figures in self.systems.items()},
        }


def _targets(combined: SystemFigures, languages: dict[str, tuple[int, float]]) -> list[Target]:
    """The issue's targets; ``languages``: language -> (records, combined micro-F1) of the non-English sets."""
    floor = TARGETS["language_f1"]
    held = {lang: f1 for lang, (n, f1) in languages.items() if n >= LANGUAGE_MIN_RECORDS}
    weakest = min(held.items(), key=lambda item: item[1]) if held else ("-", 1.0)
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
        Target(
            "non-English micro-F1",
            f"≥ {TARGETS['non_english_f1']}",
            combined.non_english_micro_f1,
            combined.non_english_micro_f1 >= TARGETS["non_english_f1"],
        ),
        Target(
            f"weakest language with ≥ {LANGUAGE_MIN_RECORDS} records ({weakest[0]})",
            f"≥ {floor}",
            weakest[1],
            weakest[1] >= floor,
        ),
        Target(
            "non-English records left without a sector",
            f"≤ {TARGETS['empty_share']}",
            combined.non_english_empty_share,
            combined.non_english_empty_share <= TARGETS["empty_share"],
        ),
        Target(
            "notifications precision",
            f"≥ {TARGETS['notification_precision']}",
            combined.notification_precision,
            combined.notification_precision >= TARGETS["notification_precision"],
        ),
    ]


def _subset_table(
    title: str, groups: dict[str, list[int]], gold: list[set[str]], preds: dict[str, list[set[str]]], sectors: list[str]
) -> SubsetTable:
    rows = [
        SubsetRow(
            name,
            len(idx),
            {s: score([gold[i] for i in idx], [preds[s][i] for i in idx], sectors)[0] for s in preds},
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
    notifications = [i for i, r in enumerate(records) if r.source_kind == "notification"]

    def scores_of(system: str, idx: list[int]) -> tuple[Scores, dict[str, Scores], float]:
        return score([gold[i] for i in idx], [preds[system][i] for i in idx], sectors)

    systems: dict[str, SystemFigures] = {}
    per_sector: dict[str, dict[str, Scores]] = {}
    for system in preds:
        english_micro, per_sector[system], english_macro_f1 = scores_of(system, english)
        no_hs_micro = scores_of(system, no_hs)[0]
        notification_micro = scores_of(system, notifications)[0]
        labelled = [i for i in non_english if gold[i]]
        systems[system] = SystemFigures(
            micro_precision=english_micro.precision,
            micro_recall=english_micro.recall,
            micro_f1=english_micro.f1,
            macro_f1=english_macro_f1,
            no_hs_precision=no_hs_micro.precision,
            no_hs_recall=no_hs_micro.recall,
            no_hs_f1=no_hs_micro.f1,
            non_english_micro_f1=scores_of(system, non_english)[0].f1,
            non_english_empty_share=(
                sum(1 for i in labelled if not preds[system][i]) / len(labelled) if labelled else 0.0
            ),
            notification_precision=notification_micro.precision,
            notification_recall=notification_micro.recall,
        )

    baselines = [s for s in preds if s != "combined"]
    by_language: dict[str, list[int]] = defaultdict(list)
    for i in non_english:
        by_language[records[i].language].append(i)
    languages = {lang: (len(idx), scores_of("combined", idx)[0].f1) for lang, idx in by_language.items()}
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
        targets=_targets(systems["combined"], languages),
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
    return env.get_template("evaluation.md.j2").render(figures=figures, systems=list(figures.systems))


def _load_classifiers(encoder_path: Path, head_dir: Path) -> tuple[Classifier, Classifier, str]:
    """The production classifier (model mode, vectors cached on disk), the rules alone, and the encoder precision."""
    precision = Head.load(head_dir).precision
    encoder = CachedEncoder(
        Encoder.load(encoder_path, precision=precision), cache_file_for(encoder_path, precision=precision)
    )
    combined = Classifier.load(mode="model", encoder=encoder, head_dir=head_dir)
    rules = Classifier.load(mode="rules", taxonomy=combined.taxonomy)
    return combined, rules, precision


def evaluation_records(data_dir: Path | None, taxonomy: Any) -> tuple[list[LabelledRecord], list[LabelledRecord]]:
    """(held-out English split, non-English test records): the English recall, notification and
    HS sets' test split as before; then the test part of every non-English set, the customs
    nomenclatures' lines of headings never in training included."""
    english = {r.key for r in labelled_records(data_dir, taxonomy)}
    test = [r for r in training_records(data_dir, taxonomy) if r.split == "test"]
    return [r for r in test if r.key in english], [r for r in test if r.key not in english and r.language != "en"]


def export_jsonl(records: list[LabelledRecord], path: Path) -> None:
    """The records as `tbt-alert classify --jsonl` reads them, so that an earlier classifier
    (another checkout) can answer on exactly these records (``--previous``)."""
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record.as_record(), ensure_ascii=False) + "\n")


def previous_predictions(path: Path, records: list[LabelledRecord]) -> list[set[str]]:
    """Sectors per record from `tbt-alert classify --jsonl` output (matched by id)."""
    answers: dict[str, set[str]] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                answers[str(row["id"])] = {s["code"] for s in row.get("sectors", []) if s["code"] != CROSS_SECTOR}
    missing = [r.key for r in records if r.key not in answers]
    if missing:
        raise ClassifierError(
            f"{path} has no answer for {len(missing)} evaluation records (first: {missing[0]}); "
            "classify the file written by --export-jsonl with the earlier code."
        )
    return [answers[r.key] for r in records]


def evaluate(
    encoder_path: Path,
    *,
    data_dir: Path | None = None,
    out: Path | None = None,
    head_dir: Path = HEAD_DIR,
    previous: Path | None = None,
    loso: list[str] | None = None,
    export: Path | None = None,
) -> tuple[str, dict[str, Any]]:
    """Run every system on the held-out split and the non-English sets; return (markdown, figures).

    ``previous``: an earlier classifier's answers, shown beside; ``loso``: source families to
    leave out of training in turn (``["all"]`` for every one); ``export``: also write the
    evaluation records as JSONL for an earlier classifier to answer.
    """
    combined, rules, precision = _load_classifiers(encoder_path, head_dir)
    held_out, foreign = evaluation_records(data_dir, combined.taxonomy)
    if export is not None:
        export_jsonl(held_out + foreign, export)
    preds = run_systems(held_out + foreign, combined, rules)
    if previous is not None:
        preds[PREVIOUS] = previous_predictions(previous, held_out + foreign)
    figures = compute_figures(
        held_out,
        foreign,
        preds,
        [code for code in combined.taxonomy.codes if code != CROSS_SECTOR],
        classifier_version=combined.version,
        head_description=combined.head.describe() if combined.head else "?",
        precision=precision,
        written=dt.date.today(),
    )
    if loso:
        records = training_records(data_dir, combined.taxonomy)
        vectors = combined.encoder.embed([r.text for r in records])
        assert combined.head is not None
        figures.loso.extend(
            leave_one_source_out(
                records,
                vectors,
                combined.taxonomy,
                combined.encoder,
                combined.head,
                only=None if loso == ["all"] else loso,
            )
        )
    markdown = render_markdown(figures)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(markdown, encoding="utf-8")
    return markdown, figures.as_dict()
