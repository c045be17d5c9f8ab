"""Reading equation and expression text with the grammar in ``grammar.lark``.

User text is only ever read by this grammar (never eval'd or sympified). The result is a
small syntax tree whose nodes remember their offset in the text, so later stages can point
an error at the offending token; ``derive.build`` turns the tree into sympy.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal, cast

import lark
import sympy as sp

from derive import limits
from derive.errors import ExpressionSyntaxError, LimitError, Location
from derive.grammars import lalr_parser

Operator = Literal["+", "-", "*", "/", ".*", "./", "^", ".^"]


@dataclass(frozen=True)
class TextSpan:
    """Where a piece of user text starts, so an offset inside the text becomes a Location.

    ``exact`` is False when characters of the text do not map one to one onto the file (a
    folded or escaped YAML string); errors then point at the start of the text.
    """

    source: str
    line: int | None = None
    column: int | None = None  # 1-based column of the text's first character
    exact: bool = True

    @property
    def start(self) -> Location:
        return Location(self.source, self.line, self.column)

    def location(self, offset: int) -> Location:
        """The Location of the character ``offset`` (0-based) characters into the text."""
        if self.line is None:
            return Location(self.source, None, offset + 1)  # a column within the text itself
        if self.column is None or not self.exact:
            return self.start
        return Location(self.source, self.line, self.column + offset)


@dataclass(frozen=True)
class Number:
    value: sp.Rational
    offset: int


@dataclass(frozen=True)
class Name:
    name: str
    offset: int


@dataclass(frozen=True)
class Call:
    function: str
    argument: Node
    offset: int
    grouped: bool = False  # written inside parentheses of its own: `(W(x + b))^T`
    more: tuple[Node, ...] = ()  # the arguments after the first: leaky_relu(z, 0.01)

    @property
    def arguments(self) -> tuple[Node, ...]:
        return (self.argument, *self.more)


@dataclass(frozen=True)
class Negate:
    operand: Node
    offset: int


@dataclass(frozen=True)
class Transposed:
    operand: Node
    offset: int


@dataclass(frozen=True)
class Binary:
    """``left op right``; juxtaposition is ``*``. ``offset`` is where the operator stands."""

    op: Operator
    left: Node
    right: Node
    offset: int


@dataclass(frozen=True)
class Constant:
    """A matrix constant whose size the context gives: ``ones`` (𝟏), ``zeros`` (𝟎) or
    ``identity`` (I); ``size`` is a dimension written with it (𝟏_n), if any."""

    kind: Literal["ones", "zeros", "identity"]
    size: str | None
    offset: int


@dataclass(frozen=True)
class Summation:
    """Σ_{index = lower}^{upper} body, as a page writes a sum over entries."""

    index: str
    lower: Node
    upper: Node
    body: Node
    offset: int


Node = Number | Name | Call | Negate | Transposed | Binary | Constant | Summation


@dataclass(frozen=True)
class ParsedEquation:
    """``target = rhs`` with the text it was read from."""

    target: str
    rhs: Node
    text: str
    target_offset: int


def parse_equation(text: str, *, span: TextSpan | None = None) -> ParsedEquation:
    """Read ``name = expression``; a syntax error names the column of the offending token."""
    target, rhs = cast(tuple[lark.Token, Node], _parse(text, "equation", span))
    return ParsedEquation(target=str(target), rhs=rhs, text=text.strip(), target_offset=_at(target))


def parse_expression(text: str, *, span: TextSpan | None = None) -> Node:
    """Read a bare expression (no ``name =``), e.g. a student's answer."""
    return cast(Node, _parse(text, "expression", span))


def start_offset(node: Node) -> int:
    """Where the text of ``node`` begins (its leftmost token)."""
    while isinstance(node, Binary | Transposed):  # a loop: a 1000-term sum is 1000 deep
        node = node.left if isinstance(node, Binary) else node.operand
    return node.offset


