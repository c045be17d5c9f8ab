"""Building a LaTeX formula's syntax tree into sympy: names as printed, sizes from context.

``LatexBuilder`` is the network files' ``ExpressionBuilder`` with what a page adds:

- a name is found by printing every quantity's own name (``latex_name``) and normalising both
  sides, so W_{1}, W_1 and and W1 all find W1; a run of letters that is
  no name (``xW``) is read as a product of names;
- 𝟏, 𝟎 and I get sizes that are unknowns ("free" dimensions) until an operation ties them
  to a neighbour: 𝟏 − σ(z) takes the shape of z, 1ᵀ x the length of x, c I + A the size of A.
  A vector of ones left with its length unknown is an error that asks for \\mathbf{1}_{n}.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections import ChainMap
from collections.abc import Callable, Mapping

import sympy as sp

from derive.errors import DeriveError, ShapeError, UnknownFunctionError, UnknownSymbolError
from derive.functions import ENTRY, VECTOR_FUNCTIONS, elementwise
from derive.latex_names import (
    ALIASES,
    EULER,
    KNOWN_FUNCTIONS,
    READ_CALLS,
    READ_FUNCTIONS,
    normalize_name,
)
from derive.model import Quantity, Shape, as_dim
from derive.parse import Binary, Call, Constant, Name, Node, Number, Summation, TextSpan
from derive.printing import latex_name
from derive.shapes import SCALAR, ExpressionBuilder, Scope, Shaped, format_shape

_free_dimensions = (sp.Dummy(f"free{n}", integer=True, positive=True) for n in itertools.count())


class PoweredCall(Binary):
    """``name^{p}(argument)`` as written, before the builder knows whether the name is a
    function (tanh^{2}(x) = (tanh x)²) or a quantity (w^{2}(1 − p) = w² (1 − p)); a power
    written after it, w^{2}(1 − p)^{2}, belongs to the parentheses."""


class PoweredName(Binary):
    """``(name^{p}(argument))``: a powered call in parentheses of its own, so a power written
    after them takes the whole product, (w^{2}(1 − p))^{2}; the power inside stays on the name.
    Its own node: a plain quantity's call in parentheses, (w (x + y))^{2}, is one factor whose
    square is the whole product's, not w² (x + y)."""


@functools.lru_cache(maxsize=65536)
def _printed_key(name: str) -> str:
    """A quantity's printed name, normalised as the reader normalises what it reads."""
    return normalize_name(latex_name(name))


@functools.lru_cache(maxsize=4096)
def _shape_dimensions(shape: Shape) -> tuple[sp.Symbol, ...]:
    return tuple(symbol for dim in shape for symbol in as_dim(dim).free_symbols)


def _name_tables(
    quantities: Mapping[str, Quantity],
) -> tuple[dict[str, str], dict[str, sp.Symbol]]:
    """Each quantity's printed name (normalised) → its name, and each dimension by name.

    A ``ChainMap`` (a formula's own names before a page's, as the read back passes them) is
    looked up map by map, and a large map's tables are kept while it lives: a page reads
    hundreds of formulas over the same thousand names, and must not rebuild them per formula."""
    if isinstance(quantities, ChainMap):
        printed: dict[str, str] = {}
        dimensions: dict[str, sp.Symbol] = {}
        for inner in reversed(quantities.maps):
            more_printed, more_dimensions = _name_tables(inner)
            printed.update(more_printed)
            dimensions.update(more_dimensions)
        return printed, dimensions
    cached = _TABLES.get(id(quantities))
    if cached is not None and cached[0] is quantities and cached[3] == len(quantities):
        return cached[1], cached[2]
    printed = {_printed_key(name): name for name in quantities}
    shapes = {q.shape for q in quantities.values()}
    dimensions = {str(symbol): symbol for shape in shapes for symbol in _shape_dimensions(shape)}
    if len(quantities) >= 50:
        if len(_TABLES) >= 4:
            _TABLES.clear()
        _TABLES[id(quantities)] = (quantities, printed, dimensions, len(quantities))
    return printed, dimensions


