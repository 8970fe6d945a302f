"""The sentence encoder run by ONNX Runtime: no torch in the process.

The graphs are exported at `tbt-alert model build` (``classifiers/onnx_export.py``) into the
model folder's ``onnx/`` sub-folder: ``encoder-fp32.onnx`` (the converted model as is) and
``encoder-int8.onnx`` (every Linear layer's product in int8 with activations scaled per token,
the scheme of ``classifiers/quantise.py``, quantised by onnxruntime's own ``quantize_dynamic``).
Both take ``input_ids`` (texts x tokens, never padded) and give the mean-pooled, L2-normalised
sentence vector, so a batch is one ``run`` call. transformers still reads the tokenizer and
the model's configuration.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tbt_alert.errors import ClassifierError

ONNX_DIR = "onnx"
INPUT = "input_ids"
OUTPUT = "embedding"


def onnx_file(folder: Path, precision: str) -> Path:
    """Where the export of ``precision`` (fp32 or int8) lives inside a model folder."""
    return Path(folder) / ONNX_DIR / f"encoder-{precision}.onnx"


class OnnxEncoderModel:
    """One ONNX Runtime session on the CPU, called like the torch model's pooled output."""

    def __init__(self, session: Any, config: Any) -> None:
        self.session = session
        self.config = config

    @classmethod
    def load(cls, folder: Path, *, precision: str, threads: int, config: Any) -> OnnxEncoderModel:
        try:
            import onnxruntime as ort  # type: ignore[import-untyped]  # no py.typed, no stubs on PyPI
        except ImportError as exc:
            raise ClassifierError(
                f"onnxruntime is not installed ({exc}); run `pip install -c constraints.txt onnxruntime`, "
                "or set TBT_ENCODER_RUNTIME=torch where torch is installed."
            ) from exc
        path = onnx_file(folder, precision)
        if not path.is_file():
            raise ClassifierError(
                f"no ONNX export of the encoder at {path}; run `tbt-alert model build` "
                "(it needs torch: `pip install -c constraints.txt '.[train]'`), or set TBT_ENCODER_RUNTIME=torch."
            )
        options = ort.SessionOptions()
        # Intra-op threads = the CPUs this process may use; one inter-op thread, as the graph is a
        # chain of layers and a second pool would only oversubscribe a small machine.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # No spin-waiting between runs: the classifier does its numpy and scikit-learn work between
        # encoder calls, and a spinning pool thread would take one of two cores from it.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors for a damaged file
            raise ClassifierError(
                f"ONNX Runtime cannot load {path} ({exc}); run `tbt-alert model build --force`."
            ) from exc
        return cls(session, config)

    def embed_ids(self, token_ids: list[list[int]]) -> np.ndarray:
        """Vectors of texts that all have the same token count (texts x hidden, float32)."""
        ids = np.asarray(token_ids, dtype=np.int64)
        return np.asarray(self.session.run([OUTPUT], {INPUT: ids})[0], dtype=np.float32)
