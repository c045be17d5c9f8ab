"""The grading key: every gradable part of a problem file, with its values at random points.

A key is built once per run, before any answer is read: the problem file (a network or a
problem set) is solved and checked as ``derive solve`` would, then each part's answer is
evaluated at ``POINTS`` random points that satisfy the forward equations, together with the
candidates the feedback names (the key's own product factors, the forward equations' local
derivatives σ′(s), the path a variant adds). Grading an answer is then reading it and a few
numpy operations; workers forked after the key is built share it without copying.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from derive.errors import DeriveError, VerificationError
from derive.evaluate import Evaluator, Value
from derive.functions import generic_function, generic_role
from derive.model import Answer, Network, Quantity, Solution, as_dim
from derive.shapes import Scope
from derive.verify import SIZES, concrete_dims, draw_point, forward

POINTS = 12  # a wrong answer that agrees with the key at 12 random points: practically never
SEED = 20240917  # fixed: the same key and answers give the same grades on every run
MAX_CANDIDATES = 40  # factors and terms tried per part when naming a mistake


@dataclass(frozen=True)
class Named:
    """A factor or term the feedback can name, with its value at each of the key's points."""

    label: str  # as the feedback shows it: "(t − y)", "σ′(s)", "the path through z = …"
    values: tuple[np.ndarray, ...]
    absent: bool = False  # a term the key lacks (a variant's path), which an answer may add


@dataclass
class KeyPart:
    """One gradable answer of the key: ``main.W2``, ``hw-1-skip.b1``, ``mt-3.mean``."""

    id: str
    expected: sp.Basic
    shape: tuple[sp.Expr, sp.Expr]  # symbolic, (1, 1) for a scalar
    scope: Scope  # what an answer may name
    points: list[dict[sp.Basic, Value]]  # the quantities' values at each point
    dims: dict[sp.Basic, int]
    values: list[np.ndarray] = field(default_factory=list)  # the key at each point (2-D)
    factors: list[Named] = field(default_factory=list)
    terms: list[Named] = field(default_factory=list)  # path terms: missing, extra, sign
    asked: str = ""  # the quantity the part asks for (W2), for shape messages
    max_points: float = 1.0

    def evaluate(self, expr: sp.Basic) -> list[np.ndarray]:
        """``expr`` at each of the key's points, as 2-D float arrays (a list of values, such
        as a normalised batch, as a column)."""
        return [evaluate_at(expr, point, self.dims) for point in self.points]


@dataclass
class GradingKey:
    """The parts a class is graded on, in order, and the credit each verdict earns."""

    title: str
    parts: dict[str, KeyPart]
    credit: dict[str, float]
    skipped: list[str] = field(default_factory=list)  # parts with no gradable answer, and why


def evaluate_at(
    expr: sp.Basic, point: Mapping[sp.Basic, Value], dims: Mapping[sp.Basic, int]
) -> np.ndarray:
    """``expr`` at one point as a 2-D float array; a list of values as a column."""
    evaluator = Evaluator(point, dims)
    if isinstance(expr, sp.Tuple):
        entries = [as_matrix(evaluator(entry)).item() for entry in expr.args]
        return np.array(entries, dtype=float).reshape(-1, 1)
    return as_matrix(evaluator(expr))


def as_matrix(value: Value) -> np.ndarray:
    """A value as a 2-D float array (a complex value, log(-1), is a TypeError)."""
    array = np.asarray(value)
    if np.iscomplexobj(array):
        if np.any(np.imag(array) != 0):
            raise TypeError("not a real number")
        array = np.real(array)
    array = array.astype(float)
    return array.reshape(1, 1) if array.ndim == 0 else np.atleast_2d(array)


def network_parts(solution: Solution, networks: Mapping[str, Network]) -> list[KeyPart]:
    """The key parts of a solved network (``networks``: part name -> the network it solves)."""
    parts = []
    for part in solution.parts:
        network = networks.get(part.name)
        if network is None:
            continue
        dims = concrete_dims(network)
        rng = np.random.default_rng(SEED)
        points = [forward(network, draw_point(network, dims, rng), dims) for _ in range(POINTS)]
        scope = Scope(
            network.quantities, functions=_generic_functions(eq.rhs for eq in network.equations)
        )
        local = list(_local_derivatives(network))
        paths = _variant_paths(part.name, solution, networks)
        for name, answer in part.answers.items():
            key_part = KeyPart(
                id=f"{part.name}.{name}",
                expected=answer.value,
                shape=network.givens[name].shape,
                scope=scope,
                points=points,
                dims=dims,
                asked=name,
            )
            chosen = [(label, path[name], absent) for label, path, absent in paths if name in path]
            _fill(key_part, local, chosen)
            parts.append(key_part)
    return parts


