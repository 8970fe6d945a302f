"""int8 Linear layers with activations scaled per token (classifiers/quantise.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from classifiers.encoder import Encoder
from classifiers.quantise import TokenScaledInt8Linear, quantise_linear_layers


def _linear(seed: int = 0, n_in: int = 64, n_out: int = 48) -> torch.nn.Linear:
    torch.manual_seed(seed)
    return torch.nn.Linear(n_in, n_out)


def test_int8_layer_is_close_to_the_fp32_layer() -> None:
    linear = _linear()
    int8 = TokenScaledInt8Linear.from_linear(linear)
    x = torch.randn(20, 64) * torch.linspace(0.01, 50.0, 20).unsqueeze(1)
    exact = linear(x)
    got = int8(x)
    assert got.shape == exact.shape
    # Relative to each row's own size: a row of small numbers is as exact as a row of big ones.
    error = (got - exact).norm(dim=1) / exact.norm(dim=1)
    assert error.max() < 0.05


def test_a_row_does_not_depend_on_the_other_rows_of_its_batch() -> None:
    int8 = TokenScaledInt8Linear.from_linear(_linear())
    torch.manual_seed(1)
    row = torch.randn(1, 64)
    # Batch-mates of other magnitudes: with one activation scale per tensor (torch's dynamic
    # quantisation) they change the scale, hence the rounding, of `row`.
    for mates in (torch.randn(7, 64) * 1000.0, torch.randn(3, 64) * 1e-3, torch.zeros(2, 64)):
        assert torch.equal(int8(torch.cat([row, mates]))[:1], int8(row))


def test_shared_input_is_normalised_once_and_read_right() -> None:
    # query, key and value read the same tensor: the second layer reuses the first's
    # normalised rows, and must still give its own product.
    block = torch.nn.ModuleDict({"a": _linear(0), "b": _linear(1)})
    expected = {name: layer(torch.ones(4, 64)) for name, layer in block.items()}
    quantise_linear_layers(block)
    x = torch.ones(4, 64)
    for name in ("a", "b", "a"):
        got = block[name](x)
        assert (got - expected[name]).abs().max() < 0.05 * expected[name].abs().max()
    assert not torch.equal(block["a"](x), block["b"](x))


def test_int8_text_vector_is_the_same_alone_and_in_any_batch(tiny_encoder_dir: Path) -> None:
    encoder = Encoder.load(tiny_encoder_dir, precision="int8", runtime="torch")
    texts = [
        "lithium battery charger for children",
        "tea",
        "steel car tyre safety requirements regulation for products " * 3,
        "玩具 食品",
        "toy doll",
    ]
    batched = encoder.embed(texts, batch_size=8)
    backwards = encoder.embed(texts[::-1], batch_size=8)[::-1]
    assert np.array_equal(batched, backwards)
    for i, text in enumerate(texts):
        assert np.abs(encoder.embed([text])[0] - batched[i]).max() < 1e-6
