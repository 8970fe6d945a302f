"""The sentence encoder: a BERT-class model turned into mean-pooled, L2-normalised vectors.

E5 models expect a ``query: `` prefix for symmetric tasks such as classification.
The encoder runs on CPU, through ONNX Runtime (``TBT_ENCODER_RUNTIME=onnx``, the default: no
torch needed, see classifiers/onnx_runtime.py) or torch (``torch``: the [train] extra); the
thread count follows the CPUs this process may use, so a shared 2-core machine is not
oversubscribed. torch is imported only on the torch path.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tbt_alert.errors import ClassifierError

if TYPE_CHECKING:
    from classifiers.onnx_runtime import OnnxEncoderModel

log = logging.getLogger(__name__)

HUB_NAME = "intfloat/multilingual-e5-small"
PREFIX = "query: "
# 128 tokens cover title + products + the start of the description of most measures; longer
# texts are cut, which keeps a 100 kB description from costing seconds.
DEFAULT_MAX_LENGTH = 128
# Characters kept before tokenising: a 100 kB text would otherwise be tokenised in full.
_MAX_CHARS = 4000
# fp32 is the converted model as is; int8 runs every Linear layer in int8 with activations
# scaled per token (classifiers/quantise.py), about 2x faster on CPU at cosine ~0.997 with
# the fp32 vectors. A head is only valid with the precision it was trained on.
PRECISIONS = ("fp32", "int8")
# Names the int8 scheme in the embedding-cache file name and in a head's metadata: vectors of
# another scheme (the earlier per-batch activation scales) are different vectors.
INT8_SCHEME = "int8-per-token"
# onnx: the graphs exported at `tbt-alert model build`, run by ONNX Runtime (int8 in the same
# per-token scheme); torch: the transformers model itself. TBT_ENCODER_RUNTIME chooses
# (tbt_alert/settings.py declares and validates it at start-up; read again here, so every
# caller of Encoder.load follows it without passing it along).
RUNTIMES = ("onnx", "torch")
RUNTIME_VARIABLE = "TBT_ENCODER_RUNTIME"


def runtime_from_environment() -> str:
    from tbt_alert.settings import Settings

    runtime = os.environ.get(RUNTIME_VARIABLE, "").strip().lower() or str(Settings.encoder_runtime)
    if runtime not in RUNTIMES:
        raise ClassifierError(f"{RUNTIME_VARIABLE}={runtime!r} is unknown; set it to onnx or torch.")
    return runtime


def available_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class Encoder:
    """A loaded encoder; build it with :meth:`load`, then call :meth:`embed`."""

    model: Any
    tokenizer: Any
    name: str
    max_length: int = DEFAULT_MAX_LENGTH
    precision: str = "fp32"
    runtime: str = "torch"

    @classmethod
    def load(
        cls,
        path_or_name: str | Path,
        *,
        max_length: int = DEFAULT_MAX_LENGTH,
        threads: int | None = None,
        precision: str = "fp32",
        runtime: str | None = None,
    ) -> Encoder:
        """Load a local model folder, or a hub name such as ``intfloat/multilingual-e5-small``.

        ``precision="int8"`` runs the Linear layers in int8 (see ``PRECISIONS``); ``runtime``
        (default: ``TBT_ENCODER_RUNTIME``) is onnx or torch. A hub name needs torch.
        """
        if precision not in PRECISIONS:
            raise ClassifierError(
                f"encoder precision {precision!r} is unknown; set TBT_ENCODER_PRECISION to fp32 or int8."
            )
        runtime = runtime or runtime_from_environment()
        if runtime not in RUNTIMES:
            raise ClassifierError(f"encoder runtime {runtime!r} is unknown; set {RUNTIME_VARIABLE} to onnx or torch.")
        threads = threads or available_cpus()
        target = (
            str(Path(path_or_name).expanduser()) if Path(str(path_or_name)).expanduser().exists() else str(path_or_name)
        )
        local = Path(target).exists()
        if not local and (str(path_or_name).startswith(("/", ".", "~")) or str(path_or_name).count("/") != 1):
            raise ClassifierError(
                f"no encoder at {path_or_name}; run `tbt-alert model build` (or set TBT_ENCODER_PATH)."
            )
        if not local and runtime == "onnx":
            raise ClassifierError(
                f"{path_or_name} is a hub name; ONNX Runtime reads a built model folder: run `tbt-alert model build`, "
                f"or set {RUNTIME_VARIABLE}=torch."
            )
        model: Any
        try:
            tokenizer: Any = FolderTokenizer.load(Path(target)) if local else None
            if tokenizer is None:
                from transformers import AutoTokenizer

                tokenizer = AutoTokenizer.from_pretrained(target)
            if runtime == "onnx":
                config = _folder_config(Path(target))
            else:
                import torch
                from transformers import AutoModel

                torch.set_num_threads(threads)
                model = AutoModel.from_pretrained(target, add_pooling_layer=False)
                config = model.config
        except (OSError, ValueError) as exc:
            hint = "run `tbt-alert model build`" if local else "no model hub is reachable; run `tbt-alert model build`"
            raise ClassifierError(f"cannot load the encoder {path_or_name} ({exc}); {hint}.") from exc
        if runtime == "onnx":
            model = _onnx_model(Path(target), precision=precision, threads=threads, config=config)
        else:
            model.eval()
            if precision == "int8":
                model = _quantise(model)
        # Never feed more positions than the model has (a small model may have fewer than 256).
        max_length = min(max_length, int(config.max_position_embeddings))
        return cls(
            model=model,
            tokenizer=tokenizer,
            name=str(path_or_name),
            max_length=max_length,
            precision=precision,
            runtime=runtime,
        )

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    def text_digest(self, text: str) -> str:
        """Names the vector ``embed`` gives ``text`` among this encoder's vectors: the text with
        the runtime and token limit, the rest that shapes it (the weights and precision are the
        classifier's ``encoder_version``). A stored vector of the same digest is reusable."""
        return hashlib.sha256(f"{self.runtime}\x1f{self.max_length}\x1f{text}".encode()).hexdigest()[:32]

    def embed(self, texts: list[str], batch_size: int = 64, *, prefix: str = PREFIX) -> np.ndarray:
        """Vectors of ``texts`` (n x dim, float32, unit length), in input order."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # Stripped: an empty text would end in the prefix's space, which transformers' tokenizer
        # drops and tokenizer.json alone keeps (the one text where they differ).
        prepared = [(prefix + " ".join(str(t)[:_MAX_CHARS].split())).rstrip() for t in texts]
        token_ids = self.tokenizer(prepared, truncation=True, max_length=self.max_length)["input_ids"]
        token_ids = [list(ids) for ids in token_ids]
        # Texts of the same token count share a batch, so no text is ever padded: padding
        # changes the order of float sums inside attention, and through int8 rounding that
        # last-bit difference grew to a cosine of 0.997 between a text alone and in a batch.
        # Unpadded, a text's vector is the same whatever else is embedded with it.
        by_length: dict[int, list[int]] = defaultdict(list)
        for i, ids in enumerate(token_ids):
            by_length[len(ids)].append(i)
        step = max(1, batch_size)
        batches: list[list[int]] = []
        for length in sorted(by_length):
            same = by_length[length]
            batches += [same[start : start + step] for start in range(0, len(same), step)]
        out = np.zeros((len(prepared), self.dim), dtype=np.float32)
        if self.runtime == "onnx":
            onnx_model: OnnxEncoderModel = self.model
            for idx in batches:
                out[idx] = onnx_model.embed_ids([token_ids[i] for i in idx])
            return out
        import torch

        with torch.inference_mode():
            for idx in batches:
                input_ids = torch.tensor([token_ids[i] for i in idx], dtype=torch.long)
                hidden = self.model(input_ids=input_ids, attention_mask=torch.ones_like(input_ids)).last_hidden_state
                pooled = torch.nn.functional.normalize(hidden.mean(dim=1), p=2, dim=1)
                out[idx] = pooled.float().cpu().numpy()
        return out


class FolderTokenizer:
    """The model folder's ``tokenizer.json`` run by the tokenizers library, called like a
    transformers tokenizer. It gives the ids transformers' AutoTokenizer gives (checked on real
    measures and nomenclature lines of 30 languages in tests/classifiers/test_onnx_runtime.py)
    and loads in under a second, where AutoTokenizer, rebuilding its pipeline and importing
    transformers (and torch where installed), took about five (issue 25: model load).
    """

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self._max_length: int | None = None

    @classmethod
    def load(cls, folder: Path) -> FolderTokenizer | None:
        """The folder's tokenizer; None where it has no tokenizer.json (AutoTokenizer reads it)."""
        path = folder / "tokenizer.json"
        if not path.is_file():
            return None
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(path))
        tokenizer.no_padding()  # Encoder.embed never pads (a text's vector must not depend on its batch)
        return cls(tokenizer)

    def __call__(self, texts: list[str], *, truncation: bool, max_length: int) -> dict[str, list[list[int]]]:
        if not truncation:
            raise ClassifierError("the encoder always truncates to its token limit")
        if self._max_length != max_length:
            self.tokenizer.enable_truncation(max_length)
            self._max_length = max_length
        return {"input_ids": [encoding.ids for encoding in self.tokenizer.encode_batch(texts)]}


