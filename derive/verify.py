"""Check derived gradients against complex-step derivatives of the forward pass.

Dimensions are made concrete with distinct sizes (so a missing transpose cannot hide), the
givens drawn at random, and every answer compared entry by entry (or along random directions
for large parameters) with Im L(θ + i h d) / h, the complex-step derivative along d: it has no
subtractive cancellation, so it is exact to rounding for any tiny h, and it never steps across
a kink. Points are drawn where the forward pass is finite, away from kinks and singularities
(relu, |x|, log, 1/x, √x at 0), and well conditioned (the loss in float64 agrees with the loss
in extended precision). A failed check is an error: derive never writes a key it could not
confirm.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from derive.errors import VerificationError
from derive.evaluate import Evaluator, ForwardPass, Value
from derive.model import Equation, Network, Quantity, Verification, as_dim

TOLERANCE = 1e-6
STEP = 1e-30  # the complex step: any tiny h works, there is no cancellation
KINK_MARGIN = 1e-4  # arguments of non-smooth functions stay this far from their kinks
CONDITIONING = 1e-9  # largest relative change of the loss between float64 and extended precision
ENTRYWISE_LIMIT = 60  # parameters with more entries are checked along random directions
DIRECTIONS = 4
JOINT_ABOVE = 100  # with more wrt entries in all, check random directions in all of them at once
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
    """Compare every answer with complex-step derivatives at ``points`` random points."""
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
            what = (
                f"the derived gradient for {name} disagrees with the complex-step derivative "
                "of the loss"
            )
            worst = max(worst, within_tolerance(_relative_error(projected, numeric), what))
    method = "complex-step derivatives at random points, float64"
    if joint:
        method = (
            "complex-step derivatives at random points, along "
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
        moves = {network.givens[name]: d for name, d in directions.items()}
        numeric.append(_derivative_along(network, givens, dims, moves))
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
    network: Network,
    givens: Mapping[sp.Basic, Value],
    dims: Mapping[sp.Basic, int],
    margins: list[float] | None = None,
) -> dict[sp.Basic, Value]:
    """Every quantity's value at one point, equation by equation (``margins`` as for
    ``Evaluator``)."""
    return _forward_pass(network).run(givens, dims, margins)


# the forward passes of the networks checked lately, by identity: the network's equations are
# kept beside it, so one whose equations changed gets a new pass
_PASSES: dict[int, tuple[list[Equation], ForwardPass]] = {}


def _forward_pass(network: Network) -> ForwardPass:
    found = _PASSES.get(id(network))
    if (
        found is not None
        and len(found[0]) == len(network.equations)
        and all(kept is eq for kept, eq in zip(found[0], network.equations, strict=True))
    ):
        return found[1]
    if len(_PASSES) >= 64:
        _PASSES.clear()
    equations = [(eq.target.symbol, eq.rhs, eq.target.is_scalar) for eq in network.equations]
    made = ForwardPass(equations)
    _PASSES[id(network)] = (list(network.equations), made)
    return made


def _loss(
    network: Network,
    givens: Mapping[sp.Basic, Value],
    dims: Mapping[sp.Basic, int],
    margins: list[float] | None = None,
) -> Value:
    return forward(network, givens, dims, margins)[network.loss.target.symbol]


def _derivative_along(
    network: Network,
    givens: Mapping[sp.Basic, Value],
    dims: Mapping[sp.Basic, int],
    directions: Mapping[Quantity, np.ndarray],
) -> float:
    """d/dε L(θ + ε d) by the complex step: Im L(θ + i h d) / h."""
    point = dict(givens)
    for quantity, direction in directions.items():
        base = np.asarray(givens[quantity.symbol], dtype=float)
        moved = base + 1j * STEP * direction.reshape(base.shape)
        point[quantity.symbol] = moved.reshape(-1)[0] if quantity.is_scalar else moved
    with np.errstate(all="ignore"):
        return float(np.imag(_loss(network, point, dims))) / STEP


def _size(quantity: Quantity, dims: Mapping[sp.Basic, int]) -> tuple[int, int]:
    rows, cols = (int(as_dim(d).xreplace(dict(dims))) for d in quantity.shape)
    return rows, cols


def _one_hot(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A one-hot column vector, or a matrix whose rows are one-hot."""
    rows, cols = shape
    value = np.zeros(shape)
    if cols == 1:
        value[rng.integers(rows), 0] = 1.0
    else:
        value[np.arange(rows), rng.integers(cols, size=rows)] = 1.0
    return value


