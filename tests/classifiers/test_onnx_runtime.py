"""The ONNX Runtime encoder: batch independence, agreement with torch, and tagging without torch.

The tiny tests export the session's tiny random BERT (conftest ``tiny_encoder_dir``) to ONNX on
first use; the ``encoder`` ones read the real model's export made by `tbt-alert model build`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from classifiers.classifier import Classifier
from classifiers.encoder import Encoder
from classifiers.head import HEAD_DIR
from classifiers.onnx_runtime import OnnxEncoderModel, onnx_file
from classifiers.training_data import labelled_records

REPO = Path(__file__).resolve().parents[2]
TEXTS = [
    "lithium battery charger for children",
    "tea",
    "steel car tyre safety requirements regulation for products " * 3,
    "玩具 食品",
    "toy doll",
    "doll toy",
]


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_onnx_text_vector_is_the_same_alone_and_in_any_batch(tiny_encoder_dir: Path, precision: str) -> None:
    encoder = Encoder.load(tiny_encoder_dir, precision=precision, runtime="onnx")
    assert isinstance(encoder.model, OnnxEncoderModel)
    assert onnx_file(tiny_encoder_dir, precision).is_file()
    batched = encoder.embed(TEXTS, batch_size=8)
    backwards = encoder.embed(TEXTS[::-1], batch_size=8)[::-1]
    assert np.abs(batched - backwards).max() < 1e-6
    for i, text in enumerate(TEXTS):
        assert np.abs(encoder.embed([text])[0] - batched[i]).max() < 1e-6
    # "toy doll" and "doll toy" have one token count and share a batch, yet differ: the batch is
    # not collapsed into one vector.
    assert np.abs(batched[4] - batched[5]).max() > 1e-4


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_onnx_vectors_agree_with_torch_vectors(tiny_encoder_dir: Path, precision: str) -> None:
    onnx = Encoder.load(tiny_encoder_dir, precision=precision, runtime="onnx").embed(TEXTS)
    torch_vectors = Encoder.load(tiny_encoder_dir, precision=precision, runtime="torch").embed(TEXTS)
    cosines = np.sum(onnx * torch_vectors, axis=1)
    assert cosines.min() > (0.9999 if precision == "fp32" else 0.99)
    assert np.allclose(np.linalg.norm(onnx, axis=1), 1.0, atol=1e-5)


def test_unknown_runtime_names_the_variable(tiny_encoder_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tbt_alert.errors import ClassifierError

    monkeypatch.setenv("TBT_ENCODER_RUNTIME", "tensorflow")
    with pytest.raises(ClassifierError, match="TBT_ENCODER_RUNTIME"):
        Encoder.load(tiny_encoder_dir)


# Run in a child whose sitecustomize makes torch unimportable: the runtime install has none.
_TAG_WITHOUT_TORCH = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import crawlers.pipelines, search.dense, alerts.delivery, alerts.compose, portal.app, pipeline.cli
    from classifiers.classifier import Classifier
    assert sys.modules.get("torch", "absent") is None, "sitecustomize did not block torch"
    try:
        import torch  # noqa: F401
        sys.exit("torch is importable")
    except ImportError:
        pass
    args = json.loads(sys.argv[1])
    clf = Classifier.load(mode="model", encoder_path=Path(args["encoder"]), head_dir=Path(args["head"]))
    tags = clf.classify(args["rows"])
    print(json.dumps([[(p.sector, p.method, round(p.score, 4)) for p in row] for row in tags]))
    """
)


def _tags(classifier: Classifier, rows: list[dict[str, str]]) -> list[list[list[object]]]:
    return [[[p.sector, p.method, round(p.score, 4)] for p in row] for row in classifier.classify(rows)]


