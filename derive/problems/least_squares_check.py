# ruff: noqa: N806 - matrices are capitals (A, U, Σ), as in the math
"""The numeric check of a least-squares Part: every answer against numpy at random points.

At each point A, b, x (and λ when it is a symbol) are drawn at random; the gradient is compared
with central finite differences of ‖Ax − b‖² + λ‖x‖² (halved when the problem writes the ½),
the closed form and both SVD forms with numpy's solver (lstsq for plain least squares), and the
gradient at the minimiser with zero. A, b, x are the problem's own names (X, y, θ).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import sympy as sp

from derive.evaluate import Evaluator
from derive.model import Answer, Verification
from derive.verify import within_tolerance

if TYPE_CHECKING:
    from derive.problems.least_squares import Symbols

TOLERANCE = 1e-6
# (m, n) per random point: plain least squares needs m ≥ n (full column rank); a ridge
# solution exists for a wide A too.
PLAIN_SIZES = ((6, 4), (5, 3), (7, 2))
RIDGE_SIZES = ((6, 4), (3, 5), (7, 2))
Comparison = tuple[np.ndarray, np.ndarray, float]  # derived, expected, scale of the error


def check(s: Symbols, answers: dict[str, Answer], entry: sp.Expr, k: sp.Symbol) -> Verification:
    """Compare every answer (and ``entry``, the index form x_k) with numpy, or raise."""
    rng = np.random.default_rng(0)
    worst = 0.0
    for rows, cols in RIDGE_SIZES if s.ridge else PLAIN_SIZES:
        for what, (derived, expected, scale) in _comparisons(
            s, answers, (entry, k), rows, cols, rng
        ).items():
            error = float(np.abs(derived - expected).max()) / max(scale, 1e-2)
            message = f"least squares: {what} disagree"
            worst = max(worst, within_tolerance(error, message, TOLERANCE))
    method = "numpy's solver and SVD with central finite differences, float64"
    return Verification(points=len(PLAIN_SIZES), max_rel_error=worst, ok=True, method=method)


def _comparisons(
    s: Symbols,
    answers: dict[str, Answer],
    entry: tuple[sp.Expr, sp.Symbol],
    rows: int,
    cols: int,
    rng: np.random.Generator,
) -> dict[str, Comparison]:
    """At one random point: each answer evaluated from its sympy form, beside what numpy says."""
    A, b, x = rng.normal(size=(rows, cols)), rng.normal(size=(rows, 1)), rng.normal(size=(cols, 1))
    lam = float(rng.uniform(0.1, 2.0)) if s.lam.free_symbols else float(s.lam)
    U, singular, Vt = np.linalg.svd(A)
    S = np.zeros((rows, cols))
    S[: len(singular), : len(singular)] = np.diag(singular)
    values: dict[sp.Basic, object] = {s.A: A, s.b: b, s.U: U, s.S: S, s.V: Vt.T, s.lam: lam}
    dims = {s.m: rows, s.n: cols}

    def at(expr: sp.Basic, point: np.ndarray) -> np.ndarray:
        return np.asarray(Evaluator({**values, s.x: point}, dims)(expr), dtype=float)

    def f(point: np.ndarray) -> float:  # the objective, straight from its definition
        return float(s.scale) * float(np.sum((A @ point - b) ** 2) + lam * np.sum(point**2))

    h = 1e-6
    numeric = np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(cols)[:, :, None]])
    if s.ridge:
        reference = np.linalg.solve(A.T @ A + lam * np.eye(cols), A.T @ b)
    else:
        reference = np.linalg.lstsq(A, b, rcond=None)[0]
    entries = np.array([_entry_value(s, entry, k, values, dims) for k in range(1, cols + 1)])
    gradient = answers["gradient"].value
    size = float(np.abs(reference).max())
    return {
        "the gradient and central finite differences": (
            at(gradient, x),
            numeric.reshape(cols, 1),
            float(np.abs(numeric).max()),
        ),
        "the closed form and numpy's solver": (at(answers[s.x.name].value, x), reference, size),
        "the gradient at the minimiser and zero": (
            at(gradient, reference),
            np.zeros((cols, 1)),
            float(np.abs(A.T @ b).max()),
        ),
        "the SVD form and numpy's solver": (
            at(answers[f"{s.x.name}_svd"].value, x),
            reference,
            size,
        ),
        "the SVD sum entry by entry and numpy's solver": (
            entries.reshape(cols, 1),
            reference,
            size,
        ),
    }


def _entry_value(
    s: Symbols,
    entry: tuple[sp.Expr, sp.Symbol],
    k: int,
    values: dict[sp.Basic, object],
    dims: dict[sp.Symbol, int],
) -> float:
    """The index form's x_k (indices from 1) at concrete sizes, summed from the Sum itself."""
    formula, index = entry
    concrete = formula.xreplace({index: k, **dims})  # the sums' bounds now whole numbers
    arrays = {matrix.name: np.asarray(values[matrix]) for matrix in (s.U, s.V)}
    arrays[s.b.name] = np.asarray(values[s.b])[:, 0]  # b_j: the column vector's only column
    arrays["sigma"] = np.diag(np.asarray(values[s.S]))
    entries: dict[sp.Basic, object] = {s.lam: values[s.lam]} if s.lam.free_symbols else {}
    for base in concrete.atoms(sp.IndexedBase):  # σ_i, U_ji, V_ki, b_j, indices from 1
        array = arrays[base.name]
        for position in np.ndindex(array.shape):
            entries[base[tuple(p + 1 for p in position)]] = float(array[position])
    return float(Evaluator(entries, dims)(concrete))
