"""Simplification to the forms a textbook uses, never by expanding everything.

``tidy`` only combines like terms of matrix sums (so σ(s) ⊙ (1 − σ(s)) keeps its shape);
``fuse_with_forward`` tries the forward definitions (y = σ(z)) on a small scalar adjoint and
keeps the result only when it is simpler, written back over the forward names (BCE on a
sigmoid: δ_z = y − t).
"""

from __future__ import annotations

import sympy as sp

from derive.model import Network


def tidy(expr: sp.Basic) -> sp.Basic:
    """Combine like terms in matrix sums; scalars keep sympy's canonical form."""
    if isinstance(expr, sp.MatAdd):
        terms = []
        for term in expr.args:
            terms.extend(_distribute(tidy(term)))
        combined = sp.MatAdd(*terms).doit(deep=False)
        return combined
    if isinstance(expr, sp.MatMul):
        coefficient, matrices = expr.as_coeff_matrices()
        if coefficient == 1 and len(matrices) == 1:
            return tidy(matrices[0])
        if coefficient != 1:
            factored = sp.factor_terms(coefficient)
            if factored != coefficient:
                return sp.MatMul(factored, *matrices)
        return expr
    if isinstance(expr, sp.MatrixExpr):
        return expr
    # 2 y − 2 t → 2 (y − t); pulls out common factors without expanding anything
    return sp.factor_terms(expr)


def _distribute(term: sp.Basic) -> list[sp.Basic]:
    """c (A + B) → [c A, c B] for a scalar c; anything else unchanged."""
    if isinstance(term, sp.MatAdd):
        return list(term.args)
    if isinstance(term, sp.MatMul):
        coefficient, matrices = term.as_coeff_matrices()
        if len(matrices) == 1 and isinstance(matrices[0], sp.MatAdd):
            return [coefficient * inner for inner in matrices[0].args]
    return [term]


def fuse_with_forward(
    expr: sp.Basic, definitions: dict[str, sp.Basic], network: Network
) -> sp.Basic | None:
    """``expr`` simplified with the scalar forward definitions substituted, or None.

    The result is written back over the forward names (σ(z) → y) so it reads like the key.
    """
    quantities = network.quantities
    present = expr.atoms(sp.Symbol, sp.MatrixSymbol)
    # only definitions over symbols already present (y = σ(z) where z is there too)
    scalar_definitions = {
        quantities[name].symbol: rhs
        for name, rhs in definitions.items()
        if quantities[name].is_scalar
        and quantities[name].symbol in present
        and rhs.atoms(sp.Symbol, sp.MatrixSymbol) <= present
    }
    if not scalar_definitions or sp.count_ops(expr) > 60:
        return None
    forward = expr.xreplace(scalar_definitions)
    simplified = sp.factor_terms(sp.simplify(forward))
    folded = simplified.xreplace({rhs: symbol for symbol, rhs in scalar_definitions.items()})
    return folded