def _tag_without_torch(tmp_path: Path, encoder: Path, head: Path, rows: list[dict[str, str]]) -> object:
    blocker = tmp_path / "no-torch"
    blocker.mkdir(exist_ok=True)
    (blocker / "sitecustomize.py").write_text("import sys\nsys.modules['torch'] = None\n")
    env = {**os.environ, "PYTHONPATH": f"{blocker}{os.pathsep}{REPO}", "TBT_ENCODER_RUNTIME": "onnx"}
    args = json.dumps({"encoder": str(encoder), "head": str(head), "rows": rows})
    done = subprocess.run(
        [sys.executable, "-c", _TAG_WITHOUT_TORCH, args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_tagging_runs_without_torch_and_gives_the_same_tags(
    tiny_encoder_dir: Path, tiny_head_dir: Path, tmp_path: Path
) -> None:
    rows = [{"title": t, "description": ""} for t in TEXTS]
    # In this process (torch installed) the export is made if missing; the child only reads it.
    here = Classifier.load(mode="model", encoder_path=tiny_encoder_dir, head_dir=tiny_head_dir)
    expected = _tags(
        Classifier.load(
            mode="model",
            encoder=Encoder.load(tiny_encoder_dir, precision=here.encoder.precision, runtime="onnx"),
            head_dir=tiny_head_dir,
        ),
        rows,
    )
    assert _tag_without_torch(tmp_path, tiny_encoder_dir, tiny_head_dir, rows) == expected
    assert all(row for row in expected)


@pytest.mark.encoder
def test_real_encoder_tags_the_same_without_torch_and_like_torch(make_settings, tmp_path: Path) -> None:
    from classifiers.model_build import ensure_model, has_onnx_export

    path = ensure_model(make_settings(TBT_ENCODER_RUNTIME="onnx"))
    assert has_onnx_export(path)
    pool = [r for r in labelled_records() if r.source in ("eu_safety_gate", "wto_eping")][:24]
    rows = [{"title": r.title, "description": r.description or ""} for r in pool]
    onnx = Classifier.load(mode="model", encoder=Encoder.load(path, precision="int8", runtime="onnx"))
    expected = _tags(onnx, rows)
    assert _tag_without_torch(tmp_path, path, HEAD_DIR, rows) == expected
    # Against the torch int8 path the committed head was trained on: same sectors on (nearly) all.
    torch_clf = Classifier.load(mode="model", encoder=Encoder.load(path, precision="int8", runtime="torch"))
    torch_sectors = [{p[0] for p in row} for row in _tags(torch_clf, rows)]
    same = sum({p[0] for p in row} == want for row, want in zip(expected, torch_sectors, strict=True))
    assert same >= len(rows) - 1
    texts = [f"{r['title']} | {r['description']}" for r in rows]
    cosines = np.sum(onnx.encoder.embed(texts) * torch_clf.encoder.embed(texts), axis=1)
    assert cosines.min() > 0.99


def test_the_runtime_setting_defaults_to_onnx_and_refuses_others(tmp_path: Path) -> None:
    from tbt_alert.errors import SettingsError
    from tbt_alert.settings import load_settings

    env = {"TBT_DATA_DIR": str(tmp_path), "TBT_SECRET_KEY": "not-for-production-" + "k" * 20}
    assert load_settings(env).encoder_runtime == "onnx"
    assert load_settings({**env, "TBT_ENCODER_RUNTIME": "torch"}).encoder_runtime == "torch"
    with pytest.raises(SettingsError, match="TBT_ENCODER_RUNTIME"):
        load_settings({**env, "TBT_ENCODER_RUNTIME": "cuda"})


@pytest.mark.encoder
def test_the_folder_tokenizer_gives_the_ids_of_transformers_tokenizer(make_settings) -> None:
    """tokenizer.json run by the tokenizers library (the fast load of issue 25) tokenises real
    measures and customs nomenclature lines of 30 languages exactly as transformers' AutoTokenizer does."""
    from transformers import AutoTokenizer

    from classifiers.encoder import PREFIX, FolderTokenizer
    from classifiers.model_build import ensure_model
    from classifiers.nomenclature import nomenclature_records
    from classifiers.taxonomy import load_taxonomy
    from classifiers.training_data import multilingual_records

    path = ensure_model(make_settings())
    taxonomy = load_taxonomy()
    records = labelled_records()[:2000] + multilingual_records(None, taxonomy)[::7][:1000]
    records += nomenclature_records(None, taxonomy, per_source_language_cap=40)
    texts = [(PREFIX + " ".join(r.text[:4000].split())).rstrip() for r in records]
    texts += [PREFIX.rstrip(), "query: 玩具 儿童 安全", "query: " + "Игрушки для детей " * 200]
    folder = FolderTokenizer.load(path)
    assert folder is not None
    ours = folder(texts, truncation=True, max_length=128)["input_ids"]
    theirs = AutoTokenizer.from_pretrained(str(path))(texts, truncation=True, max_length=128)["input_ids"]
    assert [list(ids) for ids in theirs] == ours
    assert max(len(ids) for ids in ours) == 128
    assert len({r.language for r in records}) >= 25
