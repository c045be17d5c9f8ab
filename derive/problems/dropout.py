"""Kind "dropout": a weight times an independent Bernoulli mask, its mean and variance.

w' = w B with B ~ Bernoulli(1 − p) (p the drop probability). sympy.stats computes E[w'] and
Var[w'], the scale that matches inference to training, and the inverted-dropout scale c with
E[c w B] = w. The answers are checked by exact enumeration over B ∈ {0, 1} at several (p, w).
"""

from __future__ import annotations

import itertools

import numpy as np
import sympy as sp
from sympy.stats import Bernoulli, E, Expectation, Variance, density, variance

from derive.errors import InputFileError, VerificationError
from derive.model import Answer, Line, Part, Step, Tex, Verification
from derive.printing import tex
from derive.problems import ProblemSpec
from derive.shapes import NAME_PATTERN

FIELDS: dict[str, str] = {
    "drop_probability": "the chance of zeroing a weight: a name or a number in [0, 1); default p",
    "keep_probability": "instead of drop_probability: the probability of keeping a weight",
    "weight": "the weight's name; default w",
}

DROP_VALUES = (0.1, 0.5, 0.8)  # where a symbolic drop probability is checked
WEIGHT_VALUES = (-1.3, 0.7, 2.0)
TOLERANCE = 1e-12
SECOND_MOMENTS = Tex(r"\operatorname{E}[B^{2}] - \operatorname{E}[B]^{2}")  # Var[B]


def solve(spec: ProblemSpec) -> Part:
    drop, keep, weight = read(spec)
    mask = Bernoulli("B", keep)
    dropped = sp.Symbol("w'")  # w' = w B
    inverted = sp.Symbol("w''")  # w'' = c w B
    scale = sp.Symbol("c")

    mean_mask, variance_mask = _tidy(E(mask)), _tidy(variance(mask))
    mean, spread = _tidy(E(weight * mask)), _tidy(variance(weight * mask))
    inference_scale = _tidy(mean / weight)
    # linear in c; simplify=False: _tidy writes the result, sympy's simplify is not needed
    (inverted_scale,) = sp.solve(sp.Eq(E(scale * weight * mask), weight), scale, simplify=False)
    inverted_scale = _tidy(inverted_scale)
    answers = {
        "expectation": Answer("expectation", _expected(dropped), mean),
        "variance": Answer("variance", _variance(dropped), spread),
        "inference_scale": Answer(
            "inference_scale", Tex(r"\text{inference scale}"), inference_scale
        ),
        "inverted_scale": Answer(
            "inverted_scale", Tex(r"\text{inverted-dropout scale}"), inverted_scale
        ),
    }
    outcomes = density(mask).dict  # {0: p, 1: 1 − p}
    enumerated = " + ".join(rf"{b} \cdot {_grouped(outcomes[b])}" for b in sorted(outcomes))
    steps = [
        Step(
            "Moments of the mask",
            (
                Line(_expected(mask.symbol), Tex(enumerated)),
                Line(Tex(""), mean_mask),
                Line(
                    _variance(mask.symbol),
                    SECOND_MOMENTS,
                ),
                Line(Tex(""), variance_mask),
            ),
            rule="B takes the values 0 and 1, so B² = B and E[B²] = E[B].",
        ),
        Step(
            "Expected value of the dropped-out weight",
            (
                Line(_expected(dropped), Expectation(weight * mask)),
                Line(Tex(""), Tex(rf"{tex(weight)}\,{_expected(mask.symbol)}")),
                Line(Tex(""), mean),
            ),
            rule="Linearity of expectation; the weight itself is fixed, only the mask is random.",
        ),
        Step(
            "Variance of the dropped-out weight",
            (
                Line(_variance(dropped), Variance(weight * mask)),
                Line(Tex(""), Tex(rf"{tex(weight**2)}\,{_variance(mask.symbol)}")),
                Line(Tex(""), spread),
            ),
            rule="A constant factor comes out of a variance squared: Var[aX] = a² Var[X].",
        ),
        Step(
            "Match inference to training",
            (
                Line(Tex(r"w_{\mathrm{test}}"), sp.Mul(inference_scale, weight)),
                Line(_expected(dropped), mean),
            ),
            rule=(
                "At inference no weight is dropped, but during training the next layer saw each "
                "weight on average as E[w']. Scaling the weights by this factor at inference gives "
                "the layer the same expected input."
            ),
        ),
        Step(
            "Inverted dropout: scale during training instead",
            (
                Line(inverted, Tex(rf"c\,{tex(weight)}\,{tex(mask.symbol)}")),
                Line(_expected(inverted), Tex(rf"c\,{tex(mean)}")),
                Line(Tex(""), weight),
                Line(scale, inverted_scale),
                Line(_expected(inverted), Expectation(inverted_scale * weight * mask)),
                Line(Tex(""), _tidy(E(inverted_scale * weight * mask))),
                Line(_variance(inverted), _tidy(variance(inverted_scale * weight * mask))),
            ),
            rule=(
                "Choose c with E[w''] = w: dividing the kept weights by the keep probability "
                "during training makes the expected weight w, so inference uses them unchanged."
            ),
        ),
    ]
    return Part(
        name=spec.id,
        heading=spec.title,
        statement=spec.statement,
        assumptions=[
            "Each weight is kept or zeroed by its own mask, independent of the others.",
            Tex(rf"B \sim \operatorname{{Bernoulli}}({tex(keep)}),\quad P(B = 0) = {tex(drop)}"),
        ],
        setup=[Line(dropped, weight * mask.symbol)],
        steps=steps,
        answers=answers,
        verification=check(spec, drop, keep, weight, answers),
    )


