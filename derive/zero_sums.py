"""Sums that the forward pass makes zero, found by evaluation and dropped.

With μ = (x₁ + x₂ + x₃)/3, the term x₁ + x₂ + x₃ − 3μ in an adjoint is identically zero, yet
no algebra on the adjoint alone can see it: it is zero only given the forward equations. A key
that keeps it reads wrongly. Each sum of an adjoint is evaluated at a few random points of the
forward pass (the adjoints δ_v drawn at random, independently); a sum that vanishes at every
point, while its terms do not, is replaced by 0. Deciding zero numerically costs one
evaluation per distinct node; the answers are then checked as usual.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from derive.engine import Backward
from derive.errors import VerificationError
from derive.evaluate import Evaluator
from derive.graph import NodeMap, postorder, substitute, tree_size
from derive.model import Network
from derive.simplify import Tidy
from derive.verify import concrete_dims, draw_point, forward, random_value

POINTS = 3
ZERO = 1e-11  # a sum this small against its largest term is zero (float64 cancellation)
EXACT_LIMIT = 400  # largest written-out sum (tree nodes) confirmed zero by expansion


def drop_zero_sums(result: Backward, *, seed: int = 7) -> None:
    """Replace every sum the forward pass makes zero, in each adjoint's forms, by 0."""
    network = result.network
    dims = concrete_dims(network)
    rng = np.random.default_rng(seed)
    try:
        points = [forward(network, draw_point(network, dims, rng), dims) for _ in range(POINTS)]
    except VerificationError:
        return  # no usable point: the numeric check will say so
    adjoints = [a.symbol for a in result.adjoints.values()]
    for values in points:
        for symbol in adjoints:
            values.setdefault(symbol, random_value(symbol, dims, rng))
    # every adjoint at once, each distinct node once: the resolved forms share the chain
    forms = [form for a in result.adjoints.values() for form in (a.definition, a.resolved)]
    evaluators = [Evaluator(values, dims) for values in points]
    zeros = _zero_sums(forms, evaluators)
    if not zeros:
        return
    inlined = _inlined_forward(network)  # each computed quantity in the givens alone
    zeros = {node: zero for node, zero in zeros.items() if _exactly_zero(node, inlined)}
    if not zeros:
        return
    memo: NodeMap[sp.Basic] = NodeMap()
    tidy = Tidy()
    for adjoint in result.adjoints.values():
        adjoint.definition = tidy(substitute(adjoint.definition, zeros, memo))
        adjoint.resolved = tidy(substitute(adjoint.resolved, zeros, memo))


def _zero_sums(exprs: list[sp.Basic], evaluators: list[Evaluator]) -> dict[sp.Basic, sp.Basic]:
    sums = [n for n in postorder(sp.Tuple(*exprs)) if isinstance(n, sp.Add)]
    if not sums:
        return {}
    vanishing: NodeMap[bool] = NodeMap()
    for node in sums:
        vanishing[node] = True
    for evaluator in evaluators:
        try:
            for expr in exprs:
                evaluator(expr)
        except (ValueError, ZeroDivisionError, OverflowError):
            return {}
        for node in sums:
            if vanishing[node] and (node not in evaluator.memo or not _vanishes(node, evaluator)):
                vanishing[node] = False
    return {node: sp.S.Zero for node in sums if vanishing[node]}


def _inlined_forward(network: Network) -> dict[sp.Basic, sp.Basic]:
    """Each computed scalar quantity written in the givens alone (only scalars: a sum that
    is confirmed zero by expansion is a scalar sum; a 1×1 vector beside a scalar would mix
    matrix and scalar algebra)."""
    inlined: dict[sp.Basic, sp.Basic] = {}
    for equation in network.equations:
        if not equation.target.is_scalar or isinstance(equation.rhs, sp.MatrixExpr):
            continue
        try:
            inlined[equation.target.symbol] = substitute(equation.rhs, inlined)
        except (TypeError, ValueError, AttributeError):  # sympy refuses the mixture: keep it
            continue
    return inlined


def _exactly_zero(node: sp.Basic, inlined: dict[sp.Basic, sp.Basic]) -> bool:
    """Whether a sum that vanished at every point is 0 by algebra, given the forward equations
    (a saturated 1 − tanh²(50) vanishes in floating point but is not zero)."""
    if isinstance(node, sp.MatrixExpr) or node.has(sp.MatrixSymbol, sp.Dummy):
        return False
    try:
        written_out = substitute(node, inlined)
    except (TypeError, ValueError, AttributeError):
        return False
    if tree_size(written_out, limit=EXACT_LIMIT) >= EXACT_LIMIT:
        return False
    return sp.expand(written_out) == 0


def _vanishes(node: sp.Add, evaluator: Evaluator) -> bool:
    total = abs(complex(np.asarray(evaluator.memo[node]).reshape(-1)[0]))
    largest = max(abs(complex(np.asarray(evaluator(term)).reshape(-1)[0])) for term in node.args)
    return bool(np.isfinite(largest) and largest > 0 and total <= ZERO * largest)
