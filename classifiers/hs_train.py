"""The HS suggester's index: real product texts with known codes, the held-out cases that
score it, the choice of its parameters and the calibration of its match threshold.

Texts (every one real, none written by us):
* ``hs``: the HS 2022 chapters, headings and subheadings in English;
* the national tariff lines of Taiwan (Chinese, converted to Simplified; English), Korea,
  Japan, Vietnam, Brazil and the EU CN in 24 languages, each under its first six digits
  (lines of an HS 2017 code that HS 2022 dropped are left out);
* ``vn_declarations``: real Vietnamese import declarations of Chinese-made goods;
* ``wto_eping``: the products and titles of ePing notifications, under each code they list.

Held-out cases, each scored with the texts it could leak from hidden:
* ePing notifications (English): the record's own texts hidden; its listed codes the truth;
* declarations (Vietnamese): every declaration of the same chapter hidden (the issue's
  "held out by chapter"; a harder test than hiding the record alone, also reported);
* nomenclature lines per (source, language): every text of that source hidden, so a Korean
  line is found through the other languages' texts of its code.

Parameters are chosen on the cases' validation split (by heading), the test split is
scored once for the report; ePing is never used for choosing (30 records).
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from classifiers.hs_catalogue import hs_descriptions, load_catalogue
from classifiers.hs_suggest import LEVELS, HsIndex, SuggestParams
from classifiers.nomenclature import READERS, sample_by_heading
from classifiers.training_data import LabelledRecord, _norm, default_data_dir, split_of

log = logging.getLogger(__name__)

# Texts per (source, language) in the index: enough that every heading keeps several texts
# in each language, few enough to keep the committed index small and embedding bounded.
CAPS = {
    ("tw_tariff", "zh"): 6000,
    ("tw_tariff_en", "en"): 2500,
    ("kr_hsk", "ko"): 3000,
    ("kr_hsk_en", "en"): 1500,
    ("vn_tariff", "vi"): 3000,
    ("vn_declarations", "vi"): 0,  # all: the one set of real trade text
    ("br_ncm", "pt"): 3000,
    ("jp_tariff", "ja"): 2000,
    ("eu_cn_2026_en", "en"): 2000,
}
EU_LANGUAGE_CAP = 300
# The English texts whose words a query's words are matched against: notifications quote
# the HS wording ("Other paints and varnishes"), and a word match is sharper there than the
# int8 sentence vector.
LEXICAL_SOURCES = ("hs", "tw_tariff_en", "eu_cn_2026_en", "kr_hsk_en")
CASES_PER_SOURCE = 200  # nomenclature lines per (source, language) held out as cases
MATCH_PRECISION = 0.80  # of the heading, for suggestions that answer HS subscriptions
_HS_IN_TEXT = re.compile(r"\(?\s*(?:HS|ICS)\s+codes?\s*(?:\(s\))?\s*:[^)|;]*\)?", re.IGNORECASE)
_EPING_CODE = re.compile(r"(?:^|;)\s*(\d{2}(?:\d{2}){0,2})\s+-\s")


@dataclass(frozen=True)
class CodedText:
    """A real text whose HS code (2, 4 or 6 digits) is known."""

    key: str  # unique per record
    text: str
    code: str  # a notification listing several codes: all of them, space-separated
    source: str
    language: str


# What a case hides of the index, by the case's ``hidden`` value: the texts of its ePing
# record (a notification repeats under two symbols: one group per title), of its chapter's
# declarations, of its own declaration, or of its whole source.
HIDE_GROUP, HIDE_CHAPTER, HIDE_KEY, HIDE_SOURCE = "group", "chapter", "key", "source"


def _hide_value(text: CodedText, how: str) -> str:
    if how == HIDE_GROUP:
        return _record_group(text.key) if text.source == "wto_eping" else ""
    if how == HIDE_CHAPTER:
        return text.code[:2] if text.source == "vn_declarations" else ""
    if how == HIDE_KEY:
        return text.key
    return text.source


@dataclass
class Cases:
    """Held-out records: their texts and true codes, and what of the index each may not see."""

    name: str
    language: str
    texts: list[str]
    truths: list[set[str]]
    hide_by: str  # HIDE_GROUP, HIDE_CHAPTER, HIDE_KEY or HIDE_SOURCE
    hidden: list[str]  # per case: the value of the index texts it may not see
    splits: list[str] = field(default_factory=list)

    def mask(self, index: list[CodedText], rows: list[int]) -> np.ndarray:
        """(rows × index texts), True where the case may not see the text."""
        values = np.array([_hide_value(t, self.hide_by) for t in index])
        return np.stack([values == self.hidden[r] for r in rows]) if rows else np.zeros((0, len(index)), bool)


def hs_texts(data_dir: Path) -> list[CodedText]:
    """HS 2022 chapters, headings and subheadings, in English."""
    return [
        CodedText(f"hs:{code}", text, code, "hs", "en")
        for code, text in hs_descriptions(data_dir).items()
        if code.isdigit() and len(code) in LEVELS
    ]


def _cap(source: str, language: str) -> int | None:
    if source == "eu_cn_2026":
        return EU_LANGUAGE_CAP
    return CAPS.get((source, language), 1000) or None


def nomenclature_texts(data_dir: Path) -> list[CodedText]:
    """Lines of every nomenclature and the declarations, capped per (source, language)."""
    valid = set(load_catalogue())
    by_source: dict[tuple[str, str], list[LabelledRecord]] = defaultdict(list)
    for reader in READERS:
        for record in reader(data_dir, None):
            if record.code[:6] in valid:
                by_source[(record.source, record.language)].append(record)
    out: list[CodedText] = []
    for (source, language), records in sorted(by_source.items()):
        seen: set[tuple[str, str]] = set()
        for record in sample_by_heading(records, _cap(source, language)):
            text, code = record.text, record.code[:6]
            if (text, code) not in seen:
                seen.add((text, code))
                out.append(CodedText(record.key, text, code, source, language))
    return out


def eping_codes(field_value: str) -> list[str]:
    """The codes of an ePing export's "HS code(s)" cell ("3210 - Other paints...; 0102 - ...")."""
    return list(dict.fromkeys(m.group(1) for m in _EPING_CODE.finditer(field_value or "")))


