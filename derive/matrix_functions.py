"""Functions of a whole matrix that matrixcalculus.org accepts: tr, inv, det, logdet, diag and
the 1- and 2-norms. Each builder takes the argument's sympy expression and shape and returns the
result's (the VectorFunction convention of ``derive.functions``); the adjoint rules are in
``derive.adjoint_matrix``, each beside its source (M. Giles, "Collected matrix derivative
results for forward and reverse mode algorithmic differentiation", 2008).
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix, DiagonalOf

from derive.errors import ShapeError
from derive.model import Shape

SCALAR: Shape = (sp.Integer(1), sp.Integer(1))


def _square(name: str, shape: Shape) -> None:
    rows, cols = shape
    if shape == SCALAR:
        raise ShapeError(f"{name} takes a square matrix, not a scalar")
    if rows != cols:
        raise ShapeError(f"{name} takes a square matrix, not {rows}×{cols}")


def build_trace(x: sp.Basic, shape: Shape) -> tuple[sp.Basic, Shape]:
    # tr(A) = Σ_i A_ii
    _square("tr", shape)
    return sp.Trace(x), SCALAR


def build_inverse(x: sp.Basic, shape: Shape) -> tuple[sp.Basic, Shape]:
    # inv(A) = A⁻¹ of a square A (the numeric check draws A away from singular)
    _square("inv", shape)
    return sp.Inverse(x), shape


def build_determinant(x: sp.Basic, shape: Shape) -> tuple[sp.Basic, Shape]:
    # det(A)
    _square("det", shape)
    return sp.Determinant(x), SCALAR


def build_log_determinant(x: sp.Basic, shape: Shape) -> tuple[sp.Basic, Shape]:
    # logdet(A) = log det(A); its adjoint is δ_z A⁻ᵀ, as the det rule over det(A) gives
    _square("logdet", shape)
    return sp.log(sp.Determinant(x)), SCALAR


def build_diag(x: sp.Basic, shape: Shape) -> tuple[sp.Basic, Shape]:
    # diag(x) of a vector is the diagonal matrix; diag(A) of a square matrix its diagonal
    rows, cols = shape
    if shape == SCALAR:
        raise ShapeError("diag takes a vector or a square matrix, not a scalar")
    if cols == 1:
        return DiagMatrix(x), (rows, rows)
    _square("diag", shape)
    return DiagonalOf(x), (rows, sp.Integer(1))


def _entries_sum(x: sp.Basic, shape: Shape) -> sp.Basic:
    rows, cols = shape
    if cols == 1:
        return sp.Trace(sp.OneMatrix(1, rows) * x)
    if rows == 1:
        return sp.Trace(x * sp.OneMatrix(cols, 1))
    return sp.Trace(sp.OneMatrix(1, rows) * x * sp.OneMatrix(cols, 1))


def build_norm1(x: sp.Basic, shape: Shape) -> tuple[sp.Basic, Shape]:
    # ‖x‖₁ = Σ_i |x_i| (entrywise for a matrix)
    from derive.functions import absolute, elementwise  # the table imports this module

    if shape == SCALAR:
        return absolute(x), SCALAR
    return _entries_sum(elementwise(absolute, x), shape), SCALAR


def build_norm2(x: sp.Basic, shape: Shape) -> tuple[sp.Basic, Shape]:
    # ‖x‖₂ = √(xᵀx) (Frobenius for a matrix)
    from derive.functions import absolute

    if shape == SCALAR:
        return absolute(x), SCALAR
    return sp.sqrt(sp.Trace(x.T * x)), SCALAR


def build_norm(x: sp.Basic, shape: Shape, p: sp.Integer | None = None) -> tuple[sp.Basic, Shape]:
    """norm(x) and norm(x, 2) are Euclidean, norm(x, 1) the sum of absolute values."""
    if p is None or p == 2:
        return build_norm2(x, shape)
    if p == 1:
        return build_norm1(x, shape)
    raise ShapeError(f"norm(x, p) takes p = 1 or 2, not {p}")
