"""LaTeX of an equation as the user wrote it: their order of terms and factors, their numbers.

The setup of a solution restates the network's equations. Printed from sympy they come out in
sympy's canonical order (``c = c_prev ⊙ f + g ⊙ i`` for ``c = f .* c_prev + i .* g``, and
``1ᵀ W^∘2 1`` for ``sum(W .* W)``); a reader comparing the key with the exercise then has to
check that the two say the same thing. So the setup is printed from the parsed text instead
(``derive.parse``), in derive's notation: names through ``latex_name``, functions as
``derive.printing`` names them, ⊙ for ``.*``, ᵀ for ``^T``, a fraction for ``/``. Parentheses
stand exactly where the tree needs them: by precedence, plus where the user grouped an operand
that the grammar would otherwise group differently (``a - (b - c)``, ``W (x y)``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from enum import IntEnum

from derive.errors import DeriveError
from derive.functions import ACTIVATIONS
from derive.model import Equation, Line, Tex
from derive.parse import (
    Binary,
    Call,
    Name,
    Negate,
    Node,
    Number,
    Transposed,
    parenthesised,
    parse_equation,
)
from derive.printing import FUNCTION_TEX, latex_name


class Precedence(IntEnum):
    """How tightly a printed form holds together, loosest first (as in ``grammar.lark``)."""

    SUM = 1  # a + b, a - b
    PRODUCT = 2  # a b, a \odot b
    SIGNED = 3  # -a
    FRACTION = 4  # \frac{a}{b}: whole beside a factor or after a sign, not under ^
    POSTFIX = 5  # a^{\top}, a^{2}, e^{x}
    ATOM = 6  # a name, a number, f(x), \left\|x\right\|


@dataclass(frozen=True)
class Printed:
    """A piece of LaTeX and how tightly it holds together."""

    tex: str
    precedence: Precedence
    kind: str = ""  # for a product, its BinaryForm's kind


@dataclass(frozen=True)
class BinaryForm:
    """How an infix operator prints: the LaTeX between its operands and its precedence.

    Products of different kinds (⊙ and the matrix product) are bracketed where they meet, so
    ``(W x) ⊙ m`` never reads as ``W (x ⊙ m)``; ``kind`` names the family.
    """

    tex: str
    precedence: Precedence
    kind: str


# keyed by the parser's operator (``derive.parse.Operator``); / and ^ have forms of their own
BINARY_FORMS: dict[str, BinaryForm] = {
    "+": BinaryForm(" + ", Precedence.SUM, "sum"),
    "-": BinaryForm(" - ", Precedence.SUM, "sum"),
    "*": BinaryForm(" ", Precedence.PRODUCT, "matrix product"),
    ".*": BinaryForm(r" \odot ", Precedence.PRODUCT, "entrywise"),
    "./": BinaryForm(r" \oslash ", Precedence.PRODUCT, "entrywise"),
}

# What marks a power: x^{2}, and the entrywise X^{\circ 2}.
POWER_MARKS: dict[str, str] = {"^": "", ".^": r"\circ "}

# Parenthesised content holding any of these is tall: \left( … \right) around it.
_TALL = (r"\frac", r"\left", r"\sqrt", r"\sum")

_NUMBER_TOKEN = re.compile(r"(\d+(?:\.\d+)?|\.\d+)(?:[eE]([+-]?\d+))?")


def parenthesized(tex: str) -> str:
    r"""``(tex)``, or ``\left(tex\right)`` when the content is tall."""
    if any(mark in tex for mark in _TALL):
        return rf"\left({tex}\right)"
    return f"({tex})"


def _applied(name: str) -> Callable[[str], Printed]:
    """A function written by name before its argument: \\sigma(z), \\operatorname{sum}(x)."""
    return lambda argument: Printed(rf"{name}{parenthesized(argument)}", Precedence.ATOM)


def _exp(argument: str) -> Printed:
    # Euler's number upright: an italic e could be a quantity named e (a loss often is)
    return Printed(rf"\mathrm{{e}}^{{{argument}}}", Precedence.POSTFIX)


def _norm(argument: str) -> Printed:
    return Printed(rf"\left\|{argument}\right\|", Precedence.ATOM)


def _activation_forms() -> dict[str, Callable[[str], Printed]]:
    """Each activation as ``derive.printing`` names its sympy function."""
    forms: dict[str, Callable[[str], Printed]] = {}
    for name, activation in ACTIVATIONS.items():
        printed = FUNCTION_TEX.get(activation.function)
        forms[name] = _applied(printed or rf"\operatorname{{{name}}}")
    return forms


# The built-in functions of the equation language, as the key writes them.
FUNCTION_FORMS: dict[str, Callable[[str], Printed]] = {
    **_activation_forms(),
    "exp": _exp,
    "sqrt": lambda argument: Printed(rf"\sqrt{{{argument}}}", Precedence.ATOM),
    "abs": lambda argument: Printed(rf"\left|{argument}\right|", Precedence.ATOM),
    "sum": _applied(r"\operatorname{sum}"),
    "mean": _applied(r"\operatorname{mean}"),
    "tr": _applied(r"\operatorname{tr}"),
    "det": _applied(r"\det"),
    "logdet": lambda argument: Printed(
        rf"\log\left(\det\left({argument}\right)\right)", Precedence.ATOM
    ),
    "inv": lambda argument: Printed(rf"\left({argument}\right)^{{-1}}", Precedence.POSTFIX),
    "diag": _applied(r"\operatorname{diag}"),
    "norm1": lambda argument: Printed(rf"\left\|{argument}\right\|_{{1}}", Precedence.ATOM),
    "norm2": _norm,
    "norm": _norm,
    "softmax": _applied(r"\operatorname{softmax}"),
}


def number_tex(token: str) -> Printed:
    r"""A number as the user wrote it: ``0.5`` stays 0.5, ``.5`` is 0.5, ``1e-5`` is 10^{-5}."""
    match = _NUMBER_TOKEN.fullmatch(token)
    if match is None:
        raise ValueError(f"not a number token: {token!r}")
    mantissa, exponent = match.groups()
    if mantissa.startswith("."):
        mantissa = "0" + mantissa
    if exponent is None:
        return Printed(mantissa, Precedence.ATOM)
    power = f"10^{{{int(exponent)}}}"
    if mantissa == "1":
        return Printed(power, Precedence.POSTFIX)
    return Printed(rf"{mantissa} \cdot {power}", Precedence.PRODUCT)


def _number_from_value(node: Number) -> Printed:
    """A number known only as its exact value: an integer, a terminating decimal or p/q."""
    p, q = int(node.value.p), int(node.value.q)
    twos, fives = _multiplicity(q, 2), _multiplicity(q, 5)
    if q == 1:
        return Printed(str(p), Precedence.ATOM)
    if q != 2**twos * 5**fives:
        return Printed(rf"\frac{{{p}}}{{{q}}}", Precedence.FRACTION)
    places = max(twos, fives)  # 3/8 = 375/10^3
    digits = str(p * 10**places // q).rjust(places + 1, "0")
    return Printed(f"{digits[:-places]}.{digits[-places:]}", Precedence.ATOM)


def _multiplicity(n: int, prime: int) -> int:
    """How many times ``prime`` divides ``n``."""
    count = 0
    while n % prime == 0:
        n //= prime
        count += 1
    return count


class SourcePrinter:
    """LaTeX of a parsed expression (``derive.parse`` nodes), keeping the user's structure.

    ``text`` is what the nodes were parsed from (so numbers keep their digits); ``quantities``
    are the names that multiply rather than call when parentheses follow (``W (x + b)``).
    """

    def __init__(
        self,
        *,
        text: str | None = None,
        quantities: Collection[str] = (),
    ) -> None:
        self.text = text
        self.quantities = frozenset(quantities)

    def doprint(self, node: Node) -> Tex:
        return Tex(self.print(node).tex)

    def print(self, node: Node) -> Printed:
        node = self._as_product(node)
        match node:
            case Number():
                return self._print_number(node)
            case Name():
                return self._print_name(node)
            case Call():
                return self._print_call(node)
            case Negate():
                return self._print_negate(node)
            case Transposed():
                return self._print_transposed(node)
            case Binary():
                return self._print_binary(node)
            case _:
                raise TypeError(f"no LaTeX form for the syntax node {type(node).__name__}")

    def _is_function(self, name: str) -> bool:
        """A call of a quantity's name is a product (the builder reads `W (x + b)` so)."""
        return name in FUNCTION_FORMS or name not in self.quantities

    def _as_product(self, node: Node) -> Node:
        """`W (x + b)` is W times (x + b), and `W (x + b)^T` is W times (x + b)ᵀ, exactly as
        ``derive.shapes`` builds them (the grammar reads `W (` as a call)."""
        match node:
            case Call() as call if not self._is_function(call.function):
                return Binary("*", Name(call.function, call.offset), call.argument, call.offset)
            case Transposed(operand=Call(grouped=False) as call) if not self._is_function(
                call.function
            ):
                # the argument stands in the call's own parentheses: b (W (x))^T is b (W x)ᵀ
                inner: Node = Transposed(parenthesised(call.argument), node.offset)
            case Binary(op="^", left=Call(grouped=False) as call) if not self._is_function(
                call.function
            ):
                inner = Binary("^", parenthesised(call.argument), node.right, node.offset)
            case _:
                return node
        return Binary("*", Name(call.function, call.offset), inner, call.offset)

    # --- leaves ------------------------------------------------------------------------------

    def _print_number(self, node: Number) -> Printed:
        if self.text is not None:
            match = _NUMBER_TOKEN.match(self.text, node.offset)
            if match is not None:
                return number_tex(match[0])
        return _number_from_value(node)

    def _print_name(self, node: Name) -> Printed:
        tex = latex_name(node.name)
        # a name that prints with a superscript of its own cannot take another one
        return Printed(tex, Precedence.POSTFIX if "^" in tex else Precedence.ATOM)

    def _print_call(self, node: Call) -> Printed:
        if node.more:  # sum(X, 1) and other functions with options
            return self._print_call_with_options(node)
        argument = self.print(node.argument).tex
        form = FUNCTION_FORMS.get(node.function)
        if form is not None:
            return form(argument)
        return _applied(latex_name(node.function))(argument)  # a declared generic function

    def _print_call_with_options(self, node: Call) -> Printed:
        """sum(X, 1) is X 𝟏 and sum(X, 0) is 𝟏ᵀ X, as a key writes row and column sums;
        others keep their options: softmax(Z, 0)."""
        options = [self.print(item).tex for item in node.more]
        if node.function == "norm" and options in (["1"], ["2"]):
            argument = self.print(node.argument).tex
            return Printed(rf"\left\|{argument}\right\|_{{{options[0]}}}", Precedence.ATOM)
        if node.function == "sum" and options in (["0"], ["1"]):
            operand = self._operand(node.argument, above=Precedence.PRODUCT)
            if options == ["1"]:
                return Printed(rf"{operand} \mathbf{{1}}", Precedence.PRODUCT)
            return Printed(rf"\mathbf{{1}}^{{\top}} {operand}", Precedence.PRODUCT)
        inside = ", ".join([self.print(node.argument).tex, *options])
        activation = ACTIVATIONS.get(node.function)  # leaky_relu(x, 0.2), \max(a, b)
        printed = FUNCTION_TEX.get(activation.function) if activation else None
        name = printed or rf"\operatorname{{{node.function}}}"
        return Printed(rf"{name}\left({inside}\right)", Precedence.ATOM)

    # --- operators ---------------------------------------------------------------------------

    def _operand(self, node: Node, *, above: Precedence) -> str:
        """``node`` printed, in parentheses unless it holds together tighter than ``above``."""
        printed = self.print(node)
        if printed.precedence > above:
            return printed.tex
        return parenthesized(printed.tex)

    def _print_negate(self, node: Negate) -> Printed:
        # -x^2, -f(x), -\frac{a}{b}; but -(a b), -(-x)
        return Printed(
            f"-{self._operand(node.operand, above=Precedence.SIGNED)}", Precedence.SIGNED
        )

    def _print_transposed(self, node: Transposed) -> Printed:
        operand = self._operand(node.operand, above=Precedence.POSTFIX)
        return Printed(rf"{operand}^{{\top}}", Precedence.POSTFIX)

    def _print_binary(self, node: Binary) -> Printed:
        if node.op in POWER_MARKS:
            base = self._operand(node.left, above=Precedence.POSTFIX)
            exponent = POWER_MARKS[node.op] + self.print(node.right).tex
            return Printed(rf"{base}^{{{exponent}}}", Precedence.POSTFIX)
        if node.op == "/":  # the fraction shows the grouping: no parentheses inside
            numerator, denominator = self.print(node.left).tex, self.print(node.right).tex
            return Printed(rf"\frac{{{numerator}}}{{{denominator}}}", Precedence.FRACTION)
        # a chain (a + b - c, a b c) is printed in a loop from its leftmost operand: a
        # 1000-term sum must not recurse 1000 deep
        spine = [node]
        bottom = self._as_product(node.left)
        while isinstance(bottom, Binary) and bottom.op not in POWER_MARKS and bottom.op != "/":
            spine.append(bottom)
            bottom = self._as_product(bottom.left)
        printed = self.print(bottom)
        for link in reversed(spine):
            printed = self._link(link, printed)
        return printed

    def _link(self, node: Binary, printed_left: Printed) -> Printed:
        """``left op right`` with ``left`` already printed."""
        form = BINARY_FORMS[node.op]
        left = self._left_operand(printed_left, form)
        right = self._right_operand(node.right, form)
        if (
            form.kind == printed_left.kind == "matrix product"
            and left == printed_left.tex
            and right.startswith(("(", r"\left("))
        ):
            # (w x) (x + y): without its parentheses the product reads w (x (x + y)), the
            # name before the parentheses taking them as its argument, which a 1×1 w x
            # (a scalar) does not survive
            left = parenthesized(left)
        between = form.tex
        if form.tex == " " and _reads_as_one_number(left, right):
            between = r" \cdot "
        return Printed(f"{left}{between}{right}", form.precedence, form.kind)

    def _left_operand(self, printed: Printed, form: BinaryForm) -> str:
        """Left associative: a left operand at the same level needs no parentheses (a - b - c,
        -a b), unless it is a product of another kind: (a ⊙ b) c."""
        other_kind = printed.precedence == form.precedence and printed.kind != form.kind
        if printed.precedence >= form.precedence and not other_kind:
            return printed.tex
        return parenthesized(printed.tex)

    def _right_operand(self, node: Node, form: BinaryForm) -> str:
        """A right operand at the same level was grouped by the user (a - (b - c), W (x y));
        one that starts with a sign is bracketed so that no − − or a -b appears."""
        printed = self.print(node)
        if printed.precedence > form.precedence and not printed.tex.startswith("-"):
            return printed.tex
        return parenthesized(printed.tex)


