"""Checking shapes: a parsed expression to sympy, with the shape of every subexpression.

Conventions the engine relies on: dimensions are positive integer symbols shared across a
network; a scalar is a plain ``sp.Symbol`` (shape 1×1), anything else a ``MatrixSymbol``
(vectors are columns); a matrix product whose result is 1×1 becomes ``Trace(product)`` so it
is a scalar; a number added to a matrix is spread over a ``OneMatrix``.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import sympy as sp

from derive import limits
from derive.errors import (
    CycleError,
    DeriveError,
    ShapeError,
    UnknownFunctionError,
    UnknownSymbolError,
    UnsupportedError,
)
from derive.functions import ACTIVATIONS, ENTRY, VECTOR_FUNCTIONS, Activation, elementwise
from derive.latex_names import ALIASES
from derive.model import Quantity, Shape
from derive.parse import (
    Binary,
    Call,
    Constant,
    Name,
    Negate,
    Node,
    Number,
    Operator,
    Summation,
    TextSpan,
    Transposed,
    parenthesised,
    parse_expression,
)

SCALAR: Shape = (sp.Integer(1), sp.Integer(1))
QUOTED = 200  # an error quotes at most this many characters of the expression
NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def dimension_symbol(name: str) -> sp.Symbol:
    """The symbol of the dimension ``name``: a positive integer, the same object everywhere."""
    return sp.Symbol(name, integer=True, positive=True)


def format_shape(shape: Shape) -> str:
    """``k×n`` for messages; a scalar reads ``1×1 (scalar)``."""
    if shape == SCALAR:
        return "1×1 (scalar)"
    rows, cols = shape
    return f"{rows}×{cols}"


def quantity(name: str, shape: Shape) -> Quantity:
    """The Quantity ``name``: a Symbol with no assumptions if 1×1, else a MatrixSymbol."""
    symbol = sp.Symbol(name) if shape == SCALAR else sp.MatrixSymbol(name, *shape)
    return Quantity(name, shape, symbol)


@dataclass(frozen=True)
class Shaped:
    """A sympy expression and its shape; a scalar (1×1) is a plain sympy expression."""

    expr: sp.Basic
    shape: Shape

    @property
    def is_scalar(self) -> bool:
        return self.shape == SCALAR

    @property
    def rows(self) -> sp.Expr:
        return self.shape[0]

    @property
    def cols(self) -> sp.Expr:
        return self.shape[1]


@dataclass(frozen=True)
class Scope:
    """What an expression may refer to, and what its error messages may mention."""

    quantities: Mapping[str, Quantity]
    functions: Mapping[str, sp.FunctionClass] = field(default_factory=dict)  # generic ones
    later: Mapping[str, str] = field(default_factory=dict)  # name -> text of a later equation
    target: str | None = None  # the name the equation being built defines
    dimensions: frozenset[str] = frozenset()


def build_expression(text: str, scope: Scope, *, span: TextSpan | None = None) -> Shaped:
    """A bare expression (e.g. a student's answer) as sympy over the quantities of ``scope``."""
    node = parse_expression(text, span=span)
    return ExpressionBuilder(scope, text.strip(), span or TextSpan("<string>")).build(node)


class ExpressionBuilder:
    """Builds the sympy form of one expression; every error quotes ``text`` (the equation)."""

    def __init__(self, scope: Scope, text: str, span: TextSpan) -> None:
        self.scope = scope
        self.text = text
        self.span = span

    def fail(self, error: type[DeriveError], message: str, offset: int) -> DeriveError:
        return error(f"in '{self.quoted}': {message}", location=self.span.location(offset))

    @property
    def quoted(self) -> str:
        """The expression as an error quotes it: whole, unless it is long."""
        return self.text if len(self.text) <= QUOTED else f"{self.text[: QUOTED - 1]}…"

    def build(self, node: Node) -> Shaped:
        node = self._bind_postfix_to_parentheses(node)
        match node:
            case Number():
                return Shaped(node.value, SCALAR)
            case Name():
                return self.name(node.name, node.offset)
            case Call():
                return self.call(node)
            case Negate():
                operand = self.build(node.operand)
                return Shaped(-operand.expr, operand.shape)
            case Transposed():
                operand = self.build(node.operand)
                if operand.is_scalar:
                    return operand
                return Shaped(operand.expr.T, (operand.cols, operand.rows))
            case Binary(op="^" | ".^"):
                left, right = self.build(node.left), self.build(node.right)
                return self.combine(node, left, right)
            case Binary():
                return self.chain(node)
            case Constant():
                return self.constant(node)
            case Summation():
                return self.summation(node)

    def chain(self, node: Binary) -> Shaped:
        """A chain of operators (a + b - c, a b c) built in a loop from its leftmost operand,
        left to right as the grammar groups it: a 1000-term sum must not recurse 1000 deep."""
        spine: list[Binary] = []
        current: Node = node
        while isinstance(current, Binary) and current.op not in ("^", ".^"):
            spine.append(current)
            current = self._bind_postfix_to_parentheses(current.left)
        result = self.build(current)
        for link in reversed(spine):
            result = self.combine(link, result, self.build(link.right))
        return result

    def combine(self, node: Binary, left: Shaped, right: Shaped) -> Shaped:
        """``left op right`` by the operator's rule; a number it computes must stay small."""
        rule: Callable[[Shaped, Shaped, int], Shaped] = getattr(self, _BINARY_RULES[node.op])
        result = rule(left, right, node.offset)
        limits.check_number(result.expr, location=self.span.location(node.offset))
        return result

    def check_power(self, base: Shaped, exponent: Shaped, offset: int) -> None:
        """Refuse x^(10^8) and 2^100000 before sympy works on them: a numeric exponent is at
        most ``limits.exponent`` in size, a numeric power at most ``limits.digits`` digits."""
        bound = limits.current()
        power = exponent.expr
        if not isinstance(power, sp.Rational):
            return
        where = self.span.location(offset)
        if abs(power) > bound.exponent:
            shown = str(power) if limits.digits_of(power) <= 20 else "a very large number"
            raise limits.exceeded("exponent", f"the exponent {shown} is too large", location=where)
        number = base.expr
        if isinstance(number, sp.Rational) and abs(number) not in (0, 1):
            size = max(abs(int(number.p)), int(number.q))
            digits = math.floor(abs(power) * math.log10(size)) + 1
            if digits > bound.digits:
                raise limits.exceeded("digits", f"a power with {digits} digits", location=where)

    def summation(self, node: Summation) -> Shaped:
        """Σ with limits is LaTeX notation; the network language writes sum(...)."""
        raise self.fail(UnsupportedError, "write a sum as sum(...)", node.offset)

    def constant(self, node: Constant) -> Shaped:
        """𝟏, 𝟎 and I take their size from the context, which only the LaTeX reader infers."""
        raise self.fail(UnsupportedError, f"a {node.kind} matrix needs a size", node.offset)

    def _bind_postfix_to_parentheses(self, node: Node) -> Node:
        """`W (x + b)^T` is W times (x + b)ᵀ: the grammar reads `W (` as a call, so a postfix
        operator on a quantity's "call" moves onto the parenthesised factor."""
        match node:
            case Transposed(operand=Call(grouped=False) as call) if not self._is_function(
                call.function
            ):
                # the argument stands in the call's own parentheses: b (W (x))^T is b (W x)ᵀ
                inner: Node = Transposed(parenthesised(call.argument), node.offset)
            case Binary(op="^" | ".^", left=Call(grouped=False) as call) if not self._is_function(
                call.function
            ):
                inner = Binary(node.op, parenthesised(call.argument), node.right, node.offset)
            case _:
                return node
        return Binary("*", Name(call.function, call.offset), inner, call.offset)

    def _is_function(self, name: str) -> bool:
        return name in ACTIVATIONS or name in VECTOR_FUNCTIONS or name in self.scope.functions

    def name(self, name: str, offset: int) -> Shaped:
        scope = self.scope
        if name in scope.quantities:
            found = scope.quantities[name]
            return Shaped(found.symbol, found.shape)
        if name == scope.target:
            message = f"'{name}' depends on itself: it is used in its own definition"
            raise self.fail(CycleError, message, offset)
        if name in scope.later:
            message = f"'{name}' is used before it is defined (by '{scope.later[name]}')"
            raise self.fail(CycleError, message, offset)
        if name in scope.dimensions:  # a size used as a number: 1/n, sqrt(d)
            return Shaped(dimension_symbol(name), SCALAR)
        raise self.fail(UnknownSymbolError, f"unknown symbol '{name}'{self._hint(name)}", offset)

    def _hint(self, name: str) -> str:
        if name in self._function_names():
            return f" ('{name}' is a function: write {name}(...))"
        if name == "e":
            return " (for Euler's number write exp(x))"
        close = difflib.get_close_matches(name, list(self.scope.quantities), n=1, cutoff=0.5)
        if close:
            return f" (did you mean '{close[0]}'?)"
        return " (neither given nor defined by an earlier equation)"

    def _function_names(self) -> list[str]:
        return sorted({*ACTIVATIONS, *VECTOR_FUNCTIONS, *self.scope.functions})

    def call(self, node: Call) -> Shaped:
        name = node.function
        scope = self.scope
        if name in ACTIVATIONS:
            return self.activation(ACTIVATIONS[name], node)
        if name in scope.functions:
            self._check_arity(node, 1, 1, "x")
            return self.apply(scope.functions[name], self.build(node.argument))
        if name in VECTOR_FUNCTIONS:
            vector_function = VECTOR_FUNCTIONS[name]
            options = vector_function.options
            self._check_arity(node, 1, 1 + len(options), ", ".join(("x", *options)))
            argument = self.build(node.argument)
            extra = [self._option(item, name) for item in node.more]
            try:
                expr, shape = vector_function.build(argument.expr, argument.shape, *extra)
            except ShapeError as error:
                raise self.fail(ShapeError, error.message, node.offset) from None
            return Shaped(expr, shape)
        if name in scope.quantities or name == scope.target or name in scope.later:
            # `W (x + b)`: a quantity before parentheses multiplies them
            if node.more:
                message = f"'{name}' is a quantity, not a function: a product takes no commas"
                raise self.fail(UnsupportedError, message, node.more[0].offset)
            factor = self.name(name, node.offset)
            return self.multiply(factor, self.build(node.argument), node.offset)
        if ALIASES.get(name, name) == "step":  # step(z), H(z), Heaviside(z): 𝕀[z > 0]
            self._check_arity(node, 1, 1, "z")
            return self.apply(sp.Heaviside, self.build(node.argument))
        known = ", ".join(self._function_names())
        message = f"unknown function '{name}'; known: {known} (declare others under 'functions')"
        raise self.fail(UnknownFunctionError, message, node.offset)

    def activation(self, activation: Activation, node: Call) -> Shaped:
        """A table function of its arguments: x, then scalar parameters (leaky_relu(x, 0.2))."""
        least, most = activation.arity
        self._check_arity(node, least, most, activation.usage)
        arguments = [self.build(item) for item in node.arguments]
        try:
            expr, shape = activation.apply(*((a.expr, a.shape) for a in arguments))
        except ShapeError as error:
            raise self.fail(ShapeError, error.message, node.offset) from None
        return Shaped(expr, shape)

    def _check_arity(self, node: Call, least: int, most: int, usage: str) -> None:
        count = len(node.arguments)
        if least <= count <= most:
            return
        wanted = f"{least}" if least == most else f"{least} to {most}"
        plural = "" if wanted == "1" else "s"
        message = (
            f"{node.function} takes {wanted} argument{plural}, not {count}: "
            f"{node.function}({usage})"
        )
        raise self.fail(UnsupportedError, message, node.offset)

    def _option(self, node: Node, function: str) -> sp.Basic:
        """A number that selects how a function works (an axis, the p of a norm)."""
        value = self.build(node)
        if not value.is_scalar or not isinstance(value.expr, sp.Integer):
            message = f"{function}'s option must be a whole number such as 0 or 1"
            raise self.fail(UnsupportedError, message, _offset(node))
        return value.expr

    @staticmethod
    def apply(function: sp.FunctionClass, argument: Shaped) -> Shaped:
        # a scalar function of a vector or matrix applies entry by entry
        if argument.is_scalar:
            return Shaped(function(argument.expr), SCALAR)
        return Shaped(elementwise(function, argument.expr), argument.shape)

    def add(self, a: Shaped, b: Shaped, offset: int) -> Shaped:
        a, b = broadcast(a, b)
        if a.shape != b.shape:
            message = f"cannot add {format_shape(a.shape)} and {format_shape(b.shape)}"
            raise self._sum_error(message, a, b, offset)
        return Shaped(self.combine_sum(a.expr, b.expr), a.shape)

    def subtract(self, a: Shaped, b: Shaped, offset: int) -> Shaped:
        a, b = broadcast(a, b)
        if a.shape != b.shape:
            message = f"cannot subtract {format_shape(b.shape)} from {format_shape(a.shape)}"
            raise self._sum_error(message, a, b, offset)
        return Shaped(self.combine_sum(a.expr, self.combine_product(-1, b.expr)), a.shape)

    @staticmethod
    def combine_sum(a: sp.Basic, b: sp.Basic) -> sp.Basic:
        """a + b in sympy (a subclass may build it without sympy's evaluation)."""
        return a + b

    @staticmethod
    def combine_product(a: sp.Basic, b: sp.Basic) -> sp.Basic:
        """a b in sympy, a matrix product or a scaling."""
        return a * b

    def _sum_error(self, message: str, a: Shaped, b: Shaped, offset: int) -> DeriveError:
        if a.is_scalar or b.is_scalar:
            message += (
                "; a number or a named scalar is added to every entry (1 - y, X w + b), "
                "a scalar expression is not: name it first if that is meant"
            )
        return self.fail(ShapeError, message, offset)

    def multiply(self, a: Shaped, b: Shaped, offset: int) -> Shaped:
        if a.is_scalar and b.is_scalar:
            return Shaped(a.expr * b.expr, SCALAR)
        if a.is_scalar or b.is_scalar:  # scaling: c A
            shape = b.shape if a.is_scalar else a.shape
            return Shaped(self.combine_product(a.expr, b.expr), shape)
        if a.cols != b.rows:
            message = (
                f"cannot multiply {format_shape(a.shape)} by {format_shape(b.shape)}: "
                f"{a.cols} columns against {b.rows} rows "
                "(write ^T for a transpose, .* for an entrywise product)"
            )
            raise self.fail(ShapeError, message, offset)
        product = self.combine_product(a.expr, b.expr)
        if (a.rows, b.cols) == SCALAR:  # a 1×1 product such as wᵀx is a scalar
            return Shaped(sp.Trace(product), SCALAR)
        return Shaped(product, (a.rows, b.cols))

    def divide(self, a: Shaped, b: Shaped, offset: int) -> Shaped:
        if not b.is_scalar:
            message = f"cannot divide by {format_shape(b.shape)}: a divisor must be a scalar"
            raise self.fail(ShapeError, message, offset)
        if b.expr.is_zero:
            raise self.fail(UnsupportedError, "division by zero", offset)
        inverse = b.expr**-1
        return Shaped(a.expr * inverse if a.is_scalar else inverse * a.expr, a.shape)

    def hadamard(self, a: Shaped, b: Shaped, offset: int) -> Shaped:
        if a.is_scalar or b.is_scalar:
            return self.multiply(a, b, offset)
        a, b = broadcast(a, b)
        if a.shape != b.shape:
            message = (
                f"cannot multiply {format_shape(a.shape)} and {format_shape(b.shape)} "
                "entry by entry: the shapes differ"
            )
            raise self.fail(ShapeError, message, offset)
        return Shaped(sp.HadamardProduct(a.expr, b.expr), a.shape)

    def entrywise_divide(self, a: Shaped, b: Shaped, offset: int) -> Shaped:
        """A ⊘ B = A ⊙ (1 ⊘ B), the entrywise reciprocal kept as a function of B."""
        if b.is_scalar:
            return self.divide(a, b, offset)
        if a.is_scalar:
            a = Shaped(a.expr * sp.OneMatrix(*b.shape), b.shape)
        a, b = broadcast(a, b)
        reciprocal = Shaped(elementwise(sp.Lambda(ENTRY, 1 / ENTRY), b.expr), b.shape)
        return self.hadamard(a, reciprocal, offset)

    def entrywise_power(self, a: Shaped, b: Shaped, offset: int) -> Shaped:
        """A^∘p: every entry of A to the scalar power p."""
        if a.is_scalar:
            return self.power(a, b, offset)
        if not b.is_scalar:
            message = f"an exponent must be a scalar, not {format_shape(b.shape)}"
            raise self.fail(ShapeError, message, offset)
        self.check_power(a, b, offset)
        return Shaped(elementwise(sp.Lambda(ENTRY, ENTRY**b.expr), a.expr), a.shape)

    def power(self, a: Shaped, b: Shaped, offset: int) -> Shaped:
        if not a.is_scalar:
            message = (
                f"cannot raise {format_shape(a.shape)} to a power: ^ is for scalars "
                "(write x^T for a transpose, x .* x for an entrywise square)"
            )
            raise self.fail(ShapeError, message, offset)
        if not b.is_scalar:
            message = f"an exponent must be a scalar, not {format_shape(b.shape)}"
            raise self.fail(ShapeError, message, offset)
        self.check_power(a, b, offset)
        return Shaped(a.expr**b.expr, SCALAR)


def _offset(node: Node) -> int:
    return getattr(node, "offset", 0)


def broadcast(a: Shaped, b: Shaped) -> tuple[Shaped, Shaped]:
    """``a`` and ``b`` spread to one shape where one is a row, a column or a scalar beside a
    bigger operand, as numpy broadcasts: X W + b with b 1×H (or an H-vector) is X W + 𝟏 b;
    W X + b with b k×1 is W X + b 𝟏ᵀ; X w + b with b a scalar is X w + b 𝟏. The spreading is a
    product with 𝟏, so its adjoint is the sum over the broadcast axis (δ_b = 𝟏ᵀ δ_Z). Operands
    that fit no rule are left as they are, for the caller's shape error."""
    return _spread(a, over=b), _spread(b, over=a)


def _spread(x: Shaped, *, over: Shaped) -> Shaped:
    """``x`` spread over the shape of ``over``, if one of the broadcast rules applies."""
    if over.is_scalar or x.shape == over.shape:
        return x
    rows, cols = over.shape
    if x.is_scalar:
        # c + A = c 𝟏 + A for a number or a named scalar (b, b/2), never a scalar expression
        # such as wᵀx or W2 h + b2: adding that to a vector is more often a slip than meant
        if x.expr.free_symbols and (isinstance(x.expr, sp.Add) or x.expr.has(sp.Trace)):
            return x
        return Shaped(x.expr * sp.OneMatrix(rows, cols), over.shape)
    if x.shape == (1, cols) and rows != 1:  # a row across the rows: 𝟏 b
        return Shaped(sp.OneMatrix(rows, 1) * x.expr, over.shape)
    if x.shape == (rows, 1) and cols != 1:  # a column across the columns: b 𝟏ᵀ
        return Shaped(x.expr * sp.OneMatrix(1, cols), over.shape)
    if x.shape == (cols, 1) and rows != 1 and cols != rows:  # an H-vector as numpy's 1-D bias
        return Shaped(sp.OneMatrix(rows, 1) * x.expr.T, over.shape)
    return x


# The builder method for each operator (looked up on the instance, so a subclass's rule wins).
_BINARY_RULES: dict[Operator, str] = {
    "+": "add",
    "-": "subtract",
    "*": "multiply",
    "/": "divide",
    ".*": "hadamard",
    "./": "entrywise_divide",
    "^": "power",
    ".^": "entrywise_power",
}
