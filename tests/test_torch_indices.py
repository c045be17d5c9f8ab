"""Optional: the index-notation examples' gradients against torch autograd (skipped without
torch).

Each forward pass is written by hand with torch's own layers (F.conv1d, which is a
cross-correlation as CS231n's convolution is, and F.max_pool2d), never translated from
derive's equations; derive's answers, one per entry, are compared entry by entry.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from derive.engine import backward
from derive.evaluate import Evaluator
from derive.examples import example_path
from derive.load import load_network
from derive.model import Network
from tests.torch_oracle import Point, Tensors, float64_tensor, forward_with_loss, random_point

torch = pytest.importorskip("torch")
F = torch.nn.functional


def conv1d_loss(p: Tensors) -> torch.Tensor:
    """z = x ⋆ w + b (valid, stride 1), h = relu(z), L = ½ Σ (h − t)²."""
    z = F.conv1d(p["x"].view(1, 1, 6), p["w"].view(1, 1, 3), p["b"].view(1)).view(4)
    return ((F.relu(z) - p["t"]) ** 2).sum() / 2


def maxpool_loss(p: Tensors) -> torch.Tensor:
    """out = 2×2 max pool, stride 2; L = Σ dout ⊙ out, so that ∂L/∂out = dout."""
    out = F.max_pool2d(p["x"].view(1, 1, 4, 4), kernel_size=2, stride=2).view(2, 2)
    return (p["dout"] * out).sum()


# Each given as derive splits it: its name and its shape (() for a scalar).
SHAPES = {
    "conv1d": {"x": (6,), "w": (3,), "b": (), "t": (4,)},
    "cs231n-maxpool": {"x": (4, 4), "dout": (2, 2)},
}


def entry_names(base: str, shape: tuple[int, ...]) -> list[str]:
    """x_1 … x_6 for (6,), x_1_1 … x_4_4 for (4, 4), b for ()."""
    return ["_".join([base, *(str(i + 1) for i in index)]) for index in np.ndindex(*shape)]


def tensors_at(network: Network, point: Point, shapes: dict[str, tuple[int, ...]]) -> Tensors:
    """The point's scalar givens gathered into the tensors torch's layers take."""
    found = {}
    for base, shape in shapes.items():
        names = entry_names(base, shape)
        entries = [float(point[network.givens[name].symbol]) for name in names]
        found[base] = float64_tensor(np.reshape(entries, shape)).requires_grad_(True)
    return found


@pytest.mark.parametrize(
    ("name", "oracle", "wrt"),
    [("conv1d", conv1d_loss, ["w", "b", "x"]), ("cs231n-maxpool", maxpool_loss, ["x"])],
    ids=["conv1d", "cs231n-maxpool"],
)
@pytest.mark.parametrize("seed", [0, 10, 11])
def test_gradients_match_torch_autograd(
    name: str, oracle: Callable[[Tensors], torch.Tensor], wrt: list[str], seed: int
) -> None:
    network = load_network(example_path(name))
    dims, point = random_point(network, np.random.default_rng(seed))
    tensors = tensors_at(network, point, SHAPES[name])
    loss = oracle(tensors)
    loss.backward()

    values = forward_with_loss(network, point, dims, loss, rel=1e-12)
    result = backward(network)
    evaluator = Evaluator(values, dims)
    expected_names = [entry for base in wrt for entry in entry_names(base, SHAPES[name][base])]
    assert network.wrt == expected_names
    for base in wrt:
        gradient = tensors[base].grad
        assert gradient is not None, base
        expected = gradient.numpy().reshape(-1)
        derived = [
            float(np.asarray(evaluator(result.adjoints[entry].resolved), dtype=float))
            for entry in entry_names(base, SHAPES[name][base])
        ]
        assert np.abs(expected).max() > 0, base  # a zero gradient would compare trivially
        assert np.allclose(derived, expected, rtol=1e-12, atol=1e-14), base
