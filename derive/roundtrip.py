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
from derive.graph import postorder, same_tree
from derive.latex_reader import read_latex
from derive.model import Line, MathItem, Part, Quantity, Tex, as_dim
from derive.printing import tex
from derive.shapes import Scope
from derive.verify import random_value

POINTS = 2  # random points per formula
DRAWS = 20  # tries to find a point where the formula is finite
AGREEMENT = 1e-9  # relative difference allowed between a formula and its reading
SIZES = (2, 3, 4, 5, 6, 7)  # concrete sizes for the dimensions, distinct to expose a transpose
SAME_TREE_LIMIT = 2000  # nodes compared before a reading is evaluated instead


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
    line written as the user wrote it, x + (v − x), whose value is v). Every formula is read
    first, then all are evaluated together: one draw of the page's values per point, and a
    subexpression the formulas share evaluated once.
    """
    readings: list[Reading] = []
    count = 0
    for printed in printed_formulas(part):
        readings.extend(
            read_back(printed.expr, printed.where, latex=printed.latex, quantities=quantities)
        )
        count += 1
    compare(readings, np.random.default_rng(seed))
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
    compare(read_back(expr, where, latex=latex, quantities=quantities), rng)


@dataclass
class Reading:
    """A formula as printed and as read back, with what the comparison needs of it."""

    where: str
    expr: sp.Basic
    latex: str
    read: sp.Basic
    dimensions: frozenset[sp.Basic]  # the size symbols of both: a formula's own sizes
    labels: dict[sp.Symbol, sp.Integer]  # entry labels (i in x[i, 0]) made concrete
    by_sympy: bool  # over indexed values or random variables (``Census.by_sympy``)


def read_back(
    expr: sp.Basic,
    where: str,
    *,
    latex: str | None = None,
    quantities: Mapping[str, Quantity] | None = None,
) -> list[Reading]:
    """``expr`` printed (unless ``latex`` is given) and read back, or PrintedFormulaError."""
    if latex is None and isinstance(expr, sp.Tuple | sp.Piecewise):  # each value read alone
        entries = (e.args[0] if isinstance(expr, sp.Piecewise) else e for e in expr.args)
        return [reading for entry in entries for reading in read_back(entry, where)]
    latex = tex(expr) if latex is None else latex
    census = Census.of(expr)
    found = census.indices()
    sizes = {str(d): d for d in census.dimensions if isinstance(d, sp.Symbol)}
    shape = expr.shape if isinstance(expr, sp.MatrixExpr) else None
    try:
        scope = scope_of(expr, census)
        if quantities:
            # the formula's own names first, then the page's (one map, never copied per formula)
            chain = ChainMap(
                dict(scope.quantities),
                dict(quantities) if not isinstance(quantities, dict) else quantities,
            )
            scope = Scope(chain, functions=scope.functions)
        with limits.own_output():
            read = read_latex(latex, scope, shape=shape, indices={**sizes, **found}).expr
    except DeriveError as error:
        raise PrintedFormulaError(
            f"{where}: the printed formula cannot be read back ({error.message})",
            details=(f"printed: {latex}", f"from:    {sp.sstr(expr)}"),
        ) from None
    labels = {index: sp.Integer(n % 2) for n, index in enumerate(found.values())}
    both = frozenset(census.dimensions | Census.of(read).dimensions)
    return [Reading(where, expr, latex, read, both, labels, census.by_sympy)]


def compare(readings: list[Reading], rng: np.random.Generator) -> None:
    """PrintedFormulaError for the first reading that differs from its formula."""
    worst: dict[int, float] = {}
    groups: dict[frozenset[sp.Basic], list[int]] = {}
    for n, reading in enumerate(readings):
        if same_tree(reading.read, reading.expr, limit=SAME_TREE_LIMIT):
            worst[n] = 0.0  # read back as the very expression: equal at every point
        elif reading.by_sympy:
            worst[n] = _largest_difference_of_sums(reading.expr, reading.read, rng)
        else:  # formulas with the same sizes are evaluated together
            groups.setdefault(reading.dimensions, []).append(n)
    for dimensions, members in groups.items():
        worst.update(_largest_differences(readings, members, dimensions, rng))
    for n, reading in enumerate(readings):
        if worst[n] > AGREEMENT:
            raise PrintedFormulaError(
                f"{reading.where}: the printed formula says something else than the answer "
                f"(relative difference {worst[n]:.2g} at a random point)",
                details=(
                    f"printed: {reading.latex}",
                    f"reads:   {sp.sstr(reading.read)}",
                    f"from:    {sp.sstr(reading.expr)}",
                ),
            )


_KINDS = (
    sp.MatrixSymbol,
    RandomSymbol,
    sp.Indexed,
    MatrixElement,
    sp.KroneckerDelta,
    sp.Sum,
    AppliedUndef,
)


@dataclass(frozen=True)
class Census:
    """What a formula's scope and check need of it, from one walk of its distinct nodes: the
    nodes of each kind in ``_KINDS`` and the size symbols of its matrices."""

    nodes: dict[type, list[sp.Basic]]
    dimensions: set[sp.Basic]

    @classmethod
    def of(cls, expr: sp.Basic) -> Census:
        nodes: dict[type, list[sp.Basic]] = {kind: [] for kind in _KINDS}
        dimensions: set[sp.Basic] = set()
        shapes: set[tuple[sp.Basic, ...]] = set()
        for node in postorder(expr):  # each distinct node once: answers share subexpressions
            if isinstance(node, _KINDS):
                for kind in _KINDS:
                    if isinstance(node, kind):
                        nodes[kind].append(node)
            if isinstance(node, sp.MatrixExpr) and node.shape not in shapes:
                shapes.add(node.shape)
                for dim in node.shape:
                    dimensions |= as_dim(dim).free_symbols
        return cls(nodes, dimensions)

    @property
    def by_sympy(self) -> bool:
        """Over indexed values or random variables: evaluated by sympy, one by one."""
        kinds = (sp.Sum, sp.Indexed, sp.KroneckerDelta, RandomSymbol)
        return any(self.nodes[kind] for kind in kinds)

    def indices(self) -> dict[str, sp.Symbol]:
        """The entry labels (i in x[i, 0], k in Σ_k) and the sizes the sums run to."""
        found: dict[str, sp.Symbol] = {}
        elements = self.nodes[MatrixElement] + self.nodes[sp.Indexed]
        parts = [index for element in elements for index in element.indices]
        parts += [index for delta in self.nodes[sp.KroneckerDelta] for index in delta.args]
        parts += [part for total in self.nodes[sp.Sum] for limit in total.limits for part in limit]
        for part in parts:
            found.update((s.name, s) for s in part.free_symbols if isinstance(s, sp.Symbol))
        return found


def scope_of(expr: sp.Basic, census: Census | None = None) -> Scope:
    """The quantities and generic functions ``expr`` mentions, as a reader's scope
    (``census``: ``expr``'s, when the caller has it)."""
    census = Census.of(expr) if census is None else census
    quantities: dict[str, Quantity] = {}
    one = sp.Integer(1)
    for matrix in census.nodes[sp.MatrixSymbol]:
        assert isinstance(matrix, sp.MatrixSymbol)
        quantities[matrix.name] = Quantity(matrix.name, matrix.shape, matrix)
    for variable in census.nodes[RandomSymbol]:  # B ~ Bernoulli(p) of a dropout problem
        assert isinstance(variable, RandomSymbol)
        quantities[variable.name] = Quantity(variable.name, (one, one), variable)
    for indexed in census.nodes[sp.Indexed]:  # x_k of a problem's values x_1 … x_m
        base = indexed.base
        quantities[base.name] = Quantity(base.name, (sp.Symbol("m"), sp.Integer(1)), base)
    skipped = census.dimensions | set(census.indices().values())
    for symbol in expr.free_symbols:
        if (
            isinstance(symbol, sp.Symbol)
            and symbol not in skipped
            and symbol.name not in quantities
        ):
            quantities[symbol.name] = Quantity(symbol.name, (one, one), symbol)
    applied = census.nodes[AppliedUndef]
    functions = {type(f).__name__: type(f) for f in applied if not type(f).__name__.endswith("'")}
    for f in applied:  # f' alone still needs f declared
        functions.setdefault(
            type(f).__name__.rstrip("'"), sp.Function(type(f).__name__.rstrip("'"))
        )
    return Scope(quantities, functions=functions)


def _indices(expr: sp.Basic) -> dict[str, sp.Symbol]:
    """The entry labels of ``expr`` and the sizes its sums run to (``Census.indices``)."""
    return Census.of(expr).indices()


def _sizes(expr: sp.Basic) -> set[sp.Basic]:
    """Symbols a sum runs up to: sizes, not values."""
    return {
        s for total in expr.atoms(sp.Sum) for limit in total.limits for s in limit[2].free_symbols
    }


def _largest_differences(
    readings: list[Reading],
    members: list[int],
    dimensions: frozenset[sp.Basic],
    rng: np.random.Generator,
) -> dict[int, float]:
    """The largest relative difference of each formula and its reading at ``POINTS`` points
    where the formula is finite: one draw of values and one evaluator per point for all."""
    dims = {d: SIZES[n % len(SIZES)] for n, d in enumerate(sorted(dimensions, key=str))}
    pairs = {}
    for n in members:  # entry (1, 0) of any size
        labels = readings[n].labels
        expr, read = readings[n].expr, readings[n].read
        pairs[n] = (expr.xreplace(labels), read.xreplace(labels)) if labels else (expr, read)
    symbols = sorted(
        {s for pair in pairs.values() for e in pair for s in e.free_symbols} - set(dims), key=str
    )
    worst = dict.fromkeys(members, 0.0)
    checked = dict.fromkeys(members, 0)
    pending = list(members)
    for _ in range(DRAWS):
        if not pending:
            break
        evaluate = Evaluator({s: random_value(s, dims, rng) for s in symbols}, dims)
        unfinished = []
        for n in pending:
            expr, read = pairs[n]
            with np.errstate(all="ignore"):
                try:
                    expected = np.asarray(evaluate(expr), dtype=complex)
                    found = np.asarray(evaluate(read), dtype=complex)
                except (ValueError, ZeroDivisionError, OverflowError):
                    unfinished.append(n)
                    continue
            if not np.all(np.isfinite(expected)):
                unfinished.append(n)
                continue
            if expected.shape != found.shape:
                worst[n] = np.inf
                continue
            scale = max(_largest_entry(expected), _largest_term(evaluate, expr), 1e-12)
            difference = float(np.max(np.abs(expected - found), initial=0.0)) / scale
            worst[n] = max(worst[n], difference)
            checked[n] += 1
            if checked[n] < POINTS:
                unfinished.append(n)
        pending = unfinished
    return worst


def _largest_entry(value: np.ndarray) -> float:
    return float(np.max(np.abs(value), initial=0.0))


def _largest_term(evaluate: Evaluator, expr: sp.Basic) -> float:
    """The largest entry of a term of the sum ``expr`` (0 for a single term): a sum that cancels
    at the point (δ ⊙ a − δ ⊙ 𝕀 ⊙ a with every 𝕀 = 1) is 0 up to rounding, and is compared at
    the scale of its terms, where its rounding lives."""
    if not isinstance(expr, sp.Add | sp.MatAdd):
        return 0.0
    return max(_largest_entry(np.asarray(evaluate(term), dtype=complex)) for term in expr.args)


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
