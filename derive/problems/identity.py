"""Kind "identity": prove a claimed derivative of a defined function, step by step.

The steps read like a solution key: the definition (as a power when it is a reciprocal), one
differentiation rule applied by hand, the derivative over its denominator, then the claim with
the definition substituted brought to that same form. sympy computes every line and proves the
conclusion (the difference simplifies to 0); central finite differences of the definition
confirm it numerically. A claim that does not hold is an error, never a proof.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from derive.errors import DeriveError, UnsupportedError, VerificationError
from derive.evaluate import Evaluator
from derive.functions import ACTIVATIONS, sigmoid, softplus
from derive.model import Answer, Line, Part, Step, Tex, Verification
from derive.printing import tex
from derive.problems import ProblemSpec
from derive.problems.derivative_rules import RuleApplication, differentiate, divisors, group, over
from derive.problems.field_values import field_error
from derive.shapes import NAME_PATTERN, SCALAR, Scope, build_expression, quantity

FIELDS: dict[str, str] = {
    "function": "the function's name: sigma, tanh, softplus or any other, e.g. f",
    "variable": "its argument, e.g. z",
    "definition": "the function as an expression of the variable, e.g. 1 / (1 + exp(-z))",
    "claim": (
        "the claimed derivative, e.g. sigmoid(z) (1 - sigmoid(z)); sigmoid, tanh and softplus "
        "stand for the function itself when the definition defines them"
    ),
    "constants": "optional list of other names the expressions use, e.g. [a]",
}

# Names that already denote a function: the definition must define that very function.
KNOWN: dict[str, sp.FunctionClass] = {
    "sigma": sigmoid,
    "sigmoid": sigmoid,
    "tanh": sp.tanh,
    "softplus": softplus,
}
REWRITABLE = (sigmoid, sp.tanh, softplus)  # known functions with a definition in exp and log

POINTS = (-2.3, -0.9, -0.2, 0.4, 1.1, 2.6)
STEP = 1e-5  # central differences: error ~ STEP² f''' ≈ 1e-10, rounding ~ 1e-16 / STEP
TOLERANCE = 1e-6
MIN_POINTS = 3  # the definition must be finite at this many of POINTS


class FalseClaimError(DeriveError):
    """An identity problem's claim is not the derivative of its definition (says what is)."""


@dataclass(frozen=True)
class Identity:
    """The problem read from its fields: F(z) = definition, and the claimed F'(z)."""

    function: sp.FunctionClass
    variable: sp.Symbol
    definition: sp.Expr
    claim: sp.Expr  # may use F itself
    constants: tuple[sp.Symbol, ...]

    @property
    def applied(self) -> sp.Expr:
        return self.function(self.variable)

    @property
    def derivative_label(self) -> Tex:
        return Tex(tex(sp.Derivative(self.applied, self.variable)))

    def unfold(self, expr: sp.Expr) -> sp.Expr:
        """``expr`` with F replaced by its definition and known functions by exp and log."""
        unfolded = expr.replace(self.function, sp.Lambda(self.variable, self.definition))
        return unfolded.replace(lambda e: isinstance(e, REWRITABLE), lambda e: e.rewrite(sp.exp))