def without_codes(text: str) -> str:
    """A notification's text with its "(HS code(s): 051199)" mentions removed (the hidden answer)."""
    return " ".join(_HS_IN_TEXT.sub(" ", text).split())


def eping_records(data_dir: Path) -> list[tuple[str, str, list[str]]]:
    """(key, text, codes) of the ePing export rows that list HS codes; text without the codes."""
    path = data_dir / "eping" / "eping_export_sample_32.csv"
    out = []
    with path.open(encoding="utf-8-sig") as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            codes = eping_codes(row.get("HS code(s)") or "")
            if not codes:
                continue
            parts = [row.get("Title") or "", row.get("Products covered") or "", row.get("Description") or ""]
            text = " | ".join(p for p in (without_codes(" ".join(p.split())) for p in parts) if p)
            out.append((f"eping:{_norm(row.get('Title') or '')[:80]}:{i}", text, codes))
    return out


def eping_texts(data_dir: Path) -> list[CodedText]:
    """One text per notification, under all its codes (its vote is split between them)."""
    return [CodedText(key, text, " ".join(codes), "wto_eping", "en") for key, text, codes in eping_records(data_dir)]


def index_texts(data_dir: Path | None = None) -> list[CodedText]:
    data_dir = data_dir or default_data_dir()
    return hs_texts(data_dir) + nomenclature_texts(data_dir) + eping_texts(data_dir)


def _record_group(key: str) -> str:
    """ePing rows repeat (the same notification under two symbols): one group per title."""
    return key.rsplit(":", 1)[0] if key.startswith("eping:") else key


