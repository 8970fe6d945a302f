"""The measures a measure page lists as related, each with why: the same document from another
source, the same notification lineage (the original, its addenda and corrigenda), the same product
(the source's product type, or an HS code in common), the other kind in the same sector and country
(recalls for a notification, notifications for a recall), and similar text by the sentence vectors
stored at tagging (a kNN search in the index, so it works across languages).

The index is only asked for what the database cannot answer cheaply (HS codes in a JSON list,
vectors); when it is down the page still lists what the database gives.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from classifiers.versions import served
from schema.models import Measure, MeasureStandard, MeasureVector, SectorTag
from tbt_alert.errors import TbtError
from tbt_alert.settings import Settings

log = logging.getLogger(__name__)

PER_KIND = 8  # related measures of one kind (same product, similar text, ...)
SHOWN = 20
# ES cosine score, (1 + cos) / 2. Read off the recorded recalls, not calibrated: twins score 0.79-0.95
# (Toy slime / Toy slime, Gel nail polish / Gel nail varnish), neighbours of another product 0.70 and
# below (USB charger / Fan heater 0.70), so only near-twins count as "similar text".
SIMILAR_MIN = 0.75


@dataclass
class Related:
    measure: Measure
    why: list[str] = field(default_factory=list)  # message keys: related_symbol, related_lineage, ...
    similarity: float | None = None


def _lineage_ids(session: Session, measure: Measure) -> set[str]:
    """The root of the measure's notification and every follow-up under it."""
    root, seen = measure, {measure.id}
    while root.parent_id and root.parent_id not in seen:
        parent = session.get(Measure, root.parent_id)
        if parent is None:
            break
        root = parent
        seen.add(root.id)
    ids, frontier = {root.id}, [root.id]
    while frontier:
        children = list(session.scalars(select(Measure.id).where(Measure.parent_id.in_(frontier))))
        frontier = [c for c in children if c not in ids]
        ids.update(frontier)
    return ids - {measure.id}


def _from_index(settings: Settings, es: Any, session: Session, measure: Measure) -> dict[str, tuple[str, float]]:
    """Measure id -> (why, score) from the index: HS codes in common and nearest sentence vectors."""
    from classifiers.head import HEAD_DIR
    from classifiers.language_means import centred
    from schema.vectors import unpack_vector
    from search.client import guarded
    from search.names import alias

    found: dict[str, tuple[str, float]] = {}
    index = alias(settings, "measures")
    not_self = {"bool": {"must_not": [{"ids": {"values": [measure.id]}}]}}
    codes = [str(c) for c in measure.hs_codes or [] if str(c).strip()]
    with guarded(settings, "find related measures"):
        if codes:
            body = {"bool": {"filter": [{"terms": {"hs_codes": codes}}], **not_self["bool"]}}
            hits = es.search(index=index, query=body, size=PER_KIND, source=False)["hits"]["hits"]
            for hit in hits:
                found.setdefault(hit["_id"], ("related_hs", 1.0))
        stored = session.execute(
            select(MeasureVector.vector, MeasureVector.dims).where(MeasureVector.measure_id == measure.id)
        ).first()
        if stored is not None:
            vector = centred(unpack_vector(stored.vector, stored.dims), measure.language, HEAD_DIR)
            knn = {"field": "vector", "query_vector": vector, "k": PER_KIND, "num_candidates": 100, "filter": not_self}
            for hit in es.search(index=index, knn=knn, size=PER_KIND, source=False)["hits"]["hits"]:
                if float(hit["_score"]) >= SIMILAR_MIN:
                    found.setdefault(hit["_id"], ("related_vector", float(hit["_score"])))
    return found


def related_measures(session: Session, measure: Measure, settings: Settings, es: Any | None) -> list[Related]:
    """Related measures, the closest reasons first (same document, lineage, product, cited standard,
    sector, text)."""
    found: dict[str, Related] = {}

    def add(others: Any, why: str, similarity: float | None = None) -> None:
        for other in others:
            entry = found.setdefault(other.id, Related(other))
            if why not in entry.why:
                entry.why.append(why)
            if similarity is not None:
                entry.similarity = similarity

    if measure.document_symbol:
        add(
            session.scalars(
                select(Measure)
                .where(Measure.document_symbol == measure.document_symbol, Measure.id != measure.id)
                .limit(PER_KIND)
            ),
            "related_symbol",
        )
    lineage = sorted(_lineage_ids(session, measure))[:PER_KIND]
    if lineage:
        add(session.scalars(select(Measure).where(Measure.id.in_(lineage))), "related_lineage")
    if measure.product_type and measure.product_type.strip():
        add(
            session.scalars(
                select(Measure)
                .where(
                    func.lower(Measure.product_type) == measure.product_type.strip().lower(),
                    Measure.id != measure.id,
                )
                .order_by(Measure.published_on.desc().nulls_last(), Measure.id)
                .limit(PER_KIND)
            ),
            "related_product",
        )
    keys = sorted({c.key for c in measure.cited_standards})
    if keys:
        add(
            session.scalars(
                select(Measure)
                .join(MeasureStandard, MeasureStandard.measure_id == Measure.id)
                .where(MeasureStandard.key.in_(keys), Measure.id != measure.id)
                .order_by(Measure.published_on.desc().nulls_last(), Measure.id)
                .distinct()
                .limit(PER_KIND)
            ),
            "related_standard",
        )
    sectors = {t.sector for t in measure.sector_tags}
    if sectors and measure.country:
        other_kind = (Measure.kind != "recall") if measure.kind == "recall" else (Measure.kind == "recall")
        add(
            session.scalars(
                select(Measure)
                .join(SectorTag, SectorTag.measure_id == Measure.id)
                .where(
                    SectorTag.sector.in_(sectors),
                    served(SectorTag),
                    Measure.id != measure.id,
                    other_kind,
                    or_(Measure.country == measure.country, Measure.country_of_origin == measure.country),
                )
                .order_by(Measure.published_on.desc().nulls_last(), Measure.id)
                .distinct()
                .limit(PER_KIND)
            ),
            "related_sector_country",
        )
    if es is not None:
        try:
            by_index = _from_index(settings, es, session, measure)
        except TbtError as exc:  # the index is a projection: without it the page lists the rest
            log.warning("related measures of %s without the index: %s", measure.id, exc)
            by_index = {}
        if by_index:
            rows = {m.id: m for m in session.scalars(select(Measure).where(Measure.id.in_(list(by_index))))}
            for measure_id, (why, score) in by_index.items():
                if measure_id in rows:
                    add([rows[measure_id]], why, score if why == "related_vector" else None)
    return list(found.values())[:SHOWN]
