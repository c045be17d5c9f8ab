"""The numeric check of an optimiser's updates: every line against a numpy implementation.

Each method has a reference here, written the way the papers' pseudocode reads (CS231n's
form for Nesterov, so that it is not the template's form again). At random hyperparameters,
states and points, every update derive prints (the stored states, Adam's bias-corrected
moments, the parameter) is evaluated and compared with the reference. When the earlier problem
is a network, the reference gets its gradient by central differences of the loss, so the check
covers the gradient put in as well as the optimiser's algebra.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import numpy as np
import sympy as sp

from derive.errors import DeriveError, VerificationError
from derive.evaluate import Evaluator, Value
from derive.model import Answer, Part, Verification
from derive.problems import ProblemSpec
from derive.problems.forward_pass import (
    Equations,
    dimension_sizes,
    draw,
    forward,
    forward_equations,
    givens,
    leaves,
)

if TYPE_CHECKING:
    from derive.problems.optimizer_methods import Method, Names
    from derive.problems.optimizers import Solved

POINTS = 3
TOLERANCE = 1e-6  # relative; the gradient by central differences is good to about 1e-9
DIFFERENCE = 1e-6  # the step of the central differences

Array = np.ndarray
# (θ, g, states by field, hyperparameters by field, learning rate, steps taken before)
Reference = Callable[
    [Array, Array, Mapping[str, Array], Mapping[str, float], float, int], dict[str, Array]
]


def _momentum(
    theta: Array, g: Array, state: Mapping[str, Array], h: Mapping[str, float], lr: float, _: int
) -> dict[str, Array]:
    v = h["momentum"] * state["velocity"] - lr * g
    return {"velocity": v, "parameter": theta + v}


def _nesterov(
    theta: Array, g: Array, state: Mapping[str, Array], h: Mapping[str, float], lr: float, _: int
) -> dict[str, Array]:
    # CS231n: v_prev = v; v = mu * v - learning_rate * dx; x += -mu * v_prev + (1 + mu) * v
    v_prev = state["velocity"]
    v = h["momentum"] * v_prev - lr * g
    return {"velocity": v, "parameter": theta - h["momentum"] * v_prev + (1 + h["momentum"]) * v}


def _rmsprop(
    theta: Array, g: Array, state: Mapping[str, Array], h: Mapping[str, float], lr: float, _: int
) -> dict[str, Array]:
    # CS231n: cache = decay_rate * cache + (1 - decay_rate) * dx**2
    cache = h["decay"] * state["square_average"] + (1 - h["decay"]) * g**2
    return {"square_average": cache, "parameter": theta - lr * g / (np.sqrt(cache) + h["epsilon"])}


def _adam(
    theta: Array, g: Array, state: Mapping[str, Array], h: Mapping[str, float], lr: float, t: int
) -> dict[str, Array]:
    # Kingma & Ba, Algorithm 1, with their t the steps taken counting this one
    t += 1
    m = h["beta1"] * state["first_moment"] + (1 - h["beta1"]) * g
    v = h["beta2"] * state["second_moment"] + (1 - h["beta2"]) * g * g
    m_hat = m / (1 - h["beta1"] ** t)
    v_hat = v / (1 - h["beta2"] ** t)
    return {
        "first_moment": m,
        "second_moment": v,
        "first_moment_hat": m_hat,
        "second_moment_hat": v_hat,
        "parameter": theta - lr * m_hat / (np.sqrt(v_hat) + h["epsilon"]),
    }


REFERENCES: dict[str, Reference] = {
    "momentum": _momentum,
    "nesterov": _nesterov,
    "rmsprop": _rmsprop,
    "adam": _adam,
}

# Where each hyperparameter is drawn from: a decay rate in (0, 1), a small positive ε.
RANGES: dict[str, tuple[float, float]] = {
    "momentum": (0.5, 0.99),
    "decay": (0.5, 0.99),
    "beta1": (0.5, 0.99),
    "beta2": (0.8, 0.999),
    "epsilon": (1e-3, 1e-1),
}
SQUARES = frozenset({"square_average", "second_moment"})  # averages of squares: never negative


def check(
    spec: ProblemSpec,
    method: Method,
    solved: list[Solved],
    names: Names,
    *,
    source: Part,
    gradient: Answer,
) -> Verification:
    """Every update of ``solved`` against ``REFERENCES[method.name]`` at random points, or a
    VerificationError naming the first line that disagrees."""
    rng = np.random.default_rng(0)
    equations = forward_equations(source)
    dims = dimension_sizes([names.parameter, gradient.value, *(rhs for _, rhs in equations or [])])
    worst, how = 0.0, "at random gradients"  # when the gradient cannot be evaluated
    for _ in range(POINTS):
        hyper = {field: float(rng.uniform(*RANGES[field])) for field in names.hyper}
        rate, before = float(rng.uniform(0.01, 0.5)), int(rng.integers(0, 10))
        state = {field: _draw_state(field, s, dims, rng) for field, s in names.state.items()}
        point = _point(equations, names.parameter, gradient, dims, rng)
        if point is None:  # the gradient cannot be evaluated: check the updates over g
            theta = draw(names.parameter, dims, rng)
            g = draw(names.gradient, dims, rng)
            values: dict[sp.Basic, Value] = {names.parameter: theta, names.gradient: g}
        else:
            values, theta, g, how = point
        values.update(
            {names.rate: rate, sp.Symbol(names.step, integer=True, nonnegative=True): before}
        )
        values.update({names.hyper[field]: value for field, value in hyper.items()})
        values.update({names.state[field]: value for field, value in state.items()})
        reference = REFERENCES[method.name](
            np.asarray(theta, dtype=float), np.asarray(g, dtype=float), state, hyper, rate, before
        )
        for item in solved:
            expr = item.template if point is None else item.value
            got = np.asarray(Evaluator(values, dims)(expr), dtype=float)
            expected = reference[item.update.key]
            error = float(np.max(np.abs(got - expected) / np.maximum(1.0, np.abs(expected))))
            if not error <= TOLERANCE:
                raise VerificationError(
                    f"problem '{spec.id}': the line for {item.update.label} does not agree with "
                    f"a numpy implementation of {method.shown} (relative difference {error:.2g})"
                )
            worst = max(worst, error)
    return Verification(
        POINTS,
        worst,
        True,
        method=f"a numpy implementation of {method.shown} on every line, {how}, float64",
    )


def _draw_state(
    field: str, symbol: sp.Basic, dims: Mapping[sp.Basic, int], rng: np.random.Generator
) -> Value:
    value = draw(symbol, dims, rng)
    return np.abs(value) + 0.05 if field in SQUARES else value


def _point(
    equations: Equations | None,
    parameter: sp.Basic,
    gradient: Answer,
    dims: Mapping[sp.Basic, int],
    rng: np.random.Generator,
) -> tuple[dict[sp.Basic, Value], Value, Value, str] | None:
    """Values for the gradient's quantities, θ, g and how g was found; None if the gradient
    cannot be evaluated numerically (a random variable, say).

    g is found by central differences when the gradient is the loss's: the earlier problem has
    a forward pass that computes everything the gradient mentions, and θ is one of its givens.
    """
    mentioned = leaves(gradient.value) | {parameter}
    inputs = set(mentioned) if equations is None else set(givens(equations, parameter))
    try:
        values = {s: draw(s, dims, rng) for s in sorted(inputs | mentioned, key=str)}
        if equations is not None:
            values = forward(equations, values, dims)
        g = np.asarray(Evaluator(values, dims)(gradient.value), dtype=float)
    except DeriveError:
        return None
    computed = set() if equations is None else {lhs for lhs, _ in equations}
    if equations is not None and parameter not in computed and mentioned <= inputs | computed:
        point = {s: values[s] for s in inputs}
        g = _central_differences(equations, point, parameter, dims)
        return values, values[parameter], g, "the gradient by central differences of the loss"
    return values, values[parameter], g, "the gradient evaluated from its answer"


def _central_differences(
    equations: Equations,
    point: Mapping[sp.Basic, Value],
    parameter: sp.Basic,
    dims: Mapping[sp.Basic, int],
) -> Value:
    """∂L/∂θ entry by entry, (L(θ + h e_i) − L(θ − h e_i)) / 2h."""
    loss = equations[-1][0]

    def at(theta: Value) -> float:
        return float(forward(equations, {**point, parameter: theta}, dims)[loss])

    theta = point[parameter]
    if not isinstance(theta, np.ndarray):
        return (at(theta + DIFFERENCE) - at(theta - DIFFERENCE)) / (2 * DIFFERENCE)
    g = np.zeros_like(theta, dtype=float)
    for index in np.ndindex(theta.shape):
        step = np.zeros_like(theta, dtype=float)
        step[index] = DIFFERENCE
        g[index] = (at(theta + step) - at(theta - step)) / (2 * DIFFERENCE)
    return g
