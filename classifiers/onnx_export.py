"""Export the converted encoder to ONNX at `tbt-alert model build` (needs torch: the [train] extra).

transformers stays the model definition and loader: the folder is read with ``AutoModel`` and
traced by ``torch.onnx.export``. Two graphs are written into ``<model>/onnx/``:

- ``encoder-fp32.onnx``: the model as is, with mean pooling and L2 normalisation inside;
- ``encoder-int8.onnx``: the same model with every Linear layer in the per-token form of
  ``classifiers/quantise.py`` (TokenScaledLinearGraph), quantised by onnxruntime's own
  ``quantize_dynamic`` (weights int8 per output channel, activations uint8 over the fixed
  range [-1, 1]), so its vectors are the committed head's ``int8-per-token`` vectors.

The graphs take un-padded ``input_ids`` (texts of one token count per call), as the torch
path does: padding would change a text's vector with its batch.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import warnings
from pathlib import Path
from typing import Any

from classifiers.onnx_runtime import INPUT, ONNX_DIR, OUTPUT, onnx_file
from tbt_alert.errors import ClassifierError

log = logging.getLogger(__name__)

# 17: LayerNormalization as one operator; every onnxruntime of the last three years reads it.
OPSET = 17


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _pooled(model: Any) -> Any:
    import torch

    class Pooled(torch.nn.Module):
        """input_ids -> mean-pooled, unit-length sentence vectors (every token is a real token)."""

        def __init__(self, encoder: Any) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids: Any) -> Any:
            hidden = self.encoder(input_ids=input_ids, attention_mask=torch.ones_like(input_ids)).last_hidden_state
            return torch.nn.functional.normalize(hidden.mean(dim=1), p=2, dim=1)

    return Pooled(model).eval()


def _trace(model: Any, out: Path, vocab: int) -> None:
    import torch

    # Any few token ids do: the axes are declared dynamic, and nothing depends on the values.
    example = (torch.arange(5, dtype=torch.long) % vocab).unsqueeze(0)
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # tracer warnings about Python ints in shapes: shapes are dynamic
        torch.onnx.export(
            _pooled(model),
            (example,),
            str(out),
            input_names=[INPUT],
            output_names=[OUTPUT],
            dynamic_axes={INPUT: {0: "texts", 1: "tokens"}, OUTPUT: {0: "texts"}},
            opset_version=OPSET,
            dynamo=False,  # the TorchScript exporter needs no onnxscript and keeps one file < 2 GB
        )


def export_onnx(folder: Path) -> dict[str, Any]:
    """Write both graphs into ``folder/onnx``; returns what the manifest records of them."""
    try:
        import torch  # noqa: F401  (the export needs it; say so before any work)
        from onnxruntime.quantization import QuantType, quantize_dynamic  # type: ignore[import-untyped]
    except ImportError as exc:
        raise ClassifierError(
            f"exporting the encoder to ONNX needs torch, onnx and onnxruntime ({exc}); "
            "run `pip install -c constraints.txt '.[train]'` and `tbt-alert model build` again."
        ) from exc
    from transformers import AutoConfig, AutoModel

    from classifiers.quantise import token_scaled_for_export

    folder = Path(folder)
    vocab = int(AutoConfig.from_pretrained(str(folder)).vocab_size)
    target = folder / ONNX_DIR
    target.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".onnx-", dir=folder) as tmp_name:
        tmp = Path(tmp_name)
        log.info("exporting %s to ONNX (fp32)", folder)
        _trace(AutoModel.from_pretrained(str(folder), add_pooling_layer=False).eval(), tmp / "fp32.onnx", vocab)
        log.info("exporting the per-token int8 form and quantising it with onnxruntime")
        scaled = token_scaled_for_export(AutoModel.from_pretrained(str(folder), add_pooling_layer=False).eval())
        _trace(scaled, tmp / "scaled.onnx", vocab)
        del scaled
        root = logging.getLogger()
        was = root.disabled
        root.disabled = True  # quantize_dynamic logs "consider pre-processing" on the root logger
        try:
            quantize_dynamic(
                str(tmp / "scaled.onnx"),
                str(tmp / "int8.onnx"),
                weight_type=QuantType.QInt8,
                per_channel=True,
                op_types_to_quantize=["MatMul"],
                extra_options={"MatMulConstBOnly": True},
            )
        finally:
            root.disabled = was
        (tmp / "fp32.onnx").replace(onnx_file(folder, "fp32"))
        (tmp / "int8.onnx").replace(onnx_file(folder, "int8"))
    record: dict[str, Any] = {"opset": OPSET}
    for precision in ("fp32", "int8"):
        path = onnx_file(folder, precision)
        record[precision] = {
            "file": str(path.relative_to(folder)),
            "bytes": path.stat().st_size,
            "sha256": _sha256(path),
        }
    return record


def onnx_exported(folder: Path) -> bool:
    return all(onnx_file(folder, p).is_file() for p in ("fp32", "int8"))