def read(spec: ProblemSpec) -> tuple[sp.Expr, sp.Expr, sp.Symbol]:
    """The drop and keep probabilities (one given, the other 1 minus it) and the weight."""
    if "drop_probability" in spec.fields and "keep_probability" in spec.fields:
        raise _error(spec, "give drop_probability or keep_probability, not both")
    weight = spec.fields.get("weight", "w")
    if not isinstance(weight, str) or not NAME_PATTERN.fullmatch(weight):
        raise _error(spec, f"'weight' must be a name such as w, not {weight!r}")
    if "keep_probability" in spec.fields:
        keep = _probability(spec, "keep_probability", spec.fields["keep_probability"])
        if keep == 0:
            raise _error(spec, "'keep_probability' must be above 0: nothing would be kept")
        return 1 - keep, keep, sp.Symbol(weight, real=True)
    drop = _probability(spec, "drop_probability", spec.fields.get("drop_probability", "p"))
    if drop == 1:
        raise _error(spec, "'drop_probability' must be below 1: every weight would be dropped")
    return drop, 1 - drop, sp.Symbol(weight, real=True)


def _probability(spec: ProblemSpec, field: str, value: object) -> sp.Expr:
    if isinstance(value, str) and NAME_PATTERN.fullmatch(value):
        return sp.Symbol(value, nonnegative=True)
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1:
        return sp.nsimplify(value, rational=True)
    raise _error(spec, f"'{field}' must be a name or a number from 0 to 1, not {value!r}")


def _error(spec: ProblemSpec, message: str) -> InputFileError:
    return InputFileError(f"problem '{spec.id}': {message}", location=spec.location)


def _tidy(expr: sp.Expr) -> sp.Expr:
    """sympy's result factored, each sum leading with a plus: p (1 − p) w², not −p w² (p − 1)."""
    sign, factors = sp.Integer(1), []
    for factor in sp.Mul.make_args(sp.factor(sp.cancel(expr))):
        base, exponent = factor.as_base_exp()
        if isinstance(base, sp.Add) and base.as_coeff_Add()[0] < 0 and exponent.is_integer:
            sign, factor = sign * (-1) ** exponent, (-base) ** exponent  # p − 1 → −(1 − p)
        factors.append(factor)
    return sp.Mul(sign, *factors)


def _expected(symbol: sp.Symbol) -> Tex:
    return Tex(rf"\operatorname{{E}}[{tex(symbol)}]")


def _variance(symbol: sp.Symbol) -> Tex:
    return Tex(rf"\operatorname{{Var}}({tex(symbol)})")


def _grouped(expr: sp.Expr) -> str:
    return rf"({tex(expr)})" if isinstance(expr, sp.Add) else tex(expr)


def check(
    spec: ProblemSpec, drop: sp.Expr, keep: sp.Expr, weight: sp.Symbol, answers: dict[str, Answer]
) -> Verification:
    """Every answer against the mean and variance summed over B ∈ {0, 1}, at several (p, w)."""
    symbol = next(iter(drop.free_symbols), None)
    values = DROP_VALUES if symbol is not None else (float(drop),)
    worst, points = 0.0, 0
    for value, w in itertools.product(values, WEIGHT_VALUES):
        at = {weight: w} if symbol is None else {weight: w, symbol: value}
        probability = {0: float(drop.subs(at)), 1: float(keep.subs(at))}
        mean = sum(probability[b] * w * b for b in (0, 1))
        spread = sum(probability[b] * (w * b - mean) ** 2 for b in (0, 1))
        got = {name: float(answer.value.subs(at)) for name, answer in answers.items()}
        inverted_mean = sum(probability[b] * got["inverted_scale"] * w * b for b in (0, 1))
        pairs = [
            (got["expectation"], mean),
            (got["variance"], spread),
            (got["inference_scale"] * w, mean),
            (inverted_mean, w),
        ]
        worst = max([worst, *(abs(a - b) / max(1.0, abs(b)) for a, b in pairs)])
        points += 1
    ok = bool(np.isfinite(worst) and worst <= TOLERANCE)
    if not ok:
        raise VerificationError(f"problem '{spec.id}': the dropout answers fail their check")
    return Verification(points, worst, ok, method="exact enumeration of B = 0 and B = 1, float64")
