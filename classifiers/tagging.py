"""Tagging of pending measures in the database: the classify stage of the pipeline.

A measure is pending when its ``tagged_version`` is NULL (new or changed content) or
differs from the current classifier version (a new taxonomy, head, HS index or mode).
Its machine tags and its suggested HS codes are written together, in one transaction per
batch, stamped with that version; ``manual`` tags are kept, and the source's own
``hs_codes`` are never written. Running it twice changes nothing the second time.

A new version of a measure already served an older one writes its rows **beside** the served
version's (issue 26): readers keep the old version until ``classifiers.versions`` switches. New
or changed content is tagged in place and served at once (its old tags described another text).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError

from classifiers.classifier import Classifier, classifier_from_settings
from classifiers.language import detect_language
from classifiers.standards import record_standards
from classifiers.versions import begin
from schema.engine import engine_scope, session_scope
from schema.models import Measure, MeasureStandard, MeasureVector, SectorTag, SuggestedHsCode
from schema.vectors import is_exact, pack_vector, vector_array

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from classifiers.hs_suggest import HsSuggestion
    from tbt_alert.settings import Settings

log = logging.getLogger(__name__)

MACHINE_METHODS = ("hs", "ics", "model", "rule")


@dataclass
class ClassifyOutcome:
    measures_tagged: int
    tags_written: int
    classifier_version: str
    mode: str
    seconds: float
    remaining: int = 0
    hs_suggestions_written: int = 0
    standards_written: int = 0
    vectors_reused: int = 0  # measures whose stored vector served: their text was not embedded again


def _pending(version: str) -> Any:
    return or_(Measure.tagged_version.is_(None), Measure.tagged_version != version)


def measure_record(measure: Measure) -> dict[str, Any]:
    return {
        "title": measure.title_en or measure.title,
        "description": measure.description,
        "products": measure.products or measure.product_type,
        "hs_codes": list(measure.hs_codes or []),
        "ics_codes": list(measure.ics_codes or []),
        "kind": measure.kind,
        "language": measure.language,
        # The chemical-hazard rule reads these (a recall for phthalates is a chemicals matter too).
        "hazard": measure.hazard,
        "risk_type": measure.risk_type,
    }


def measure_texts(measure: Measure) -> dict[str, str | None]:
    """The text fields of a measure that may cite standards (all of them, not only the classifier's)."""
    return {
        "title": measure.title,
        "title_en": measure.title_en,
        "description": measure.description,
        "products": measure.products,
        "hazard": measure.hazard,
        "measures_taken": measure.measures_taken,
        "risk_type": measure.risk_type,
    }


def store_standards(session: Session, measure: Measure) -> int:
    """Replace a measure's cited standards with those its text cites now; how many."""
    session.execute(delete(MeasureStandard).where(MeasureStandard.measure_id == measure.id))
    standards = record_standards(measure_texts(measure))
    for rank, standard in enumerate(standards, start=1):
        session.add(
            MeasureStandard(
                measure_id=measure.id,
                rank=rank,
                code=standard.code,
                key=standard.key,
                body=standard.body,
                number=standard.number,
                part=standard.part,
                year=standard.year,
                amendment=standard.amendment,
                adopted_by=standard.adopted_by,
            )
        )
    return len(standards)


def extract_all_standards(engine: Engine, *, batch_size: int = 500) -> tuple[int, int]:
    """Re-read every measure's cited standards (after an extractor change, or for measures tagged
    before the table existed); text only, no classifier. Returns (measures read, standards stored)."""
    read = stored = 0
    last_id = ""
    while True:
        with session_scope(engine) as session:
            measures = list(
                session.scalars(select(Measure).where(Measure.id > last_id).order_by(Measure.id).limit(batch_size))
            )
            if not measures:
                break
            for measure in measures:
                stored += store_standards(session, measure)
            read += len(measures)
            last_id = measures[-1].id
    return read, stored


def tag_pending(
    engine: Engine,
    classifier: Classifier,
    *,
    limit: int | None = None,
    batch_size: int = 64,
    id_range: tuple[str | None, str | None] | None = None,
) -> ClassifyOutcome:
    """Tag pending measures with ``classifier``; the building block of :func:`classify_pending`.

    ``id_range``: only measures with first <= id <= last (None: open), one partition of
    classifiers.partitions, compared in the database's own collation as it was planned.
    """
    started = time.monotonic()
    version = classifier.version
    first_id, last_id = id_range or (None, None)
    scope = [
        _pending(version),
        *([Measure.id >= first_id] if first_id is not None else []),
        *([Measure.id <= last_id] if last_id is not None else []),
    ]
    encoder_version = classifier.encoder_version
    tagged = written = suggested = standards = reused = 0
    beside = _begin(engine, version)
    if beside is not None:
        log.info("classifier %s tags beside the active %s; readers keep %s until the switch", version, beside, beside)
    while limit is None or tagged < limit:
        size = batch_size if limit is None else min(batch_size, limit - tagged)
        with session_scope(engine) as session:
            measures = list(session.scalars(select(Measure).where(*scope).order_by(Measure.id).limit(size)))
            if not measures:
                break
            records = [measure_record(m) for m in measures]
            texts = classifier.embedding_texts(records)
            digests, known = _reusable_vectors(session, classifier, texts, measures, encoder_version)
            reused += sum(v is not None for v in known)
            readings = classifier.read(records, vectors=known, texts=texts)
            _clear(session, measures, version)
            for measure, reading, digest in zip(measures, readings, digests, strict=True):
                for pred in reading.sectors:
                    session.add(
                        SectorTag(
                            measure_id=measure.id,
                            sector=pred.sector,
                            score=float(pred.score),
                            method=pred.method,
                            evidence=pred.evidence,
                            classifier_version=version,
                        )
                    )
                    written += 1
                suggested += _add_suggestions(session, measure.id, reading.hs_suggested, version)
                if reading.vector is not None and encoder_version is not None:
                    # Kept for the search index's dense field (issue 21): made once, here. One row
                    # per measure: the same encoder gives the same vector to every classifier version.
                    session.merge(
                        MeasureVector(
                            measure_id=measure.id,
                            encoder_version=encoder_version,
                            dims=int(reading.vector.shape[0]),
                            vector=pack_vector(reading.vector),
                            text_digest=digest,
                        )
                    )
                standards += store_standards(session, measure)
                if _in_place(measure, version):
                    measure.served_version = version
                measure.tagged_version = version
                if not measure.language:
                    measure.language = detect_language(measure.title or measure.description)
            tagged += len(measures)
        log.info("tagged %d measures so far, %d from stored vectors (classifier %s)", tagged, reused, version)
    with session_scope(engine) as session:
        remaining = int(session.scalar(select(func.count()).select_from(Measure).where(*scope)) or 0)
    seconds = round(time.monotonic() - started, 2)
    return ClassifyOutcome(
        tagged, written, version, classifier.mode, seconds, remaining, suggested, standards, vectors_reused=reused
    )


def _reusable_vectors(
    session: Session,
    classifier: Classifier,
    texts: Sequence[str],
    measures: Sequence[Measure],
    encoder_version: str | None,
) -> tuple[list[str | None], list[np.ndarray | None]]:
    """Per measure, the digest of the text its vector is made of (``texts``: the classifier's
    embedding texts of the measures), and its stored sentence vector
    where that is the one the encoder would give the text now (same encoder version and text
    digest, stored exactly), else None: only those are embedded."""
    nothing: list[np.ndarray | None] = [None] * len(measures)
    if encoder_version is None:
        return [None] * len(measures), nothing
    digests = [classifier.text_digest(t) if t else None for t in texts]
    if not any(digests):
        return digests, nothing
    ids = [m.id for m in measures]
    rows = session.execute(
        select(MeasureVector.measure_id, MeasureVector.vector, MeasureVector.dims, MeasureVector.text_digest).where(
            MeasureVector.measure_id.in_(ids), MeasureVector.encoder_version == encoder_version
        )
    )
    dims = classifier.head.dim if classifier.head is not None else None
    stored = {
        row.measure_id: (row.text_digest, vector_array(row.vector, row.dims))
        for row in rows
        if row.dims == dims and is_exact(row.vector, row.dims)
    }
    found: list[np.ndarray | None] = []
    for measure_id, digest in zip(ids, digests, strict=True):
        kept = stored.get(measure_id)
        found.append(kept[1] if kept is not None and digest is not None and kept[0] == digest else None)
    return digests, found


def _begin(engine: Engine, version: str) -> str | None:
    """Record the version tagging now (classifiers.versions.begin); the version it tags beside, if any.

    Partitions start side by side: when two create the record at once, the loser reads the winner's."""
    try:
        with session_scope(engine) as session:
            return begin(session, version)
    except IntegrityError:
        with session_scope(engine) as session:
            return begin(session, version)


def _in_place(measure: Measure, version: str) -> bool:
    """Whether ``measure``'s rows of ``version`` replace what it is served (else they go beside).

    In place: nothing served yet, the served version is ``version`` itself, or the content is new
    or changed (``tagged_version`` NULL), whose old tags describe a text that is gone."""
    return measure.served_version in (None, version) or measure.tagged_version is None


def _clear(session: Session, measures: Sequence[Measure], version: str) -> None:
    """Delete what this batch's tagging replaces: every machine row of a measure tagged in place,
    only the ``version`` rows (an interrupted earlier try) of one tagged beside its served version."""
    in_place = [m.id for m in measures if _in_place(m, version)]
    beside = [m.id for m in measures if not _in_place(m, version)]
    if in_place:
        session.execute(
            delete(SectorTag).where(SectorTag.measure_id.in_(in_place), SectorTag.method.in_(MACHINE_METHODS))
        )
        session.execute(delete(SuggestedHsCode).where(SuggestedHsCode.measure_id.in_(in_place)))
        # A reading without a vector (rules mode) leaves none behind; one with a vector replaces it.
        session.execute(delete(MeasureVector).where(MeasureVector.measure_id.in_(in_place)))
    if beside:
        session.execute(
            delete(SectorTag).where(
                SectorTag.measure_id.in_(beside),
                SectorTag.method.in_(MACHINE_METHODS),
                SectorTag.classifier_version == version,
            )
        )
        session.execute(
            delete(SuggestedHsCode).where(
                SuggestedHsCode.measure_id.in_(beside), SuggestedHsCode.classifier_version == version
            )
        )


def _add_suggestions(session: Session, measure_id: str, suggestions: Sequence[HsSuggestion], version: str) -> int:
    """Store a measure's suggestions, ranked from 1 in the classifier's order; how many rows."""
    seen: set[str] = set()
    for suggestion in suggestions:
        if suggestion.code in seen:  # one row per code (uq_hs_suggestions), the better rank kept
            continue
        seen.add(suggestion.code)
        session.add(
            SuggestedHsCode(
                measure_id=measure_id,
                rank=len(seen),
                code=suggestion.code,
                score=float(suggestion.score),
                name_zh=suggestion.name_zh,
                name_en=suggestion.name_en,
                classifier_version=version,
            )
        )
    return len(seen)


def classify_pending(
    settings: Settings,
    *,
    limit: int | None = None,
    batch_size: int = 64,
    id_range: tuple[str | None, str | None] | None = None,
) -> ClassifyOutcome:
    """Tag every pending measure of the database in ``settings`` (at most ``limit``; in ``id_range``)."""
    with engine_scope(settings) as engine:
        classifier = classifier_from_settings(settings)
        return tag_pending(engine, classifier, limit=limit, batch_size=batch_size, id_range=id_range)
