"""Passes over the shared expression graph: each distinct subexpression is visited once.

SymPy expressions are DAGs: a residual chain's answer refers to the same subexpression from many
places. SymPy's own tree walks (``xreplace``, ``has``, ``preorder_traversal``, ``srepr``) visit it
once per path, which is exponential in depth. Every pass derive runs after the backward pass
goes through these memoised versions instead.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection

import sympy as sp
from sympy.printing.repr import ReprPrinter


def substitute(
    expr: sp.Basic,
    replacements: dict[sp.Basic, sp.Basic],
    memo: dict[sp.Basic, sp.Basic] | None = None,
) -> sp.Basic:
    """``expr.xreplace(replacements)`` that visits a shared subexpression once."""
    memo = {} if memo is None else memo

    def walk(node: sp.Basic) -> sp.Basic:
        if node in memo:
            return memo[node]
        if node in replacements:
            new = replacements[node]
        elif not node.args:
            new = node
        else:
            new = rebuild(node, [walk(arg) for arg in node.args])
        memo[node] = new
        return new

    return walk(expr)


def rebuild(node: sp.Basic, args: list[sp.Basic]) -> sp.Basic:
    """``node`` with new arguments (``node`` itself when none changed)."""
    if all(new is old for new, old in zip(args, node.args, strict=True)):
        return node
    return node.func(*args)


def bottom_up(
    expr: sp.Basic,
    visit: Callable[[sp.Basic], sp.Basic],
    memo: dict[sp.Basic, sp.Basic],
    *,
    descend: Callable[[sp.Basic], bool] = lambda node: True,
) -> sp.Basic:
    """Rebuild ``expr`` with ``visit`` applied to every node after its arguments, once each.

    ``descend(node)`` False leaves a node's arguments alone (``visit`` still sees the node).
    """
    stack: list[tuple[sp.Basic, bool]] = [(expr, False)]
    while stack:
        node, expanded = stack.pop()
        if node in memo:
            continue
        if expanded or not node.args or not descend(node):
            if expanded:
                node_args = [memo[arg] for arg in node.args]
                result = visit(rebuild(node, node_args))
            else:
                result = visit(node)
            memo[node] = result
            memo.setdefault(result, result)
            continue
        stack.append((node, True))
        stack.extend((arg, False) for arg in node.args if arg not in memo)
    return memo[expr]


def contains(expr: sp.Basic, target: sp.Basic, memo: dict[sp.Basic, bool] | None = None) -> bool:
    """``expr.has(target)`` for a single subexpression, visiting each distinct node once."""
    memo = {} if memo is None else memo
    stack = [expr]
    order: list[sp.Basic] = []
    while stack:
        node = stack.pop()
        if node in memo:
            continue
        if node == target:
            memo[node] = True
            continue
        if not node.args:
            memo[node] = False
            continue
        order.append(node)
        memo[node] = False  # provisional; fixed below once the arguments are known
        stack.extend(node.args)
    for node in reversed(order):
        memo[node] = any(memo[arg] for arg in node.args)
    return memo[expr]


def occurrences(expr: sp.Basic, wanted: Collection[sp.Basic]) -> Counter[sp.Basic]:
    """How often each of ``wanted`` occurs in ``expr``'s tree (each node visited once)."""
    counts: dict[sp.Basic, Counter[sp.Basic]] = {}
    for node in postorder(expr):
        if node in wanted:
            counts[node] = Counter({node: 1})
            continue
        total: Counter[sp.Basic] = Counter()
        for arg in node.args:
            total.update(counts[arg])
        counts[node] = total
    return counts[expr]


def tree_size(expr: sp.Basic, *, limit: int) -> int:
    """The number of nodes of ``expr`` written out as a tree, counted up to ``limit``."""
    sizes: dict[sp.Basic, int] = {}
    for node in postorder(expr):
        sizes[node] = min(limit, 1 + sum(sizes[arg] for arg in node.args))
    return sizes[expr]


def postorder(expr: sp.Basic) -> list[sp.Basic]:
    """Every distinct node of ``expr``, each after its arguments."""
    seen: set[sp.Basic] = set()
    order: list[sp.Basic] = []
    stack: list[tuple[sp.Basic, bool]] = [(expr, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        stack.extend((arg, False) for arg in node.args if arg not in seen)
    return order


class SharedRepr(ReprPrinter):
    """sympy's ``srepr`` with each distinct subexpression printed once, across every call.

    One instance per document: the answers of a deep network share most of their nodes.
    """

    def __init__(self) -> None:
        super().__init__()
        self._printed: dict[sp.Basic, str] = {}

    def __call__(self, expr: sp.Basic) -> str:
        return self.doprint(expr)

    def _print(self, expr: object, **kwargs: object) -> str:
        if kwargs or not isinstance(expr, sp.Basic):
            return super()._print(expr, **kwargs)
        printed = self._printed.get(expr)
        if printed is None:
            printed = self._printed[expr] = super()._print(expr)
        return printed


def srepr(expr: sp.Basic) -> str:
    """``sympy.srepr(expr)``, the same text, printing a shared subexpression once."""
    return SharedRepr()(expr)
