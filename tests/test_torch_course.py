"""Optional: the course examples' gradients against torch autograd (skipped without torch).

Each forward pass below is written by hand the way the course's own code writes it (CS231n's
numpy assignments, CS224n's word2vec, the PyTorch VAE example), never translated from derive's
equations: an independent oracle. Givens are drawn at derive's random point (one-hot targets
one-hot, handed to torch as class indices); derive's backward pass and its boxed answers, both
evaluated at that point, must agree with autograd to 1e-8 of the gradient's size.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np
import pytest

import derive
from derive.evaluate import Evaluator
from derive.examples import example_path
from derive.load import load_network
from derive.model import Network, Solution
from tests.torch_oracle import (
    Tensors,
    adjoints_beside_autograd,
    forward_with_loss,
    givens_as_tensors,
    random_point,
)

torch = pytest.importorskip("torch")
F = torch.nn.functional

RELATIVE = 1e-8  # of the largest entry of torch's gradient


def labels(one_hot: torch.Tensor) -> torch.Tensor:
    """The class index of each one-hot row."""
    return one_hot.detach().argmax(dim=1)


def cs231n_two_layer(p: Tensors) -> torch.Tensor:
    """scores = relu(X W1 + b1) W2 + b2; mean softmax cross-entropy + reg (‖W1‖² + ‖W2‖²)."""
    scores = torch.relu(p["X"] @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
    data_loss = F.cross_entropy(scores, labels(p["Y"]), reduction="mean")
    return data_loss + p["reg"] * (p["W1"].square().sum() + p["W2"].square().sum())


def cs231n_svm(p: Tensors) -> torch.Tensor:
    """Σ_i Σ_{j≠y_i} max(0, s_j − s_{y_i} + 1) / N + reg ‖W‖², as svm_loss_vectorized."""
    scores = p["X"] @ p["W"]
    y = labels(p["Y"])
    rows = torch.arange(scores.shape[0])
    correct = scores[rows, y].unsqueeze(1)
    margins = torch.clamp(scores - correct + 1, min=0)
    not_correct = torch.ones_like(margins)
    not_correct[rows, y] = 0  # j ≠ y_i
    return (margins * not_correct).sum() / scores.shape[0] + p["reg"] * (p["W"] * p["W"]).sum()


def attention(p: Tensors) -> torch.Tensor:
    """O = softmax(Q Kᵀ / √d) V, with the upstream gradient dO: L = Σ O ⊙ dO."""
    d = p["Q"].shape[-1]
    out = F.softmax(p["Q"] @ p["K"].T / d**0.5, dim=-1) @ p["V"]
    return (out * p["dO"]).sum()


def cs231n_affine_relu(p: Tensors) -> torch.Tensor:
    """affine_relu_forward then the upstream dout: L = Σ relu(x w + b) ⊙ dout."""
    out = torch.relu(p["x"] @ p["w"] + p["b"])
    return (out * p["dout"]).sum()


def logistic_regression(p: Tensors) -> torch.Tensor:
    """Ng's cost: −1/m Σ (y log a + (1 − y) log(1 − a)) + λ/(2m) ‖w‖², a = σ(X w + b)."""
    m = p["X"].shape[0]
    a = torch.sigmoid(p["X"] @ p["w"] + p["b"])
    y = p["y"]
    cost = -(y * torch.log(a) + (1 - y) * torch.log(1 - a)).sum() / m
    return cost + p["lambda"] / (2 * m) * p["w"].square().sum()


def word2vec_naive_softmax(p: Tensors) -> torch.Tensor:
    """−log ŷ_o with ŷ = softmax(Uᵀ v_c), the outside vectors U's columns."""
    scores = (p["U"].T @ p["v_c"]).reshape(1, -1)
    outside_word = labels(p["y"].T)  # the one-hot column as a row: the index o
    return F.cross_entropy(scores, outside_word)


def word2vec_negative_sampling(p: Tensors) -> torch.Tensor:
    """−log σ(u_oᵀ v_c) − Σ_k log σ(−u_kᵀ v_c), u_k the columns of U_neg."""
    v_c = p["v_c"].reshape(-1)
    positive = torch.log(torch.sigmoid(p["u_o"].reshape(-1) @ v_c))
    negatives = torch.log(torch.sigmoid(-(p["U_neg"].T @ v_c))).sum()
    return -positive - negatives


def vae_kl(p: Tensors) -> torch.Tensor:
    """The PyTorch VAE example's loss with a tanh decoder and squared error."""
    std = torch.exp(0.5 * p["logvar"])
    z = p["mu"] + p["epsilon"] * std
    x_hat = p["W2"] @ torch.tanh(p["W1"] @ z + p["b1"]) + p["b2"]
    reconstruction = 0.5 * F.mse_loss(x_hat, p["x"], reduction="sum")
    kld = -0.5 * torch.sum(1 + p["logvar"] - p["mu"].pow(2) - p["logvar"].exp())
    return reconstruction + kld


ORACLES: dict[str, Callable[[Tensors], torch.Tensor]] = {
    "cs231n-two-layer": cs231n_two_layer,
    "cs231n-svm": cs231n_svm,
    "attention": attention,
    "cs231n-affine-relu": cs231n_affine_relu,
    "logistic-regression": logistic_regression,
    "word2vec-naive-softmax": word2vec_naive_softmax,
    "word2vec-negative-sampling": word2vec_negative_sampling,
    "vae-kl": vae_kl,
}


@cache
def _solved(name: str) -> tuple[Network, Solution]:
    network = load_network(example_path(name))
    return network, derive.solve(network)


def _relative_error(derived: np.ndarray, expected: np.ndarray) -> float:
    return float(np.abs(derived - expected).max() / np.abs(expected).max())


@pytest.mark.parametrize("name", list(ORACLES))
@pytest.mark.parametrize("seed", [3, 11])
def test_gradients_match_torch_autograd(name: str, seed: int) -> None:
    network, solution = _solved(name)
    dims, point = random_point(network, np.random.default_rng(seed))
    tensors = givens_as_tensors(network, point)
    loss = ORACLES[name](tensors)
    loss.backward()

    values = forward_with_loss(network, point, dims, loss, rel=1e-12)
    evaluator = Evaluator(values, dims)
    (part,) = solution.parts
    for wrt, adjoint, expected in adjoints_beside_autograd(network, evaluator, tensors):
        answer = np.asarray(evaluator(part.answers[wrt].value), dtype=float).reshape(adjoint.shape)
        assert _relative_error(adjoint, expected) <= RELATIVE, (wrt, "adjoint")
        assert _relative_error(answer, expected) <= RELATIVE, (wrt, "answer")


def test_one_hot_targets_are_drawn_one_hot() -> None:
    """The cross-entropy oracles read class indices: each one-hot row has a single 1."""
    for name in ("cs231n-two-layer", "cs231n-svm", "word2vec-naive-softmax"):
        network, _ = _solved(name)
        _, point = random_point(network, np.random.default_rng(3))
        for target in network.onehot:
            value = np.asarray(point[network.givens[target].symbol], dtype=float)
            rows = value.reshape(-1, value.shape[-1]) if value.shape[-1] > 1 else value.T
            assert set(np.unique(rows)) == {0.0, 1.0}, (name, target)
            assert np.all(rows.sum(axis=-1) == 1), (name, target)