def _reads_as_one_number(left: str, right: str) -> bool:
    """2 3 and 2 \\frac{1}{2} would read as 23 and a mixed number: they need a \\cdot."""
    if right[:1].isdigit() or right.startswith("."):
        return True
    return left[-1:].isdigit() and right.startswith(r"\frac")


def source_tex(
    node: Node,
    *,
    text: str | None = None,
    quantities: Collection[str] = (),
) -> Tex:
    """LaTeX of a parsed expression as the user wrote it (see ``SourcePrinter``)."""
    return SourcePrinter(text=text, quantities=quantities).doprint(node)


def equation_tex(text: str, *, quantities: Collection[str] = ()) -> Tex:
    """The right side of the equation ``text`` (``name = expression``) as the user wrote it."""
    parsed = parse_equation(text)
    return source_tex(parsed.rhs, text=text, quantities=quantities)


def setup_line(equation: Equation, *, quantities: Collection[str]) -> Line:
    """``target = rhs`` for a solution's setup, the rhs as the user wrote it.

    The line keeps the sympy right side as ``value`` (checks that rerun the forward pass need
    it); an equation whose text does not read back (one built in code) prints from sympy.
    """
    try:
        parsed = parse_equation(equation.text)
    except DeriveError:
        return Line(equation.target.symbol, equation.rhs)
    if parsed.target != equation.target.name:
        return Line(equation.target.symbol, equation.rhs)
    written = source_tex(parsed.rhs, text=equation.text, quantities=quantities)
    return Line(equation.target.symbol, written, value=equation.rhs)