def solve(spec: ProblemSpec) -> Part:
    problem = read(spec)
    derivative = sp.diff(problem.definition, problem.variable)
    unfolded_claim = problem.unfold(problem.claim)
    verification = check_numerically(problem, unfolded_claim)
    where = spec.location
    if not vanishes(problem.unfold(derivative) - unfolded_claim):
        if verification.ok:
            message = "the claim agrees with the derivative numerically, but sympy cannot prove it"
            raise UnsupportedError(
                f"problem '{spec.id}': {message}; write it another way", location=where
            )
        raise FalseClaimError(
            f"problem '{spec.id}': the claim does not hold: the derivative of "
            f"{sp.sstr(problem.definition)} is {sp.sstr(derivative)}, not {sp.sstr(problem.claim)}",
            location=where,
        )
    if not verification.ok:  # proved, yet the numbers disagree or cannot be computed
        message = f"the numeric check failed at {verification.points} of {len(POINTS)} points"
        raise VerificationError(f"problem '{spec.id}': {message}", location=where)
    rule = differentiate(problem.definition, problem.variable)
    denominator = divisors(derivative)
    common = over(derivative, denominator)
    steps = [definition_step(problem, rule), derivative_step(problem, rule, common)]
    if tex(common) != tex(problem.claim):  # else the derivative reads as the claim already
        steps.append(recognition_step(problem, common, denominator))
    answer = Answer(name="derivative", label=problem.derivative_label, value=problem.claim)
    return Part(
        name=spec.id,
        heading=spec.title,
        statement=spec.statement,
        assumptions=assumptions(problem),
        steps=steps,
        answers={answer.name: answer},
        verification=verification,
    )


def read(spec: ProblemSpec) -> Identity:
    """The fields as sympy: the function, its variable and constants, definition and claim."""
    name, variable_name = (_name(spec, field) for field in ("function", "variable"))
    constants = spec.fields.get("constants", [])
    if not isinstance(constants, list) or not all(
        isinstance(c, str) and NAME_PATTERN.fullmatch(c) for c in constants
    ):
        raise field_error(spec, "'constants' must be a list of names, e.g. [a, b]")
    symbols = {n: quantity(n, SCALAR) for n in [variable_name, *constants]}
    real = {q.symbol: sp.Symbol(n, real=True) for n, q in symbols.items()}
    variable, *others = real.values()

    def build(field: str, functions: dict[str, sp.FunctionClass]) -> sp.Expr:
        text = str(spec.require(field))
        span = spec.span_of(field)
        built = build_expression(text, Scope(symbols, functions=functions), span=span)
        return built.expr.xreplace(real)

    definition = build("definition", {})
    if name in symbols:
        raise field_error(spec, f"the function and a variable or constant are both named '{name}'")
    function = KNOWN.get(name) or sp.Function(name)
    if name in ACTIVATIONS.keys() | KNOWN.keys() and not _defines(definition, function, variable):
        raise field_error(
            spec,
            f"'{name}' is a known function, and {sp.sstr(definition)} does not define it; "
            "give the function another name",
        )
    claim = build("claim", {} if name in ACTIVATIONS else {name: function})
    for known in REWRITABLE:  # sigmoid(z) in the claim is σ itself when σ is being defined
        if known is not function and _defines(definition, known, variable):
            claim = claim.replace(known, function)
    return Identity(function, variable, definition, claim, tuple(others))


def _name(spec: ProblemSpec, field: str) -> str:
    value = spec.require(field)
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
        raise field_error(spec, f"'{field}' must be a name such as z, not {value!r}")
    return value


SCREEN_POINTS = (sp.Rational(-7, 5), sp.Rational(1, 3), sp.Rational(9, 4))  # generic points


def _defines(definition: sp.Expr, known: sp.FunctionClass, variable: sp.Symbol) -> bool:
    """Whether ``definition`` is ``known`` written out: first a numeric screen at a few points
    (a different function differs at one of them), then the algebra, cheapest first."""
    difference = (known(variable) - definition).rewrite(sp.exp)
    for point in SCREEN_POINTS:
        value = difference.evalf(30, subs={variable: point})
        if not value.is_number or abs(complex(value)) > 1e-20:
            return False
    return vanishes(difference)


def vanishes(expr: sp.Expr) -> bool:
    """Whether sympy can show ``expr`` is zero, cheapest algebra first (sp.simplify last)."""
    return bool(
        sp.cancel(expr) == 0
        or sp.cancel(sp.powsimp(sp.expand(expr))) == 0
        or sp.simplify(expr) == 0
    )


# --- steps ---------------------------------------------------------------------------------