def free_parts(part_name: str, answers: Mapping[str, Answer], skipped: list[str]) -> list[KeyPart]:
    """Key parts for a problem of another kind: its answers' own symbols are the givens, drawn
    at random (positive when signed values leave the key undefined)."""
    parts = []
    for name, answer in answers.items():
        ident = f"{part_name}.{name}"
        value = answer.value
        listed = isinstance(value, sp.Tuple)
        if (
            not isinstance(value, sp.Basic)
            or value.has(sp.Indexed, sp.Sum)
            or (listed and not all(entry.is_number for entry in value.args))
        ):
            skipped.append(f"{ident}: not graded (a per-entry sum)")
            continue
        quantities, dims = _quantities_of(value)
        try:
            points = _free_points(value, quantities, dims)
        except DeriveError as error:
            skipped.append(f"{ident}: not graded ({error.message})")
            continue
        shape = value.shape if isinstance(value, sp.MatrixExpr) else (sp.Integer(1),) * 2
        if listed:
            shape = (sp.Integer(len(value.args)), sp.Integer(1))
        functions = _generic_functions([value])
        key_part = KeyPart(
            id=ident,
            expected=value,
            shape=(as_dim(shape[0]), as_dim(shape[1])),
            scope=Scope(quantities, functions=functions, dimensions=frozenset(map(str, dims))),
            points=points,
            dims=dims,
            asked=name,
        )
        _fill(key_part, [], [])
        parts.append(key_part)
    return parts


def _fill(
    part: KeyPart,
    local: list[tuple[str, sp.Basic]],
    paths: list[tuple[str, sp.Basic, bool]],
) -> None:
    """The key's values at the points, and the factors and terms the feedback may name."""
    part.values = part.evaluate(part.expected)
    if not all(np.isfinite(v).all() for v in part.values):
        raise VerificationError(f"the key of {part.id} is not finite at the grading points")
    factors = [(_label(f), f) for f in _product_factors(part.expected)] + local
    seen: set[str] = set()
    for label, factor in factors:
        for signed, shown in (
            (factor, label),
            (-factor, _label(-factor) if label == _label(factor) else f"−{label}"),
        ):
            if shown in seen or len(part.factors) >= MAX_CANDIDATES:
                continue
            seen.add(shown)
            try:
                values = tuple(part.evaluate(signed))
            except (DeriveError, TypeError, ValueError):
                continue
            if all(np.allclose(v, values[0]) for v in values):
                continue  # a constant factor has its own verdict
            part.factors.append(Named(shown, values))
    terms = [*paths, *((_label(t), t, False) for t in _path_terms(part.expected))]
    for label, term, absent in terms:
        if len(part.terms) >= MAX_CANDIDATES:
            break
        try:
            part.terms.append(Named(label, tuple(part.evaluate(term)), absent=absent))
        except (DeriveError, TypeError, ValueError):
            continue


def _product_factors(expr: sp.Basic, depth: int = 0) -> Iterable[sp.Basic]:
    """The factors of the key's products: scalar ones of a scalar product, the coefficient's
    of a matrix product, and the operands of an elementwise product."""
    if depth > 3:
        return
    if isinstance(expr, sp.Mul):
        for factor in expr.args:
            if not factor.is_number:
                yield factor
    elif isinstance(expr, sp.MatMul):
        coefficient, matrices = expr.as_coeff_matrices()
        yield from _product_factors(coefficient, depth + 1)
        for matrix in matrices:
            yield from _product_factors(matrix, depth + 1)
    elif isinstance(expr, sp.HadamardProduct):
        for factor in expr.args:
            yield factor
            yield from _product_factors(factor, depth + 1)


def _path_terms(expr: sp.Basic, depth: int = 0) -> list[sp.Basic]:
    """The terms of a sum of paths: a sum's terms, and a product with one sum among its factors
    distributed over it (P (a + b) -> P a, P b)."""
    if depth > 3:
        return []
    if isinstance(expr, sp.Add | sp.MatAdd):
        return list(expr.args)
    if isinstance(expr, sp.Mul):
        sums = [a for a in expr.args if isinstance(a, sp.Add)]
        if len(sums) == 1:
            rest = sp.Mul(*(a for a in expr.args if a is not sums[0]))
            return [rest * term for term in _path_terms(sums[0], depth + 1)]
    return []


def _local_derivatives(network: Network) -> Iterable[tuple[str, sp.Basic]]:
    """f′(u) for every elementwise function the forward equations apply, named as a key
    writes it: σ′(s), tanh′(s)."""
    for equation in network.equations:
        rhs = equation.rhs
        dummy = sp.Dummy("u")
        if isinstance(rhs, ElementwiseApplyFunction):
            body = rhs.function.expr.subs(rhs.function.variables[0], dummy)
            derivative = sp.diff(body, dummy)
            if derivative.has(sp.Derivative):
                continue
            yield (
                f"{_function_name(body)}′({_plain(rhs.expr)})",
                ElementwiseApplyFunction(sp.Lambda(dummy, derivative), rhs.expr),
            )
        elif isinstance(rhs, sp.Function) and len(rhs.args) == 1:
            derivative = sp.diff(rhs.func(dummy), dummy)
            if not derivative.has(sp.Derivative):
                yield (
                    f"{_function_name(rhs)}′({_plain(rhs.args[0])})",
                    derivative.subs(dummy, rhs.args[0]),
                )


