"""The page checked like the answer: every printed formula is read back and compared.

The numeric check guards the sympy objects; nothing in it guards what the page says. So each
formula a Part prints (setup, step results, boxed answers, answers in terms of adjoints) is
printed by ``derive.printing.tex``, read back by ``derive.latex_reader`` (the reader graders
use), and evaluated beside the expression it was printed from at random points. A formula
that reads back differently, or cannot be read back, stops the key like a failed check.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.matrices.expressions.matexpr import MatrixElement
from sympy.stats.rv import RandomSymbol

from derive import limits
from derive.errors import DeriveError, VerificationError
from derive.evaluate import Evaluator
from derive.graph import postorder
from derive.latex_reader import read_latex
from derive.model import Line, MathItem, Part, Quantity, Tex, as_dim
from derive.printing import tex
from derive.shapes import Scope
from derive.verify import random_value

POINTS = 2  # random points per formula
DRAWS = 20  # tries to find a point where the formula is finite
AGREEMENT = 1e-9  # relative difference allowed between a formula and its reading
SIZES = (2, 3, 4, 5, 6, 7)  # concrete sizes for the dimensions, distinct to expose a transpose


class PrintedFormulaError(VerificationError):
    """A formula the document would print does not read back as the expression it came from
    (a printer defect): the key is not written, and the message shows both forms."""


@dataclass(frozen=True)
class Printed:
    """One formula of a page: where it stands (for the message), what it was printed from,
    and its LaTeX when it was not printed from ``expr`` by ``tex`` (a setup line written from
    the user's own text)."""

    where: str
    expr: sp.Basic
    latex: str | None = None


def printed_formulas(part: Part) -> Iterator[Printed]:
    """Every sympy formula ``part`` prints, each distinct expression once."""
    seen: set[int] = set()

    def each(where: str, item: MathItem | None) -> Iterator[Printed]:
        if isinstance(item, sp.Basic) and id(item) not in seen and not item.is_Atom:
            seen.add(id(item))
            yield Printed(where, item)

    for line in part.setup:
        where = f"the setup line for {_plain(line)}"
        if isinstance(line.rhs, Tex) and isinstance(line.value, sp.Basic):
            yield Printed(where, line.value, str(line.rhs))
        else:
            yield from each(where, line.rhs)
    for step in part.steps:
        for line in step.lines:
            yield from each(f"step '{step.title}'", line.rhs)
    for answer in part.answers.values():
        yield from each(f"the answer for {answer.name}", answer.shown)
        if answer.compact is not None and answer.display is None:
            yield from each(f"the answer for {answer.name} in terms of adjoints", answer.compact)


def check_printed(
    part: Part, *, seed: int = 0, quantities: Mapping[str, Quantity] | None = None
) -> int:
    """Read back every formula of ``part``; the number checked, or PrintedFormulaError.

    ``quantities`` are names a formula may mention beyond the expression it stands for (a setup
    line written as the user wrote it, x + (v − x), whose value is v).
    """
    rng = np.random.default_rng(seed)
    count = 0
    for printed in printed_formulas(part):
        check_formula(printed.expr, printed.where, rng, latex=printed.latex, quantities=quantities)
        count += 1
    return count


def check_formula(
    expr: sp.Basic,
    where: str,
    rng: np.random.Generator,
    *,
    latex: str | None = None,
    quantities: Mapping[str, Quantity] | None = None,
) -> None:
    """``expr``'s LaTeX (``latex``, else printed by ``tex``) must read back as an expression
    equal to ``expr`` at random points."""
    if latex is None and isinstance(expr, sp.Tuple | sp.Piecewise):  # each value read alone
        for entry in expr.args:
            check_formula(entry.args[0] if isinstance(expr, sp.Piecewise) else entry, where, rng)
        return
    latex = tex(expr) if latex is None else latex
    sizes = {str(d): d for d in _dimensions(expr) if isinstance(d, sp.Symbol)}
    indices = {**sizes, **_indices(expr)}
    shape = expr.shape if isinstance(expr, sp.MatrixExpr) else None
    try:
        scope = scope_of(expr)
        if quantities:
            # the formula's own names first, then the page's (one map, never copied per formula)
            chain = ChainMap(
                dict(scope.quantities),
                dict(quantities) if not isinstance(quantities, dict) else quantities,
            )
            scope = Scope(chain, functions=scope.functions)
        with limits.own_output():
            read = read_latex(latex, scope, shape=shape, indices=indices).expr
    except DeriveError as error:
        raise PrintedFormulaError(
            f"{where}: the printed formula cannot be read back ({error.message})",
            details=(f"printed: {latex}", f"from:    {sp.sstr(expr)}"),
        ) from None
    difference = _largest_difference(expr, read, rng)
    if difference > AGREEMENT:
        raise PrintedFormulaError(
            f"{where}: the printed formula says something else than the answer "
            f"(relative difference {difference:.2g} at a random point)",
            details=(f"printed: {latex}", f"reads:   {sp.sstr(read)}", f"from:    {sp.sstr(expr)}"),
        )


def scope_of(expr: sp.Basic) -> Scope:
    """The quantities and generic functions ``expr`` mentions, as a reader's scope."""
    quantities: dict[str, Quantity] = {}
    one = sp.Integer(1)
    for matrix in expr.atoms(sp.MatrixSymbol):
        quantities[matrix.name] = Quantity(matrix.name, matrix.shape, matrix)
    for variable in expr.atoms(RandomSymbol):  # B ~ Bernoulli(p) of a dropout problem
        quantities[variable.name] = Quantity(variable.name, (one, one), variable)
    for indexed in expr.atoms(sp.Indexed):  # x_k of a problem's values x_1 … x_m
        base = indexed.base
        quantities[base.name] = Quantity(base.name, (sp.Symbol("m"), sp.Integer(1)), base)
    skipped = _dimensions(expr) | set(_indices(expr).values())
    for symbol in expr.free_symbols:
        if (
            isinstance(symbol, sp.Symbol)
            and symbol not in skipped
            and symbol.name not in quantities
        ):
            quantities[symbol.name] = Quantity(symbol.name, (one, one), symbol)
    functions = {
        type(f).__name__: type(f)
        for f in expr.atoms(AppliedUndef)
        if not type(f).__name__.endswith("'")
    }
    for f in expr.atoms(AppliedUndef):  # f' alone still needs f declared
        name = type(f).__name__.rstrip("'")
        functions.setdefault(name, sp.Function(name))
    return Scope(quantities, functions=functions)


def _indices(expr: sp.Basic) -> dict[str, sp.Symbol]:
    """The entry labels of ``expr`` (i in x[i, 0], k in Σ_k) and the sizes its sums run to."""
    found: dict[str, sp.Symbol] = {}
    for element in expr.atoms(MatrixElement, sp.Indexed, sp.KroneckerDelta):
        for index in element.args if isinstance(element, sp.KroneckerDelta) else element.indices:
            found.update((s.name, s) for s in index.free_symbols if isinstance(s, sp.Symbol))
    for total in expr.atoms(sp.Sum):
        for limit in total.limits:
            for part in limit:
                found.update((s.name, s) for s in part.free_symbols if isinstance(s, sp.Symbol))
    return found


def _sizes(expr: sp.Basic) -> set[sp.Basic]:
    """Symbols a sum runs up to: sizes, not values."""
    return {
        s for total in expr.atoms(sp.Sum) for limit in total.limits for s in limit[2].free_symbols
    }


def _dimensions(expr: sp.Basic) -> set[sp.Basic]:
    found: set[sp.Basic] = set()
    for node in postorder(expr):  # each distinct node once: answers share subexpressions
        if isinstance(node, sp.MatrixExpr):
            for dim in node.shape:
                found |= as_dim(dim).free_symbols
    return found


def _largest_difference(expr: sp.Basic, read: sp.Basic, rng: np.random.Generator) -> float:
    """The largest relative difference of the two at ``POINTS`` points where ``expr`` is finite."""
    if expr.has(sp.Sum, sp.Indexed, sp.KroneckerDelta) or expr.atoms(RandomSymbol):
        return _largest_difference_of_sums(expr, read, rng)
    sizes = sorted(_dimensions(expr) | _dimensions(read), key=str)
    dims = {d: SIZES[n % len(SIZES)] for n, d in enumerate(sizes)}
    labels = {index: sp.Integer(n % 2) for n, index in enumerate(_indices(expr).values())}
    expr, read = expr.xreplace(labels), read.xreplace(labels)  # entry (1, 0), within any size
    symbols = sorted(
        (s for s in expr.free_symbols | read.free_symbols if s not in dims),
        key=str,
    )
    worst, checked = 0.0, 0
    for _ in range(DRAWS):
        values = {s: random_value(s, dims, rng) for s in symbols}
        with np.errstate(all="ignore"):
            try:
                expected = np.asarray(Evaluator(values, dims)(expr), dtype=complex)
                found = np.asarray(Evaluator(values, dims)(read), dtype=complex)
            except (ValueError, ZeroDivisionError, OverflowError):
                continue
        if not np.all(np.isfinite(expected)):
            continue
        if expected.shape != found.shape:
            return np.inf
        scale = max(float(np.max(np.abs(expected), initial=0.0)), 1e-12)
        worst = max(worst, float(np.max(np.abs(expected - found), initial=0.0)) / scale)
        checked += 1
        if checked == POINTS:
            break
    return worst


def _largest_difference_of_sums(expr: sp.Basic, read: sp.Basic, rng: np.random.Generator) -> float:
    """Formulas over indexed values x_1 … x_m (a problem kind's): m and the free labels made
    concrete, the sums written out, every value drawn; evaluated by sympy (they are small)."""
    sizes = {size: sp.Integer(3) for size in _sizes(expr)}
    labels = {
        index: sp.Integer(1 + n % 3)
        for n, index in enumerate(i for i in _indices(expr).values() if i not in sizes)
    }
    concrete = [_unbounded(e).xreplace(sizes).doit().xreplace(labels) for e in (expr, read)]
    random = {v.symbol for e in concrete for v in e.atoms(RandomSymbol)}
    # each entry W_{ik} is a value of its own, so no entry label needs to be within a size
    atoms = set().union(*(e.atoms(sp.Indexed, MatrixElement, sp.Symbol) for e in concrete))
    atoms -= set(labels)
    worst = 0.0
    for _ in range(POINTS):
        values = {atom: sp.Float(random_value(atom, {}, rng)) for atom in atoms - random}
        try:
            expected, found = (complex(sp.N(e.xreplace(values))) for e in concrete)
        except TypeError:  # a mean sympy.stats leaves unevaluated: the same formula, or not
            return 0.0 if concrete[0] == concrete[1] else np.inf
        worst = max(worst, abs(expected - found) / max(abs(expected), 1e-12))
    return worst


def _unbounded(expr: sp.Basic) -> sp.Basic:
    """Entries W_{ik} as indexed values, which (unlike a matrix's) no size bounds: labels count
    from 1 on the page, and a sum over k = 1 … n names W_{in}."""
    return expr.replace(
        lambda e: isinstance(e, MatrixElement),
        lambda e: sp.IndexedBase(sp.sstr(e.parent))[e.i, e.j],
    )


def _plain(line: Line) -> str:
    return line.lhs.name if isinstance(line.lhs, sp.Symbol | sp.MatrixSymbol) else "a formula"
