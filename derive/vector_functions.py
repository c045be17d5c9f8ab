"""Functions of a whole vector or matrix (sum, mean, norms, softmax, tr, inv, det, diag), as
opposed to the entrywise activations of ``derive.functions``: one table, ``VECTOR_FUNCTIONS``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

from derive.errors import ShapeError
from derive.matrix_functions import (
    build_determinant,
    build_diag,
    build_inverse,
    build_log_determinant,
    build_norm,
    build_norm1,
    build_norm2,
    build_trace,
)
from derive.model import Shape
from derive.softmax import build_softmax


def _sum_entries(
    x: sp.Basic, shape: Shape, axis: sp.Integer | None = None
) -> tuple[sp.Basic, Shape]:
    # sum(X) = 𝟏ᵀ X 𝟏, a 1×1 product kept as its trace so that it is a scalar;
    # sum(X, 0) = 𝟏ᵀ X sums each column (a row), sum(X, 1) = X 𝟏 each row (a column), as numpy
    rows, cols = shape
    if axis is not None:
        _check_axis(axis, "sum")
        if axis == 0 and rows != 1:
            return _scalar_if_single(sp.OneMatrix(1, rows) * x, (sp.Integer(1), cols))
        if axis == 1 and cols != 1:
            return _scalar_if_single(x * sp.OneMatrix(cols, 1), (rows, sp.Integer(1)))
        return x, shape  # the sum along an axis of length 1 is the expression itself
    if shape == (1, 1):
        return x, shape
    if cols == 1:
        total = sp.OneMatrix(1, rows) * x
    elif rows == 1:
        total = x * sp.OneMatrix(cols, 1)
    else:
        total = sp.OneMatrix(1, rows) * x * sp.OneMatrix(cols, 1)
    return sp.Trace(total), (sp.Integer(1), sp.Integer(1))


def _check_axis(axis: sp.Integer, function: str) -> None:
    if axis not in (0, 1):
        raise ShapeError(
            f"{function}'s axis is 0 (down each column) or 1 (along each row), not {axis}"
        )


def _scalar_if_single(product: sp.Basic, shape: Shape) -> tuple[sp.Basic, Shape]:
    if shape == (1, 1):
        return sp.Trace(product), shape
    return product, shape


def _mean(x: sp.Basic, shape: Shape, axis: sp.Integer | None = None) -> tuple[sp.Basic, Shape]:
    # mean(X) = 𝟏ᵀ X 𝟏 / (rows · cols); mean(X, 0) = 𝟏ᵀ X / rows, mean(X, 1) = X 𝟏 / cols
    total, result = _sum_entries(x, shape, axis)
    rows, cols = shape
    count = rows * cols if axis is None else (rows if axis == 0 else cols)
    return total / count if result == (1, 1) else count**-1 * total, result


@dataclass(frozen=True)
class VectorFunction:
    """A function of a whole vector or matrix, not entry by entry (sum, norm, softmax).

    ``build`` takes the argument's sympy expression and shape and returns the result's; it
    raises ``derive.errors.ShapeError`` for an argument shape it does not accept.
    """

    name: str
    build: Callable[..., tuple[sp.Basic, Shape]]  # (expr, shape, *options) -> (expr, shape)
    description: str  # plain text, what the function computes
    options: tuple[str, ...] = ()  # optional whole-number arguments after x, e.g. ("axis",)


VECTOR_FUNCTIONS: dict[str, VectorFunction] = {
    f.name: f
    for f in (
        VectorFunction(
            "sum",
            _sum_entries,
            "the sum of the entries (of each column, axis 0; row, 1)",
            ("axis",),
        ),
        VectorFunction(
            "mean", _mean, "the mean of the entries (of each column, axis 0; row, 1)", ("axis",)
        ),
        VectorFunction(
            "norm",
            build_norm,
            "the Euclidean norm (Frobenius for a matrix); p = 1: Σ |x_i|",
            ("p",),
        ),
        VectorFunction("norm1", build_norm1, "the 1-norm Σ |x_i| (over all entries)"),
        VectorFunction("norm2", build_norm2, "the Euclidean norm (Frobenius for a matrix)"),
        VectorFunction("tr", build_trace, "the trace of a square matrix"),
        VectorFunction("inv", build_inverse, "the inverse of a square matrix"),
        VectorFunction("det", build_determinant, "the determinant of a square matrix"),
        VectorFunction("logdet", build_log_determinant, "log det(A) of a square matrix"),
        VectorFunction(
            "diag", build_diag, "the diagonal matrix of a vector; the diagonal of a square matrix"
        ),
        VectorFunction(
            "softmax",
            build_softmax,
            "e^{z_i} / Σ_k e^{z_k} of a column vector, of each row of a matrix (axis 1)",
            ("axis",),
        ),
    )
}