def evaluation_cases(texts: list[CodedText], data_dir: Path | None = None) -> list[Cases]:
    """The held-out case sets (see the module's docstring), built from the index's own texts."""
    data_dir = data_dir or default_data_dir()
    eping = eping_records(data_dir)
    cases = [
        Cases(
            "ePing notifications",
            "en",
            [t for _, t, _ in eping],
            [set(c) for _, _, c in eping],
            HIDE_GROUP,
            [_record_group(key) for key, _, _ in eping],
        )
    ]
    declarations = [t for t in texts if t.source == "vn_declarations"]
    truths = [{t.code} for t in declarations]
    splits = [split_of(f"hs:{t.code[:4]}") for t in declarations]
    lines = [t.text for t in declarations]
    chapters, keys = [t.code[:2] for t in declarations], [t.key for t in declarations]
    cases.append(Cases("declarations, chapter hidden", "vi", lines, truths, HIDE_CHAPTER, chapters, splits))
    cases.append(Cases("declarations, record hidden", "vi", lines, truths, HIDE_KEY, keys, splits))
    by_source: dict[tuple[str, str], list[CodedText]] = defaultdict(list)
    for t in texts:
        if t.source not in ("hs", "vn_declarations", "wto_eping"):
            by_source[(t.source, t.language)].append(t)
    for (source, language), members in sorted(by_source.items()):
        chosen = sorted(members, key=lambda t: hashlib.sha256(t.key.encode()).hexdigest())[:CASES_PER_SOURCE]
        cases.append(
            Cases(
                f"{source} ({language}), source hidden",
                language,
                [t.text for t in chosen],
                [{t.code} for t in chosen],
                HIDE_SOURCE,
                [source] * len(chosen),
                [split_of(f"hs:{t.code[:4]}") for t in chosen],
            )
        )
    return cases


# --- scoring ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Accuracy:
    """Share of cases whose true code's first 2/4/6 digits are the first or among three suggestions."""

    n: dict[int, int]
    top1: dict[int, float]
    top3: dict[int, float]


def accuracy(ranked: Sequence[Sequence[tuple[str, float]]], truths: Sequence[set[str]]) -> Accuracy:
    n: dict[int, int] = {}
    top1: dict[int, float] = {}
    top3: dict[int, float] = {}
    for level in LEVELS:
        hits1 = hits3 = count = 0
        for suggestions, truth in zip(ranked, truths, strict=True):
            wanted = {code[:level] for code in truth if len(code) >= level}
            if not wanted:
                continue
            count += 1
            codes = [code[:level] for code, _ in suggestions]
            hits1 += bool(codes[:1] and codes[0] in wanted)
            hits3 += bool(wanted & set(codes[:3]))
        n[level], top1[level], top3[level] = count, hits1 / max(count, 1), hits3 / max(count, 1)
    return Accuracy(n, top1, top3)


def ranked_cases(
    index: HsIndex, texts: list[CodedText], cases: Cases, vectors: np.ndarray, rows: list[int] | None = None
) -> list[list[tuple[str, float]]]:
    """The index's suggestions for the cases (``rows`` of them), their leak-prone texts hidden."""
    rows = list(range(len(cases.texts))) if rows is None else rows
    out: list[list[tuple[str, float]]] = []
    for start in range(0, len(rows), 512):
        block = rows[start : start + 512]
        out += index.ranked(
            vectors[block],
            [cases.language] * len(block),
            [cases.texts[r] for r in block],
            mask=cases.mask(texts, block),
        )
    return out


def baseline_ranked(
    query_vectors: np.ndarray, hs6_vectors: np.ndarray, hs6_codes: list[str], limit: int = 3
) -> list[list[tuple[str, float]]]:
    """Plain nearest neighbours: the English HS-6 descriptions closest by cosine."""
    q = query_vectors / np.maximum(np.linalg.norm(query_vectors, axis=1, keepdims=True), 1e-12)
    h = hs6_vectors / np.maximum(np.linalg.norm(hs6_vectors, axis=1, keepdims=True), 1e-12)
    sims = q @ h.T
    top = np.argsort(-sims, axis=1)[:, :limit]
    return [[(hs6_codes[j], float(sims[i, j])) for j in row] for i, row in enumerate(top)]


# --- choosing and calibrating ----------------------------------------------------------

