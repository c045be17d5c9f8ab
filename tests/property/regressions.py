"""The kept shrunk failures of the property tests, and a reader for network files.

Each failure Hypothesis shrank is kept as ``regressions/<name>.yaml``, a network file whose
first line, a comment, says what failed. The reader turns such a file (any file the generator
writes) back into the generator's syntax tree, reading the text the way derive's grammar reads
it, so a kept network is checked against the same oracle as a freshly drawn one; it also
checks that the generator prints what it means.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import replace
from pathlib import Path

import yaml

from tests.property.networks import (
    EXTREMA,
    FUNCTIONS,
    MATRIX_FUNCTIONS,
    VECTOR_FUNCTIONS,
    Call,
    Dim,
    GeneratedNetwork,
    Given,
    Neg,
    Node,
    Num,
    Op,
    Ref,
    Shape,
    Transpose,
)

REGRESSIONS = sorted((Path(__file__).parent / "regressions").glob("*.yaml"))


_TOKEN = re.compile(
    r"\s*(?:(?P<number>(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<call>[A-Za-z][A-Za-z0-9_]*(?=\s*\())"
    r"|(?P<name>[A-Za-z][A-Za-z0-9_]*)"
    r"|(?P<transpose>\^\s*T(?![A-Za-z0-9_])|ᵀ)"
    r"|(?P<op>\.\*|\./|\.\^|\*\*|[-−+*/⊙^(),]))"
)


def read_expression(
    source: str, shapes: Mapping[str, Shape], functions: Collection[str] = ()
) -> Node:
    """The tree of ``source``, read the way derive's grammar reads it; ``functions`` are the
    file's declared ones."""
    return _Reader(source, shapes, functions).read()


class _Reader:
    """Recursive descent over derive's grammar: sum, product, signed, postfix, atom."""

    def __init__(
        self, source: str, shapes: Mapping[str, Shape], functions: Collection[str]
    ) -> None:
        known = (*FUNCTIONS, *EXTREMA, *VECTOR_FUNCTIONS, *MATRIX_FUNCTIONS, *functions)
        self.functions = frozenset(known)
        self.tokens: list[tuple[str, str]] = []
        position = 0
        while source[position:].strip():
            match = _TOKEN.match(source, position)
            if match is None or match.lastgroup is None:
                raise ValueError(f"cannot read {source[position:]!r}")
            self.tokens.append((match.lastgroup, match.group(match.lastgroup)))
            position = match.end()
        self.shapes = shapes
        self.at = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.at] if self.at < len(self.tokens) else ("end", "")

    def take(self, expected: str | None = None) -> str:
        value = self.peek()[1]
        if expected is not None and value != expected:
            raise ValueError(f"expected {expected!r}, found {value!r}")
        self.at += 1
        return value

    def read(self) -> Node:
        node = self.sum()
        if self.peek()[0] != "end":
            raise ValueError(f"unexpected {self.peek()[1]!r}")
        return node

    def sum(self) -> Node:
        node = self.product()
        while self.peek()[1] in ("+", "-", "−"):
            op = "+" if self.take() == "+" else "-"
            node = Op(op, node, self.product())
        return node

    def product(self) -> Node:
        node = self.signed()
        while True:
            kind, value = self.peek()
            if value in ("*", "/", ".*", "⊙", "./"):
                self.take()
                node = Op(value, node, self.signed())
            elif kind in ("number", "name", "call") or value == "(":
                node = Op(" ", node, self.postfix())
            else:
                return node

    def signed(self) -> Node:
        if self.peek()[1] in ("-", "−"):
            self.take()
            return Neg(self.signed())
        return self.postfix()

    def postfix(self) -> Node:
        node, factor = self.transposed()
        if self.peek()[1] not in ("^", "**", ".^"):
            return node
        op = ".^" if self.take() == ".^" else "^"
        exponent = self.exponent()
        if factor is not None:  # `W (x)^2` is W times (x)^2, as derive binds it
            return Op(" ", factor[0], Op(op, factor[1], exponent))
        return Op(op, node, exponent)

    def transposed(self) -> tuple[Node, tuple[Node, Node] | None]:
        node, factor = self.atom()
        while self.peek()[0] == "transpose":
            self.take()
            if factor is not None:  # `W (x + b)^T` is W times (x + b)ᵀ
                node, factor = Op(" ", factor[0], Transpose(factor[1])), None
            else:
                node = Transpose(node)
        return node, factor

    def exponent(self) -> Node:
        if self.peek()[1] in ("-", "−"):
            self.take()
            return Neg(self.exponent())
        base, _ = self.atom()
        if self.peek()[1] in ("^", "**"):
            self.take()
            return Op("^", base, self.exponent())
        return base

    def atom(self) -> tuple[Node, tuple[Node, Node] | None]:
        kind, value = self.peek()
        self.take()
        if kind == "number":
            return Num(value), None
        if kind == "name":
            return Ref(value, self.shapes[value]), None
        if kind == "call":
            self.take("(")
            argument = self.sum()
            more = []
            while self.peek()[1] == ",":
                self.take()
                more.append(self.sum())
            self.take(")")
            if value in self.functions:
                return Call(value, argument, tuple(more)), None
            factor = Ref(value, self.shapes[value])
            return Op(" ", factor, argument), (factor, argument)
        if value == "(":
            node = self.sum()
            self.take(")")
            return node, None
        raise ValueError(f"unexpected {value!r}")


def read_network(source: str) -> GeneratedNetwork:
    """A network file written by ``GeneratedNetwork.yaml`` (a kept regression), read back."""
    document = yaml.safe_load(source)
    givens = tuple(_read_given(name, spec) for name, spec in document["given"].items())
    onehot = set(document.get("onehot") or ())
    givens = tuple(replace(g, role="onehot") if g.name in onehot else g for g in givens)
    shapes = {g.name: g.shape for g in givens}
    functions = tuple(document.get("functions") or ())
    equations = []
    for equation in [*document["forward"], document["loss"]]:
        name, rhs = (part.strip() for part in equation.split("=", 1))
        node = read_expression(rhs, shapes, functions)
        shapes[name] = node.shape
        equations.append((name, node))
    variants = []
    for label, equation in (document.get("variants") or {}).items():
        name, rhs = (part.strip() for part in equation.split("=", 1))
        variants.append((label, name, read_expression(rhs, shapes, functions)))
    first = source.splitlines()[0] if source.startswith("#") else ""
    return GeneratedNetwork(
        givens=givens,
        forward=tuple(equations[:-1]),
        loss=equations[-1],
        wrt=tuple(document["wrt"]),
        variants=tuple(variants),
        functions=functions,
        comment=first,
    )


def _read_given(name: str, spec: str) -> Given:
    kind, *dims = spec.split()
    sizes: list[Dim] = [int(d) if d.isdigit() else d for d in dims]
    sizes += [1] * (2 - len(sizes))
    if kind == "row":  # row c is 1×c
        sizes = [1, sizes[0]]
    return Given(name, (sizes[0], sizes[1]), spec)
