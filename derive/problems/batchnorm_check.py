"""Checking batch-norm backward answers (symbolic batch size m) two independent ways.

1. Exactly: for m = 3, 4, 5 the batch is written out in explicit symbols x_1, …, x_m, sympy
   differentiates the explicit forward pass, and the general answer (its Sums expanded at that
   m) must equal the Jacobian-vector product Σ_j g_j ∂y_j/∂x_i: their difference reduces to 0
   (``_is_zero``).
2. Numerically: central finite differences of L = Σ_j c_j y_j + ½ Σ_j y_j² (so g_j = c_j + y_j)
   on random batches, against the answer evaluated in floats.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import sympy as sp

from derive.errors import VerificationError
from derive.model import Verification
from derive.verify import within_tolerance

EXACT_SIZES = (3, 4, 5)
NUMERIC_SIZES = (3, 5, 8)
TOLERANCE = 1e-6
STEP = 1e-6


class BatchNormSymbols:
    """The symbols every batch-norm derivation shares (indices run from 1 to m)."""

    m = sp.Symbol("m", integer=True, positive=True)
    i = sp.Symbol("i", integer=True, positive=True)
    j = sp.Symbol("j", integer=True, positive=True)
    k = sp.Symbol("k", integer=True, positive=True)
    x = sp.IndexedBase("x")
    y = sp.IndexedBase("y")
    g = sp.IndexedBase("g")  # g_j = ∂L/∂y_j, the upstream gradient
    xhat = sp.IndexedBase("x_hat")
    gamma = sp.Symbol("gamma")
    beta = sp.Symbol("beta")
    epsilon = sp.Symbol("epsilon", positive=True)
    mu = sp.Symbol("mu")
    var = sp.Symbol("sigma^2", nonnegative=True)


BN = BatchNormSymbols()


def check(variant: str, answers: Mapping[str, sp.Expr]) -> Verification:
    """Both checks for every answer; a disagreement is a VerificationError naming it."""
    for size in EXACT_SIZES:
        _exact(variant, answers, size)
    rng = np.random.default_rng(0)
    worst = max(_numeric(variant, answers, size, rng) for size in NUMERIC_SIZES)
    method = "exact sympy Jacobians for m = 3 to 5 and central finite differences, float64"
    return Verification(points=len(NUMERIC_SIZES), max_rel_error=worst, ok=True, method=method)


def forward(variant: str, xs: list, gamma: object, beta: object, epsilon: object) -> list:
    """y_1, …, y_m for explicit values (sympy symbols or floats), straight from the definition."""
    size = len(xs)
    mean = sum(xs) / size
    if variant == "demeaned":
        return [gamma * (value - mean) for value in xs]
    variance = sum((value - mean) ** 2 for value in xs) / size
    root = (
        sp.sqrt(variance + epsilon)
        if isinstance(variance, sp.Basic)
        else np.sqrt(variance + epsilon)
    )
    return [gamma * (value - mean) / root + beta for value in xs]


def at_size(
    expr: sp.Expr, size: int, index: int, entries: Callable[[sp.Indexed], object]
) -> sp.Expr:
    """``expr`` with m = size and i = index, its Sums written out, each x_n, g_n, x̂_n replaced."""
    expanded = expr.subs({BN.m: size, BN.i: index}).doit()
    return expanded.replace(lambda e: isinstance(e, sp.Indexed), entries)


def _exact(variant: str, answers: Mapping[str, sp.Expr], size: int) -> None:
    xs = list(sp.symbols(f"x_1:{size + 1}"))
    gs = list(sp.symbols(f"g_1:{size + 1}"))
    ys = forward(variant, xs, BN.gamma, BN.beta, BN.epsilon)
    mean = sp.Add(*xs) / size
    variance = sp.Add(*[(v - mean) ** 2 for v in xs]) / size
    root = sp.sqrt(variance + BN.epsilon) if variant == "full" else 1
    explicit = {BN.x: xs, BN.g: gs, BN.xhat: [(v - mean) / root for v in xs]}

    def entries(e: sp.Indexed) -> object:
        return explicit[e.base][int(e.indices[0]) - 1]

    wanted = {f"dL/dx_{n}": ("dL/dx_i", xs[n - 1], n) for n in range(1, size + 1)}
    wanted |= {"dL/dgamma": ("dL/dgamma", BN.gamma, 1), "dL/dbeta": ("dL/dbeta", BN.beta, 1)}
    for what, (name, wrt, index) in wanted.items():
        if name not in answers:
            continue
        product = sp.Add(*[g * sp.diff(y, wrt) for g, y in zip(gs, ys, strict=True)])
        general = at_size(answers[name], size, index, entries).subs({BN.mu: mean, BN.var: variance})
        if not _is_zero(general - product, variance + BN.epsilon if variant == "full" else None):
            raise VerificationError(
                f"batch norm ({variant}): {what} disagrees with the explicit Jacobian for "
                f"m = {size}; refusing to write a wrong key"
            )


def _is_zero(difference: sp.Expr, radicand: sp.Expr | None) -> bool:
    """Whether ``difference`` is identically 0, by algebra that scales with the batch: each
    power of √radicand becomes a power of a symbol r, the whole is one cancelled fraction, and
    its numerator is reduced modulo r² − radicand (it must vanish). A numerator that still
    holds a root the reduction cannot see falls back to ``sp.simplify``."""
    root = sp.Dummy("r", positive=True)
    if radicand is not None:
        difference = difference.replace(
            lambda e: (
                isinstance(e, sp.Pow) and e.base == radicand and e.exp.is_Rational and e.exp.q == 2
            ),
            lambda e: root ** int(2 * e.exp),
        )
    numerator, _ = sp.fraction(sp.cancel(sp.together(difference)))
    if radicand is not None:
        numerator = sp.rem(sp.expand(numerator), root**2 - radicand, root)
    numerator = sp.expand(numerator)
    if numerator == 0:
        return True
    if numerator.has(sp.Pow) and any(
        isinstance(e, sp.Pow) and not e.exp.is_Integer for e in numerator.atoms(sp.Pow)
    ):
        return bool(sp.simplify(numerator) == 0)  # a root the reduction did not see
    return False


def _numeric(
    variant: str, answers: Mapping[str, sp.Expr], size: int, rng: np.random.Generator
) -> float:
    xs = rng.normal(size=size) * 2.0
    weights = rng.normal(size=size)
    params = {"gamma": float(rng.uniform(0.5, 2.0)), "beta": float(rng.normal()), "epsilon": 0.1}

    def loss(values: np.ndarray, gamma: float, beta: float) -> float:
        ys = np.array(forward(variant, list(values), gamma, beta, params["epsilon"]))
        return float(weights @ ys + 0.5 * ys @ ys)

    ys = np.array(forward(variant, list(xs), params["gamma"], params["beta"], params["epsilon"]))
    gs = weights + ys  # ∂L/∂y_j
    root = np.sqrt(np.var(xs) + params["epsilon"]) if variant == "full" else 1.0
    explicit = {BN.x: xs, BN.g: gs, BN.xhat: (xs - xs.mean()) / root}
    scalars = {
        BN.gamma: params["gamma"],
        BN.beta: params["beta"],
        BN.epsilon: params["epsilon"],
        BN.mu: float(xs.mean()),
        BN.var: float(np.var(xs)),
    }

    def entries(e: sp.Indexed) -> object:
        return sp.Float(explicit[e.base][int(e.indices[0]) - 1])

    def value(name: str, index: int) -> float:
        return float(at_size(answers[name], size, index, entries).xreplace(scalars))

    def difference(shift: Callable[[float], float]) -> float:
        return (shift(STEP) - shift(-STEP)) / (2 * STEP)

    gamma, beta = params["gamma"], params["beta"]

    def along(n: int) -> Callable[[float], float]:  # L with x_n moved by h
        return lambda h: loss(xs + h * np.eye(size)[n - 1], gamma, beta)

    pairs = {f"dL/dx_{n}": (value("dL/dx_i", n), difference(along(n))) for n in range(1, size + 1)}
    if "dL/dgamma" in answers:
        pairs["dL/dgamma"] = (
            value("dL/dgamma", 1),
            difference(lambda h: loss(xs, gamma + h, beta)),
        )
        pairs["dL/dbeta"] = (value("dL/dbeta", 1), difference(lambda h: loss(xs, gamma, beta + h)))
    scale = max(max(abs(n) for _, n in pairs.values()), 1e-2)
    worst = 0.0
    for what, (analytic, numeric) in pairs.items():
        message = f"batch norm ({variant}): {what} disagrees with finite differences for m = {size}"
        worst = max(worst, within_tolerance(abs(analytic - numeric) / scale, message, TOLERANCE))
    return worst