def nesting(node: Node) -> tuple[int, int]:
    """How deeply ``node`` nests, and the offset of its deepest part: each bracket, call, sign,
    transpose and power is a level; a chain of operators (a + b + c, a b c) is one level, since
    the builders walk it in a loop. Computed without recursion."""
    deepest, at = 0, node.offset
    stack: list[tuple[Node, int]] = [(node, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > deepest:
            deepest, at = depth, item.offset
        match item:
            case Binary():
                chained = isinstance(item.left, Binary) and item.op not in ("^", ".^")
                stack.append((item.left, depth if chained else depth + 1))
                stack.append((item.right, depth + 1))
            case Call():
                stack.extend((argument, depth + 1) for argument in item.arguments)
            case Negate() | Transposed():
                stack.append((item.operand, depth + 1))
            case Summation():
                stack.extend((child, depth + 1) for child in (item.lower, item.upper, item.body))
    return deepest, at


def check_nesting(node: Node, where: TextSpan) -> None:
    """A LimitError if ``node`` nests deeper than ``limits.nesting`` (the builders recurse)."""
    depth, offset = nesting(node)
    if depth > limits.current().nesting:
        message = f"nested too deeply: {depth} levels"
        raise limits.exceeded("nesting", message, location=where.location(offset))


def fully_parenthesized(node: Node) -> str:
    """``node`` written back with every operation in parentheses, to show how it was read."""
    match node:
        case Number():
            return str(node.value)
        case Name():
            return node.name
        case Call():
            inside = ", ".join(fully_parenthesized(argument) for argument in node.arguments)
            return f"{node.function}({inside})"
        case Negate():
            return f"(-{fully_parenthesized(node.operand)})"
        case Transposed():
            return f"{fully_parenthesized(node.operand)}^T"
        case Binary():
            return f"({fully_parenthesized(node.left)} {node.op} {fully_parenthesized(node.right)})"
        case Constant():
            return node.kind if node.size is None else f"{node.kind}_{node.size}"
        case Summation():
            limits = (
                f"{node.index}={fully_parenthesized(node.lower)}..{fully_parenthesized(node.upper)}"
            )
            return f"sum[{limits}]({fully_parenthesized(node.body)})"


_OPERATORS: dict[str, Operator] = {
    "PLUS": "+",
    "MINUS": "-",
    "STAR": "*",
    "SLASH": "/",
    "HADAMARD": ".*",
    "ENTRY_DIVIDE": "./",
    "POWER": "^",
    "ENTRY_POWER": ".^",
}


def _at(token: lark.Token) -> int:
    return token.start_pos or 0


class ToSyntaxTree(lark.Transformer[lark.Token, object]):
    """Turns lark's parse tree into the node classes above, keeping token offsets."""

    def equation(self, children: list[lark.Token | Node]) -> tuple[lark.Token, Node]:
        target, _equals, rhs = children
        assert isinstance(target, lark.Token)
        return target, _node(rhs)

    def expression(self, children: list[Node]) -> Node:
        (node,) = children
        return node

    def number(self, children: list[lark.Token]) -> Number:
        (token,) = children
        _check_digits(str(token), _at(token))
        exact = Fraction(str(token))  # decimal text to an exact fraction: 0.5 -> 1/2
        return Number(sp.Rational(exact.numerator, exact.denominator), _at(token))

    def name(self, children: list[lark.Token]) -> Name:
        (token,) = children
        return Name(str(token), _at(token))

    def call(self, children: list[lark.Token | Node]) -> Call:
        function, argument, *more = children
        assert isinstance(function, lark.Token)
        rest = tuple(_node(item) for item in more)
        return Call(str(function), _node(argument), _at(function), more=rest)

    def group(self, children: list[Node]) -> Node:
        (node,) = children
        return parenthesised(node)  # `(W(x + b))^T` transposes the whole product

    def negate(self, children: list[lark.Token | Node]) -> Negate:
        sign, operand = children
        assert isinstance(sign, lark.Token)
        return Negate(_node(operand), _at(sign))

    def transpose(self, children: list[lark.Token | Node]) -> Transposed:
        operand, mark = children
        assert isinstance(mark, lark.Token)
        return Transposed(_node(operand), _at(mark))

    def binary(self, children: list[lark.Token | Node]) -> Binary:
        left, operator, right = children
        assert isinstance(operator, lark.Token)
        return Binary(_OPERATORS[operator.type], _node(left), _node(right), _at(operator))

    def juxtapose(self, children: list[Node]) -> Binary:
        left, right = children
        return Binary("*", left, right, start_offset(right))


def parenthesised(node: Node) -> Node:
    """``node`` as written inside parentheses of its own: a quantity's "call" W(x + b) is then
    one factor, so a postfix after the parentheses applies to all of it."""
    if isinstance(node, Call) and not node.grouped:
        return Call(node.function, node.argument, node.offset, grouped=True, more=node.more)
    return node


def _node(item: lark.Token | Node) -> Node:
    assert not isinstance(item, lark.Token)
    return item


class NumberTooLongError(Exception):
    """Raised inside the parser for a number literal over ``limits.digits``; ``_parse`` (and the
    LaTeX reader) turn it into a LimitError at ``offset``."""

    def __init__(self, digits: int, offset: int) -> None:
        super().__init__(digits, offset)
        self.digits = digits
        self.offset = offset

    def error(self, where: TextSpan) -> LimitError:
        message = f"a number with {self.digits} digits"
        return limits.exceeded("digits", message, location=where.location(self.offset))


def _check_digits(text: str, offset: int) -> None:
    """Refuse a literal such as 1e999999 or a 5000-digit integer before it becomes a number."""
    mantissa, _, exponent = text.lower().partition("e")
    digits = len(mantissa.replace(".", "").lstrip("0")) or 1
    if exponent:
        power = exponent.lstrip("+-").lstrip("0")
        digits += int(power) if len(power) <= 9 else 10**9
    if digits > limits.current().digits:
        raise NumberTooLongError(digits, offset)


@functools.cache
def parser() -> lark.Lark:
    return lalr_parser("grammar.lark", ["equation", "expression"], ToSyntaxTree())


def _parse(text: str, start: str, span: TextSpan | None) -> object:
    """The transformed parse of ``text`` from the grammar rule ``start``."""
    where = span or TextSpan("<string>")
    limits.check_length(text, what=f"{start}", location=where.start)
    shown = text.strip()
    if not shown:
        raise ExpressionSyntaxError(f"empty {start}", location=where.location(0))
    try:
        result: object = parser().parse(text, start=start)
    except NumberTooLongError as error:
        raise error.error(where) from None
    except lark.exceptions.UnexpectedInput as error:
        offset, message = _describe(error, text, start)
        raise ExpressionSyntaxError(
            f"in '{shown}': {message}", location=where.location(offset)
        ) from None
    tree = cast(tuple[lark.Token, Node], result)[1] if start == "equation" else cast(Node, result)
    check_nesting(tree, where)
    return result


# What the parser expected, in words, in the order a message lists them.
_OPERATOR = "an operator"
_PHRASES: tuple[tuple[str, str], ...] = (
    ("NAME", "a name"),
    ("FUNCTION", "a name"),
    ("NUMBER", "a number"),
    ("LPAR", "'('"),
    *(
        (terminal, _OPERATOR)
        for terminal in (
            "PLUS",
            "STAR",
            "SLASH",
            "HADAMARD",
            "ENTRY_DIVIDE",
            "POWER",
            "ENTRY_POWER",
        )
    ),
    ("COMMA", "','"),
    ("TRANSPOSE", _OPERATOR),
    ("RPAR", "')'"),
    ("EQUALS", "'='"),
    ("$END", "the end"),
)
_OPERAND_PHRASES = ("a name", "a number", "'('")


def _describe(error: lark.exceptions.UnexpectedInput, text: str, start: str) -> tuple[int, str]:
    """The offset of the offending input and a sentence saying what was wrong there."""
    if isinstance(error, lark.exceptions.UnexpectedCharacters):
        offset = error.pos_in_stream or 0
        message = f"unexpected character '{text[offset]}'"
        if text[offset].isalpha():
            message += " (names are written in the letters A-Z, e.g. 'sigmoid', not 'σ')"
        return offset, message
    if isinstance(error, lark.exceptions.UnexpectedToken) and error.token.type != "$END":
        offset, found = _at(error.token), f"'{error.token}'"
    else:
        offset, found = len(text.rstrip()), f"end of the {start}"
    expected = set(getattr(error, "expected", ()))
    phrases: list[str] = []
    for terminal, phrase in _PHRASES:
        if terminal in expected and phrase not in phrases:
            phrases.append(phrase)
    # After a complete operand the grammar could also juxtapose another one; saying so is noise.
    if _OPERATOR in phrases:
        phrases = [p for p in phrases if p not in _OPERAND_PHRASES]
    unclosed = text[:offset].count("(") > text[:offset].count(")")
    phrases = [p for p in phrases if p != ("the end" if unclosed else "')'")]
    phrases = [f"the end of the {start}" if p == "the end" else p for p in phrases]
    message = f"unexpected {found}"
    if phrases:
        message += f"; expected {_or(phrases)}"
    if start == "equation" and "=" not in text[:offset]:
        message += " (an equation reads 'name = expression')"
    return offset, message


def _or(phrases: list[str]) -> str:
    return phrases[0] if len(phrases) == 1 else f"{', '.join(phrases[:-1])} or {phrases[-1]}"
