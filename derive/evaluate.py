"""Numeric evaluation of derive's sympy expressions with numpy, for the checks.

Vectors and matrices are 2-D arrays, scalars are numbers (or arrays inside an elementwise
function); values may be real, extended precision or complex (the complex-step check), and
every operation keeps their type. A memo makes shared subexpressions cost once, so a resolved
answer of a deep network evaluates in time linear in its size. Every function comes from one
table, ``derive.numeric_functions.NUMERIC_FUNCTIONS``.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from functools import singledispatch
from typing import Any

import numpy as np
import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.diagonal import DiagMatrix, DiagonalOf
from sympy.matrices.expressions.hadamard import HadamardPower, HadamardProduct
from sympy.matrices.expressions.matexpr import MatrixElement

from derive import limits
from derive.errors import UnsupportedError
from derive.graph import NodeMap, postorder_missing
from derive.model import as_dim
from derive.numeric_functions import Value, numeric_function
from derive.softmax import Softmax

__all__ = ["Evaluator", "ForwardPass", "Value"]  # Value: the type of what it computes


class Evaluator:
    """Evaluates expressions at one point: ``values`` maps symbols to numbers or arrays.

    ``margins``, if given, collects how close each argument of a non-smooth function comes
    to its kink (|x| for relu(x), log(x), 1/x, √x, ...), so a point near one can be redrawn.
    """

    def __init__(
        self,
        values: Mapping[sp.Basic, Value],
        dims: Mapping[sp.Basic, int],
        margins: list[float] | None = None,
    ) -> None:
        self.values: MutableMapping[sp.Basic, Value] = dict(values)
        self.dims = dims
        self.memo: NodeMap[Value] = NodeMap()
        self.margins = margins

    def assign(self, symbol: sp.Basic, value: Value) -> None:
        """Give ``symbol`` a value (a forward pass, equation by equation): it must not have
        been evaluated yet."""
        assert symbol not in self.memo
        self.values[symbol] = value

    def bound(self, variable: sp.Basic, value: Value) -> Evaluator:
        """An evaluator of a λ's body: ``variable`` bound to ``value``, the other values
        these (shared, not copied), its own memo."""
        inner = Evaluator({}, self.dims, self.margins)
        inner.values = ChainMap({variable: value}, self.values)
        return inner

    def __call__(self, expr: sp.Basic) -> Value:
        found = self.memo.get(expr)  # a value is never None
        if found is not None:
            return found
        # operands first, without recursion: a deep network's answer nests hundreds of levels
        for node in _operands_first(expr, self.memo):
            self.memo[node] = _evaluate(node, self)
        return self.memo[expr]

    def size(self, dim: sp.Basic) -> int:
        return int(as_dim(dim).xreplace(dict(self.dims)))

    def near_kink(self, distance: Value) -> None:
        """Record how far an argument is from a kink (the smallest entry counts)."""
        if self.margins is not None:
            self.margins.append(float(np.min(np.abs(np.real(distance)), initial=np.inf)))


class ForwardPass:
    """Equations ``target = rhs`` evaluated in order at many points. The order of their
    distinct nodes is found once, so a point costs one evaluation per node and no walk."""

    def __init__(self, equations: Sequence[tuple[sp.Basic, sp.Basic, bool]]) -> None:
        """``equations``: (target, rhs, whether the target is a scalar), in order."""
        seen: NodeMap[bool] = NodeMap()
        self.steps: list[tuple[list[sp.Basic], sp.Basic, sp.Basic, bool]] = []
        for target, rhs, scalar in equations:
            order = _operands_first(rhs, seen)
            for node in order:
                seen[node] = True
            self.steps.append((order, rhs, target, scalar))

    def run(
        self,
        givens: Mapping[sp.Basic, Value],
        dims: Mapping[sp.Basic, int],
        margins: list[float] | None = None,
    ) -> dict[sp.Basic, Value]:
        """Every quantity's value at one point (``margins`` as for ``Evaluator``)."""
        evaluator = Evaluator(givens, dims, margins)
        memo = evaluator.memo
        for order, rhs, target, scalar in self.steps:
            for node in order:
                memo[node] = _evaluate(node, evaluator)
            value = memo[rhs]
            if scalar:
                value = np.asarray(value).reshape(-1)[0]
            evaluator.assign(target, value)
        return dict(evaluator.values)


