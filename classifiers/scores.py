"""Micro, per-sector and macro scores of multi-label sector predictions against gold labels.

Shared by the evaluation report (``classifiers.evaluate``) and leave-one-source-out
evaluation (``classifiers.loso``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


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
