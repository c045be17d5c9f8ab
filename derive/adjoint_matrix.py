"""Adjoint rules for the functions of a whole matrix (``derive.matrix_functions``).

Each rule is M. Giles's reverse-mode result ("Collected matrix derivative results for forward
and reverse mode algorithmic differentiation", 2008, section 2.2), in denominator layout:
δ_X has the shape of X. Imported by ``derive.adjoint``, which owns the dispatcher.
"""

from __future__ import annotations

from collections.abc import Iterator

import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix, DiagonalOf

from derive.adjoint import Contribution, backprop, transpose


@backprop.register(sp.Inverse)
def _inverse(expr: sp.Inverse, seed: sp.Basic) -> Iterator[Contribution]:
    # Z = A⁻¹: δ_A += −A⁻ᵀ δ_Z A⁻ᵀ (Giles 2008, eq. for the inverse)
    inverse_transpose = transpose(expr)
    yield from backprop(expr.arg, -sp.MatMul(inverse_transpose, seed, inverse_transpose))


@backprop.register(sp.Determinant)
def _determinant(expr: sp.Determinant, seed: sp.Basic) -> Iterator[Contribution]:
    # z = det(A): δ_A += δ_z det(A) A⁻ᵀ (Giles 2008, eq. for the determinant)
    argument = expr.arg
    yield from backprop(argument, sp.MatMul(seed * expr, transpose(sp.Inverse(argument))))


@backprop.register(DiagMatrix)
def _diagonal_matrix(expr: DiagMatrix, seed: sp.Basic) -> Iterator[Contribution]:
    # Z = diag(x): δ_x += the diagonal of δ_Z
    yield from backprop(expr.args[0], _diagonal(seed))


@backprop.register(DiagonalOf)
def _diagonal_of(expr: DiagonalOf, seed: sp.Basic) -> Iterator[Contribution]:
    # z = diag(A) (its diagonal): δ_A += diag(δ_z)
    coefficient, factors = (
        seed.as_coeff_matrices() if isinstance(seed, sp.MatMul) else (sp.S.One, [seed])
    )
    if len(factors) == 1 and isinstance(factors[0].doit(deep=False), sp.OneMatrix):
        identity = sp.Identity(seed.shape[0])  # diag(c 𝟏) = c I
        yield from backprop(expr.arg, identity if coefficient == 1 else coefficient * identity)
        return
    yield from backprop(expr.arg, DiagMatrix(seed))


def _diagonal(matrix: sp.Basic) -> sp.Basic:
    """The diagonal of ``matrix`` as a column; diag(𝟏 r) = rᵀ for a row r, as sum(diag(x) B)
    leaves it (δ_x = B 𝟏, the row sums, not diag(𝟏 𝟏ᵀ Bᵀ))."""
    if isinstance(matrix, sp.MatMul):
        coefficient, factors = matrix.as_coeff_matrices()
        first = factors[0]
        if isinstance(first, sp.OneMatrix) and first.shape[1] == 1 and len(factors) > 1:
            rest = sp.MatMul(*factors[1:]) if len(factors) > 2 else factors[1]
            return (
                coefficient * transpose(rest).doit(deep=False)
                if coefficient != 1
                else (transpose(rest))
            )
    return DiagonalOf(matrix)
