"""derive's optimiser updates against torch.optim on the same parameter, gradient and state.

The network is the shipped example's logistic unit; torch computes the gradient itself
(autograd on the same forward pass), then takes one optimiser step from a state set by hand.

Conventions: torch's SGD keeps a buffer b with b ← μ b + g and θ ← θ − α b, where the
textbooks (and derive) keep the velocity v ← μ v − α g and θ ← θ + v. With a constant α the two
are the same update with v = −α b, so the state is set as b = −v / α and compared that way.
torch's Nesterov (θ ← θ − α (g + μ b)) is CS231n's form, θ + μ v − α g, again with v = −α b.
torch's RMSprop calls the decay rate alpha; with momentum 0 and centered=False it is CS231n's
RMSprop. torch's Adam counts steps in state["step"] and increments it first, so a state with
step t gives derive's bias corrections 1 − β^{t+1}.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import derive.examples
from derive.evaluate import Evaluator
from derive.model import Part
from derive.problem_set import load_problem_set
from derive.problems import ProblemSpec, solver
from tests.torch_oracle import float64_tensor

torch = pytest.importorskip("torch")

SIZE = 3  # n, the length of x and w
HYPER = {"alpha": 0.03, "mu": 0.85, "rho": 0.9, "beta1": 0.8, "beta2": 0.95, "epsilon": 1e-3}
STEPS_BEFORE = 4


@pytest.fixture(scope="module")
def unit() -> Part:
    """The shipped example's first problem: ∂L/∂w of one logistic unit."""
    return load_problem_set(derive.examples.example_path("adam-update"), points=1).parts[0]


def _derive_step(unit: Part, method: str, values: dict[str, object]) -> dict[str, np.ndarray]:
    """derive's answers for ``method`` evaluated at ``values`` (by name), keyed by name."""
    fields = {"gradient_of": "unit", "parameter": "w", "method": method}
    part = solver("update")(ProblemSpec("u", "Update", "", fields, previous={"unit": unit}))
    found = {}
    for name, answer in part.answers.items():
        symbols = {str(s): s for s in answer.value.free_symbols}
        known = {symbols[key]: value for key, value in values.items() if key in symbols}
        dims = {s: SIZE for s in symbols.values() if str(s) == "n"}
        found[name] = np.asarray(Evaluator(known, dims)(answer.value), dtype=float)
    return found


def _point(seed: int) -> tuple[dict[str, object], torch.Tensor, torch.Tensor]:
    """Values by name for derive, and torch's w and its gradient from the same forward pass."""
    rng = np.random.default_rng(seed)
    x, w = rng.normal(size=(SIZE, 1)), rng.normal(size=(SIZE, 1))
    b, y = float(rng.normal()), 1.0
    z = (w.T @ x).item() + b
    p = 1 / (1 + np.exp(-z))
    values: dict[str, object] = {"x": x, "w": w, "b": b, "y": y, "z": z, "p": p, **HYPER}
    values["t"] = STEPS_BEFORE
    for name in ("v", "s", "m"):
        values[name] = np.abs(rng.normal(size=(SIZE, 1)))  # s and v are averages of squares
    weights = float64_tensor(w).requires_grad_(True)
    inputs = float64_tensor(x)
    probability = torch.sigmoid(weights.T @ inputs + b).squeeze()
    loss = -(y * torch.log(probability) + (1 - y) * torch.log(1 - probability))
    loss.backward()
    return values, weights, weights.grad


def _sgd(nesterov: bool) -> Callable[[torch.Tensor, dict[str, object]], dict[str, np.ndarray]]:
    def step(weights: torch.Tensor, values: dict[str, object]) -> dict[str, np.ndarray]:
        rate = HYPER["alpha"]
        optimizer = torch.optim.SGD([weights], lr=rate, momentum=HYPER["mu"], nesterov=nesterov)
        velocity = float64_tensor(values["v"])
        optimizer.state[weights] = {"momentum_buffer": -velocity / rate}  # b = −v/α
        optimizer.step()
        buffer = optimizer.state[weights]["momentum_buffer"]
        return {"v": -rate * buffer.numpy(), "w": weights.detach().numpy()}

    return step


def _rmsprop(weights: torch.Tensor, values: dict[str, object]) -> dict[str, np.ndarray]:
    optimizer = torch.optim.RMSprop(
        [weights], lr=HYPER["alpha"], alpha=HYPER["rho"], eps=HYPER["epsilon"]
    )
    step = torch.tensor(float(STEPS_BEFORE))
    optimizer.state[weights] = {"step": step, "square_avg": float64_tensor(values["s"])}
    optimizer.step()
    average = optimizer.state[weights]["square_avg"]
    return {"s": average.numpy(), "w": weights.detach().numpy()}


def _adam(weights: torch.Tensor, values: dict[str, object]) -> dict[str, np.ndarray]:
    betas = (HYPER["beta1"], HYPER["beta2"])
    optimizer = torch.optim.Adam([weights], lr=HYPER["alpha"], betas=betas, eps=HYPER["epsilon"])
    optimizer.state[weights] = {
        "step": torch.tensor(float(STEPS_BEFORE)),
        "exp_avg": float64_tensor(values["m"]),
        "exp_avg_sq": float64_tensor(values["v"]),
    }
    optimizer.step()
    state = optimizer.state[weights]
    assert float(state["step"]) == STEPS_BEFORE + 1
    return {"m": state["exp_avg"].numpy(), "v": state["exp_avg_sq"].numpy(), **_w(weights)}


def _w(weights: torch.Tensor) -> dict[str, np.ndarray]:
    return {"w": weights.detach().numpy()}


TORCH_STEPS = {
    "momentum": _sgd(nesterov=False),
    "nesterov": _sgd(nesterov=True),
    "rmsprop": _rmsprop,
    "adam": _adam,
}


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("method", list(TORCH_STEPS))
def test_one_step_agrees_with_torch_optim(unit: Part, method: str, seed: int) -> None:
    values, weights, gradient = _point(seed)
    p, x = values["p"], values["x"]
    np.testing.assert_allclose(gradient.numpy(), (p - 1.0) * x, rtol=1e-12)  # (p − y) x, y = 1
    ours = _derive_step(unit, method, values)
    theirs = TORCH_STEPS[method](weights, values)
    assert list(ours) == list(theirs)
    for name in ours:
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-12, atol=1e-15, err_msg=name)


def test_the_state_moves(unit: Part) -> None:
    """The comparison is not vacuous: one Adam step changes w, m and v."""
    values, weights, _ = _point(3)
    theirs = _adam(weights, values)
    for name in ("w", "m", "v"):
        assert np.max(np.abs(theirs[name] - values[name])) > 1e-4
