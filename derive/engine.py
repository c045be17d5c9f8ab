"""Reverse mode over the equation graph: a named adjoint δ_v = ∂e/∂v for every quantity.

Walk the equations backwards; every equation that uses v contributes a term to δ_v (the
rules are in ``derive.adjoint``). A definition is written in terms of the adjoints of later
quantities, as a solution key writes it; ``resolved`` substitutes them all, so the final
answers hold only given and forward quantities. Substitution goes through "anchors" (quantities
whose adjoint is used more than once) collected into one linear map each, so work and size
grow linearly with the number of equations.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import sympy as sp
from sympy.core.cache import clear_cache

from derive.adjoint import local_contributions
from derive.graph import NodeMap, occurrences, substitute
from derive.linear import collect_linear
from derive.model import Equation, Network, Quantity
from derive.simplify import Tidy, fuse_entrywise, fuse_with_forward
from derive.softmax import Softmax


def adjoint_symbol(quantity: Quantity) -> sp.Basic:
    """δ_v, a symbol of v's shape (printed \\delta_{v})."""
    name = f"delta_{quantity.name}"
    if quantity.is_scalar:
        return sp.Symbol(name)
    return sp.MatrixSymbol(name, *quantity.shape)


@dataclass(frozen=True)
class Term:
    """What one equation using v contributes to δ_v (written with δ of its target)."""

    equation: Equation
    contribution: sp.Basic


@dataclass
class Adjoint:
    """δ_v: its terms, its definition in later adjoints, and its fully substituted form."""

    quantity: Quantity
    symbol: sp.Basic
    terms: list[Term]
    definition: sp.Basic
    inlined: sp.Basic | None = None  # the later adjoints substituted, before simplifying
    resolved: sp.Basic = sp.S.Zero


@dataclass
class Backward:
    """The adjoints of a network, in backward order (closest to the loss first)."""

    network: Network
    adjoints: dict[str, Adjoint] = field(default_factory=dict)


def backward(network: Network) -> Backward:
    """Every adjoint the wrt list needs, defined, simplified and resolved."""
    # sympy's constructor cache compares a new node with an equal one from an earlier run,
    # and sympy's == walks two distinct deep graphs path by path (exponential): start afresh
    clear_cache()
    quantities = network.quantities
    by_symbol = {q.symbol: q for q in quantities.values()}
    needed = _depends_on_wrt(network, by_symbol)
    loss = network.loss.target
    seeds: dict[str, sp.Basic] = {loss.name: sp.S.One}
    # p = softmax(z) appears in its own adjoint rule; a key writes p, not softmax(z)
    folds = {eq.rhs: eq.target.symbol for eq in network.equations if isinstance(eq.rhs, Softmax)}
    terms: dict[str, list[Term]] = {}
    order: list[str] = []
    for equation in reversed(network.equations):
        target = equation.target.name
        if target != loss.name:
            if target not in needed or target not in terms:
                continue
            seeds[target] = adjoint_symbol(equation.target)
            order.append(target)
        contributions = local_contributions(equation.rhs, seeds[target])
        for symbol, contribution in contributions.items():
            used = by_symbol.get(symbol)
            if used is not None and used.name in needed:
                folded = contribution.xreplace(folds)
                terms.setdefault(used.name, []).append(Term(equation, folded))
    order.extend(name for name in network.wrt if name not in order)
    result = Backward(network)
    definitions = {eq.target.name: eq.rhs for eq in network.equations}
    tidy = Tidy()
    for name in order:
        quantity = quantities[name]
        parts = [tidy(term.contribution) for term in terms.get(name, [])]
        definition = tidy(_sum(parts, quantity))
        result.adjoints[name] = Adjoint(
            quantity, adjoint_symbol(quantity), terms.get(name, []), definition
        )
    _fuse(result, definitions)
    _resolve(result, tidy)
    return result


def _depends_on_wrt(network: Network, by_symbol: dict[sp.Basic, Quantity]) -> set[str]:
    """The wrt givens and every computed quantity that depends on one of them."""
    needed = set(network.wrt)
    for equation in network.equations:
        used = {by_symbol[s].name for s in _symbols(equation.rhs) if s in by_symbol}
        if used & needed:
            needed.add(equation.target.name)
    return needed


