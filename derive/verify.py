"""Check derived gradients against central finite differences of the forward pass.

Dimensions are made concrete with distinct sizes (so a missing transpose cannot hide), the
givens drawn at random, and every answer compared with (L(θ + h) − L(θ − h)) / 2h entry by entry
(or along random directions for large parameters). A failed check is an error: derive never
writes a key it could not confirm.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import sympy as sp

from derive.errors import VerificationError
from derive.evaluate import Evaluator, Value
from derive.model import Network, Quantity, Verification, as_dim

TOLERANCE = 1e-5
ENTRYWISE_LIMIT = 60  # parameters with more entries are checked along random directions
DIRECTIONS = 4
JOINT_ABOVE = 400  # with more wrt entries in all, check random directions in all of them at once
JOINT_DIRECTIONS = 8
SIZES = (3, 4, 5, 2, 6, 7, 8, 9)


def concrete_dims(network: Network) -> dict[sp.Basic, int]:
    """A distinct small size for every symbolic dimension of the network."""
    symbols: set[sp.Basic] = set()
    for quantity in network.quantities.values():
        for dim in quantity.shape:
            symbols |= as_dim(dim).free_symbols
    ordered = sorted(symbols, key=lambda s: s.name)
    return {symbol: SIZES[i % len(SIZES)] + (i // len(SIZES)) for i, symbol in enumerate(ordered)}


def verify(
    network: Network,
    answers: Mapping[str, sp.Basic],
    *,
    points: int = 3,
    seed: int = 0,
) -> Verification:
    """Compare every answer with finite differences at ``points`` random points."""
    dims = concrete_dims(network)
    rng = np.random.default_rng(seed)
    sizes = {name: _size(network.givens[name], dims) for name in answers}
    joint = sum(rows * cols for rows, cols in sizes.values()) > JOINT_ABOVE
    worst = 0.0
    for _ in range(points):
        givens = draw_point(network, dims, rng)
        evaluator = Evaluator(forward(network, givens, dims), dims)
        analytic = {
            name: _with_shape(name, evaluator(answer), sizes[name])
            for name, answer in answers.items()
        }
        checks = (
            [("all parameters together", _joint_difference(network, givens, dims, analytic, rng))]
            if joint
            else [
                (name, _finite_difference(network, givens, dims, network.givens[name], value, rng))
                for name, value in analytic.items()
            ]
        )
        for name, (projected, numeric) in checks:
            what = f"the derived gradient for {name} disagrees with finite differences"
            worst = max(worst, within_tolerance(_relative_error(projected, numeric), what))
    method = "central finite differences at random points, float64"
    if joint:
        method = (
            "central finite differences at random points, along "
            f"{JOINT_DIRECTIONS} random directions, float64"
        )
    return Verification(points=points, max_rel_error=worst, ok=True, method=method)


def _with_shape(name: str, value: Value, size: tuple[int, int]) -> np.ndarray:
    """The evaluated answer as an array of ``name``'s shape; a different shape is an error."""
    array = np.asarray(value, dtype=float)
    if array.size != size[0] * size[1] or (array.ndim == 2 and array.shape != size):
        raise VerificationError(
            f"the derived gradient for {name} has shape {array.shape}, not {size} "
            "(the shape of what it is taken with respect to); refusing to write a wrong key"
        )
    return array.reshape(size)


