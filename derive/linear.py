"""Collect an adjoint that uses the same later adjoint more than once into one linear map.

A residual block h' = h + f(W h) gives δ_h = δ_h' + Wᵀ(δ_h' ⊙ f'(W h)). Substituting δ_h' into
that expression twice per layer doubles the expression at every layer (a depth-100 chain would
have 2^100 terms). Written as (I + Wᵀ diag(f'(W h))) δ_h' it uses δ_h' once, so substituting
layer after layer grows linearly: this is the Jacobian-transpose form of the same sum.
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.matrices.expressions.hadamard import HadamardProduct

from derive.simplify import tidy


def collect_linear(expr: sp.Basic, adjoint: sp.Basic) -> sp.Basic | None:
    """``expr`` rewritten so that ``adjoint`` occurs once, or None if its form is not handled."""
    if not isinstance(adjoint, sp.MatrixExpr):
        coefficients = []
        rest = []
        for term in sp.Add.make_args(expr):
            coefficient, dependent = term.as_independent(adjoint, as_Add=False)
            if dependent == 1:
                rest.append(term)
            elif dependent == adjoint:
                coefficients.append(coefficient)
            else:
                return None
        return tidy(sp.Add(*coefficients)) * adjoint + sp.Add(*rest)
    terms = sp.MatAdd.make_args(expr)
    entrywise = _collect_entrywise(terms, adjoint)
    if entrywise is not None:
        return entrywise
    operators = []
    rest = []
    for term in terms:
        if not term.has(adjoint):
            rest.append(term)
            continue
        operator = linear_operator(term, adjoint)
        if operator is None:
            return None
        operators.append(operator)
    combined = sp.MatMul(sp.MatAdd(*operators), adjoint) if len(operators) > 1 else terms[0]
    return sp.MatAdd(*rest, combined) if rest else combined


def _collect_entrywise(terms: tuple[sp.Basic, ...], adjoint: sp.MatrixSymbol) -> sp.Basic | None:
    """Σ v_k ⊙ δ + rest → δ ⊙ (Σ v_k) + rest, when every term holding δ scales it entrywise."""
    scales = []
    rest = []
    for term in terms:
        if not term.has(adjoint):
            rest.append(term)
            continue
        scale = _entrywise_scale(term, adjoint)
        if scale is None:
            return None
        scales.append(scale)
    ones = sp.OneMatrix(*adjoint.shape)
    total = sp.MatAdd(*[s if isinstance(s, sp.MatrixExpr) else s * ones for s in scales]).doit()
    combined = HadamardProduct(adjoint, total) if total != ones else adjoint
    return sp.MatAdd(*rest, combined) if rest else combined


def _entrywise_scale(term: sp.Basic, adjoint: sp.MatrixSymbol) -> sp.Basic | None:
    """v (a matrix of δ's shape, or a scalar) with ``term`` = v ⊙ δ, or None."""
    if term == adjoint:
        return sp.S.One
    if isinstance(term, sp.MatMul):
        coefficient, matrices = term.as_coeff_matrices()
        if len(matrices) != 1 or coefficient.has(adjoint):
            return None
        inner = _entrywise_scale(matrices[0], adjoint)
        if inner is None:
            return None
        return coefficient * inner
    if isinstance(term, HadamardProduct):
        holding = [f for f in term.args if f.has(adjoint)]
        if holding != [adjoint]:
            return None
        others = [f for f in term.args if f != adjoint]
        return others[0] if len(others) == 1 else HadamardProduct(*others)
    return None


def linear_operator(term: sp.Basic, adjoint: sp.MatrixSymbol) -> sp.Basic | None:
    """The matrix L with ``term`` = L · ``adjoint`` (``adjoint`` a column vector), or None."""
    if term == adjoint:
        return sp.Identity(adjoint.shape[0])
    if isinstance(term, sp.MatMul):
        coefficient, matrices = term.as_coeff_matrices()
        if coefficient.has(adjoint) or any(m.has(adjoint) for m in matrices[:-1]):
            return None
        inner = linear_operator(matrices[-1], adjoint)
        if inner is None:
            return None
        return _product(coefficient, *matrices[:-1], inner)
    if isinstance(term, HadamardProduct):
        holding = [f for f in term.args if f.has(adjoint)]
        others = [f for f in term.args if not f.has(adjoint)]
        if len(holding) != 1 or any(f.shape[1] != 1 for f in term.args):
            return None
        inner = linear_operator(holding[0], adjoint)
        if inner is None:
            return None
        scale = others[0] if len(others) == 1 else HadamardProduct(*others)
        # v ⊙ (L δ) = diag(v) L δ
        return _product(DiagMatrix(scale), inner)
    if isinstance(term, sp.MatAdd):
        parts = [linear_operator(t, adjoint) for t in term.args]
        if any(p is None for p in parts):
            return None
        return sp.MatAdd(*parts)
    return None


def _product(*factors: sp.Basic) -> sp.MatrixExpr:
    """The matrix product of ``factors`` (the last one a matrix), leaving out ones and identities.

    A scalar left over on its own is the operator c I, never the bare scalar c.
    """
    kept = [f for f in factors if f != 1 and not isinstance(f, sp.Identity)]
    matrices = [f for f in kept if isinstance(f, sp.MatrixExpr)]
    if not matrices:
        return sp.MatMul(*kept, factors[-1]) if kept else factors[-1]
    return kept[0] if len(kept) == 1 else sp.MatMul(*kept)
