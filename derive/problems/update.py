"""Kind "update": the gradient-descent step θ^{(t+1)} = θ^{(t)} − α ∂L/∂θ for a derived gradient.

The gradient is an answer of an earlier problem in the set (``spec.previous``). The step is
written with that answer substituted, as a whole and entry by entry when the earlier problem
gives an index form. When the earlier problem is a network (its setup lists the forward
equations, the loss last), the update is checked numerically: moving along it changes the loss
at the rate −‖∂L/∂θ‖² per unit of α (central differences in α).

With ``method`` (momentum, nesterov, rmsprop, adam) the problem is solved by
``derive.problems.optimizers`` instead: each state variable's update written out.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import sympy as sp

from derive.errors import DeriveError, InputFileError, VerificationError
from derive.evaluate import Evaluator, Value
from derive.model import Answer, Line, Part, Step, Tex, Verification
from derive.printing import tex
from derive.problems import ProblemSpec, optimizers
from derive.problems.forward_pass import (
    dimension_sizes,
    draw,
    forward,
    forward_equations,
    givens,
    setup_rhs,
)
from derive.shapes import NAME_PATTERN
from derive.steps import entry_indices

FIELDS: dict[str, str] = {
    "gradient_of": "the id of an earlier problem in the set whose answers hold the gradient",
    "parameter": "the name of that problem's answer to step along, e.g. b",
    "learning_rate": "the learning rate's name; default alpha",
    **optimizers.FIELDS,
}

POINTS = 3
STEP = 1e-5
TOLERANCE = 1e-5


def solve(spec: ProblemSpec) -> Part:
    method = optimizers.method_of(spec)
    source, gradient, rate = read(spec)
    parameter = _parameter(gradient, source)
    if method is not None:
        return optimizers.solve(
            spec, method, source=source, gradient=gradient, parameter=parameter, rate=rate
        )
    current = Tex(rf"{tex(parameter)}^{{(t)}}")
    label = Tex(rf"{tex(parameter)}^{{(t+1)}}")
    value = _step(parameter, rate, gradient.value)
    # shown with the gradient as the earlier problem printed it (sympy would expand 2(y − t))
    lines = [Line(label, Tex(rf"{tex(parameter)} - {tex(rate)}\, {_factor(gradient.value)}"))]
    index_form = None
    if gradient.index_form is not None and isinstance(parameter, sp.MatrixExpr):
        entry = parameter[entry_indices(parameter)]
        index_form = Line(Tex(rf"{tex(entry)}^{{(t+1)}}"), entry - rate * gradient.index_form.rhs)
        lines.append(index_form)
    answer = Answer(
        name=gradient.name,
        label=label,
        value=value,
        shape=gradient.shape,
        index_form=index_form,
    )
    name = gradient.name
    steps = [
        Step(
            "The gradient-descent rule",
            (Line(label, Tex(rf"{current} - {tex(rate)}\, {_math(gradient.label)}")),),
            rule=(
                f"Step against the gradient, scaled by the learning rate. The gradient has the "
                f"shape of {name} (denominator layout), so it is subtracted without a transpose."
            ),
        ),
        Step(
            f"Substitute the gradient found in problem {source.name}",
            tuple(lines),
            rule=f"The answer for {name} of {source.heading}; the right side is at step t.",
        ),
    ]
    return Part(
        name=spec.id,
        heading=spec.title,
        statement=spec.statement,
        assumptions=[
            Tex(rf"{tex(rate)} > 0"),
            f"Every quantity on the right-hand side is at step t, including {name} itself.",
        ],
        steps=steps,
        answers={answer.name: answer},
        verification=check(spec, source, parameter, gradient, value, rate),
    )


def read(spec: ProblemSpec) -> tuple[Part, Answer, sp.Symbol]:
    """The earlier problem's Part, its answer for the parameter, and the learning rate."""
    source_id = _name(spec, "gradient_of", spec.require("gradient_of"), pattern=False)
    parameter = _name(spec, "parameter", spec.require("parameter"), pattern=False)
    rate = _name(spec, "learning_rate", spec.fields.get("learning_rate", "alpha"))
    if source_id not in spec.previous:
        earlier = ", ".join(spec.previous) or "none"
        raise _error(
            spec,
            f"'gradient_of' names problem '{source_id}', which is not solved before this one "
            f"(earlier problems: {earlier})",
        )
    source = spec.previous[source_id]
    if parameter not in source.answers:
        answers = ", ".join(source.answers) or "none"
        raise _error(
            spec, f"problem '{source_id}' has no answer '{parameter}' (its answers: {answers})"
        )
    return source, source.answers[parameter], sp.Symbol(rate, positive=True)