def _operands(node: sp.Basic) -> tuple[sp.Basic, ...]:
    """What evaluating ``node`` evaluates first (not a λ's body, a matrix's name or size)."""
    if isinstance(node, ElementwiseApplyFunction):
        return (node.expr,)
    if isinstance(node, MatrixElement):
        return (node.parent,)
    if isinstance(
        node, sp.MatrixSymbol | sp.Indexed | sp.Lambda | sp.OneMatrix | sp.ZeroMatrix | sp.Identity
    ):
        return ()
    if isinstance(node, sp.Sum):  # its terms, once its bounds are known (``_sum``)
        return ()
    return node.args


def _operands_first(expr: sp.Basic, done: NodeMap[Any]) -> list[sp.Basic]:
    """The nodes of ``expr`` not in ``done``, each after its operands."""
    return postorder_missing(expr, done, _operands)


@singledispatch
def _evaluate(expr: sp.Basic, ev: Evaluator) -> Value:
    raise UnsupportedError(f"cannot evaluate {type(expr).__name__} numerically ({expr})")


@_evaluate.register(sp.Symbol)
@_evaluate.register(sp.MatrixSymbol)
@_evaluate.register(sp.Dummy)
@_evaluate.register(sp.Indexed)  # an entry a[k] of a batch, given its own value
def _leaf(expr: sp.Basic, ev: Evaluator) -> Value:
    found = ev.values.get(expr)  # a value is never None
    if found is not None:
        return found
    if expr in ev.dims:  # a dimension used as a number: 1/n
        return float(ev.dims[expr])
    raise UnsupportedError(f"no value for {expr}")


@_evaluate.register(sp.Number)
@_evaluate.register(sp.NumberSymbol)
def _number(expr: sp.Basic, ev: Evaluator) -> Value:
    return float(expr)


@_evaluate.register(sp.Sum)
def _sum(expr: sp.Sum, ev: Evaluator) -> Value:
    """A sum with whole-number bounds, term by term (each term a[3] a value of its own); a
    term not depending on the index is evaluated once."""
    terms = [expr.function]
    for index, low, high in expr.limits:
        first, last = _whole(ev(low)), _whole(ev(high))
        if (last - first + 1) * len(terms) > limits.current().entries:
            raise UnsupportedError(f"a sum of more than {limits.current().entries} terms")
        terms = [
            term.xreplace({index: number}) for term in terms for number in range(first, last + 1)
        ]
    return _fold(np.add, [ev(term) for term in terms]) if terms else 0.0


def _whole(value: Value) -> int:
    """A sum's bound as a whole number."""
    number = float(np.real(value))
    if number != round(number):
        raise UnsupportedError(f"a sum's bound is not a whole number: {number}")
    return round(number)


@_evaluate.register(sp.Add)
def _add(expr: sp.Add, ev: Evaluator) -> Value:
    return _fold(np.add, [ev(a) for a in expr.args])


@_evaluate.register(sp.Mul)
def _mul(expr: sp.Mul, ev: Evaluator) -> Value:
    return _fold(np.multiply, [ev(a) for a in expr.args])


@_evaluate.register(sp.Pow)
def _pow(expr: sp.Pow, ev: Evaluator) -> Value:
    base = ev(expr.base)
    exponent = expr.exp
    if not (exponent.is_Integer and exponent.is_nonnegative):  # 1/x, √x blow up at 0
        ev.near_kink(base)
    if exponent.is_Integer:
        return base ** int(exponent)
    return np.power(base, ev(exponent))


