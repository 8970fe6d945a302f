"""Dense retrieval on the real Elasticsearch with the real encoder: vectors made at tagging,
kNN across languages, reciprocal-rank fusion with BM25, filters, facets, paging and sorting."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from classifiers.classifier import Classifier
from classifiers.model_build import ensure_model
from classifiers.tagging import tag_pending
from schema.engine import session_scope
from schema.models import MeasureVector
from schema.vectors import is_exact, vector_array
from search.dense import fuse
from search.lifecycle import rebuild_index
from search.mappings import VECTOR_DIMS
from search.query import SearchRequest, build_query, search_measures, with_nearest
from tests.search.conftest import SearchEnv

# ------------------------------------------------------------------ pure logic


def test_fusion_sums_reciprocal_ranks_and_keeps_the_first_lists_order_on_ties() -> None:
    fused = fuse(["a", "b", "c"], ["c", "d"], k=60)
    ids = [doc_id for doc_id, _ in fused]
    assert ids[0] == "c"  # in both lists: 1/63 + 1/61
    assert ids[1:] == ["a", "b", "d"]  # b and d tie (rank 2): b was seen first
    assert fused[0][1] == pytest.approx(1 / 63 + 1 / 61)
    assert dict(fused)["a"] == pytest.approx(1 / 61)


def test_the_nearest_measures_widen_the_text_clause_and_every_filter_still_holds() -> None:
    query = build_query(SearchRequest(q="toy", countries=["RUS"]))
    widened = with_nearest(query, ["m1", "m2"])
    should = widened["bool"]["must"][0]["bool"]["should"]
    assert should[-1] == {"ids": {"values": ["m1", "m2"]}}
    assert widened["bool"]["filter"] == query["bool"]["filter"]
    assert with_nearest(query, ["m1"], words=False)["bool"]["must"] == [{"ids": {"values": ["m1"]}}]


# ------------------------------------------------------------------ real services


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    """The real classifier, loaded once for the module (the encoder takes seconds)."""
    from tbt_alert.settings import load_settings

    settings = load_settings({"TBT_SECRET_KEY": "test-secret-key-not-for-production-0123456789"})
    return Classifier.load(mode="model", encoder_path=ensure_model(settings))


def _ids(es: Any, env: SearchEnv, **request: Any) -> list[str]:
    return [h.id for h in search_measures(es, env.settings, SearchRequest(size=10, **request)).hits]


@pytest.mark.encoder
def test_a_chinese_query_finds_english_and_french_measures_by_meaning(
    es: Any, search_env: SearchEnv, classifier: Classifier
) -> None:
    env = search_env
    assert tag_pending(env.engine, classifier).measures_tagged == len(env.ids)
    with session_scope(env.engine) as session:
        vectors = list(session.scalars(select(MeasureVector)))
        assert len(vectors) == len(env.ids)  # one per measure, made at tagging
        assert {v.dims for v in vectors} == {VECTOR_DIMS}
        assert {v.encoder_version for v in vectors} == {classifier.encoder_version}
        assert all(is_exact(v.vector, v.dims) for v in vectors)  # float32: a re-tag may reuse them
        first = vector_array(vectors[0].vector, vectors[0].dims)
        assert abs(float(np.linalg.norm(first)) - 1.0) < 0.001
    rebuild_index(env.settings, client=es)
    cars = {env.ids["A12/00804/21"], env.ids["SR/00581/26"]}  # "Passenger car", "Voiture particulière"

    # No measure has the word 汽车 in its own text: word search finds only those the classifier tagged
    # auto_parts (through the sector's Chinese name, issue 21), dense search finds them by meaning.
    words = search_measures(es, env.settings, SearchRequest(q="汽车", retrieval="bm25", size=10)).hits
    assert all("auto_parts" in h.fields["sector_codes"] for h in words)
    hybrid = search_measures(es, env.settings, SearchRequest(q="汽车", size=10))
    assert hybrid.retrieval == "hybrid"
    dense = _ids(es, env, q="汽车", retrieval="dense")
    assert dense[0] == env.ids["A12/00804/21"]
    assert cars <= {h.id for h in hybrid.hits[:4]}  # with the two GCC vehicle regulations
    ovens = {env.ids["18218"], env.ids["13117"]}  # "Gas Ranges and Wall Ovens Recalled ...", "BlueStar Wall Ovens ..."
    assert set(_ids(es, env, q="烤箱")[:2]) == ovens
    assert hybrid.total >= len(hybrid.hits)
    assert sum(b.count for b in hybrid.facets["kinds"]) == hybrid.total  # facets count the fused set
    # The word list (measures tagged auto_parts) and the nearest list fused: the nearest three are in.
    assert set(dense[:3]) <= {h.id for h in hybrid.hits}

    # Filters hold for the nearest measures too: notifications only, so no car recall.
    notified = search_measures(es, env.settings, SearchRequest(q="汽车", kinds=["tbt_notification"], size=10))
    assert notified.hits
    assert {h.fields["kind"] for h in notified.hits} == {"tbt_notification"}

    # A word match keeps its highlights in the fused list.
    drum = search_measures(es, env.settings, SearchRequest(q="toy drum", size=5))
    assert drum.hits[0].id == env.ids["A12/00839/21"]
    assert drum.hits[0].highlights

    # Paging through the fused list, and sorting it by date.
    first_page = search_measures(es, env.settings, SearchRequest(q="汽车", size=4))
    assert first_page.search_after == ["rrf", 4]
    second_page = search_measures(es, env.settings, SearchRequest(q="汽车", size=4, search_after=["rrf", 4]))
    assert not {h.id for h in first_page.hits} & {h.id for h in second_page.hits}
    by_date = search_measures(es, env.settings, SearchRequest(q="汽车", sort="date", size=50))
    assert cars <= {h.id for h in by_date.hits}
    dates = [h.fields.get("date") or "" for h in by_date.hits if h.fields.get("date")]
    assert dates == sorted(dates, reverse=True)
    assert all("vector" not in h.fields for h in hybrid.hits)  # searched, never shown


def test_the_portal_never_waits_for_the_first_encoder_load(monkeypatch: pytest.MonkeyPatch, make_settings: Any) -> None:
    """wait=False answers None at once and loads in the background; the next query has its vector.
    The encoder here is a CONSTRUCTED stand-in whose load takes a moment (the threading is the point)."""
    import threading

    import search.dense as dense

    release = threading.Event()

    class SlowEncoder:
        @classmethod
        def load(cls, path: str, precision: str) -> SlowEncoder:
            release.wait(10)
            return cls()

        def embed(self, texts: list[str]) -> np.ndarray:
            v = np.zeros((len(texts), VECTOR_DIMS), dtype=np.float32)
            v[:, 0] = 1.0
            return v

    monkeypatch.setattr("classifiers.encoder.Encoder", SlowEncoder)
    monkeypatch.setattr(dense, "dense_available", lambda settings: True)
    monkeypatch.setattr(dense, "_encoders", {})
    monkeypatch.setattr(dense, "_loading", {})
    settings = make_settings()
    assert dense.query_vector(settings, "玩具", wait=False) is None  # loading has only begun
    release.set()
    next(iter(dense._loading.values())).join(10)
    vector = dense.query_vector(settings, "玩具", wait=False)
    assert vector is not None
    assert len(vector) == VECTOR_DIMS
