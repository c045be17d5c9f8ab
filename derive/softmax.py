"""softmax(z) for a column vector z: the one non-elementwise activation, with its adjoint rule.

p = softmax(z), p_i = e^{z_i} / Σ_k e^{z_k}. Its Jacobian is diag(p) − p pᵀ, so
δ_z = p ⊙ δ_p − p (pᵀ δ_p) (the rule is in ``derive.adjoint``); with cross-entropy
e = −tᵀ log p and a one-hot t this is p − t.
"""

from __future__ import annotations

import sympy as sp

from derive.errors import ShapeError
from derive.model import Shape


class Softmax(sp.MatrixExpr):
    """softmax of a column-vector expression, as a matrix expression of the same shape."""

    def __new__(cls, argument: sp.MatrixExpr) -> Softmax:
        return super().__new__(cls, argument)

    @property
    def argument(self) -> sp.MatrixExpr:
        return self.args[0]

    @property
    def shape(self) -> tuple[sp.Expr, sp.Expr]:
        return self.argument.shape

    def _entry(self, i: sp.Expr, j: sp.Expr, **kwargs: object) -> sp.Expr:
        k = sp.Dummy("k", integer=True)
        rows = self.argument.shape[0]
        total = sp.Sum(sp.exp(self.argument[k, 0]), (k, 0, rows - 1))
        return sp.exp(self.argument[i, 0]) / total


def build_softmax(argument: sp.Basic, shape: Shape) -> tuple[sp.Basic, Shape]:
    """The parser's builder: softmax takes a column vector."""
    if shape[1] != 1 or shape == (1, 1):
        rows, cols = shape
        raise ShapeError(f"softmax takes a column vector, not {rows}×{cols}")
    return Softmax(argument), shape