GRID_K = (20, 40)
GRID_TEMPERATURE = (0.04, 0.08)
GRID_LEVEL_WEIGHTS: tuple[tuple[float, float, float], ...] = (
    (0.2, 0.4, 0.4),
    (0.3, 0.4, 0.3),
    (0.4, 0.4, 0.2),
    (0.0, 0.5, 0.5),
)
GRID_LEXICAL_WEIGHT = (0.0, 0.3, 0.5)
# Suggestions under different headings are not in the grid: a first try chose them over
# same-heading ones on every set, and they are what a heading subscription needs.


def grid() -> list[SuggestParams]:
    return [
        SuggestParams(k, t, w, True, lexical_weight=b)
        for k, t, w, b in itertools.product(GRID_K, GRID_TEMPERATURE, GRID_LEVEL_WEIGHTS, GRID_LEXICAL_WEIGHT)
    ]


# The objective: per case set, the mean of HS-4 top-3 (headings answer subscriptions) and
# HS-6 top-1 (the subheading names the product for the reader), averaged over the sets.
def choose_params(
    index: HsIndex, texts: list[CodedText], development: list[tuple[Cases, np.ndarray, list[int]]]
) -> tuple[SuggestParams, float]:
    """The grid point with the best objective on the development cases (EU languages counted
    as one set, so 23 translations of one table do not outvote the other sources)."""
    widest = replace(index, params=replace(index.params, k=max(GRID_K), lexical_weight=1.0))
    neighbours = []
    for cases, vectors, rows in development:
        hidden = cases.mask(texts, rows)
        neighbours.append(
            (
                _eu_folded(cases.name),
                widest.nearest(vectors[rows], [cases.language] * len(rows), mask=hidden),
                widest.lexical_nearest([cases.texts[r] for r in rows], mask=hidden),
                [cases.truths[r] for r in rows],
            )
        )
    best: tuple[float, SuggestParams] | None = None
    for params in grid():
        trial = replace(index, params=params)
        by_set: dict[str, list[float]] = defaultdict(list)
        for name, (indices, sims), words, truths in neighbours:
            result = accuracy(trial.rank_nearest(indices, sims, words), truths)
            by_set[name].append((result.top3[4] + result.top1[6]) / 2)
        value = float(np.mean([np.mean(v) for v in by_set.values()]))
        log.info("HS params %s: objective %.4f", params.as_dict(), value)
        if best is None or value > best[0]:
            best = (value, params)
    assert best is not None
    return best[1], best[0]


def match_threshold_for(
    ranked: Sequence[Sequence[tuple[str, float]]], truths: Sequence[set[str]]
) -> tuple[float, float]:
    """The lowest score from which the suggestions' headings are right for ``MATCH_PRECISION``
    of them (every rank counted), and the share of suggestions it lets through."""
    pairs = sorted(
        (
            (score, code[:4] in {t[:4] for t in truth})
            for suggestions, truth in zip(ranked, truths, strict=True)
            for code, score in suggestions
        ),
        key=lambda p: -p[0],
    )
    if not pairs:
        return 1.0, 0.0
    right = np.cumsum([ok for _, ok in pairs])
    precision = right / np.arange(1, len(pairs) + 1)
    good = np.nonzero(precision >= MATCH_PRECISION)[0]
    if not len(good):
        return 1.0, 0.0
    cut = int(good.max())
    return float(pairs[cut][0]), (cut + 1) / len(pairs)


# --- the whole build -------------------------------------------------------------------


@dataclass
class HsReport:
    """What ``build_index`` chose and how the chosen index scores, per case set and split."""

    params: SuggestParams
    objective: float
    match_threshold: float
    match_share: float
    rows: list[tuple[str, str, str, Accuracy, Accuracy]]  # (cases, language, split, index, baseline)


def _vectors_for(
    texts: list[str], known: dict[str, np.ndarray], embed: Callable[[list[str]], np.ndarray]
) -> np.ndarray:
    missing = [t for t in dict.fromkeys(texts) if t not in known]
    if missing:
        known.update(zip(missing, embed(missing), strict=True))
    return np.stack([known[t] for t in texts]) if texts else np.zeros((0, 0), np.float32)