def _folder_config(folder: Path) -> Any:
    """The model's configuration as transformers wrote it (config.json), read without importing
    transformers: ONNX Runtime needs only the vector width and the position limit from it."""
    import json
    from types import SimpleNamespace

    try:
        data = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        return SimpleNamespace(
            hidden_size=int(data["hidden_size"]), max_position_embeddings=int(data["max_position_embeddings"])
        )
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise ValueError(f"config.json in {folder} is missing or unreadable ({exc})") from exc


def _onnx_model(folder: Path, *, precision: str, threads: int, config: Any) -> OnnxEncoderModel:
    """The ONNX Runtime session of ``folder``; a folder built before the ONNX export (or a test's
    tiny model) is exported first where torch is installed."""
    from classifiers.onnx_runtime import OnnxEncoderModel, onnx_file

    if not onnx_file(folder, precision).is_file() and importlib.util.find_spec("torch") is not None:
        from classifiers.onnx_export import export_onnx

        log.warning("no ONNX export in %s; exporting it now (once; `tbt-alert model build` does it too)", folder)
        export_onnx(folder)
    return OnnxEncoderModel.load(folder, precision=precision, threads=threads, config=config)


def _quantise(model: Any) -> Any:
    """int8 for every Linear layer (the bulk of the encoder's arithmetic)."""
    import warnings

    from classifiers.quantise import quantise_linear_layers

    with warnings.catch_warnings():
        # torch announces the end of its quantised tensor types; the int8 kernels still work.
        warnings.simplefilter("ignore")
        return quantise_linear_layers(model)