@_evaluate.register(sp.Function)
def _function(expr: sp.Function, ev: Evaluator) -> Value:
    function = numeric_function(expr.func)
    arguments = [ev(a) for a in expr.args]
    if function.kink is not None:
        ev.near_kink(arguments[0] - function.kink)
    if function.kinks is not None:
        for distance in function.kinks(*arguments):
            ev.near_kink(distance)
    return function.evaluate(*arguments)


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


@_evaluate.register(MatrixElement)
def _matrix_element(expr: MatrixElement, ev: Evaluator) -> Value:
    row, col = (int(index) for index in expr.indices)  # a symbolic index is not a value
    return np.asarray(ev(expr.parent))[row, col]


@_evaluate.register(sp.Transpose)
def _transpose(expr: sp.Transpose, ev: Evaluator) -> Value:
    return np.asarray(ev(expr.arg)).T


@_evaluate.register(sp.MatPow)
def _matrix_power(expr: sp.MatPow, ev: Evaluator) -> Value:
    base, exponent = expr.args
    if not exponent.is_Integer:
        raise UnsupportedError(f"cannot evaluate the matrix power {expr} numerically")
    return np.linalg.matrix_power(np.asarray(ev(base)), int(exponent))


@_evaluate.register(sp.Inverse)
def _inverse(expr: sp.Inverse, ev: Evaluator) -> Value:
    return np.linalg.inv(ev(expr.arg))


@_evaluate.register(sp.Trace)
def _trace(expr: sp.Trace, ev: Evaluator) -> Value:
    return np.trace(np.asarray(ev(expr.arg)))[()]


@_evaluate.register(HadamardProduct)
def _hadamard(expr: HadamardProduct, ev: Evaluator) -> Value:
    return _fold(np.multiply, [ev(a) for a in expr.args])


@_evaluate.register(HadamardPower)
def _hadamard_power(expr: HadamardPower, ev: Evaluator) -> Value:
    return np.power(ev(expr.base), ev(expr.exp))


@_evaluate.register(ElementwiseApplyFunction)
def _elementwise(expr: ElementwiseApplyFunction, ev: Evaluator) -> Value:
    argument = np.asarray(ev(expr.expr))
    function = expr.function
    inner = ev.bound(function.variables[0], argument)
    for node in _body_order(function):  # the λ's body, its order found once
        inner.memo[node] = _evaluate(node, inner)
    value = np.asarray(inner.memo[function.expr])
    kind = np.result_type(value, argument, 1.0)
    if value.shape == argument.shape and value.dtype == kind:
        return value
    return np.broadcast_to(value, argument.shape).astype(kind)


# Each λ's body in evaluation order, by the λ's identity (the λ kept, so its id stays its own);
# a forward pass evaluates the same few λs at every layer and every point.
_BODY_ORDERS: dict[int, tuple[sp.Lambda, list[sp.Basic]]] = {}
_BODY_ORDERS_KEPT = 4096


def _body_order(function: sp.Lambda) -> list[sp.Basic]:
    found = _BODY_ORDERS.get(id(function))
    if found is not None and found[0] is function:
        return found[1]
    if len(_BODY_ORDERS) >= _BODY_ORDERS_KEPT:
        _BODY_ORDERS.clear()
    order = _operands_first(function.expr, NodeMap())
    _BODY_ORDERS[id(function)] = (function, order)
    return order


@_evaluate.register(Softmax)
def _softmax(expr: Softmax, ev: Evaluator) -> Value:
    z = np.asarray(ev(expr.argument))
    axis = int(expr.axis)
    exponentials = np.exp(z - np.real(z).max(axis=axis, keepdims=True))
    return exponentials / exponentials.sum(axis=axis, keepdims=True)


@_evaluate.register(sp.Determinant)
def _determinant(expr: sp.Determinant, ev: Evaluator) -> Value:
    return np.linalg.det(np.asarray(ev(expr.arg)))


@_evaluate.register(DiagonalOf)
def _diagonal_of(expr: DiagonalOf, ev: Evaluator) -> Value:
    return np.diag(np.asarray(ev(expr.arg))).reshape(-1, 1)


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