def _variant_paths(
    part: str, solution: Solution, networks: Mapping[str, Network]
) -> list[tuple[str, dict[str, sp.Basic], bool]]:
    """The path a variant's equation adds, as a term: in the variant's key (a student may miss
    it) and absent from the main key (a student may add it), named by the variant's equation:
    "the path through z = W2 h + b2 + s"."""
    main = next(iter(networks), None)
    if main is None or part not in networks:
        return []
    variants = [part] if part != main else [name for name in networks if name != main]
    found = []
    for variant in variants:
        equation = _differing_equation(networks[variant], networks[main])
        if equation is None or variant == main:
            continue
        with_path, without = solution.answers_of(variant), solution.answers_of(main)
        terms = {n: with_path[n].value - without[n].value for n in with_path if n in without}
        found.append((f"the path through {equation}", terms, part == main))
    return found


def _differing_equation(mine: Network, other: Network) -> str | None:
    """The text of the equation ``mine`` writes differently from ``other`` (the variant's)."""
    theirs = {eq.target.name: eq for eq in other.equations}
    for equation in mine.equations:
        counterpart = theirs.get(equation.target.name)
        if counterpart is not None and counterpart.text != equation.text:
            return (
                " ".join(equation.text.split())
                if "=" in equation.text
                else (f"{equation.target.name} = {' '.join(equation.text.split())}")
            )
    return None


def _quantities_of(value: sp.Basic) -> tuple[dict[str, Quantity], dict[sp.Basic, int]]:
    """A quantity for each symbol and matrix of ``value``, sizes for its dimensions."""
    matrices = sorted(value.atoms(sp.MatrixSymbol), key=str)
    dimension_symbols = {s for m in matrices for d in m.shape for s in as_dim(d).free_symbols}
    ordered = sorted(dimension_symbols, key=str)
    dims = {s: SIZES[i % len(SIZES)] + i // len(SIZES) for i, s in enumerate(ordered)}
    quantities = {
        str(m): Quantity(str(m), (as_dim(m.shape[0]), as_dim(m.shape[1])), m) for m in matrices
    }
    for symbol in sorted(value.free_symbols - dimension_symbols, key=str):
        if isinstance(symbol, sp.Symbol):
            quantities[str(symbol)] = Quantity(str(symbol), (sp.Integer(1), sp.Integer(1)), symbol)
    return quantities, dims


def _free_points(
    value: sp.Basic, quantities: Mapping[str, Quantity], dims: Mapping[sp.Basic, int]
) -> list[dict[sp.Basic, Value]]:
    rng = np.random.default_rng(SEED)
    points: list[dict[sp.Basic, Value]] = []
    for attempt in range(POINTS * 10):
        if len(points) == POINTS:
            return points
        positive = attempt >= POINTS * 3
        point: dict[sp.Basic, Value] = {}
        for quantity in quantities.values():
            rows, cols = (int(as_dim(d).xreplace(dict(dims))) for d in quantity.shape)
            if quantity.is_scalar:
                sign = 1 if positive else rng.choice([-1, 1])
                point[quantity.symbol] = float(rng.uniform(0.2, 0.8) * sign)
            else:
                drawn = rng.normal(size=(rows, cols)) * 0.8
                point[quantity.symbol] = np.abs(drawn) + 0.1 if positive else drawn
        try:
            with np.errstate(all="ignore"):
                if np.isfinite(evaluate_at(value, point, dims)).all():
                    points.append(point)
        except (TypeError, ValueError, np.linalg.LinAlgError):
            continue
    if len(points) == POINTS:
        return points
    raise VerificationError("no points found at which the key is a finite real number")


def _generic_functions(expressions: Iterable[sp.Basic]) -> dict[str, sp.FunctionClass]:
    """The problem's generic functions σ an answer may name (also where the key has only σ′)."""
    found: dict[str, sp.FunctionClass] = {}
    for expr in expressions:
        for applied in expr.atoms(sp.Function):
            name = type(applied).__name__
            role = generic_role(type(applied))
            if role == "function":
                found[name] = generic_function(name)
            elif role == "derivative":
                found[name[:-1]] = generic_function(name[:-1])
    return found


FUNCTION_NAMES = {"sigmoid": "σ", "sigma": "σ"}


def _function_name(applied: sp.Basic) -> str:
    name = type(applied).__name__
    return FUNCTION_NAMES.get(name, name)


def _plain(expr: sp.Basic) -> str:
    """An expression in plain text, as the feedback shows it: sigmoid as σ, minus as −."""
    text = sp.sstr(expr, order="none")
    for name, shown in FUNCTION_NAMES.items():
        text = text.replace(f"{name}(", f"{shown}(")
    text = text.replace("**", "^").replace("*", " ").replace(" - ", " − ")
    return f"−{text[1:]}" if text.startswith("-") else text


def _label(expr: sp.Basic) -> str:
    shown = _plain(expr)
    return f"({shown})" if isinstance(expr, sp.Add | sp.MatAdd) else shown