def _eu_folded(name: str) -> str:
    return "eu_cn_2026" if name.startswith("eu_cn_2026 (") else name


def build_index(
    texts: list[CodedText], vectors: np.ndarray, embed: Callable[[list[str]], np.ndarray], data_dir: Path | None = None
) -> tuple[HsIndex, HsReport]:
    """Fit the index on ``texts``, choose its parameters on the validation cases, calibrate its
    match threshold there and score every case set (test split once, ePing whole)."""
    lexical = {i: t.text for i, t in enumerate(texts) if t.source in LEXICAL_SOURCES}
    index = HsIndex.fit(
        vectors, [t.code for t in texts], [t.source for t in texts], [t.language for t in texts], lexical=lexical
    )
    known = {t.text: v for t, v in zip(texts, vectors, strict=True)}
    cases = [(c, _vectors_for(c.texts, known, embed)) for c in evaluation_cases(texts, data_dir)]
    development = [
        (c, v, [i for i, s in enumerate(c.splits) if s == "val"])
        for c, v in cases
        if c.splits and c.name != "declarations, record hidden"
    ]
    params, objective = choose_params(index, texts, development)
    index = replace(index, params=params)
    # The threshold is calibrated where a measure's kind of text has company in the index:
    # not on declarations whose whole chapter is hidden (no declaration of any product of
    # the chapter left), which chose the parameters as the hardest case.
    validation_ranked: list[list[tuple[str, float]]] = []
    validation_truths: list[set[str]] = []
    for c, v in cases:
        rows = [i for i, s in enumerate(c.splits) if s == "val"]
        if rows and c.hide_by != HIDE_CHAPTER:
            validation_ranked += ranked_cases(index, texts, c, v, rows)
            validation_truths += [c.truths[r] for r in rows]
    threshold, share = match_threshold_for(validation_ranked, validation_truths)
    index.meta = {"match_threshold": round(threshold, 4), "match_precision": MATCH_PRECISION, "texts": len(texts)}
    report = score_cases(index, texts, cases, hs6_baseline(texts, vectors))
    return index, HsReport(params, objective, threshold, share, report)


def score_cases(
    index: HsIndex, texts: list[CodedText], cases: list[tuple[Cases, np.ndarray]], hs6: tuple[np.ndarray, list[str]]
) -> list[tuple[str, str, str, Accuracy, Accuracy]]:
    """Per case set: (name, language, split, the index's accuracy, the baseline's) on its test
    split and on all its cases (ePing: all only)."""
    rows: list[tuple[str, str, str, Accuracy, Accuracy]] = []
    for c, v in cases:
        for split in ("test", "all") if c.splits else ("all",):
            chosen = (
                [i for i, s in enumerate(c.splits) if s == "test"] if split == "test" else list(range(len(c.texts)))
            )
            truths = [c.truths[i] for i in chosen]
            ours = accuracy(ranked_cases(index, texts, c, v, chosen), truths)
            rows.append((c.name, c.language, split, ours, accuracy(baseline_ranked(v[chosen], *hs6), truths)))
    return rows


