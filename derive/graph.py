"""Passes over the shared expression graph: each distinct subexpression is visited once.

SymPy expressions are DAGs: a residual chain's answer refers to the same subexpression from many
places. SymPy's own tree walks (``xreplace``, ``has``, ``preorder_traversal``, ``srepr``) visit it
once per path, which is exponential in depth. Every pass derive runs after the backward pass
goes through these memoised versions instead.

Memos are keyed by node identity (``NodeMap``), never by ``==``: sympy compares two distinct but
equal graphs path by path, so a dict lookup that met an equal copy of a deep answer (the same
answer derived for a variant) would be exponential.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

import sympy as sp
from sympy.matrices.expressions.hadamard import HadamardProduct
from sympy.matrices.expressions.special import GenericIdentity, GenericZeroMatrix
from sympy.printing.repr import ReprPrinter

PRINTING_RECURSION = 20_000  # sympy's printers recurse once per level of nesting

V = TypeVar("V")


class NodeMap(Generic[V]):
    """A mapping from sympy nodes to values, keyed by identity (each node is kept alive)."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: dict[int, tuple[sp.Basic, V]] = {}

    def __contains__(self, node: object) -> bool:
        return id(node) in self._items

    def __getitem__(self, node: sp.Basic) -> V:
        return self._items[id(node)][1]

    def __setitem__(self, node: sp.Basic, value: V) -> None:
        self._items[id(node)] = (node, value)

    def __len__(self) -> int:
        return len(self._items)

    def get(self, node: sp.Basic) -> V | None:
        found = self._items.get(id(node))
        return None if found is None else found[1]

    def clear(self) -> None:
        self._items.clear()


def substitute(
    expr: sp.Basic,
    replacements: dict[sp.Basic, sp.Basic],
    memo: NodeMap[sp.Basic] | None = None,
) -> sp.Basic:
    """``expr.xreplace(replacements)`` that visits a shared subexpression once."""
    return bottom_up(
        expr,
        lambda node: replacements.get(node, node),
        NodeMap() if memo is None else memo,
        descend=lambda node: node not in replacements,
        settled=False,
    )


# Products and sums of matrices whose constructors only check the operands' shapes (sympy
# computes a shape by walking down the first operand, uncached: a deep chain's sum costs its
# depth at every rebuild)
_SHAPE_CHECKED = (sp.MatMul, sp.MatAdd, HadamardProduct)
_GENERIC = (GenericIdentity, GenericZeroMatrix)


def rebuild(node: sp.Basic, args: list[sp.Basic]) -> sp.Basic:
    """``node`` with new arguments (``node`` itself when none changed).

    A product or sum of matrices whose operands keep their kinds (a matrix stays a matrix, a
    scalar a scalar) is built without the constructor's shape check: a rebuild replaces an
    operand by one of its shape (a substitution or simplification), and what sympy's
    constructor would add (dropping a generic identity) cannot apply.
    """
    if all(new is old for new, old in zip(args, node.args, strict=True)):
        return node
    if type(node) in _SHAPE_CHECKED and all(
        new.is_Matrix == old.is_Matrix and not isinstance(new, _GENERIC)
        for new, old in zip(args, node.args, strict=True)
    ):
        return sp.Basic.__new__(type(node), *args)
    return node.func(*args)


def bottom_up(
    expr: sp.Basic,
    visit: Callable[[sp.Basic], sp.Basic],
    memo: NodeMap[sp.Basic],
    *,
    descend: Callable[[sp.Basic], bool] = lambda node: True,
    settled: bool = True,
) -> sp.Basic:
    """Rebuild ``expr`` with ``visit`` applied to every node after its arguments, once each.

    ``descend(node)`` False leaves a node's arguments alone (``visit`` still sees the node).
    ``settled``: ``visit``'s results are fixed points (visiting them again changes nothing),
    so they are memoised as themselves.
    """
    stack: list[tuple[sp.Basic, bool]] = [(expr, False)]
    while stack:
        node, expanded = stack.pop()
        if node in memo:
            continue
        if expanded or not node.args or not descend(node):
            if expanded:
                result = visit(rebuild(node, [memo[arg] for arg in node.args]))
            else:
                result = visit(node)
            memo[node] = result
            if settled and result not in memo:
                memo[result] = result
            continue
        stack.append((node, True))
        stack.extend((arg, False) for arg in node.args if arg not in memo)
    return memo[expr]


