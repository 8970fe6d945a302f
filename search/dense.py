"""Dense retrieval: a query's sentence vector, and reciprocal-rank fusion with BM25.

Measures are embedded once, when they are tagged (``measure_vectors``, indexed as ``vector``);
a query is embedded at request time by the same multilingual encoder with the same prefix, so
a Chinese query lands near English, Russian or French measures about the same product. Both
are indexed and searched with their language's mean vector taken out
(:mod:`classifiers.language_means`): uncentred, a Chinese query's nearest measure was the one
Chinese measure, whatever its topic.

One encoder per process, loaded on the first query that needs it (a few seconds, about 0.5 GB):
the portal and the CLI never start a model per request. Where no encoder is installed, or the
classifier runs in rules mode (no measure has a vector then), search is BM25 alone and says so.

Fusion is reciprocal-rank fusion in the application (Elasticsearch's own RRF needs a paid
licence): a measure's score is the sum over the two lists of 1 / (``RRF_K`` + its rank).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from search.timing import span

if TYPE_CHECKING:
    from classifiers.encoder import Encoder
    from tbt_alert.settings import Settings

log = logging.getLogger(__name__)

RRF_K = 60  # the constant of the RRF paper; ranks beyond ~60 add little either way
WINDOW = 100  # hits of each list that are fused (pages beyond it are not offered)
NUM_CANDIDATES = 200  # HNSW candidates per shard: recall of the k nearest at small cost


_encoders: dict[tuple[str, str], Encoder] = {}
_loading: dict[tuple[str, str], threading.Thread] = {}
_lock = threading.Lock()
# Query vectors kept per (encoder, precision, text): paging, a facet click or a sort change asks
# the same text again, and embedding it is most of a hybrid search's time on a CPU. 2,048
# vectors of 384 floats are about 8 MB.
_VECTOR_CACHE_SIZE = 2048
_vectors: OrderedDict[tuple[str, str, str], list[float]] = OrderedDict()
_vectors_lock = threading.Lock()


def _encoder(path: str, precision: str) -> Encoder:
    """The process's encoder for ``path``, loaded on first use (once, whichever thread asks)."""
    key = (path, precision)
    with _lock:
        found = _encoders.get(key)
        if found is None:
            from classifiers.encoder import Encoder

            log.info("loading the encoder for query vectors (%s, %s)", path, precision)
            found = _encoders[key] = Encoder.load(path, precision=precision)
        return found


def _load_in_background(path: str, precision: str) -> None:
    with _lock:
        if (path, precision) in _encoders or (path, precision) in _loading:
            return
        thread = _loading[(path, precision)] = threading.Thread(
            target=_encoder, args=(path, precision), name="query-encoder", daemon=True
        )
    thread.start()


def dense_available(settings: Settings) -> bool:
    """Whether queries can be embedded: model mode, and the converted encoder on disk."""
    from classifiers.model_build import is_valid_model

    return settings.classifier_mode == "model" and is_valid_model(settings.encoder_path, verify_checksum=False)


def query_vector(settings: Settings, text: str, *, wait: bool = True) -> list[float] | None:
    """The query's unit sentence vector; None where dense retrieval is not available.

    ``wait=False`` (the portal): while the encoder is not loaded yet, start loading it in the
    background and answer None at once, so no page waits the ~10 s of a first load.
    """
    if not text.strip() or not dense_available(settings):
        return None
    from classifiers.head import HEAD_DIR
    from classifiers.language_means import centred, script_language

    path, precision = str(settings.encoder_path), settings.encoder_precision
    if not wait and (path, precision) not in _encoders:
        _load_in_background(path, precision)
        return None
    key = (path, precision, text)
    with _vectors_lock:
        kept = _vectors.get(key)
        if kept is not None:
            _vectors.move_to_end(key)
            return kept
    encoder = _encoder(path, precision)
    with span("embed"):
        # Centred on its language's mean, as the measures' vectors are (search.reader).
        vector = centred(encoder.embed([text])[0], script_language(text), HEAD_DIR)
    with _vectors_lock:
        _vectors[key] = vector
        while len(_vectors) > _VECTOR_CACHE_SIZE:
            _vectors.popitem(last=False)
    return vector


def forget_query_vectors() -> None:
    """Drop the kept query vectors (a benchmark times each query as a new one)."""
    with _vectors_lock:
        _vectors.clear()


def knn_clause(vector: Sequence[float], filter_query: dict[str, Any], k: int = WINDOW) -> dict[str, Any]:
    return {
        "field": "vector",
        "query_vector": list(vector),
        "k": k,
        "num_candidates": max(NUM_CANDIDATES, k),
        "filter": filter_query,
    }


def fuse(*ranked: Sequence[str], k: int = RRF_K) -> list[tuple[str, float]]:
    """Ids by reciprocal-rank fusion of the ranked lists, best first (ties: first list's order)."""
    scores: dict[str, float] = {}
    first_seen: dict[str, int] = {}
    for ids in ranked:
        for rank, doc_id in enumerate(ids, start=1):
            scores[doc_id] = scores.get(doc_id, 0.0) + 1.0 / (k + rank)
            first_seen.setdefault(doc_id, len(first_seen))
    return sorted(scores.items(), key=lambda item: (-item[1], first_seen[item[0]]))