# the tables of the last few large maps of quantities, kept with the map (so its id is not reused)
_TABLES: dict[int, tuple[Mapping[str, Quantity], dict[str, str], dict[str, sp.Symbol], int]] = {}


class LatexBuilder(ExpressionBuilder):
    """``ExpressionBuilder`` for LaTeX: printed names, more functions, sizes inferred."""

    def __init__(
        self, scope: Scope, text: str, span: TextSpan, indices: Mapping[str, sp.Symbol]
    ) -> None:
        super().__init__(scope, text, span)
        self.indices = indices  # entry labels a formula may use: x_{i}, W_{ij}, δ_{s,i}
        # a free dimension → what it becomes if nothing ties it (a vector of ones is a column)
        self.free: dict[sp.Symbol, int | None] = {}
        self.printed, self.dimensions = _name_tables(self.scope.quantities)

    def finish(self, node: Node, shape: Shape | None = None) -> Shaped:
        """The whole formula, with any size still free tied to ``shape`` (the shape the
        formula should have, if known), settled by default or reported."""
        built = self.build(node)
        if shape is not None and not built.is_scalar:
            pairs = list(zip(built.shape, shape, strict=True))
            built, _ = self._tie(built, Shaped(sp.S.Zero, shape), pairs)
        settled = {d: sp.Integer(v) for d, v in self.free.items() if v is not None}
        built = _replaced(built, settled)
        unknown = [d for d in self.free if d not in settled and _mentions(built, d)]
        if unknown:
            raise self.fail(
                ShapeError,
                "cannot tell the size of a vector of ones or an identity here; "
                r"write its length as a subscript, \mathbf{1}_{n}",
                0,
            )
        return built

    def build(self, node: Node) -> Shaped:
        if (
            isinstance(node, Binary)
            and node.op in ("^", ".^")
            and isinstance(node.left, PoweredCall)
        ):
            inner = node.left
            if isinstance(inner.left, Call) and not self._is_function(inner.left.function):
                call = inner.left
                bracket = Binary(node.op, call.argument, node.right, node.offset)
                power = Binary("^", Name(call.function, call.offset), inner.right, inner.offset)
                return self.build(Binary("*", power, bracket, call.offset))
        if isinstance(node, PoweredCall | PoweredName) and isinstance(node.left, Call):
            call = node.left  # z^{3} (a + b): a quantity's power times the parentheses
            if not self._is_function(call.function):
                power = Binary("^", Name(call.function, call.offset), node.right, node.offset)
                return self.build(Binary("*", power, call.argument, call.offset))
        if not (isinstance(node, Binary) and node.op == "^" and isinstance(node.left, Name)):
            return super().build(node)
        # σ^{2} is the quantity named sigma^2 if there is one (a variance)
        if isinstance(node.right, Number | Name):
            written = node.right.value if isinstance(node.right, Number) else node.right.name
            found = self._quantity(f"{node.left.name}^{written}")
            if found is not None:
                return super().name(found, node.left.offset)
        # e^{x} is exp(x) if upright, or italic when no quantity is named e
        if node.left.name == EULER or (node.left.name == "e" and self._quantity("e") is None):
            return self.call(Call("exp", node.right, node.left.offset))
        return super().build(node)

    # --- names -------------------------------------------------------------------------------

    def _quantity(self, name: str) -> str | None:
        if name in self.printed:
            return self.printed[name]
        return name if name in self.scope.quantities else None

    def name(self, name: str, offset: int) -> Shaped:
        found = self._quantity(name)
        if found is not None:
            return super().name(found, offset)
        if name in self.indices:  # an entry label or a size used as a number: 1/m, Σ_k^n
            return Shaped(self.indices[name], SCALAR)
        if name in self.dimensions:
            return Shaped(self.dimensions[name], SCALAR)
        if name == "pi":  # \pi, as in GELU's √(2/π)
            return Shaped(sp.pi, SCALAR)
        if name == "I":
            return self.constant(Constant("identity", None, offset))
        entry = self._entry(name, offset)
        if entry is not None:
            return entry
        pieces = self._letter_run(name)
        if pieces:
            product = super().name(pieces[0], offset)
            for piece in pieces[1:]:
                product = self.multiply(product, super().name(piece, offset), offset)
            return product
        return super().name(name, offset)

    def _entry(self, name: str, offset: int) -> Shaped | None:
        """x_{i}, W_{ij}, W_{i,j}, δ_{s,i}: an entry of a quantity, labelled by known indices."""
        base, _, labels = name.rpartition("_")
        if base == "delta" and len(labels) == 2 and all(x in self.indices for x in labels):
            first, second = (self.indices[x] for x in labels)  # δ_{ij}, 1 where i = j
            return Shaped(sp.KroneckerDelta(first, second), SCALAR)
        quantity = self._quantity(base)
        if quantity is None:
            if "_" not in base:
                return None
            base, _, first = base.rpartition("_")  # W_{i,j} normalises to W_i_j
            quantity, labels = self._quantity(base), f"{first}{labels}"
            if quantity is None:
                return None
        return self.subscript(super().name(quantity, offset), labels, offset)

    def subscript(self, matrix: Shaped, labels: str, offset: int) -> Shaped | None:
        """Entry ``labels`` (one label for a vector, two for a matrix) of ``matrix``."""
        if not all(label in self.indices for label in labels):
            return None
        symbols = [self.indices[label] for label in labels]
        if isinstance(matrix.expr, sp.IndexedBase):  # x_{k} of a problem's indexed values
            return Shaped(matrix.expr[tuple(symbols)], SCALAR)
        if matrix.is_scalar:
            return None
        rows, cols = matrix.shape
        if len(symbols) == 1 and cols == 1:
            symbols.append(sp.S.Zero)
        elif len(symbols) == 1 and rows == 1:
            symbols.insert(0, sp.S.Zero)
        if len(symbols) != 2:
            return None
        return Shaped(matrix.expr[symbols[0], symbols[1]], SCALAR)

    def _letter_run(self, name: str) -> list[str] | None:
        """``xW`` as the names x and W, if the letters split into quantities (longest first)."""
        if not re.fullmatch(r"[A-Za-z]{2,}\d*", name):
            return None
        for end in range(len(name) - 1, 0, -1):
            head = self._quantity(name[:end])
            if head is not None:
                rest = self._quantity(name[end:]) or self._letter_run(name[end:])
                if isinstance(rest, str):
                    return [head, rest]
                if rest:
                    return [head, *rest]
        return None

    def _is_function(self, name: str) -> bool:
        """Whether ``name(...)`` calls a function (else it multiplies the parentheses)."""
        if self._quantity(name) is not None:
            return False
        base = name.rstrip("'")
        base = base if base in self.scope.functions else ALIASES.get(base, base)
        known = KNOWN_FUNCTIONS | {*READ_FUNCTIONS, *VECTOR_FUNCTIONS, *self.scope.functions}
        return base in known

    def summation(self, node: Summation) -> Shaped:
        """Σ_{k=a}^{b} body: k is an entry label inside the body."""
        index = self.indices.get(node.index) or sp.Symbol(node.index, integer=True)
        lower, upper = self.build(node.lower), self.build(node.upper)
        outer = self.indices
        self.indices = {**outer, node.index: index}
        try:
            body = self.build(node.body)
        finally:
            self.indices = outer
        if not (body.is_scalar and lower.is_scalar and upper.is_scalar):
            message = f"a sum with limits adds scalars, not {format_shape(body.shape)}"
            raise self.fail(ShapeError, message, node.offset)
        return Shaped(sp.Sum(body.expr, (index, lower.expr, upper.expr)), SCALAR)

    # --- functions ---------------------------------------------------------------------------

    def call(self, node: Call) -> Shaped:
        name = node.function
        if not self._is_function(name):  # W_{1} (x + b), m (a + b), δ_{h,i} (1 − …): a product
            try:
                factor = self.name(name, node.offset)
            except UnknownSymbolError:
                raise self._unknown_function(name) from None
            return self.multiply(factor, self.build(node.argument), node.offset)
        base = name.rstrip("'")
        order = len(name) - len(base)
        if base in self.scope.functions:  # a declared f, or its derivative f'
            function = self.scope.functions[base] if not order else sp.Function(f"{base}'")
            return self.apply(function, self.build(node.argument))
        base = ALIASES.get(base, base)
        if base in READ_CALLS and not order and (node.more or READ_CALLS[base].parameters):
            return self.activation(READ_CALLS[base], node)  # leaky_relu(x, α), \max(a, b)
        argument = self.build(node.argument)
        if base in READ_FUNCTIONS:
            return self.apply(_derivative(READ_FUNCTIONS[base], order), argument)
        if base == "tr" and not argument.is_scalar:  # tr(1 w): the trace squares its argument
            argument, _ = self._tie(argument, argument, [(argument.rows, argument.cols)])
        if base in VECTOR_FUNCTIONS and not order:
            options = [self._option(item, base) for item in node.more]
            expr, shape = VECTOR_FUNCTIONS[base].build(argument.expr, argument.shape, *options)
            return Shaped(expr, shape)
        if base == "E" and argument.is_scalar:  # the mean over a problem's random variables
            from sympy.stats import Expectation  # only dropout's problems need sympy.stats

            return Shaped(Expectation(argument.expr), SCALAR)
        if base == "Var" and argument.is_scalar:
            from sympy.stats import Variance

            return Shaped(Variance(argument.expr), SCALAR)
        if base in ("diag", "tr"):
            wanted = "a column vector" if base == "diag" else "a square matrix"
            message = f"{base} takes {wanted}, not {format_shape(argument.shape)}"
            raise self.fail(ShapeError, message, node.offset)
        raise self._unknown_function(name)

    def _unknown_function(self, name: str) -> DeriveError:
        known = ", ".join(sorted(KNOWN_FUNCTIONS | {*READ_FUNCTIONS, *VECTOR_FUNCTIONS}))
        return self.fail(UnknownFunctionError, f"unknown function '{name}'; known: {known}", 0)

    @staticmethod
    def apply(function: Callable[[sp.Expr], sp.Expr], argument: Shaped) -> Shaped:
        if argument.is_scalar:
            return Shaped(function(argument.expr), SCALAR)
        return Shaped(elementwise(sp.Lambda(ENTRY, function(ENTRY)), argument.expr), argument.shape)

    # --- sizes from context ------------------------------------------------------------------

    def constant(self, node: Constant) -> Shaped:
        """𝟏, 𝟎 or I; sized by a subscript (𝟏_n a column, 𝟏_{m×n} a matrix) or by context."""
        written = re.split(r"\\times|×", node.size) if node.size else []
        sizes = [self._size(node, part) for part in written]
        if node.kind == "identity":
            side = sizes[0] if node.size else self._free(None)
            return Shaped(sp.Identity(side), (side, side))
        if not node.size:
            rows, cols = self._free(None), self._free(1)
        else:
            rows, cols = sizes[0], sizes[1] if len(sizes) > 1 else sp.Integer(1)
        matrix = sp.OneMatrix if node.kind == "ones" else sp.ZeroMatrix
        return Shaped(matrix(rows, cols), (rows, cols))

    def _size(self, node: Constant, written: str) -> sp.Expr:
        written = written.strip().strip("{}").strip()
        if written.isdigit():
            return sp.Integer(written)
        if written in self.dimensions:
            return self.dimensions[written]
        if written in self.indices:  # a size the formula's context names (1_{m×n})
            return self.indices[written]
        raise self.fail(UnknownSymbolError, f"unknown dimension '{written}'", node.offset)

    def _free(self, default: int | None) -> sp.Symbol:
        dimension = next(_free_dimensions)
        self.free[dimension] = default
        return dimension

    def _tie(
        self, a: Shaped, b: Shaped, pairs: list[tuple[sp.Expr, sp.Expr]]
    ) -> tuple[Shaped, Shaped]:
        """``a`` and ``b`` with each free dimension of a pair replaced by its partner."""
        for first, second in pairs:
            mapping = {}
            if first in self.free and first != second:
                mapping = {first: second}
            elif second in self.free:
                mapping = {second: first}
            if mapping:
                a, b = _replaced(a, mapping), _replaced(b, mapping)
                pairs = [(x.xreplace(mapping), y.xreplace(mapping)) for x, y in pairs]
        return a, b

    def _columns_by_default(self, x: Shaped) -> Shaped:
        """A vector of ones of unknown size in a product is a column (1ᵀ x, W 1)."""
        mapping = {
            d: sp.Integer(1)
            for d in x.shape
            if self.free.get(d) == 1 and all(e in self.free for e in x.shape)
        }
        return _replaced(x, mapping) if mapping else x

    def _same_shape(self, a: Shaped, b: Shaped) -> tuple[Shaped, Shaped]:
        if a.is_scalar or b.is_scalar:
            return a, b
        return self._tie(a, b, [(a.rows, b.rows), (a.cols, b.cols)])

    # A formula read back is only evaluated: build its products and sums as written, without
    # sympy's doit (which re-walks both operands at every step: quadratic in the formula)
    @staticmethod
    def combine_sum(a: sp.Basic, b: sp.Basic) -> sp.Basic:
        if isinstance(a, sp.MatrixExpr) and isinstance(b, sp.MatrixExpr):
            return sp.MatAdd(a, b)
        return a + b

    @staticmethod
    def combine_product(a: sp.Basic, b: sp.Basic) -> sp.Basic:
        if isinstance(a, sp.MatrixExpr) or isinstance(b, sp.MatrixExpr):
            return sp.MatMul(a, b)
        return a * b

    def add(self, a: Shaped, b: Shaped, offset: int) -> Shaped:
        return super().add(*self._same_shape(a, b), offset)

    def subtract(self, a: Shaped, b: Shaped, offset: int) -> Shaped:
        return super().subtract(*self._same_shape(a, b), offset)

    def hadamard(self, a: Shaped, b: Shaped, offset: int) -> Shaped:
        return super().hadamard(*self._same_shape(a, b), offset)

    def multiply(self, a: Shaped, b: Shaped, offset: int) -> Shaped:
        if not (a.is_scalar or b.is_scalar):
            a, b = self._columns_by_default(a), self._columns_by_default(b)
            a, b = self._tie(a, b, [(a.cols, b.rows)])
        return super().multiply(a, b, offset)

    def power(self, a: Shaped, b: Shaped, offset: int) -> Shaped:
        """A^{-1} is the inverse and A^{k} a matrix power of a square A; scalars as usual."""
        if a.is_scalar:
            return super().power(a, b, offset)
        if a.rows != a.cols or not (b.is_scalar and b.expr.is_Integer):
            message = (
                f"cannot raise {format_shape(a.shape)} to the power {b.expr}: only a square "
                r"matrix has integer powers (write A^{\circ p} for an entrywise power)"
            )
            raise self.fail(ShapeError, message, offset)
        self.check_power(a, b, offset)
        if b.expr == -1:
            return Shaped(sp.Inverse(a.expr), a.shape)
        return Shaped(sp.MatPow(a.expr, b.expr), a.shape)


def _derivative(function: Callable[[sp.Expr], sp.Expr], order: int) -> Callable[[sp.Expr], sp.Expr]:
    """f, or its ``order``-th derivative as a function (σ' ↦ σ(x)(1 − σ(x)))."""
    if not order:
        return function
    variable = sp.Dummy("x")
    derivative = sp.Lambda(variable, sp.diff(function(variable), variable, order))
    return derivative


def _replaced(x: Shaped, mapping: dict[sp.Symbol, sp.Expr]) -> Shaped:
    if not mapping:
        return x
    rows, cols = (d.xreplace(mapping) for d in x.shape)
    return Shaped(x.expr.xreplace(mapping), (rows, cols))


def _mentions(x: Shaped, dimension: sp.Symbol) -> bool:
    return dimension in x.expr.free_symbols or dimension in x.shape