def draw_point(
    network: Network, dims: Mapping[sp.Basic, int], rng: np.random.Generator
) -> dict[sp.Basic, Value]:
    """Random givens at which the forward pass is finite, smooth and well conditioned.

    Signed values first; if no such point turns up (log of a given, say), positive ones.
    Targets declared one-hot are one-hot.
    """
    for attempt in range(60):
        positive = attempt >= 20
        givens: dict[sp.Basic, Value] = {}
        for name, quantity in network.givens.items():
            shape = _size(quantity, dims)
            if name in network.onehot:
                givens[quantity.symbol] = _one_hot(shape, rng)
            elif quantity.is_scalar:
                sign = 1 if positive else rng.choice([-1, 1])
                givens[quantity.symbol] = float(rng.uniform(0.2, 0.8) * sign)
            else:
                value = rng.normal(size=shape) * 0.8
                givens[quantity.symbol] = np.abs(value) + 0.1 if positive else value
        if _usable(network, givens, dims):
            return givens
    raise VerificationError(
        "no random point found at which the loss is finite, away from the kinks of relu, "
        "|x|, log, 1/x and √x, and well conditioned (signed or positive givens)"
    )


def _usable(
    network: Network, givens: Mapping[sp.Basic, Value], dims: Mapping[sp.Basic, int]
) -> bool:
    """Finite, every non-smooth function away from its kink, and well conditioned."""
    margins: list[float] = []
    with np.errstate(all="ignore"):
        loss = _loss(network, givens, dims, margins)
        if not np.isfinite(loss) or min(margins, default=np.inf) < KINK_MARGIN:
            return False
        extended = {s: np.asarray(v, dtype=np.longdouble) for s, v in givens.items()}
        try:
            precise = _loss(network, extended, dims)
        except TypeError:  # an operation without extended precision (a matrix inverse)
            return True
    scale = max(abs(float(precise)), 1e-8)
    return abs(float(loss) - float(precise)) <= CONDITIONING * scale


def _finite_difference(
    network: Network,
    givens: dict[sp.Basic, Value],
    dims: Mapping[sp.Basic, int],
    quantity: Quantity,
    analytic: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """(analytic, numeric) projections to compare: every entry, or random directions."""
    size = analytic.size
    if size <= ENTRYWISE_LIMIT:
        directions = [np.eye(size)[i].reshape(analytic.shape) for i in range(size)]
    else:
        directions = [rng.normal(size=analytic.shape) for _ in range(DIRECTIONS)]
    numeric = [_derivative_along(network, givens, dims, {quantity: d}) for d in directions]
    projected = [float(np.sum(analytic * d)) for d in directions]
    return np.array(projected), np.array(numeric)


def _relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    scale = max(float(np.abs(numeric).max()), float(np.abs(analytic).max()), 1e-2)
    return float(np.abs(analytic - numeric).max()) / scale


def random_value(symbol: sp.Basic, dims: Mapping[sp.Basic, int], rng: np.random.Generator) -> Value:
    """A random value: entries of size 0.3–1.3 with random signs (positive if assumed so)."""
    if isinstance(symbol, sp.Indexed | MatrixElement):
        return float(rng.uniform(0.3, 1.3) * rng.choice([-1.0, 1.0]))
    if isinstance(symbol, sp.MatrixSymbol):
        rows, cols = (int(as_dim(d).xreplace(dims)) for d in symbol.shape)
        entries = rng.uniform(0.3, 1.3, size=(rows, cols))
        return entries * rng.choice([-1.0, 1.0], size=(rows, cols))
    magnitude = float(rng.uniform(0.3, 1.3))
    if symbol.is_positive or symbol.is_nonnegative:
        return magnitude
    return magnitude * float(rng.choice([-1.0, 1.0]))