def hs6_baseline(texts: list[CodedText], vectors: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """The baseline's index: the English HS-6 descriptions and their raw vectors."""
    rows = [i for i, t in enumerate(texts) if t.source == "hs" and len(t.code) == 6]
    return vectors[rows], [texts[i].code for i in rows]


# --- commands --------------------------------------------------------------------------


def texts_digest(texts: list[CodedText]) -> str:
    """Names the exact list of index texts, so an evaluation can tell it reads the same index."""
    digest = hashlib.sha256()
    for t in texts:
        digest.update(f"{t.key}\t{t.code}\t{t.source}\n".encode())
    return digest.hexdigest()[:16]


def _embedder(encoder_path: Path, precision: str) -> Callable[[list[str]], np.ndarray]:
    from classifiers.embedding_cache import embed_cached
    from classifiers.encoder import Encoder
    from classifiers.train import cache_file_for

    cache = cache_file_for(encoder_path, precision=precision)
    encoder = Encoder.load(encoder_path, precision=precision)
    return lambda texts: embed_cached(encoder, texts, cache_file=cache)


def train_hs(
    encoder_path: Path, *, data_dir: Path | None = None, out: Path | None = None, precision: str = "int8"
) -> HsReport:
    """Write the HS name table and the HS index (into ``out``, the head's folder by default)."""
    from classifiers.head import HEAD_DIR
    from classifiers.hs_catalogue import build_catalogue, write_catalogue

    data_dir = data_dir or default_data_dir()
    write_catalogue(build_catalogue(data_dir))
    load_catalogue.cache_clear()
    texts = index_texts(data_dir)
    embed = _embedder(encoder_path, precision)
    index, report = build_index(texts, embed([t.text for t in texts]), embed, data_dir)
    index.meta.update(
        texts_sha256_16=texts_digest(texts),
        encoder_precision=precision,
        objective=round(report.objective, 4),
        match_share=round(report.match_share, 4),
    )
    index.save(out or HEAD_DIR)
    log.info("HS index saved (%d texts, params %s)", len(texts), report.params.as_dict())
    return report


def evaluate_hs(
    encoder_path: Path, *, data_dir: Path | None = None, head_dir: Path | None = None, precision: str = "int8"
) -> list[tuple[str, str, str, Accuracy, Accuracy]]:
    """Score the committed HS index on every case set, beside the baseline."""
    from classifiers.head import HEAD_DIR
    from tbt_alert.errors import ClassifierError

    index = HsIndex.load(head_dir or HEAD_DIR)
    texts = index_texts(data_dir)
    if texts_digest(texts) != index.meta.get("texts_sha256_16"):
        raise ClassifierError(
            "the HS index was built from other texts than the shared data gives now; run `tbt-alert train --hs`."
        )
    embed = _embedder(encoder_path, precision)
    vectors = embed([t.text for t in texts])
    known = {t.text: v for t, v in zip(texts, vectors, strict=True)}
    cases = [(c, _vectors_for(c.texts, known, embed)) for c in evaluation_cases(texts, data_dir)]
    return score_cases(index, texts, cases, hs6_baseline(texts, vectors))


def hs_markdown(rows: list[tuple[str, str, str, Accuracy, Accuracy]], index: HsIndex | None = None) -> str:
    """The accuracy table: HS-2/4/6 top-1 and top-3, ours beside the baseline's."""
    lines = [
        "Each case's code is hidden and so is every index text it could leak from: an ePing row's own",
        'text; for a declaration, every declaration of its chapter ("chapter hidden") or only itself',
        '("record hidden"); for a nomenclature line, every text of its source. A case is right at',
        "HS-L when the first L digits of one of its codes are those of the first (top-1) or of one of",
        "the three (top-3) suggestions; n counts the cases whose codes have 2/4/6 digits. Parameters",
        'were chosen on the validation split (by heading); "test" rows are that split, never used to choose,',
        '"all" rows every case. ePing (25 rows listing codes, June 2025) was never in the grid, but',
        "it was read while the design was chosen (centring, the word vote): not a clean held-out figure.",
        "Baseline: the three English HS-6 descriptions nearest by plain cosine, same encoder.",
        "",
        "| cases | language | split | n (HS-2/4/6) | HS-2 top-1 / top-3 | HS-4 top-1 / top-3 | HS-6 top-1 / top-3 "
        "| baseline HS-2 top-3 | baseline HS-4 top-3 | baseline HS-6 top-3 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, language, split, ours, base in rows:
        cells = [f"{ours.top1[level]:.3f} / {ours.top3[level]:.3f}" for level in LEVELS]
        baseline = [f"{base.top3[level]:.3f}" for level in LEVELS]
        counts = "/".join(str(ours.n[level]) for level in LEVELS)
        lines.append(f"| {name} | {language} | {split} | {counts} | " + " | ".join(cells + baseline) + " |")
    if index is not None:
        lines.append("")
        lines.append(
            f"Index: {len(index.codes)} texts, parameters {index.params.as_dict()}, match threshold "
            f"{index.match_threshold:.3f} (heading precision ≥ {MATCH_PRECISION:.0%} on validation)."
        )
    return "\n".join(lines) + "\n"
