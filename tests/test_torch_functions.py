"""Optional: the gelu and huber course examples against a hand-written torch forward pass
(torch.nn.functional.gelu and huber_loss), skipped when torch is absent."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import sympy as sp

from derive.evaluate import Evaluator
from derive.examples import example_path
from derive.load import load_network
from derive.verify import forward
from tests.torch_oracle import adjoints_beside_autograd, givens_as_tensors, random_point

torch = pytest.importorskip("torch")
functional = torch.nn.functional


def _gelu_layer(g: dict[str, object]) -> object:
    # s = W x + b, h = gelu(s), y = vᵀ h + c, L = (y − t)² / 2
    h = functional.gelu(g["W"] @ g["x"] + g["b"])
    y = g["v"].T @ h + g["c"]
    return ((y - g["t"]) ** 2 / 2).sum()


def _huber_regression(g: dict[str, object]) -> object:
    # r = X w + b − y, L = mean(huber(r)) with δ = 1
    r = g["X"] @ g["w"] + g["b"] - g["y"]
    return functional.huber_loss(r, torch.zeros_like(r), reduction="mean", delta=1.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    ("example", "loss"),
    [("gelu", _gelu_layer), ("huber", _huber_regression)],
    ids=["gelu", "huber"],
)
def test_the_example_matches_torch(example: str, loss: Callable, seed: int) -> None:
    network = load_network(example_path(example))
    dims, point = random_point(network, np.random.default_rng(seed))
    tensors = givens_as_tensors(network, point)
    loss(tensors).backward()
    evaluator = Evaluator(forward(network, point, dims), dims)
    for name, derived, expected in adjoints_beside_autograd(network, evaluator, tensors):
        assert np.allclose(derived, expected, rtol=1e-9, atol=1e-12), name


def test_the_huber_point_has_residuals_on_both_pieces() -> None:
    """The check is not vacuous: some residuals are inside [−1, 1] (½ r²), some outside."""
    network = load_network(example_path("huber"))
    dims, point = random_point(network, np.random.default_rng(0))
    residual = forward(network, point, dims)[network.quantities["r"].symbol]
    size = np.abs(np.asarray(residual, dtype=float))
    assert (size < 1).any() and (size > 1).any(), sp.Matrix(size)
