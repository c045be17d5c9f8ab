"""softmax over the entries of a column vector, or over each row (or column) of a matrix.

p = softmax(z), p_i = e^{z_i} / Σ_k e^{z_k}. Its Jacobian is diag(p) − p pᵀ, so
δ_z = p ⊙ δ_p − p (pᵀ δ_p) (the rule is in ``derive.adjoint``); with cross-entropy
e = −tᵀ log p and a one-hot t this is p − t. For a batch P = softmax(Z) normalises each row
(axis 1, as torch's softmax(Z, dim=-1) and CS231n's scores) or each column (axis 0, a batch
of column examples as in Nielsen); the rule is the same per row (column).
"""

from __future__ import annotations

import sympy as sp

from derive.errors import ShapeError
from derive.model import Shape

ROWS = sp.Integer(1)  # softmax(Z, 1): each row sums to 1
COLUMNS = sp.Integer(0)  # softmax(Z, 0): each column sums to 1 (a column vector's only axis)


class Softmax(sp.MatrixExpr):
    """softmax of a matrix expression along an axis, a matrix expression of the same shape.

    ``Softmax(z)`` of a column vector normalises its entries; ``Softmax(Z, 1)`` each row of Z
    and ``Softmax(Z, 0)`` each column."""

    def __new__(cls, argument: sp.MatrixExpr, axis: sp.Integer | None = None) -> Softmax:
        if axis is None or (axis == COLUMNS and argument.shape[1] == 1):
            return super().__new__(cls, argument)
        return super().__new__(cls, argument, sp.Integer(axis))

    @property
    def argument(self) -> sp.MatrixExpr:
        return self.args[0]

    @property
    def axis(self) -> sp.Integer:
        """0 when each column is normalised (a column vector), 1 when each row is."""
        return self.args[1] if len(self.args) > 1 else COLUMNS

    @property
    def shape(self) -> tuple[sp.Expr, sp.Expr]:
        return self.argument.shape

    def _entry(self, i: sp.Expr, j: sp.Expr, **kwargs: object) -> sp.Expr:
        k = sp.Dummy("k", integer=True)
        rows, cols = self.argument.shape
        if self.axis == ROWS:
            total = sp.Sum(sp.exp(self.argument[i, k]), (k, 0, cols - 1))
        else:
            total = sp.Sum(sp.exp(self.argument[k, j]), (k, 0, rows - 1))
        return sp.exp(self.argument[i, j]) / total


def build_softmax(
    argument: sp.Basic, shape: Shape, axis: sp.Integer | None = None
) -> tuple[sp.Basic, Shape]:
    """The parser's builder: a column vector's entries, a matrix's rows unless ``axis`` is 0."""
    rows, cols = shape
    if shape == (1, 1):
        raise ShapeError("softmax takes a vector or a matrix, not a scalar")
    if axis is not None and axis not in (COLUMNS, ROWS):
        raise ShapeError(f"softmax's axis is 0 (each column) or 1 (each row), not {axis}")
    if axis is None:
        axis = COLUMNS if cols == 1 else ROWS
    if (axis == ROWS and cols == 1) or (axis == COLUMNS and rows == 1):
        raise ShapeError(
            f"softmax along axis {axis} of {rows}×{cols} normalises single entries (all 1)"
        )
    return Softmax(argument, axis), shape