def _name(spec: ProblemSpec, field: str, value: object, *, pattern: bool = True) -> str:
    if not isinstance(value, str) or not value or (pattern and not NAME_PATTERN.fullmatch(value)):
        what = "a name such as alpha" if pattern else "text"
        raise _error(spec, f"'{field}' must be {what}, not {value!r}")
    return value


def _error(spec: ProblemSpec, message: str) -> InputFileError:
    return InputFileError(f"problem '{spec.id}': {message}", location=spec.location)


def _parameter(gradient: Answer, source: Part) -> sp.Basic:
    """The parameter's own sympy symbol: as the earlier problem uses it, else from the shape."""
    used = gradient.value.free_symbols.union(*(_symbols(setup_rhs(line)) for line in source.setup))
    for symbol in used:
        if getattr(symbol, "name", None) == gradient.name:
            return symbol
    if not gradient.shape:
        return sp.Symbol(gradient.name)
    rows, cols = (
        sp.Integer(d) if isinstance(d, int) else sp.Symbol(d, integer=True, positive=True)
        for d in gradient.shape
    )
    return sp.MatrixSymbol(gradient.name, rows, cols)


def _symbols(item: object) -> set[sp.Basic]:
    return set(item.free_symbols) if isinstance(item, sp.Basic) else set()


def _factor(expr: sp.Basic) -> str:
    """``expr`` as one factor after α: in parentheses unless it is a single symbol."""
    printed = tex(expr)
    return printed if isinstance(expr, sp.Symbol | sp.MatrixSymbol) else rf"\left({printed}\right)"


def _math(item: object) -> str:
    return str(item) if isinstance(item, str) else tex(item)


def check(
    spec: ProblemSpec,
    source: Part,
    parameter: sp.Basic,
    gradient: Answer,
    update: sp.Expr,
    rate: sp.Symbol,
) -> Verification | None:
    """d/dα L(θ ← update(α)) at α = 0 against −‖∂L/∂θ‖², if the earlier part has a forward pass.

    None when it has none (a problem of another kind): its own check covers the gradient.
    """
    equations = forward_equations(source)
    if equations is None:
        return None
    rng = np.random.default_rng(0)
    dims = dimension_sizes([parameter, gradient.value, *(rhs for _, rhs in equations)])
    worst = 0.0
    try:
        for _ in range(POINTS):
            point = {s: draw(s, dims, rng) for s in givens(equations, parameter)}
            values = forward(equations, point, dims)
            g = np.asarray(Evaluator(values, dims)(gradient.value), dtype=float)

            def loss(alpha: float, point: Mapping[sp.Basic, Value] = point) -> float:
                # the update's right side is at step t: the forward values at ``point``
                moved = Evaluator({**forward(equations, point, dims), rate: alpha}, dims)(update)
                return forward(equations, {**point, parameter: moved}, dims)[equations[-1][0]]

            rate_of_change = (loss(STEP) - loss(-STEP)) / (2 * STEP)
            expected = -float(np.sum(g * g))
            worst = max(worst, abs(rate_of_change - expected) / max(1.0, abs(expected)))
    except DeriveError:
        return None  # something in the earlier part cannot be evaluated numerically
    if not worst <= TOLERANCE:
        raise VerificationError(f"problem '{spec.id}': the update does not descend the loss")
    method = "central differences of the loss along the update, float64"
    return Verification(POINTS, worst, True, method=method)


def _step(parameter: sp.Basic, rate: sp.Basic, gradient: sp.Basic) -> sp.Basic:
    """θ − α g, built without sympy's ``doit`` (which would expand 2 (y − t) into 2y − 2t)."""
    if isinstance(gradient, sp.MatrixExpr):
        return sp.MatAdd(parameter, sp.MatMul(-rate, gradient))
    return parameter - rate * gradient
