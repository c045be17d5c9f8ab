"""Reverse-mode rules: the adjoint contributions an expression sends to the symbols in it.

``backprop(expr, seed)`` walks one equation's right-hand side with ``seed`` = ∂e/∂(expr) and
yields ``(symbol, contribution)`` pairs, one per occurrence. One rule per sympy node type, each
with its formula beside it (denominator layout: ∂e/∂X has the shape of X; a 1×1 result is a
scalar and its adjoint is a scalar). References: M. Giles, "Collected matrix derivative results
for forward and reverse mode algorithmic differentiation" (2008).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import singledispatch

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.hadamard import HadamardPower, HadamardProduct

from derive.errors import UnsupportedError
from derive.functions import activation_for, elementwise
from derive.softmax import Softmax

Contribution = tuple[sp.Basic, sp.Basic]


def is_matrix(expr: sp.Basic) -> bool:
    """True for a matrix expression that is not 1×1 (1×1 products are scalars here)."""
    return isinstance(expr, sp.MatrixExpr) and expr.shape != (1, 1)


def transpose(expr: sp.Basic) -> sp.Basic:
    """Xᵀ, leaving scalars alone."""
    return expr.T if isinstance(expr, sp.MatrixExpr) else expr


def hadamard(left: sp.Basic, right: sp.Basic) -> sp.Basic:
    """left ⊙ right, or an ordinary product where either side is a scalar."""
    if is_matrix(left) and is_matrix(right):
        return HadamardProduct(*_hadamard_factors(left), *_hadamard_factors(right))
    return left * right


def _hadamard_factors(expr: sp.Basic) -> tuple[sp.Basic, ...]:
    return expr.args if isinstance(expr, HadamardProduct) else (expr,)


@singledispatch
def backprop(expr: sp.Basic, seed: sp.Basic) -> Iterator[Contribution]:
    """Default: a node type with no rule is an error that names it."""
    raise UnsupportedError(f"cannot differentiate {type(expr).__name__} ({expr})")


@backprop.register(sp.Symbol)
@backprop.register(sp.MatrixSymbol)
def _symbol(expr: sp.Basic, seed: sp.Basic) -> Iterator[Contribution]:
    # A leaf collects the adjoint.
    yield expr, seed


@backprop.register(sp.Number)
@backprop.register(sp.NumberSymbol)
@backprop.register(sp.OneMatrix)
@backprop.register(sp.ZeroMatrix)
@backprop.register(sp.Identity)
def _constant(expr: sp.Basic, seed: sp.Basic) -> Iterator[Contribution]:
    # d/dx c = 0
    return iter(())


@backprop.register(sp.Add)
@backprop.register(sp.MatAdd)
def _sum(expr: sp.Basic, seed: sp.Basic) -> Iterator[Contribution]:
    # Z = A + B: δ_A += δ_Z, δ_B += δ_Z
    for term in expr.args:
        yield from backprop(term, seed)


@backprop.register(sp.Mul)
def _product(expr: sp.Mul, seed: sp.Basic) -> Iterator[Contribution]:
    # z = a b c (scalars): δ_a += δ_z b c, ...
    factors = expr.args
    for index, factor in enumerate(factors):
        others = sp.Mul(*(factors[:index] + factors[index + 1 :]))
        yield from backprop(factor, seed * others)


@backprop.register(sp.Pow)
def _power(expr: sp.Pow, seed: sp.Basic) -> Iterator[Contribution]:
    # z = a^p: δ_a += δ_z p a^(p−1); δ_p += δ_z a^p log a
    base, exponent = expr.args
    yield from backprop(base, seed * exponent * base ** (exponent - 1))
    if exponent.free_symbols:
        yield from backprop(exponent, seed * expr * sp.log(base))


@backprop.register(sp.Function)
def _scalar_function(expr: sp.Function, seed: sp.Basic) -> Iterator[Contribution]:
    # z = f(a, b, …) (scalar): δ_a += δ_z ∂f/∂a, δ_b += δ_z ∂f/∂b, … with each partial from
    # the function's own fdiff(argindex); an argument free of symbols sends nothing
    if isinstance(expr, sp.Heaviside):
        raise UnsupportedError("cannot differentiate the indicator function 1[x > 0]")
    for index, argument in enumerate(expr.args, start=1):
        if index > 1 and not argument.free_symbols:
            continue  # a number: leaky_relu's default slope, clip's bounds
        yield from backprop(argument, seed * expr.fdiff(index))


@backprop.register(sp.Trace)
def _trace(expr: sp.Trace, seed: sp.Basic) -> Iterator[Contribution]:
    # A 1×1 product stored as a scalar passes its (scalar) adjoint through;
    # z = tr(A): δ_A += δ_z I
    (argument,) = expr.args
    if argument.shape == (1, 1):
        yield from backprop(argument, seed)
    else:
        yield from backprop(argument, seed * sp.Identity(argument.shape[0]))


@backprop.register(sp.MatMul)
def _matrix_product(expr: sp.MatMul, seed: sp.Basic) -> Iterator[Contribution]:
    # Z = c A B: δ_A += c δ_Z Bᵀ, δ_B += c Aᵀ δ_Z, δ_c += tr(δ_Zᵀ A B)
    coefficient, matrices = expr.as_coeff_matrices()
    for index, factor in enumerate(matrices):
        left = matrices[:index]
        right = matrices[index + 1 :]
        pieces = [transpose(sp.MatMul(*left))] if left else []
        pieces.append(seed)
        if right:
            pieces.append(transpose(sp.MatMul(*right)))
        yield from backprop(factor, _scale(coefficient, pieces))
    if coefficient.free_symbols:
        product = sp.MatMul(*matrices)
        if product.shape == (1, 1):
            coefficient_seed = seed * sp.Trace(product)
        else:
            coefficient_seed = sp.Trace(transpose(seed) * product)
        yield from backprop(coefficient, coefficient_seed)


def _scale(coefficient: sp.Basic, pieces: list[sp.Basic]) -> sp.Basic:
    """coefficient × the product of ``pieces``, where scalars among them simply scale."""
    scalars = [p for p in pieces if not isinstance(p, sp.MatrixExpr) or p.shape == (1, 1)]
    matrices = [p for p in pieces if p not in scalars]
    scale = coefficient * sp.Mul(*[_as_scalar(p) for p in scalars])
    if not matrices:
        return scale
    return sp.MatMul(scale, *matrices) if scale != 1 else sp.MatMul(*matrices)


def _as_scalar(expr: sp.Basic) -> sp.Basic:
    if isinstance(expr, sp.MatrixExpr):
        return sp.Trace(expr)
    return expr


@backprop.register(sp.MatPow)
def _matrix_power(expr: sp.MatPow, seed: sp.Basic) -> Iterator[Contribution]:
    # Z = A^p (p a positive integer): δ_A += Σ_{k=0}^{p−1} (Aᵀ)^k δ_Z (Aᵀ)^{p−1−k}
    base, exponent = expr.args
    if exponent.is_Integer and exponent < 0:  # A^{-p} = (A^{-1})^p, as inv(A)ᵀ inv(A) folds
        yield from _matrix_power(sp.MatPow(sp.Inverse(base), -exponent), seed)
        return
    if not (exponent.is_Integer and exponent > 0):
        raise UnsupportedError(f"cannot differentiate the matrix power {expr}: p must be 1, 2, ...")
    power = int(exponent)
    terms = []
    for k in range(power):
        pieces = [sp.MatPow(base.T, k).doit(), seed, sp.MatPow(base.T, power - 1 - k).doit()]
        kept = [p for p in pieces if not isinstance(p, sp.Identity)]
        terms.append(sp.MatMul(*kept) if len(kept) > 1 else kept[0])
    yield from backprop(base, sp.MatAdd(*terms) if len(terms) > 1 else terms[0])


@backprop.register(sp.Transpose)
def _transpose(expr: sp.Transpose, seed: sp.Basic) -> Iterator[Contribution]:
    # Z = Aᵀ: δ_A += δ_Zᵀ
    yield from backprop(expr.arg, transpose(seed))


@backprop.register(HadamardProduct)
def _hadamard(expr: HadamardProduct, seed: sp.Basic) -> Iterator[Contribution]:
    # Z = A ⊙ B: δ_A += δ_Z ⊙ B, δ_B += δ_Z ⊙ A
    factors = expr.args
    for index, factor in enumerate(factors):
        others = factors[:index] + factors[index + 1 :]
        contribution = seed
        for other in others:
            contribution = hadamard(contribution, other)
        yield from backprop(factor, contribution)


@backprop.register(HadamardPower)
def _hadamard_power(expr: HadamardPower, seed: sp.Basic) -> Iterator[Contribution]:
    # Z = A^{∘p}: δ_A += δ_Z ⊙ p A^{∘(p−1)}
    base, exponent = expr.base, expr.exp
    if exponent.free_symbols:
        raise UnsupportedError("cannot differentiate an elementwise power with a symbolic exponent")
    derivative = base if exponent == 2 else HadamardPower(base, exponent - 1)
    yield from backprop(base, exponent * hadamard(seed, derivative))


@backprop.register(ElementwiseApplyFunction)
def _elementwise(expr: ElementwiseApplyFunction, seed: sp.Basic) -> Iterator[Contribution]:
    # Z = f(A) entrywise: δ_A += δ_Z ⊙ f'(A)
    argument = expr.expr
    yield from backprop(argument, hadamard(seed, elementwise_derivative(expr)))
    yield from _entrywise_parameters(expr, seed)


def _entrywise_parameters(expr: ElementwiseApplyFunction, seed: sp.Basic) -> Iterator[Contribution]:
    # Z = f(A, α) entrywise, α a scalar: δ_α += 𝟏ᵀ (δ_Z ⊙ ∂f/∂α(A, α)) 𝟏, with ∂f/∂α from the
    # function's fdiff (leaky_relu's α, clip's bounds), or the body's derivative (A^{∘b})
    variable, body = expr.function.variables[0], expr.function.expr
    if isinstance(body, sp.Function) and body.args and body.args[0] == variable:
        partials = [
            (parameter, body.fdiff(index))
            for index, parameter in enumerate(body.args[1:], start=2)
            if parameter.free_symbols
        ]
    else:
        scalars = [s for s in body.free_symbols if isinstance(s, sp.Symbol) and s != variable]
        partials = [(symbol, sp.diff(body, symbol)) for symbol in sorted(scalars, key=str)]
    for parameter, partial in partials:
        if variable in parameter.free_symbols:
            raise UnsupportedError(f"cannot differentiate the entrywise function {body}")
        each = hadamard(seed, elementwise(sp.Lambda(variable, partial), expr.expr))
        yield from backprop(parameter, _sum_of_entries(each))


def _sum_of_entries(matrix: sp.MatrixExpr) -> sp.Basic:
    """𝟏ᵀ M 𝟏, a scalar (a 1×1 product kept as its trace)."""
    rows, cols = matrix.shape
    if cols == 1:
        return sp.Trace(sp.MatMul(sp.OneMatrix(1, rows), matrix))
    if rows == 1:
        return sp.Trace(sp.MatMul(matrix, sp.OneMatrix(cols, 1)))
    return sp.Trace(sp.MatMul(sp.OneMatrix(1, rows), matrix, sp.OneMatrix(cols, 1)))


@backprop.register(Softmax)
def _softmax(expr: Softmax, seed: sp.Basic) -> Iterator[Contribution]:
    # p = softmax(z): δ_z += p ⊙ δ_p − p (pᵀ δ_p)
    # P = softmax(Z) by rows: δ_Z += P ⊙ δ_P − ((P ⊙ δ_P) 𝟏 𝟏ᵀ) ⊙ P; by columns 𝟏 𝟏ᵀ (P ⊙ δ_P)
    rows, cols = expr.shape
    if cols == 1:
        along = sp.Trace(expr.T * seed)
        yield from backprop(expr.argument, sp.MatAdd(hadamard(expr, seed), -along * expr))
        return
    weighted = hadamard(expr, seed)
    if expr.axis == 1:
        spread = sp.MatMul(weighted, sp.OneMatrix(cols, 1), sp.OneMatrix(1, cols))
    else:
        spread = sp.MatMul(sp.OneMatrix(rows, 1), sp.OneMatrix(1, rows), weighted)
    yield from backprop(expr.argument, sp.MatAdd(weighted, -hadamard(spread, expr)))


def elementwise_derivative(expr: ElementwiseApplyFunction) -> sp.MatrixExpr:
    """f'(A) for Z = f(A) entrywise, in the textbook form the activation table gives."""
    function, argument = expr.function, expr.expr
    variable = function.variables[0]
    body = function.expr
    if isinstance(body, sp.Function) and body.args == (variable,):
        activation = activation_for(body.func)
        if activation is not None:
            return activation.elementwise_derivative(argument)
        if hasattr(body, "fdiff"):
            return elementwise(sp.Lambda(variable, body.fdiff()), argument)
    return elementwise(sp.Lambda(variable, sp.diff(body, variable)), argument)


def local_contributions(rhs: sp.Basic, seed: sp.Basic) -> dict[sp.Basic, sp.Basic]:
    """Sum the contributions of one right-hand side, symbol by symbol."""
    totals: dict[sp.Basic, list[sp.Basic]] = {}
    for symbol, contribution in backprop(rhs, seed):
        totals.setdefault(symbol, []).append(contribution)
    return {symbol: _add(parts) for symbol, parts in totals.items()}


def _add(parts: list[sp.Basic]) -> sp.Basic:
    if len(parts) == 1:
        return parts[0]
    if any(is_matrix(p) for p in parts):
        return sp.MatAdd(*parts)
    return sp.Add(*parts)


# the rules for tr, inv, det, diag register themselves with ``backprop`` on import
import derive.adjoint_matrix  # noqa: E402, F401
