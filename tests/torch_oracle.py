"""What the torch tests share: derive's random point handed to torch, and derive's gradients
evaluated at that point beside autograd's.

Importing this module without torch installed skips the test module that imports it.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from derive.engine import backward
from derive.evaluate import Evaluator
from derive.model import Network
from derive.verify import concrete_dims, draw_point, forward

torch = pytest.importorskip("torch")

Tensors = dict[str, "torch.Tensor"]
Point = dict[sp.Basic, object]
Dims = dict[sp.Basic, int]


def float64_tensor(value: object) -> torch.Tensor:
    """A number or array as a float64 tensor, derive's precision."""
    return torch.tensor(np.asarray(value, dtype=float), dtype=torch.float64)


def random_point(network: Network, rng: np.random.Generator) -> tuple[Dims, Point]:
    """derive's sizes for the network's dimensions and a point of its givens drawn at them."""
    dims = concrete_dims(network)
    return dims, draw_point(network, dims, rng)


def givens_as_tensors(network: Network, point: Point) -> Tensors:
    """Each given's value at the point as a tensor, by name; those in wrt track gradients."""
    tensors = {name: float64_tensor(point[given.symbol]) for name, given in network.givens.items()}
    for name in network.wrt:
        tensors[name].requires_grad_(True)
    return tensors


def forward_with_loss(
    network: Network, point: Point, dims: Dims, loss: torch.Tensor, *, rel: float
) -> Point:
    """derive's forward pass at the point, after checking that its loss is torch's."""
    values = forward(network, point, dims)
    assert float(values[network.loss.target.symbol]) == pytest.approx(loss.item(), rel=rel)
    return values


def adjoints_beside_autograd(
    network: Network, evaluator: Evaluator, tensors: Tensors
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """For each wrt (after the torch loss's backward()): its name, derive's adjoint evaluated
    in the shape of torch's gradient, and that gradient, which must exist and not be all zero
    (a zero gradient would compare trivially)."""
    adjoints = backward(network).adjoints
    found = []
    for wrt in network.wrt:
        gradient = tensors[wrt].grad
        assert gradient is not None, wrt
        expected = gradient.numpy()
        assert np.abs(expected).max() > 0, wrt
        derived = np.asarray(evaluator(adjoints[wrt].resolved), dtype=float)
        found.append((wrt, derived.reshape(expected.shape), expected))
    return found
