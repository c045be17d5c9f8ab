"""An earlier problem's forward pass at random points, for the numeric checks of kind "update".

A network part's setup lists its forward equations, the loss last; drawing its givens and
running the equations in order gives the values a gradient (and an update built on it) is
evaluated at, and the loss a finite difference moves.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import sympy as sp

from derive.evaluate import Evaluator, Value
from derive.model import Line, Part, as_dim

SIZES = (3, 4, 5, 2, 6)  # concrete sizes for the dimensions of a numeric check

Equations = list[tuple[sp.Basic, sp.Basic]]


def forward_equations(source: Part) -> Equations | None:
    """The earlier part's forward equations (target, right side), the loss last; None if it has
    none (a problem of another kind) or one is not a sympy expression."""
    equations = [(line.lhs, setup_rhs(line)) for line in source.setup]
    if not equations or not all(isinstance(side, sp.Basic) for pair in equations for side in pair):
        return None
    return equations


def setup_rhs(line: Line) -> object:
    """A setup line's right side as sympy (a network's setup prints the user's text)."""
    return line.rhs if line.value is None else line.value


def dimension_sizes(expressions: list[sp.Basic]) -> dict[sp.Basic, int]:
    """A concrete size for every dimension symbol of the matrices the expressions mention."""
    found: set[sp.Basic] = set()
    for expr in expressions:
        for matrix in expr.free_symbols:
            if isinstance(matrix, sp.MatrixSymbol):
                found |= set().union(*(as_dim(d).free_symbols for d in matrix.shape))
    ordered = sorted(found, key=str)
    return {symbol: SIZES[n % len(SIZES)] + n // len(SIZES) for n, symbol in enumerate(ordered)}


def leaves(expr: sp.Basic) -> set[sp.Basic]:
    """The symbols and matrix symbols an expression's value depends on (not bound ones)."""
    return {s for s in expr.free_symbols if isinstance(s, sp.Symbol | sp.MatrixSymbol)}


def givens(equations: Equations, parameter: sp.Basic) -> list[sp.Basic]:
    """What the equations read but do not compute, and the parameter, in a fixed order."""
    targets = {lhs for lhs, _ in equations}
    found = {s for _, rhs in equations for s in leaves(rhs) if s not in targets} | {parameter}
    return sorted(found, key=str)


def draw(symbol: sp.Basic, dims: Mapping[sp.Basic, int], rng: np.random.Generator) -> Value:
    """A random value of the symbol's shape, away from zero for a scalar."""
    if isinstance(symbol, sp.MatrixSymbol):
        rows, cols = (int(as_dim(d).xreplace(dict(dims))) for d in symbol.shape)
        return rng.normal(size=(rows, cols)) * 0.8
    return float(rng.uniform(0.2, 0.8) * rng.choice([-1, 1]))


def forward(
    equations: Equations,
    point: Mapping[sp.Basic, Value],
    dims: Mapping[sp.Basic, int],
) -> dict[sp.Basic, Value]:
    """The givens at ``point`` and every computed quantity, in the equations' order."""
    evaluator = Evaluator(point, dims)  # one memo: later equations reuse earlier nodes
    for target, rhs in equations:
        value = evaluator(rhs)
        if not isinstance(target, sp.MatrixSymbol):
            value = float(np.asarray(value).reshape(-1)[0])
        evaluator.assign(target, value)
    return dict(evaluator.values)
