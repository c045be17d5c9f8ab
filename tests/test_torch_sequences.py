"""Optional: the sequence examples' gradients against torch autograd (skipped without torch).

Each forward pass below is written by hand from the course's formulas, as a loop over the
steps, not translated from derive's equations: an independent oracle for the unrolling as
well as for the engine.
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
    forward_with_loss,
    givens_as_tensors,
    random_point,
)

torch = pytest.importorskip("torch")


def rnn_loss(p: Tensors) -> torch.Tensor:
    """h_t = tanh(W h_{t-1} + U x_t + b), p_t = softmax(V h_t + c), L = Σ_t −y_tᵀ log p_t."""
    h = p["h_0"]
    loss = torch.zeros((), dtype=torch.float64)
    for t in (1, 2, 3):
        h = torch.tanh(p["W"] @ h + p["U"] @ p[f"x_{t}"] + p["b"])
        log_probabilities = torch.log_softmax(p["V"] @ h + p["c"], dim=0)
        loss = loss - (p[f"y_{t}"] * log_probabilities).sum()
    return loss


def lstm_loss(p: Tensors) -> torch.Tensor:
    """One LSTM step from (h_0, c_0) on x_1, then ½ (vᵀ h_1 − y)²."""
    x, h, c = p["x_1"], p["h_0"], p["c_0"]

    def gate(name: str, activation: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        return activation(p[f"W_{name}"] @ x + p[f"U_{name}"] @ h + p[f"b_{name}"])

    i, f, o = gate("i", torch.sigmoid), gate("f", torch.sigmoid), gate("o", torch.sigmoid)
    g = gate("g", torch.tanh)
    c_new = f * c + i * g
    h_new = o * torch.tanh(c_new)
    return ((p["v"] * h_new).sum() - p["y"]).pow(2).sum() / 2


@pytest.mark.parametrize(
    ("name", "oracle"),
    [("rnn-three-steps", rnn_loss), ("lstm-step", lstm_loss)],
    ids=["rnn-three-steps", "lstm-step"],
)
@pytest.mark.parametrize("seed", [3, 11])
def test_gradients_match_torch_autograd(
    name: str, oracle: Callable[[Tensors], torch.Tensor], seed: int
) -> None:
    network = load_network(example_path(name))
    dims, point = random_point(network, np.random.default_rng(seed))
    tensors = givens_as_tensors(network, point)
    loss = oracle(tensors)
    loss.backward()

    values = forward_with_loss(network, point, dims, loss, rel=1e-12)
    evaluator = Evaluator(values, dims)
    for wrt, derived, expected in adjoints_beside_autograd(network, evaluator, tensors):
        assert np.allclose(derived, expected, rtol=1e-9, atol=1e-12), wrt
