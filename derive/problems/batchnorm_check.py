"""Checking batch-norm backward answers (symbolic batch size m) two independent ways.

1. Exactly: for m = 3, 4, 5 the general answer (its Sums written out at that m) is evaluated in
   exact rational arithmetic at random rational batches and compared with the Jacobian-vector
   product Σ_j g_j ∂y_j/∂x_i of the forward pass, computed by forward-mode differentiation in
   exact rationals (``Dual``), not by sympy. ε is drawn so that σ² + ε is the square of a
   rational, so the square root is exact too. Two rational functions that agree at random
   points of a large grid are equal but with negligible probability (Schwartz–Zippel); one
   disagreement is proof of a wrong answer.
2. Numerically: central finite differences of L = Σ_j c_j y_j + ½ Σ_j y_j² (so g_j = c_j + y_j)
   on random batches, against the answer evaluated in floats.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import sympy as sp

from derive.errors import VerificationError
from derive.evaluate import Evaluator
from derive.model import Verification
from derive.verify import within_tolerance

EXACT_SIZES = (3, 4, 5)
EXACT_POINTS = 2  # random rational batches per size
GRID = 10**6  # numerators of the random rationals: a wrong answer vanishes there by chance ~1/GRID
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
    method = (
        "exact rational Jacobians at random rational batches for m = 3 to 5 and central "
        "finite differences, float64"
    )
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
    rng = random.Random(size)
    for _ in range(EXACT_POINTS):
        _exact_at(variant, answers, RationalBatch.draw(size, rng))


@dataclass(frozen=True)
class RationalBatch:
    """A random batch in rationals, with ε drawn so that σ² + ε = t² for a rational t."""

    xs: list[Fraction]
    gs: list[Fraction]
    gamma: Fraction
    beta: Fraction
    epsilon: Fraction

    @classmethod
    def draw(cls, size: int, rng: random.Random) -> RationalBatch:
        xs = [_rational(rng) for _ in range(size)]
        gs = [_rational(rng) for _ in range(size)]
        variance = _variance(xs)
        t = Fraction(math.isqrt(math.ceil(variance)) + 1 + rng.randint(0, 9), rng.randint(1, 3))
        while t * t <= variance:
            t *= 2
        return cls(xs, gs, _rational(rng), _rational(rng), t * t - variance)

    def product(self, variant: str, moved: int | str) -> Fraction:
        """Σ_j g_j ∂y_j/∂v for v = x_moved (moved an index) or γ, β ("gamma", "beta")."""
        xs = [Dual(v, Fraction(n == moved)) for n, v in enumerate(self.xs, start=1)]
        gamma = Dual(self.gamma, Fraction(moved == "gamma"))
        beta = Dual(self.beta, Fraction(moved == "beta"))
        ys = _dual_forward(variant, xs, gamma, beta, self.epsilon)
        return sum((g * y.tangent for g, y in zip(self.gs, ys, strict=True)), Fraction(0))


def _exact_at(variant: str, answers: Mapping[str, sp.Expr], batch: RationalBatch) -> None:
    size = len(batch.xs)
    mean = sum(batch.xs, Fraction(0)) / size
    variance = _variance(batch.xs)
    root = _exact_root(variance + batch.epsilon) if variant == "full" else Fraction(1)
    explicit = {BN.x: batch.xs, BN.g: batch.gs, BN.xhat: [(v - mean) / root for v in batch.xs]}
    scalars = {
        BN.gamma: batch.gamma,
        BN.beta: batch.beta,
        BN.epsilon: batch.epsilon,
        BN.mu: mean,
        BN.var: variance,
    }
    numbers = {symbol: sp.Rational(value) for symbol, value in scalars.items()}

    def entries(e: sp.Indexed) -> object:
        return sp.Rational(explicit[e.base][int(e.indices[0]) - 1])

    wanted: dict[str, tuple[str, int | str, int]] = {
        f"dL/dx_{n}": ("dL/dx_i", n, n) for n in range(1, size + 1)
    }
    wanted |= {"dL/dgamma": ("dL/dgamma", "gamma", 1), "dL/dbeta": ("dL/dbeta", "beta", 1)}
    for what, (name, moved, index) in wanted.items():
        if name not in answers:
            continue
        value = at_size(answers[name], size, index, entries).xreplace(numbers)
        if not (
            value.is_Rational
            and Fraction(int(value.p), int(value.q)) == batch.product(variant, moved)
        ):
            raise VerificationError(
                f"batch norm ({variant}): {what} disagrees with the explicit Jacobian for "
                f"m = {size} (in exact rationals at a random batch); refusing to write a wrong key"
            )


def _variance(xs: list[Fraction]) -> Fraction:
    mean = sum(xs, Fraction(0)) / len(xs)
    return sum(((v - mean) ** 2 for v in xs), Fraction(0)) / len(xs)


def _rational(rng: random.Random) -> Fraction:
    """A random rational of the grid: ±(1 … GRID)/(1 … 97)."""
    return Fraction(rng.choice((-1, 1)) * rng.randint(1, GRID), rng.randint(1, 97))


@dataclass(frozen=True)
class Dual:
    """value + tangent·ε with ε² = 0, in exact rationals: forward-mode differentiation."""

    value: Fraction
    tangent: Fraction = Fraction(0)

    def __add__(self, other: Dual | Fraction | int) -> Dual:
        other = _dual(other)
        return Dual(self.value + other.value, self.tangent + other.tangent)

    __radd__ = __add__

    def __sub__(self, other: Dual | Fraction | int) -> Dual:
        other = _dual(other)
        return Dual(self.value - other.value, self.tangent - other.tangent)

    def __mul__(self, other: Dual | Fraction | int) -> Dual:
        other = _dual(other)
        tangent = self.value * other.tangent + self.tangent * other.value
        return Dual(self.value * other.value, tangent)

    __rmul__ = __mul__

    def __truediv__(self, other: Dual | Fraction | int) -> Dual:
        other = _dual(other)
        tangent = (self.tangent * other.value - self.value * other.tangent) / other.value**2
        return Dual(self.value / other.value, tangent)

    def sqrt(self) -> Dual:
        """√ of a value that is the square of a rational (VerificationError otherwise)."""
        root = _exact_root(self.value)
        return Dual(root, self.tangent / (2 * root))


def _dual(value: Dual | Fraction | int) -> Dual:
    return value if isinstance(value, Dual) else Dual(Fraction(value))


def _exact_root(value: Fraction) -> Fraction:
    top, bottom = math.isqrt(value.numerator), math.isqrt(value.denominator)
    if value < 0 or top * top != value.numerator or bottom * bottom != value.denominator:
        raise VerificationError(f"batch norm: {value} is not the square of a rational")
    return Fraction(top, bottom)


def _dual_forward(
    variant: str, xs: list[Dual], gamma: Dual, beta: Dual, epsilon: Fraction
) -> list[Dual]:
    """y_1, …, y_m of ``forward``'s definition, in dual numbers."""
    size = len(xs)
    mean = sum(xs, Dual(Fraction(0))) / size
    if variant == "demeaned":
        return [gamma * (value - mean) for value in xs]
    variance = sum(((value - mean) * (value - mean) for value in xs), Dual(Fraction(0))) / size
    root = (variance + epsilon).sqrt()
    return [gamma * (value - mean) / root + beta for value in xs]


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

    values: dict[sp.Basic, object] = {**scalars, BN.m: size}
    for base, array in explicit.items():  # x_n, g_n, x̂_n, indices from 1
        values |= {base[n + 1]: float(array[n]) for n in range(size)}
    evaluate = Evaluator(values, {})  # one for every answer: the batch's sums evaluated once

    def value(name: str, index: int) -> float:
        return float(evaluate(answers[name].xreplace({BN.i: index})))

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
