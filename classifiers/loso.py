"""Leave-one-source-out evaluation: train without a source, score that source.

Why: a test split of the sources the head was trained on shares their labelling rules,
style and products, and overstates what happens on a new source or language (an English
test figure of 0.85 went with 0.29 on non-English texts of other sources). Here each
source family is left out of training and validation in turn, the head is refitted with
the shipped head's vector part (no candidate search: one fit per fold), its mixture and
thresholds are chosen again on the remaining validation records, and the production
classifier (rules first, then that head) tags every record of the family left out.

Families group what must leave together: a nomenclature's language lines (leaving the
Japanese tariff out leaves Japanese out of training altogether, bar the taxonomy's
keywords), a source's English and French alerts.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from classifiers.classifier import Classifier
from classifiers.head import Head
from classifiers.scores import score
from classifiers.taxonomy import CROSS_SECTOR, Taxonomy
from classifiers.train import fit_head
from classifiers.training_data import LabelledRecord

log = logging.getLogger(__name__)

# Records of a family scored per fold; more only sharpen figures that already tell.
MAX_SCORED = 800
SEED = 20260101


@dataclass(frozen=True)
class LosoRow:
    family: str
    records: int
    precision: float
    recall: float
    f1: float
    empty_share: float  # records with a gold sector that got none
    languages: dict[str, float]  # language -> micro-F1 within the family (≥ 20 records)


def family_of(record: LabelledRecord) -> str:
    """The source family a record leaves training with: its source (a nomenclature's
    languages are one source, the EU's 23 included)."""
    return record.source


def families(records: list[LabelledRecord]) -> list[str]:
    """Every family but the taxonomy's keyword anchors (they are part of the taxonomy, not a source)."""
    return sorted({family_of(r) for r in records} - {"taxonomy"})


def _sample(indices: list[int]) -> list[int]:
    if len(indices) <= MAX_SCORED:
        return indices
    return sorted(random.Random(SEED).sample(indices, MAX_SCORED))


def leave_one_source_out(
    records: list[LabelledRecord],
    vectors: np.ndarray,
    taxonomy: Taxonomy,
    encoder: Any,
    shipped: Head,
    *,
    only: list[str] | None = None,
) -> list[LosoRow]:
    """One row per family (or those in ``only``): the production classifier with a head
    fitted without that family, scored on the family's records."""
    sectors = [c for c in taxonomy.codes if c != CROSS_SECTOR]
    candidates = ((str(shipped.meta.get("kind", "logistic")), dict(shipped.meta.get("params", {}))),)
    of = [family_of(r) for r in records]
    rows = []
    for family in only or families(records):
        kept = [i for i, f in enumerate(of) if f != family]
        left_out = _sample([i for i, f in enumerate(of) if f == family and records[i].labels])
        if not left_out:
            continue
        log.info("leave out %s: fit on %d records, score %d", family, len(kept), len(left_out))
        fitted = fit_head(
            [records[i] for i in kept],
            vectors[kept],
            taxonomy,
            precision=shipped.precision,
            manifest={},
            candidates=candidates,
        )
        classifier = Classifier.load(mode="model", encoder=encoder, taxonomy=taxonomy, head=fitted.head)
        scored = [records[i] for i in left_out]
        answers = classifier.classify([r.as_record() for r in scored])
        gold = [set(r.labels) for r in scored]
        pred = [{p.sector for p in row if p.sector != CROSS_SECTOR} for row in answers]
        micro = score(gold, pred, sectors)[0]
        by_language: dict[str, list[int]] = defaultdict(list)
        for k, rec in enumerate(scored):
            by_language[rec.language].append(k)
        languages = {
            lang: score([gold[k] for k in idx], [pred[k] for k in idx], sectors)[0].f1
            for lang, idx in sorted(by_language.items())
            if len(idx) >= 20
        }
        empty = sum(1 for g, p in zip(gold, pred, strict=True) if g and not p) / len(scored)
        rows.append(LosoRow(family, len(scored), micro.precision, micro.recall, micro.f1, empty, languages))
        log.info("leave out %s: micro-F1 %.3f", family, micro.f1)
    return rows