def _joint_difference(
    network: Network,
    givens: dict[sp.Basic, Value],
    dims: Mapping[sp.Basic, int],
    analytic: Mapping[str, np.ndarray],
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Directional derivatives along random directions in all parameters at once."""
    projected, numeric = [], []
    for _ in range(JOINT_DIRECTIONS):
        directions = {name: rng.normal(size=value.shape) for name, value in analytic.items()}
        step = 1e-6
        shifted = []
        for sign in (1.0, -1.0):
            point = dict(givens)
            for name, direction in directions.items():
                quantity = network.givens[name]
                moved = np.asarray(givens[quantity.symbol], dtype=float) + sign * step * direction
                point[quantity.symbol] = (
                    float(moved.reshape(-1)[0]) if quantity.is_scalar else moved
                )
            shifted.append(_loss(network, point, dims))
        numeric.append((shifted[0] - shifted[1]) / (2 * step))
        projected.append(sum(float(np.sum(analytic[n] * d)) for n, d in directions.items()))
    return np.array(projected), np.array(numeric)


def within_tolerance(error: float, what: str, tolerance: float = TOLERANCE) -> float:
    """``error`` if it is at most ``tolerance``; otherwise the error that stops a wrong key.

    ``what`` says what disagreed with what, e.g. "the derived gradient for W1 disagrees with
    finite differences". A NaN error fails too.
    """
    if not error <= tolerance:
        raise VerificationError(
            f"{what} (relative error {error:.2e}); refusing to write a wrong key"
        )
    return error


def forward(
    network: Network, givens: Mapping[sp.Basic, Value], dims: Mapping[sp.Basic, int]
) -> dict[sp.Basic, Value]:
    """Every quantity's value at one point, equation by equation."""
    values = dict(givens)
    for equation in network.equations:
        value = Evaluator(values, dims)(equation.rhs)
        if equation.target.is_scalar:
            value = float(np.asarray(value).reshape(-1)[0])
        values[equation.target.symbol] = value
    return values


def _loss(
    network: Network, givens: Mapping[sp.Basic, Value], dims: Mapping[sp.Basic, int]
) -> float:
    return float(forward(network, givens, dims)[network.loss.target.symbol])


def _size(quantity: Quantity, dims: Mapping[sp.Basic, int]) -> tuple[int, int]:
    rows, cols = (int(as_dim(d).xreplace(dict(dims))) for d in quantity.shape)
    return rows, cols


def draw_point(
    network: Network, dims: Mapping[sp.Basic, int], rng: np.random.Generator
) -> dict[sp.Basic, Value]:
    """Random givens at which every quantity is finite (targets of one-hot kind are one-hot).

    Signed values first; if the loss is not finite there (log of a given, say), positive ones.
    """
    for attempt in range(60):
        positive = attempt >= 20
        givens: dict[sp.Basic, Value] = {}
        for name, quantity in network.givens.items():
            shape = _size(quantity, dims)
            if name in network.onehot:
                value = np.zeros(shape)
                value[rng.integers(shape[0]), 0] = 1.0
                givens[quantity.symbol] = value
            elif quantity.is_scalar:
                sign = 1 if positive else rng.choice([-1, 1])
                givens[quantity.symbol] = float(rng.uniform(0.2, 0.8) * sign)
            else:
                value = rng.normal(size=shape) * 0.8
                givens[quantity.symbol] = np.abs(value) + 0.1 if positive else value
        with np.errstate(all="ignore"):
            if np.isfinite(_loss(network, givens, dims)):
                return givens
    raise VerificationError(
        "no random point found at which the loss is finite (signed or positive givens)"
    )


def _finite_difference(
    network: Network,
    givens: dict[sp.Basic, Value],
    dims: Mapping[sp.Basic, int],
    quantity: Quantity,
    analytic: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """(analytic, numeric) projections to compare: every entry, or random directions."""
    base = np.asarray(givens[quantity.symbol], dtype=float).reshape(analytic.shape)
    if base.size <= ENTRYWISE_LIMIT:
        directions = [np.eye(base.size)[i].reshape(base.shape) for i in range(base.size)]
    else:
        directions = [rng.normal(size=base.shape) for _ in range(DIRECTIONS)]
    numeric = []
    projected = []
    step = 1e-6 * max(1.0, float(np.abs(base).max()))
    for direction in directions:
        shifted = []
        for sign in (1.0, -1.0):
            moved = base + sign * step * direction
            point = dict(givens)
            point[quantity.symbol] = float(moved[0, 0]) if quantity.is_scalar else moved
            shifted.append(_loss(network, point, dims))
        numeric.append((shifted[0] - shifted[1]) / (2 * step))
        projected.append(float(np.sum(analytic * direction)))
    return np.array(projected), np.array(numeric)


def _relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    scale = max(float(np.abs(numeric).max()), float(np.abs(analytic).max()), 1e-2)
    return float(np.abs(analytic - numeric).max()) / scale
