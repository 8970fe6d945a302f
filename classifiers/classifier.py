"""The sector classifier: HS/ICS rules first, then the multilingual model (or keyword rules).

``Classifier.classify(records)`` is the pure API other stages call: records are
mappings with ``title``, ``description``, ``products``, ``hs_codes``, ``ics_codes``
(all optional); the answer is one list of :class:`SectorPrediction` per record, each
with the method (``hs``, ``ics``, ``model``, ``rule``), a score and its evidence.

Two modes, chosen explicitly: ``model`` (encoder + trained head; fails with a clear
error when the encoder folder is missing) and ``rules`` (HS/ICS + keyword rules only,
for machines without the encoder). The mode is part of the classifier version, so
switching it re-tags every measure.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.sparse import csr_matrix

from classifiers.hazards import chemical_hazards
from classifiers.head import HEAD_DIR, Head
from classifiers.hs_suggest import HsIndex, HsSuggestion, index_exists
from classifiers.keywords import KeywordRules, keyword_rules
from classifiers.language import ENGLISH, LATIN, language_group, latin_text_is_english, simplified_chinese
from classifiers.taxonomy import CROSS_SECTOR, Taxonomy, load_taxonomy, normalise_hs, normalise_ics
from tbt_alert.errors import ClassifierError

if TYPE_CHECKING:
    from tbt_alert.settings import Settings

log = logging.getLogger(__name__)

MODES = ("model", "rules")
# Scores of rule tags: exact code rules are certain; keyword hits are weaker evidence.
HS_SCORE = 1.0
ICS_SCORE = 0.9
KEYWORD_BASE_SCORE = 0.6
CHEMICAL_SCORE = 0.8  # a named restricted substance: near-certain, but a reading of text, not a code
# A measure naming this many product sectors (by HS codes) is horizontal in effect.
HORIZONTAL_MIN_SECTORS = 4
# Where a reader expects the product to be named before a sector is added: records whose
# HS/ICS codes already give sectors (the model may add to those, never contradict them), and
# notifications, whose formal wording ("technical regulation", "conformity assessment")
# the model otherwise reads as a product (telecom standards tagged auto_parts). There a model
# sector needs one of its keywords in the text.
NAMED_PRODUCT_KINDS = frozenset({"notification", "regulation", "standard"})
_MAX_TEXT = 20_000


@dataclass(frozen=True)
class SectorPrediction:
    sector: str
    score: float
    method: str  # hs, ics, model, rule
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.sector, "score": round(self.score, 4), "method": self.method, "evidence": self.evidence}


@dataclass(frozen=True)
class Reading:
    """What the classifier reads in one record: its sectors and its suggested HS codes."""

    sectors: list[SectorPrediction]
    hs_suggested: list[HsSuggestion]
    # The record's sentence vector (unit length), for the search index's dense retrieval; None
    # in rules mode or for a record without text.
    vector: np.ndarray | None = None


def _text_field(record: Mapping[str, Any], name: str) -> str:
    value = record.get(name)
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        value = "; ".join(str(v) for v in value)
    return " ".join(str(value)[:_MAX_TEXT].split())


def record_text(record: Mapping[str, Any]) -> str:
    """Title + products + description, the text the head was trained on, in composed Unicode
    (Vietnamese typed with combining accents would otherwise miss every keyword)."""
    parts = [_text_field(record, "title"), _text_field(record, "products"), _text_field(record, "description")]
    return unicodedata.normalize("NFC", " | ".join(p for p in parts if p))


def _codes(record: Mapping[str, Any], name: str) -> list[str]:
    value = record.get(name) or []
    if isinstance(value, str):
        value = value.replace(",", ";").split(";")
    if not isinstance(value, list | tuple):
        return []
    return [str(v).strip() for v in value if str(v).strip()]


@dataclass
class Classifier:
    taxonomy: Taxonomy
    mode: str
    head: Head | None = None
    encoder: Any = None
    keywords: KeywordRules | None = None
    batch_size: int = 64
    hs_index: HsIndex | None = None  # suggests HS codes from the same sentence vectors (model mode)

    @classmethod
    def load(
        cls,
        *,
        mode: str = "model",
        encoder_path: Path | str | None = None,
        head_dir: Path = HEAD_DIR,
        taxonomy: Taxonomy | None = None,
        encoder: Any = None,
        precision: str | None = None,
        head: Head | None = None,
    ) -> Classifier:
        """Load the classifier; ``mode='model'`` needs the encoder folder (or an ``encoder`` object).

        ``precision`` (fp32, int8) is the encoder's; by default the one the head was trained
        on, and a different one is an error (the head would see vectors it never saw).
        ``head``: a head in memory instead of the one in ``head_dir`` (leave-one-source-out),
        without an HS index. The HS index is read from ``head_dir`` where there is one.
        """
        if mode not in MODES:
            raise ClassifierError(f"classifier mode {mode!r} is unknown; set TBT_CLASSIFIER_MODE to model or rules.")
        taxonomy = taxonomy or load_taxonomy()
        clf = cls(taxonomy=taxonomy, mode=mode, keywords=keyword_rules(taxonomy))
        if mode == "model":
            from classifiers.encoder import INT8_SCHEME, Encoder

            if encoder is None:
                if encoder_path is None:
                    raise ClassifierError("no encoder path given; set TBT_ENCODER_PATH or run `tbt-alert model build`.")
                path = Path(encoder_path).expanduser()
                if isinstance(encoder_path, Path) and not path.exists():
                    raise ClassifierError(
                        f"the encoder is missing at {path}; run `tbt-alert model build`, "
                        "or set TBT_CLASSIFIER_MODE=rules to tag with HS/ICS and keyword rules only."
                    )
            # A head given in memory (leave-one-source-out) comes without the folder's HS index.
            hs_folder = head_dir if head is None else None
            head = head or Head.load(head_dir)
            wanted = precision or str(getattr(encoder, "precision", None) or head.precision)
            if wanted != head.precision:
                raise ClassifierError(
                    f"the head in {head_dir} was trained on {head.precision} encoder vectors, not {wanted}; "
                    f"set TBT_ENCODER_PRECISION={head.precision} or run `tbt-alert train` with {wanted}."
                )
            if head.precision == "int8" and head.meta.get("encoder_int8_scheme") != INT8_SCHEME:
                raise ClassifierError(
                    f"the head in {head_dir} was trained on vectors of an earlier int8 scheme "
                    f"(activations scaled per batch), not {INT8_SCHEME}; run `tbt-alert train`."
                )
            if encoder is None:
                assert encoder_path is not None
                encoder = Encoder.load(encoder_path, precision=head.precision)
            clf.head = head
            if encoder.dim != clf.head.dim:
                raise ClassifierError(
                    f"the encoder gives {encoder.dim}-dim vectors but the head expects {clf.head.dim}; "
                    "run `tbt-alert train` with this encoder."
                )
            clf.encoder = encoder
            if hs_folder is not None and index_exists(hs_folder):
                clf.hs_index = HsIndex.load(hs_folder)
                if clf.hs_index.dim != encoder.dim:
                    raise ClassifierError(
                        f"the HS index in {head_dir} expects {clf.hs_index.dim}-dim vectors, not {encoder.dim}; "
                        "run `tbt-alert train` with this encoder."
                    )
        return clf

    @property
    def version(self) -> str:
        """Changes whenever the taxonomy, the trained head, the HS index or the mode changes."""
        if self.mode == "model" and self.head is not None:
            version = f"tax{self.taxonomy.version}-head{self.head.meta.get('weights_sha256_10', 'x')[:8]}"
            return version + (f"-hs{self.hs_index.version}" if self.hs_index is not None else "")
        return f"tax{self.taxonomy.version}-rules"

    @property
    def encoder_version(self) -> str | None:
        """Names the sentence vectors' space (encoder weights, precision, int8 scheme); None
        without an encoder. Vectors of another space are never compared with these."""
        if self.head is None or self.encoder is None:
            return None
        meta = self.head.meta
        parts = (str(meta.get("encoder_model_sha256", "x"))[:12], self.head.precision, meta.get("encoder_int8_scheme"))
        return "e5s-" + "-".join(str(p) for p in parts if p)

    # --- taggers ---------------------------------------------------------------------

    def hs_predictions(self, record: Mapping[str, Any]) -> list[SectorPrediction]:
        matched: dict[str, tuple[str, str]] = {}
        evidence: dict[str, list[str]] = {}
        for code in _codes(record, "hs_codes"):
            for sector, prefix in self.taxonomy.sectors_for_hs(code):
                matched[sector.code] = (code, prefix)
                evidence.setdefault(sector.code, [])
                digits = normalise_hs(code) or code
                if digits not in evidence[sector.code]:
                    evidence[sector.code].append(digits)
        return [
            SectorPrediction(
                s,
                HS_SCORE,
                "hs",
                {
                    "hs_codes": codes,
                    "rule_prefixes": sorted(
                        {p for c in codes for sec, p in self.taxonomy.sectors_for_hs(c) if sec.code == s}
                    ),
                },
            )
            for s, codes in evidence.items()
        ]

    def ics_predictions(self, record: Mapping[str, Any]) -> list[SectorPrediction]:
        evidence: dict[str, list[str]] = {}
        for code in _codes(record, "ics_codes"):
            for sector, _prefix in self.taxonomy.sectors_for_ics(code):
                ics = normalise_ics(code) or code
                evidence.setdefault(sector.code, [])
                if ics not in evidence[sector.code]:
                    evidence[sector.code].append(ics)
        return [SectorPrediction(s, ICS_SCORE, "ics", {"ics_codes": codes}) for s, codes in evidence.items()]

    def keyword_predictions(self, text: str) -> list[SectorPrediction]:
        assert self.keywords is not None
        return self._keyword_tags(self.keywords.matches(text))

    @staticmethod
    def _keyword_tags(found: Mapping[str, list[str]]) -> list[SectorPrediction]:
        out = []
        for sector, hits in found.items():
            if sector == CROSS_SECTOR:
                continue
            score = min(0.95, KEYWORD_BASE_SCORE + 0.1 * (len(hits) - 1))
            out.append(SectorPrediction(sector, score, "rule", {"keywords": hits[:10]}))
        return out

    def _cross_sector(
        self, record: Mapping[str, Any], found: Mapping[str, list[str]], code_sectors: set[str]
    ) -> SectorPrediction | None:
        """Horizontal measures: a horizontal phrase, and not scoped to a few products by codes.

        Recalls are about one product, never horizontal, although their texts often cite
        "CE marking" or a safety regulation.
        """
        if str(record.get("kind") or "") == "recall":
            return None
        hits = found.get(CROSS_SECTOR)
        if not hits or 0 < len(code_sectors) < HORIZONTAL_MIN_SECTORS:
            return None
        return SectorPrediction(CROSS_SECTOR, 0.7, "rule", {"keywords": hits[:10]})

    # --- the API ---------------------------------------------------------------------

    def classify(self, records: Sequence[Mapping[str, Any]]) -> list[list[SectorPrediction]]:
        """Sector predictions per record, most certain first; never raises for odd field values."""
        return [reading.sectors for reading in self.read(records)]

    def embedding_texts(self, records: Sequence[Mapping[str, Any]]) -> list[str]:
        """The exact text of each record that the encoder reads (empty: the record gets no vector)."""
        return [simplified_chinese(record_text(r)) for r in records]

    def text_digest(self, text: str) -> str | None:
        """Names ``text``'s sentence vector within ``encoder_version`` (None: no encoder, or one
        that cannot name its vectors): a vector stored under the same version and digest is the
        one the encoder would give again."""
        digest = getattr(self.encoder, "text_digest", None)
        return str(digest(text)) if self.encoder_version is not None and digest is not None else None

    def _given_texts(self, records: Sequence[Mapping[str, Any]], texts: Sequence[str] | None) -> list[str]:
        if texts is None:
            return self.embedding_texts(records)
        if len(texts) != len(records):
            raise ClassifierError(f"{len(records)} records came with {len(texts)} embedding texts; pass one each.")
        return list(texts)

    def read(
        self,
        records: Sequence[Mapping[str, Any]],
        *,
        vectors: Sequence[np.ndarray | None] | None = None,
        texts: Sequence[str] | None = None,
    ) -> list[Reading]:
        """Sectors and suggested HS codes per record, from one sentence vector per record.

        Suggestions come with the model (rules mode has no vectors: none) and are made for
        every record, those with source HS codes too; they never replace a source's codes.
        ``vectors``: per record, its stored vector where it is still the encoder's vector of
        the record's text (same ``encoder_version`` and ``text_digest``), else None; only the
        others are embedded. A re-tag of unchanged text then runs no encoder at all.
        ``texts``: the records' ``embedding_texts``, where the caller made them already.
        """
        texts = self._given_texts(records, texts)
        assert self.keywords is not None
        # Keyword hits serve three times: head inputs, rules-mode tags, cross_sector.
        hits = [self.keywords.matches(t) if t else {} for t in texts]
        parts = None
        if self.mode == "model" and records:
            groups = [_group_of(r, t) for r, t in zip(records, texts, strict=True)]
            parts = self._model_parts(texts, hits, groups, known=vectors)
        results = []
        for i, record in enumerate(records):
            tags: dict[str, SectorPrediction] = {}
            for pred in self.hs_predictions(record) + self.ics_predictions(record):
                tags.setdefault(pred.sector, pred)
            code_sectors = set(tags)
            if parts is not None:
                assert self.head is not None
                needs_name = bool(code_sectors - {CROSS_SECTOR}) or str(record.get("kind") or "") in NAMED_PRODUCT_KINDS
                for j, sector in enumerate(self.head.sectors):
                    score = float(parts.mixed[i, j])
                    if score < float(parts.thresholds[i, j]) or sector in tags:
                        continue
                    if needs_name and sector not in hits[i]:
                        continue
                    evidence = self._model_evidence(parts, i, j)
                    if sector in hits[i]:
                        evidence["keywords"] = hits[i][sector][:5]
                    tags[sector] = SectorPrediction(sector, score, "model", evidence)
                fallback = self._fallback(parts, i, tags, hits[i] if needs_name else None)
                if fallback is not None:
                    tags[fallback.sector] = fallback
            elif texts[i]:
                for pred in self._keyword_tags(hits[i]):
                    tags.setdefault(pred.sector, pred)
            chemical = self._chemical_hazard(record, texts[i], tags)
            if chemical is not None:
                tags[chemical.sector] = chemical
            if CROSS_SECTOR not in tags and texts[i]:
                cross = self._cross_sector(record, hits[i], code_sectors - {CROSS_SECTOR})
                if cross is not None:
                    tags[CROSS_SECTOR] = cross
            results.append(sorted(tags.values(), key=lambda p: (-p.score, p.sector)))
        suggested: list[list[HsSuggestion]] = [[] for _ in records]
        if parts is not None and self.hs_index is not None:
            languages = [str(r.get("language") or "") or None for r in records]
            suggested = self.hs_index.suggest(parts.vectors, languages, texts)
        made: list[np.ndarray | None] = [None] * len(records)
        if parts is not None:
            made = [parts.vectors[i] if texts[i] else None for i in range(len(records))]
        return [Reading(sec, hs, vec) for sec, hs, vec in zip(results, suggested, made, strict=True)]

    @staticmethod
    def _chemical_hazard(
        record: Mapping[str, Any], text: str, tags: Mapping[str, SectorPrediction]
    ) -> SectorPrediction | None:
        """chemicals_plastics for a product recalled or regulated for a restricted substance or
        chemical limit (the labelling guide's rule, as the training labels apply it): named in
        its text or hazard, or a chemical risk type."""
        rule = chemical_hazards()
        hazard = " ".join(_text_field(record, name) for name in ("hazard", "risk_type"))
        terms = rule.terms(f"{text} {hazard}")
        if rule.chemical_risk(_text_field(record, "risk_type")):
            terms = terms or [_text_field(record, "risk_type")]
        if not terms or not rule.applies_to(tags) or all(sector in tags for sector in rule.adds):
            return None
        sector = next(sector for sector in rule.adds if sector not in tags)
        return SectorPrediction(sector, CHEMICAL_SCORE, "rule", {"hazard_terms": terms[:5]})

    def _fallback(
        self, parts: _ModelParts, row: int, tags: Mapping[str, SectorPrediction], named: Mapping[str, Any] | None
    ) -> SectorPrediction | None:
        """The best sector of a text no sector passed for, where it clears its group's floor
        (and, where a product must be named, is named)."""
        assert self.head is not None
        if any(sector != CROSS_SECTOR for sector in tags):
            return None
        column = int(np.argmax(parts.mixed[row]))
        score = float(parts.mixed[row, column])
        sector = self.head.sectors[column]
        if score < float(parts.floors[row]) or (named is not None and sector not in named):
            return None
        evidence = self._model_evidence(parts, row, column)
        evidence["fallback_floor"] = round(float(parts.floors[row]), 3)
        return SectorPrediction(sector, score, "model", evidence)

    def _model_parts(
        self,
        texts: list[str],
        hits: list[dict[str, list[str]]],
        groups: list[str],
        *,
        known: Sequence[np.ndarray | None] | None = None,
    ) -> _ModelParts:
        """Every part of the head scored on a batch, kept for the tags' evidence; ``known``
        vectors (per text, or None) are used as given, the rest embedded."""
        assert self.encoder is not None
        assert self.head is not None
        head = self.head
        vectors = np.zeros((len(texts), head.dim), dtype=np.float32)
        for i, vector in enumerate(known or ()):
            if vector is not None and texts[i]:
                vectors[i] = vector
        have = {i for i, vector in enumerate(known or ()) if vector is not None}
        missing = [i for i, t in enumerate(texts) if t and i not in have]
        if missing:
            vectors[missing] = self.encoder.embed([texts[i] for i in missing], batch_size=self.batch_size)
        keyword_features = None
        if head.uses_keywords:
            keyword_features = np.array(
                [[min(len(h.get(s, ())), 3) / 3 for s in head.sectors] for h in hits], dtype=np.float32
            )
        vector = head.scores(vectors, keyword_features)
        lexical_features = lexical = None
        if head.lexical is not None:
            lexical_features = head.lexical.features(texts)
            lexical = head.lexical.scores(texts, lexical_features)
        neighbour_indices = neighbour_sims = neighbour = None
        if head.neighbours is not None:
            neighbour_indices, neighbour_sims = head.neighbours.nearest(vectors)
            neighbour = head.neighbours.votes(neighbour_indices, neighbour_sims)
        mixed, thresholds, floors, factors = head.mix_groups(groups, vector, lexical, neighbour)
        # Where the text names a sector, its group's factor lowers that sector's bar.
        named = np.array([[s in h for s in head.sectors] for h in hits], dtype=bool).reshape(len(hits), -1)
        thresholds = np.where(named, thresholds * factors[:, None], thresholds)
        mixed[[i for i, t in enumerate(texts) if not t]] = 0.0
        return _ModelParts(
            vectors,
            vector,
            mixed,
            thresholds,
            floors,
            groups,
            lexical,
            lexical_features,
            neighbour,
            neighbour_indices,
            neighbour_sims,
        )

    def _model_evidence(self, parts: _ModelParts, row: int, column: int) -> dict[str, Any]:
        """Why the model gave a sector: its threshold, each part's score, the words and the
        labelled examples behind it."""
        assert self.head is not None
        head = self.head
        evidence: dict[str, Any] = {
            "threshold": round(float(parts.thresholds[row, column]), 3),
            "language_group": parts.groups[row],
        }
        if parts.lexical is not None or parts.neighbour is not None:
            evidence["vector_score"] = round(float(parts.vector[row, column]), 3)
        if head.lexical is not None and parts.lexical is not None and parts.lexical_features is not None:
            evidence["lexical_score"] = round(float(parts.lexical[row, column]), 3)
            evidence["terms"] = head.lexical.top_terms(parts.lexical_features, row, column)
        examples: list[dict[str, Any]] = []
        if head.neighbours is not None and parts.neighbour is not None:
            assert parts.neighbour_indices is not None
            assert parts.neighbour_sims is not None
            evidence["neighbour_score"] = round(float(parts.neighbour[row, column]), 3)
            examples = head.neighbours.examples_for(parts.neighbour_indices[row], parts.neighbour_sims[row], column)
        # Without a neighbour of that sector, the sector's own exemplars show what it means.
        evidence["nearest_examples"] = examples or head.nearest(parts.vectors[row], head.sectors[column])
        return evidence


@dataclass
class _ModelParts:
    """A batch's sentence vectors and the scores of each part of the head."""

    vectors: np.ndarray
    vector: np.ndarray
    mixed: np.ndarray  # what the thresholds apply to
    thresholds: np.ndarray  # per row and sector: those of the row's language group
    floors: np.ndarray  # per row: its group's fallback floor
    groups: list[str]  # the language group of each row
    lexical: np.ndarray | None
    lexical_features: csr_matrix | None
    neighbour: np.ndarray | None
    neighbour_indices: np.ndarray | None
    neighbour_sims: np.ndarray | None


def _group_of(record: Mapping[str, Any], text: str) -> str:
    """The language group of a record: by its declared language, else by script, Latin text
    being English unless it reads otherwise (``latin_text_is_english``)."""
    language = record.get("language")
    group = language_group(str(language) if language else None, text)
    if not language and group == ENGLISH and text and not latin_text_is_english(text):
        return LATIN
    return group


def classifier_from_settings(settings: Settings, *, mode: str | None = None) -> Classifier:
    """The classifier the settings ask for (``TBT_CLASSIFIER_MODE``: model by default, or rules)."""
    chosen = mode or settings.classifier_mode
    return Classifier.load(mode=chosen, encoder_path=Path(settings.encoder_path), precision=settings.encoder_precision)