def occurrences(expr: sp.Basic, wanted: Collection[sp.Basic]) -> Counter[sp.Basic]:
    """How often each of ``wanted`` (symbols) occurs in ``expr``'s tree, each node visited once."""
    counts: NodeMap[Counter[sp.Basic]] = NodeMap()
    for node in postorder(expr):
        if node in wanted:
            counts[node] = Counter({node: 1})
            continue
        total: Counter[sp.Basic] = Counter()
        for arg in node.args:
            total.update(counts[arg])
        counts[node] = total
    return counts[expr]


def tree_size(expr: sp.Basic, *, limit: int, memo: NodeMap[int] | None = None) -> int:
    """The number of nodes of ``expr`` written out as a tree, counted up to ``limit``: a walk
    of the tree that stops at ``limit`` nodes, so it costs O(limit) however large the shared
    graph below is. With ``memo`` (for this one ``limit``), each distinct node's capped size
    is counted once and kept, so sizing many expressions that share subexpressions (a deep
    chain's answers) costs their distinct nodes once, not ``limit`` each."""
    if memo is not None:
        for node in postorder_missing(expr, memo):
            memo[node] = min(limit, 1 + sum(memo[arg] for arg in node.args))
        return memo[expr]
    count = 0
    stack = [expr]
    while stack:
        node = stack.pop()
        count += 1
        if count >= limit:
            return limit
        stack.extend(node.args)
    return count


def same_tree(first: sp.Basic, second: sp.Basic, *, limit: int) -> bool:
    """``first == second`` as trees (node types, argument lists, equal leaves), decided by a
    walk of at most ``limit`` pairs of distinct nodes: False beyond it (sympy's ``==`` walks
    two distinct deep graphs path by path, exponentially)."""
    stack = [(first, second)]
    count = 0
    while stack:
        one, other = stack.pop()
        if one is other:
            continue
        count += 1
        if count > limit or type(one) is not type(other) or len(one.args) != len(other.args):
            return False
        if not one.args:
            if one != other:
                return False
            continue
        stack.extend(zip(one.args, other.args, strict=True))
    return True


def postorder_missing(
    expr: sp.Basic,
    done: NodeMap[Any],
    operands: Callable[[sp.Basic], tuple[sp.Basic, ...]] = lambda node: node.args,
) -> list[sp.Basic]:
    """The distinct nodes of ``expr`` not in ``done``, each after its ``operands`` (by
    default its arguments)."""
    seen: NodeMap[bool] = NodeMap()
    order: list[sp.Basic] = []
    stack: list[tuple[sp.Basic, bool]] = [(expr, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
        elif node not in seen and node not in done:
            seen[node] = True
            stack.append((node, True))
            stack.extend((arg, False) for arg in operands(node))
    return order


def postorder(expr: sp.Basic) -> list[sp.Basic]:
    """Every distinct node of ``expr``, each after its arguments."""
    return postorder_missing(expr, NodeMap())


class SharedRepr(ReprPrinter):
    """sympy's ``srepr`` with each distinct subexpression printed once, across every call.

    One instance per document: the answers of a deep network share most of their nodes.
    """

    def __init__(self) -> None:
        super().__init__()
        self._printed: NodeMap[str] = NodeMap()

    def __call__(self, expr: sp.Basic) -> str:
        with deep_recursion():
            return self.doprint(expr)

    def _print(self, expr: object, **kwargs: object) -> str:
        if kwargs or not isinstance(expr, sp.Basic):
            return super()._print(expr, **kwargs)
        printed = self._printed.get(expr)
        if printed is None:
            printed = self._printed[expr] = super()._print(expr)
        return printed


@contextmanager
def deep_recursion(limit: int = PRINTING_RECURSION) -> Iterator[None]:
    """Let a recursive sympy pass (a printer) go as deep as a deep network's answer nests."""
    saved = sys.getrecursionlimit()
    sys.setrecursionlimit(max(saved, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(saved)
