"""A re-tag reads the stored sentence vector of an unchanged text instead of embedding it again
(issue 25: a cache keyed by text and encoder version), and tags exactly as a fresh embedding would.

The measures are CONSTRUCTED for these tests (not source records), and so are the encoder and
heads (the tiny random BERT of conftest.py); the database is real: SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, select, update

from classifiers.classifier import Classifier
from classifiers.head import Head
from classifiers.tagging import tag_pending
from schema.engine import make_engine, session_scope
from schema.ids import measure_id
from schema.migrate import upgrade
from schema.models import Measure, MeasureVector, SectorTag, Source
from schema.vectors import is_exact

TITLES = {
    "REUSE-1": "Safety of toys for children",
    "REUSE-2": "Electric lamp with lithium battery",
    "REUSE-3": "Tea and milk products: safety requirements",
}


def _seed(engine: Engine) -> list[str]:
    with session_scope(engine) as session:
        session.add(Source(id="test_source", name="Constructed test source", kind="recall", jurisdiction="EU"))
        session.flush()
        for key, title in TITLES.items():
            mid = measure_id("test_source", key)
            session.add(
                Measure(id=mid, source_id="test_source", source_key=key, kind="recall", title=title, content_hash=key)
            )
    return [measure_id("test_source", key) for key in TITLES]


@pytest.fixture
def second_head_dir(tiny_head_dir: Path, tmp_path: Path) -> Path:
    """The tiny head with other weights: a new classifier version over the same encoder."""
    head = Head.load(tiny_head_dir)
    head.weights = head.weights + np.float32(0.5)
    head.meta = {k: v for k, v in head.meta.items() if k != "weights_sha256_10"}
    head.save(tmp_path / "head-2")
    return tmp_path / "head-2"


@pytest.fixture
def versions(tiny_encoder_dir: Path, tiny_head_dir: Path, second_head_dir: Path) -> tuple[Classifier, Classifier]:
    """Two classifier versions over one encoder: the served one and a new head's."""
    return (
        Classifier.load(mode="model", encoder_path=tiny_encoder_dir, head_dir=tiny_head_dir),
        Classifier.load(mode="model", encoder_path=tiny_encoder_dir, head_dir=second_head_dir),
    )


def _counting(classifier: Classifier, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Texts the real encoder embeds, counted per call."""
    counts: list[int] = []
    embed = classifier.encoder.embed

    def counted(texts: list[str], **kwargs: Any) -> np.ndarray:
        counts.append(len(texts))
        return np.asarray(embed(texts, **kwargs))

    monkeypatch.setattr(classifier.encoder, "embed", counted)
    return counts


def _tags(engine: Engine, version: str) -> set[tuple[str, str, str, float]]:
    with session_scope(engine) as session:
        rows = session.scalars(select(SectorTag).where(SectorTag.classifier_version == version))
        return {(t.measure_id, t.sector, t.method, t.score) for t in rows}


def test_a_new_head_reuses_every_stored_vector_and_tags_as_a_fresh_embedding(
    engine: Engine,
    tmp_path: Path,
    tiny_encoder_dir: Path,
    second_head_dir: Path,
    versions: tuple[Classifier, Classifier],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = versions
    _seed(engine)
    assert tag_pending(engine, first).vectors_reused == 0
    assert second.version != first.version
    assert second.encoder_version == first.encoder_version
    embedded = _counting(second, monkeypatch)
    outcome = tag_pending(engine, second)
    assert outcome.measures_tagged == 3
    assert outcome.vectors_reused == 3
    assert sum(embedded) == 0
    # The same version tagged from scratch, in a database of its own, embeds every text.
    fresh_url = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    upgrade(fresh_url)
    fresh_engine = make_engine(fresh_url)
    _seed(fresh_engine)
    fresh = Classifier.load(mode="model", encoder_path=tiny_encoder_dir, head_dir=second_head_dir)
    assert tag_pending(fresh_engine, fresh).vectors_reused == 0
    assert _tags(engine, second.version) == _tags(fresh_engine, second.version)
    assert _tags(engine, second.version)
    fresh_engine.dispose()


def test_a_changed_text_is_embedded_again(
    engine: Engine, versions: tuple[Classifier, Classifier], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = versions
    toys, lamp, _ = _seed(engine)
    tag_pending(engine, first)
    with session_scope(engine) as session:
        before = session.get(MeasureVector, lamp)
        assert before is not None
        old_digest, old_vector = before.text_digest, before.vector
        session.execute(
            update(Measure).where(Measure.id == lamp).values(title="Electric lamp for children", tagged_version=None)
        )
    embedded = _counting(second, monkeypatch)
    outcome = tag_pending(engine, second)
    assert outcome.vectors_reused == 2
    assert embedded == [1]
    with session_scope(engine) as session:
        after = session.get(MeasureVector, lamp)
        assert after is not None
        assert after.text_digest != old_digest
        assert after.vector != old_vector
        assert session.get(MeasureVector, toys) is not None


def test_a_float16_vector_of_an_earlier_release_is_embedded_again_and_stored_exactly(
    engine: Engine, versions: tuple[Classifier, Classifier], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = versions
    toys, *_ = _seed(engine)
    tag_pending(engine, first)
    with session_scope(engine) as session:  # as rows written before migration 0008 were
        row = session.get(MeasureVector, toys)
        assert row is not None
        assert is_exact(row.vector, row.dims)
        row.vector = np.frombuffer(row.vector, dtype="<f4").astype("<f2").tobytes()
    embedded = _counting(second, monkeypatch)
    assert tag_pending(engine, second).vectors_reused == 2
    assert embedded == [1]
    with session_scope(engine) as session:
        row = session.get(MeasureVector, toys)
        assert row is not None
        assert is_exact(row.vector, row.dims)


def test_another_runtime_or_token_limit_names_other_vectors(tiny_encoder_dir: Path) -> None:
    from classifiers.encoder import Encoder

    onnx = Encoder.load(tiny_encoder_dir, runtime="onnx")
    torch = Encoder.load(tiny_encoder_dir, runtime="torch")
    short = Encoder.load(tiny_encoder_dir, runtime="onnx", max_length=16)
    text = "safety of toys"
    assert len({onnx.text_digest(text), torch.text_digest(text), short.text_digest(text)}) == 3
    assert onnx.text_digest(text) == Encoder.load(tiny_encoder_dir, runtime="onnx").text_digest(text)
    assert onnx.text_digest(text) != onnx.text_digest(text + ".")
