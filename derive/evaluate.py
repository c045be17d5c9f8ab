"""Numeric evaluation of derive's sympy expressions with numpy, for the checks.

Vectors and matrices are 2-D arrays, scalars are floats (or arrays inside an elementwise
function). A memo makes shared subexpressions cost once, so a resolved answer of a deep
network evaluates in time linear in its size. Generic functions f (a problem's "arbitrary
nonlinearity") are instantiated as sin with derivative cos.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import singledispatch
from typing import Any

import numpy as np
import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.matrices.expressions.hadamard import HadamardPower, HadamardProduct

from derive.errors import UnsupportedError
from derive.functions import relu, sigmoid, softplus
from derive.model import as_dim
from derive.softmax import Softmax

Value = Any  # float or numpy array


def expit(x: Value) -> Value:
    """σ(x), computed stably as (1 + tanh(x/2)) / 2."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float)))


def _indicator(x: Value, at_zero: Value = 0.5) -> Value:
    """1[x > 0], with sympy's Heaviside value at 0."""
    return np.heaviside(x, at_zero)


SCALAR_FUNCTIONS: dict[object, Callable[[Value], Value]] = {
    sigmoid: expit,
    relu: lambda x: np.maximum(x, 0.0),
    softplus: lambda x: np.logaddexp(0.0, x),
    sp.tanh: np.tanh,
    sp.exp: np.exp,
    sp.log: np.log,
    sp.Abs: np.abs,
    sp.Heaviside: _indicator,
    sp.sin: np.sin,
    sp.cos: np.cos,
}


class Evaluator:
    """Evaluates expressions at one point: ``values`` maps symbols to numbers or arrays."""

    def __init__(self, values: Mapping[sp.Basic, Value], dims: Mapping[sp.Basic, int]) -> None:
        self.values = dict(values)
        self.dims = dims
        self.memo: dict[sp.Basic, Value] = {}

    def __call__(self, expr: sp.Basic) -> Value:
        if expr in self.memo:
            return self.memo[expr]
        value = _evaluate(expr, self)
        self.memo[expr] = value
        return value

    def size(self, dim: sp.Basic) -> int:
        return int(as_dim(dim).xreplace(dict(self.dims)))


@singledispatch
def _evaluate(expr: sp.Basic, ev: Evaluator) -> Value:
    raise UnsupportedError(f"cannot evaluate {type(expr).__name__} numerically ({expr})")


@_evaluate.register(sp.Symbol)
@_evaluate.register(sp.MatrixSymbol)
@_evaluate.register(sp.Dummy)
def _leaf(expr: sp.Basic, ev: Evaluator) -> Value:
    if expr not in ev.values:
        raise UnsupportedError(f"no value for {expr}")
    return ev.values[expr]


@_evaluate.register(sp.Number)
@_evaluate.register(sp.NumberSymbol)
def _number(expr: sp.Basic, ev: Evaluator) -> Value:
    return float(expr)


@_evaluate.register(sp.Add)
def _add(expr: sp.Add, ev: Evaluator) -> Value:
    return _fold(np.add, [ev(a) for a in expr.args])


@_evaluate.register(sp.Mul)
def _mul(expr: sp.Mul, ev: Evaluator) -> Value:
    return _fold(np.multiply, [ev(a) for a in expr.args])


@_evaluate.register(sp.Pow)
def _pow(expr: sp.Pow, ev: Evaluator) -> Value:
    return np.power(ev(expr.base), ev(expr.exp))


@_evaluate.register(sp.Function)
def _function(expr: sp.Function, ev: Evaluator) -> Value:
    function = SCALAR_FUNCTIONS.get(expr.func)
    if function is None:
        function = _generic(expr.func)
    return function(*(ev(a) for a in expr.args))


def _generic(func: object) -> Callable[[Value], Value]:
    name = getattr(func, "__name__", str(func))
    if name.endswith("'"):
        return np.cos
    if isinstance(func, sp.FunctionClass):
        return np.sin
    raise UnsupportedError(f"cannot evaluate the function {name} numerically")


@_evaluate.register(sp.MatAdd)
def _matadd(expr: sp.MatAdd, ev: Evaluator) -> Value:
    return _fold(np.add, [ev(a) for a in expr.args])


@_evaluate.register(sp.MatMul)
def _matmul(expr: sp.MatMul, ev: Evaluator) -> Value:
    coefficient, matrices = expr.as_coeff_matrices()
    result = ev(matrices[0])
    for factor in matrices[1:]:
        result = np.asarray(result) @ np.asarray(ev(factor))
    return ev(coefficient) * result


@_evaluate.register(sp.Transpose)
def _transpose(expr: sp.Transpose, ev: Evaluator) -> Value:
    return np.asarray(ev(expr.arg)).T


@_evaluate.register(sp.Inverse)
def _inverse(expr: sp.Inverse, ev: Evaluator) -> Value:
    return np.linalg.inv(ev(expr.arg))


@_evaluate.register(sp.Trace)
def _trace(expr: sp.Trace, ev: Evaluator) -> Value:
    return float(np.trace(np.asarray(ev(expr.arg))))


@_evaluate.register(HadamardProduct)
def _hadamard(expr: HadamardProduct, ev: Evaluator) -> Value:
    return _fold(np.multiply, [ev(a) for a in expr.args])


@_evaluate.register(HadamardPower)
def _hadamard_power(expr: HadamardPower, ev: Evaluator) -> Value:
    return np.power(ev(expr.base), ev(expr.exp))


@_evaluate.register(ElementwiseApplyFunction)
def _elementwise(expr: ElementwiseApplyFunction, ev: Evaluator) -> Value:
    argument = np.asarray(ev(expr.expr), dtype=float)
    function = expr.function
    inner = Evaluator({**ev.values, function.variables[0]: argument}, ev.dims)
    return np.broadcast_to(inner(function.expr), argument.shape).astype(float)


@_evaluate.register(Softmax)
def _softmax(expr: Softmax, ev: Evaluator) -> Value:
    z = np.asarray(ev(expr.argument), dtype=float)
    exponentials = np.exp(z - z.max())
    return exponentials / exponentials.sum()


@_evaluate.register(DiagMatrix)
def _diag(expr: DiagMatrix, ev: Evaluator) -> Value:
    return np.diag(np.asarray(ev(expr.args[0])).ravel())


@_evaluate.register(sp.OneMatrix)
def _ones(expr: sp.OneMatrix, ev: Evaluator) -> Value:
    return np.ones((ev.size(expr.shape[0]), ev.size(expr.shape[1])))


@_evaluate.register(sp.ZeroMatrix)
def _zeros(expr: sp.ZeroMatrix, ev: Evaluator) -> Value:
    return np.zeros((ev.size(expr.shape[0]), ev.size(expr.shape[1])))


@_evaluate.register(sp.Identity)
def _identity(expr: sp.Identity, ev: Evaluator) -> Value:
    return np.eye(ev.size(expr.shape[0]))


def _fold(operation: Callable[[Value, Value], Value], values: list[Value]) -> Value:
    result = values[0]
    for value in values[1:]:
        result = operation(result, value)
    return result
