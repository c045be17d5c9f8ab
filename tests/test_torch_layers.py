"""Optional: the layer examples' gradients against torch autograd (skipped without torch).

Each forward pass is written by hand with torch's own layers (layer_norm, batch_norm in
training mode, a 0/1 mask scaled by 1/(1 − p)), not translated from derive's steps: an
independent oracle for the expansion as well as for the engine.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from derive.evaluate import Evaluator
from derive.examples import example_path
from derive.load import load_network
from tests.torch_oracle import (
    Tensors,
    adjoints_beside_autograd,
    float64_tensor,
    forward_with_loss,
    givens_as_tensors,
    random_point,
)

torch = pytest.importorskip("torch")
functional = torch.nn.functional

EPS = 1e-5  # torch's default, and derive's when layernorm/batchnorm are given no eps


def layernorm_loss(p: Tensors) -> torch.Tensor:
    """CS231n's layernorm_backward: L = Σ dout ⊙ layer_norm(x) with γ, β over the features."""
    out = functional.layer_norm(
        p["x"], p["x"].shape[-1:], p["gamma"].reshape(-1), p["beta"].reshape(-1), eps=EPS
    )
    return (p["dout"] * out).sum()


def batchnorm_loss(p: Tensors) -> torch.Tensor:
    """CS231n's batchnorm_backward: batch statistics (training mode), biased variance."""
    out = functional.batch_norm(
        p["x"],
        None,
        None,
        p["gamma"].reshape(-1),
        p["beta"].reshape(-1),
        training=True,
        eps=EPS,
    )
    return (p["dout"] * out).sum()


def dropout_loss(p: Tensors) -> torch.Tensor:
    """Inverted dropout of the hidden layer with the given mask, as torch scales it."""
    hidden = torch.relu(p["x"] @ p["W1"] + p["b1"])
    dropped = hidden * p["m"] / (1 - p["p"])
    return (p["dout"] * (dropped @ p["W2"] + p["b2"])).sum()


def _mask(tensors: Tensors, rng: np.random.Generator) -> None:
    """A real dropout mask of zeros and ones, drawn with p's probability of dropping."""
    shape = tuple(tensors["m"].shape)
    p = abs(float(tensors["p"]))
    mask = (rng.uniform(size=shape) >= p).astype(float)
    mask.flat[0], mask.flat[1] = 0.0, 1.0  # some units dropped, some kept
    tensors["m"] = float64_tensor(mask)
    tensors["p"] = float64_tensor(p)


@pytest.mark.parametrize(
    ("name", "oracle"),
    [
        ("cs231n-layernorm", layernorm_loss),
        ("cs231n-batchnorm", batchnorm_loss),
        ("dropout-hidden", dropout_loss),
    ],
    ids=["layernorm", "batchnorm", "dropout"],
)
@pytest.mark.parametrize("seed", [3, 11])
def test_gradients_match_torch_autograd(
    name: str, oracle: Callable[[Tensors], torch.Tensor], seed: int
) -> None:
    network = load_network(example_path(name))
    rng = np.random.default_rng(seed)
    dims, point = random_point(network, rng)
    tensors = givens_as_tensors(network, point)
    if "m" in tensors:
        _mask(tensors, rng)
        for quantity in network.givens.values():
            if quantity.name in ("m", "p"):
                point[quantity.symbol] = (
                    tensors[quantity.name].numpy()
                    if quantity.name == "m"
                    else float(tensors[quantity.name])
                )
    loss = oracle(tensors)
    loss.backward()

    values = forward_with_loss(network, point, dims, loss, rel=1e-9)
    evaluator = Evaluator(values, dims)
    for wrt, derived, expected in adjoints_beside_autograd(network, evaluator, tensors):
        assert np.allclose(derived, expected, rtol=1e-9, atol=1e-12), wrt