def assumptions(problem: Identity) -> list[Tex | str]:
    names = ", ".join(tex(s) for s in (problem.variable, *problem.constants))
    found: list[Tex | str] = [Tex(rf"{names} \in \mathbb{{R}}")]
    if problem.constants:
        found.append("The constants do not depend on the variable.")
    return found


def definition_step(problem: Identity, rule: RuleApplication) -> Step:
    lines = [Line(problem.applied, problem.definition)]
    if rule.power_form is not None:
        lines.append(Line(Tex(""), rule.power_form))
    return Step(
        title="Write down the definition" + (" as a power" if rule.power_form else ""),
        lines=tuple(lines),
        rule="A quotient with a constant numerator is a power with exponent −1."
        if rule.power_form
        else "",
    )


def derivative_step(problem: Identity, rule: RuleApplication, common: sp.Expr) -> Step:
    lines = [*rule.pieces, Line(problem.derivative_label, rule.applied)]
    for form in (rule.value, common):
        _continue(lines, form)
    return Step(title=rule.title, lines=tuple(lines), rule=rule.rule, rule_math=rule.rule_math)


def recognition_step(problem: Identity, common: sp.Expr, denominator: sp.Expr) -> Step:
    """Each factor of the claim with the definition substituted, then the claim itself."""
    # σ(z) (1 − σ(z)): the function's own values first, as a key writes them
    factors = sorted(sp.Mul.make_args(problem.claim), key=_factor_order)
    lines: list[Line] = []
    split = []
    for factor in factors:
        unfolded = problem.unfold(factor)
        split.append(over(unfolded, divisors(unfolded)))
        if unfolded == factor or factor == problem.applied:
            continue  # nothing to substitute, or the definition itself (step 1)
        lines.append(Line(factor, unfolded))
        _continue(lines, split[-1])
    if len(factors) == 1 and lines:
        _continue(lines, over(problem.unfold(problem.claim), denominator))
    lines.append(Line(problem.derivative_label, common))
    if len(factors) > 1:
        _continue(lines, Tex(r" \cdot ".join(group(f) for f in split)))
    lines.append(Line(Tex(""), problem.claim))
    return Step(
        title="Recognise the claimed form",
        lines=tuple(lines),
        rule="Substitute the definition into the claim and bring it to the same form; "
        "sympy confirms that the difference simplifies to 0.",
    )


def _factor_order(factor: sp.Expr) -> int:
    """Numbers first, then the function's values, then the rest: 2 σ(z) (1 − σ(z))."""
    return 0 if factor.is_number else 1 if isinstance(factor, sp.Function) else 2


def _continue(lines: list[Line], form: sp.Expr | Tex) -> None:
    """Add ``= form`` below ``lines`` unless it prints the same as the line above."""
    printed = form if isinstance(form, Tex) else tex(form)
    last = lines[-1].rhs
    if last is None or printed != (last if isinstance(last, Tex) else tex(last)):
        lines.append(Line(Tex(""), form))


# --- the numeric check ---------------------------------------------------------------------


def check_numerically(problem: Identity, unfolded_claim: sp.Expr) -> Verification:
    """The claim against central differences of the definition, where both are finite."""
    rng = np.random.default_rng(0)
    constants = {c: float(rng.uniform(0.5, 2.0)) for c in problem.constants}

    def value(expr: sp.Expr, at: float) -> float:
        return float(Evaluator({problem.variable: at, **constants}, {})(expr))

    worst, used = 0.0, 0
    with np.errstate(all="ignore"):
        for point in POINTS:
            ahead = value(problem.definition, point + STEP)
            behind = value(problem.definition, point - STEP)
            difference = (ahead - behind) / (2 * STEP)
            claimed = value(unfolded_claim, point)
            if np.isfinite(difference) and np.isfinite(claimed):
                used += 1
                worst = max(worst, abs(difference - claimed) / max(1.0, abs(difference)))
    return Verification(
        points=used,
        max_rel_error=worst,
        ok=used >= MIN_POINTS and worst <= TOLERANCE,
        method="central finite differences of the definition, float64",
    )