def _symbols(expr: sp.Basic) -> Iterable[sp.Basic]:
    return expr.atoms(sp.Symbol, sp.MatrixSymbol)


def _sum(parts: list[sp.Basic], quantity: Quantity) -> sp.Basic:
    if not parts:
        return sp.S.Zero if quantity.is_scalar else sp.ZeroMatrix(*quantity.shape)
    if len(parts) == 1:
        return parts[0]
    return sp.Add(*parts) if quantity.is_scalar else sp.MatAdd(*parts)


def _fuse(result: Backward, definitions: dict[str, sp.Basic]) -> None:
    """Inline a later adjoint free of adjoints where that simplifies (BCE: δ_z = y − t)."""
    symbols = {a.symbol: a for a in result.adjoints.values()}
    for adjoint in result.adjoints.values():
        later = [symbols[s] for s in _symbols(adjoint.definition) if s in symbols]
        if not later and not adjoint.quantity.is_scalar and adjoint.definition.has(Softmax):
            # softmax written inside the loss: its adjoint simplifies entry by entry (p − t)
            fused = fuse_entrywise(adjoint.definition, definitions, result.network)
            if fused is not None and sp.count_ops(fused) < sp.count_ops(adjoint.definition):
                adjoint.definition = fused
            continue
        if len(later) != 1 or set(_symbols(later[0].definition)) & set(symbols):
            continue
        inlined = adjoint.definition.xreplace({later[0].symbol: later[0].definition})
        if adjoint.quantity.is_scalar:
            fused = fuse_with_forward(inlined, definitions, result.network)
        else:
            fused = fuse_entrywise(inlined, definitions, result.network)
        # keep it only when the local derivative is absorbed entirely (BCE: δ_z = y − t)
        if fused is not None and sp.count_ops(fused) <= sp.count_ops(later[0].definition):
            adjoint.inlined = inlined
            adjoint.definition = fused


def _resolve(result: Backward, tidy: Tidy) -> None:
    """Fill ``resolved``: each definition with every later adjoint substituted."""
    adjoints = result.adjoints
    symbols = {a.symbol: name for name, a in adjoints.items()}
    uses: Counter[sp.Basic] = Counter()
    givens = result.network.givens
    for name, adjoint in adjoints.items():
        if name in givens:  # an answer is read off, never substituted into another adjoint
            continue
        uses.update(occurrences(adjoint.definition, symbols))
    anchors = {s for s, count in uses.items() if count > 1}
    # in terms of anchors only: non-anchors are used once, so inlining them copies nothing
    over_anchors: dict[sp.Basic, sp.Basic] = {}
    # the anchors in each over_anchors expression, counted once when it is made: counting them
    # again in every expression that inlines it would walk a chain of inlined adjoints each time
    anchors_in: dict[sp.Basic, Counter[sp.Basic]] = {}
    for adjoint in adjoints.values():
        local = occurrences(adjoint.definition, anchors | set(over_anchors))
        replacements = {s: over_anchors[s] for s in local if s in over_anchors}
        expr = substitute(adjoint.definition, replacements) if replacements else adjoint.definition
        counts: Counter[sp.Basic] = Counter()
        for symbol, count in local.items():
            inner = anchors_in[symbol] if symbol in over_anchors else Counter({symbol: 1})
            for anchor, times in inner.items():
                counts[anchor] += count * times
        for anchor, count in list(counts.items()):
            if count > 1:
                collected = collect_linear(expr, anchor)
                if collected is not None:
                    expr, counts[anchor] = collected, 1
        if adjoint.symbol not in anchors:
            over_anchors[adjoint.symbol] = expr
            anchors_in[adjoint.symbol] = counts
        adjoint.resolved = expr
    resolved: dict[sp.Basic, sp.Basic] = {}  # the anchors resolved so far
    memo: NodeMap[sp.Basic] = NodeMap()
    for adjoint in adjoints.values():
        adjoint.resolved = tidy(substitute(adjoint.resolved, resolved, memo))
        if adjoint.symbol in anchors:
            resolved[adjoint.symbol] = adjoint.resolved
            memo.clear()  # what the memo holds was made without this anchor
