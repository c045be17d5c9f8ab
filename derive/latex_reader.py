"""Reading derive's LaTeX (and a student's) back into sympy, with the grammar in ``latex.lark``.

The reader turns LaTeX into the syntax tree of ``derive.parse`` and builds it with the same
``ExpressionBuilder`` that reads network files, so a formula on the page, a plain-text answer
and a LaTeX answer all mean the same thing. What LaTeX adds to the plain language:

- names as the printer writes them (W_{1}, \\delta_{s}, \\hat{y}, \\mathit{reg}, \\gamma_{1}),
  matched against the scope by printing each quantity's own name (``latex_name``);
- the constants 𝟏, 𝟎 and I, whose size is inferred from where they stand (1ᵀ x, 𝟏 − σ(z),
  c I + A) or written as a subscript (\\mathbf{1}_{n});
- ⊙, ⊘, A^{∘p}, A^{-1}, \\frac, \\sqrt, |x|, ‖x‖, 𝕀[a > b], σ'(z), diag, tr, e^{x}.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import cast

import lark
import sympy as sp

from derive import limits
from derive.errors import ExpressionSyntaxError
from derive.grammars import lalr_parser
from derive.latex_builder import LatexBuilder, PoweredCall, PoweredName
from derive.latex_names import normalize_name
from derive.model import Shape
from derive.parse import (
    Binary,
    Call,
    Constant,
    Name,
    Node,
    NumberTooLongError,
    Operator,
    Summation,
    TextSpan,
    check_nesting,
    start_offset,
)
from derive.parse import ToSyntaxTree as PlainSyntaxTree
from derive.shapes import Scope, Shaped

# Layout the printer (or a student) puts in a formula; blanked before parsing, so offsets hold.
_LAYOUT = re.compile(
    r"\\begin\{aligned\*?\}|\\end\{aligned\*?\}|\\begin\{split\}|\\end\{split\}|\\\\"
    r"|&|\\(?:quad|qquad|displaystyle|textstyle|nonumber|notag)(?![A-Za-z])|\\[,;:! ]"
    r"|\\left\.|\\right\.|~"
)

_OPERATORS: dict[str, Operator] = {
    "PLUS": "+",
    "MINUS": "-",
    "TIMES": "*",
    "HADAMARD": ".*",
    "OSLASH": "./",
}


def _at(token: lark.Token) -> int:
    return token.start_pos or 0


class _ToSyntaxTree(PlainSyntaxTree):
    """lark's parse tree to ``derive.parse`` nodes, keeping offsets into the LaTeX: numbers,
    groups, signs, transposes and juxtaposition as in the network language; the rest here."""

    def name(self, children: list[lark.Token]) -> Name:
        (token,) = children
        return Name(normalize_name(str(token)), _at(token))

    def call(self, children: list[lark.Token | Node]) -> Call:
        callee, argument, *more = children
        assert isinstance(callee, lark.Token)
        rest = tuple(_node(item) for item in more)
        return Call(normalize_name(str(callee)), _node(argument), _at(callee), more=rest)

    def call_power(self, children: list[lark.Token | Node]) -> Binary:
        callee, exponent, argument, *more = children
        assert isinstance(callee, lark.Token)
        rest = tuple(_node(item) for item in more)
        # grouped: the power belongs to the name, as in tanh^{2}(x) = (tanh(x))^2; for a
        # quantity z^{3}(a + b) the builder makes it z³ (a + b)
        name = normalize_name(str(callee))
        call = Call(name, _node(argument), _at(callee), grouped=True, more=rest)
        return PoweredCall("^", call, _node(exponent), start_offset(_node(exponent)))

    def group(self, children: list[Node]) -> Node:
        (node,) = children
        if isinstance(node, PoweredCall):  # (w^{2}(1 - p))^{2} squares the whole product
            return PoweredName(node.op, node.left, node.right, node.offset)
        return super().group(children)

    def binary(self, children: list[lark.Token | Node]) -> Binary:
        left, operator, right = children
        assert isinstance(operator, lark.Token)
        return Binary(_OPERATORS[operator.type], _node(left), _node(right), _at(operator))

    def power(self, children: list[Node]) -> Binary:
        base, exponent = children
        return Binary("^", base, exponent, start_offset(exponent))

    def entrywise_power(self, children: list[lark.Token | Node]) -> Binary:
        base, circ, exponent = children
        assert isinstance(circ, lark.Token)
        return Binary(".^", _node(base), _node(exponent), _at(circ))

    def fraction(self, children: list[lark.Token | Node]) -> Binary:
        bar, numerator, denominator = children
        assert isinstance(bar, lark.Token)
        return Binary("/", _node(numerator), _node(denominator), _at(bar))

    def square_root(self, children: list[lark.Token | Node]) -> Call:
        root, argument = children
        assert isinstance(root, lark.Token)
        return Call("sqrt", _node(argument), _at(root))

    def absolute(self, children: list[lark.Token | Node]) -> Call:
        bar, argument, _ = children
        assert isinstance(bar, lark.Token)
        return Call("abs", _node(argument), _at(bar))

    def norm(self, children: list[lark.Token | Node]) -> Call:
        bar, argument, _, *order = children  # ‖x‖ or ‖x‖_{1}
        assert isinstance(bar, lark.Token)
        more = tuple(_node(self.number([p])) for p in order if isinstance(p, lark.Token))
        return Call("norm", _node(argument), _at(bar), more=more)

    def comparison(self, children: list[lark.Token | Node]) -> Binary | Call:
        left, relation, right = children
        assert isinstance(relation, lark.Token)
        if str(relation) == "=":  # 𝕀[x = max(x)]: which entry a max picked
            return Call("is_equal", _node(left), _at(relation), more=(_node(right),))
        # a > b holds where a − b > 0; a < b where b − a > 0 (the step of the difference)
        greater = str(relation).lstrip("\\").startswith(("g", ">"))
        first, second = (left, right) if greater else (right, left)
        return Binary("-", _node(first), _node(second), _at(relation))

    def indicator(self, children: list[lark.Token | Node]) -> Call:
        head, difference = children
        assert isinstance(head, lark.Token)
        if head.type == "NUMBER" and str(head) != "1":
            raise ExpressionSyntaxError(f"'{head}[...]' is not an indicator: write 1[...]")
        if isinstance(difference, Call) and difference.function == "is_equal":
            return difference
        return Call("step", _node(difference), _at(head))

    def summation(self, children: list[lark.Token | Node]) -> Summation:
        head, index, lower, upper, body = children
        assert isinstance(head, lark.Token) and isinstance(index, lark.Token)
        return Summation(str(index), _node(lower), _node(upper), _node(body), _at(head))

    def expectation(self, children: list[lark.Token | Node]) -> Call:
        head, argument = children
        assert isinstance(head, lark.Token)
        return Call("E", _node(argument), _at(head))

    def ones(self, children: list[lark.Token]) -> Constant:
        (token,) = children
        return Constant("ones", _subscript(str(token)), _at(token))

    def zeros(self, children: list[lark.Token]) -> Constant:
        (token,) = children
        return Constant("zeros", _subscript(str(token)), _at(token))


def _subscript(token: str) -> str | None:
    _, found, subscript = token.partition("_")
    return subscript.strip().strip("{}").strip() if found else None


def _node(item: lark.Token | Node) -> Node:
    assert not isinstance(item, lark.Token)
    return item


@functools.cache
def parser() -> lark.Lark:
    return lalr_parser("latex.lark", "expression", _ToSyntaxTree())


def parse_latex(text: str, *, span: TextSpan | None = None) -> Node:
    """The syntax tree of a LaTeX formula; a syntax error names the offending column."""
    where = span or TextSpan("<latex>")
    limits.check_length(text, what="formula", location=where.start)
    blanked = _LAYOUT.sub(lambda m: " " * len(m.group()), text)
    if not blanked.strip():
        raise ExpressionSyntaxError("empty formula", location=where.location(0))
    try:
        node = cast(Node, parser().parse(blanked))
    except NumberTooLongError as error:
        raise error.error(where) from None
    except lark.exceptions.UnexpectedInput as error:
        offset = getattr(error, "pos_in_stream", None) or 0
        token = getattr(error, "token", None)
        if token is not None and token.type == "$END":
            offset = len(text.rstrip())
        elif token is not None and getattr(token, "start_pos", None) is not None:
            offset = token.start_pos
        shown = text[offset : offset + 16].strip()
        found = f"'{shown}'" if shown else "the end"
        raise ExpressionSyntaxError(
            f"in '{text.strip()}': cannot read the LaTeX at {found}",
            location=where.location(offset),
        ) from None
    check_nesting(node, where)
    return node


def read_latex(
    text: str,
    scope: Scope,
    *,
    span: TextSpan | None = None,
    shape: Shape | None = None,
    indices: Mapping[str, sp.Symbol] | None = None,
) -> Shaped:
    """A LaTeX formula as sympy over the quantities of ``scope``, with its shape.

    ``shape`` is the shape the formula should have (it sizes a lone 𝟎 or 𝟏); ``indices`` the
    entry labels it may use (``{"i": i}`` for x_{i}).
    """
    node = parse_latex(text, span=span)
    builder = LatexBuilder(scope, text.strip(), span or TextSpan("<latex>"), indices or {})
    return builder.finish(node, shape)
