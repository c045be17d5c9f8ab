"""Kind "batchnorm_numbers": batch-normalise a given batch exactly, as a key does by hand.

Mean, biased variance, standard deviation, the standardised batch and the output γx̂ + β, all
as exact sympy numbers (with ε > 0 the square root stays exact). Every displayed sum is printed
from the same numbers that give the answers; numpy then recomputes every answer in floats.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import sympy as sp

from derive.errors import VerificationError
from derive.model import Answer, Line, Part, Step, Tex, Verification
from derive.printing import tex
from derive.problems import ProblemSpec
from derive.problems.field_values import check_batch, exact_number, field_error
from derive.verify import within_tolerance

FIELDS: dict[str, str] = {
    "batch": "the batch: a list of numbers, e.g. [1, 7, 7, 9] (text such as '1/3' is exact)",
    "gamma": "the scale γ: a number (default 1)",
    "beta": "the shift β: a number (default 0)",
    "epsilon": "ε ≥ 0 added to the variance under the square root: a number (default 0)",
}

TOLERANCE = 1e-12
CONTINUE = Tex("")  # the left side of a continued line: "= …" under the previous one


def solve(spec: ProblemSpec) -> Part:
    """The Part for one batch: μ, σ², σ, x̂ = (x − μ)/σ and y = γx̂ + β, exactly."""
    batch = _batch(spec)
    gamma = _number(spec, "gamma", default=1)
    beta = _number(spec, "beta", default=0)
    epsilon = _number(spec, "epsilon", default=0)
    if epsilon < 0:
        raise field_error(spec, f"'epsilon' must be ≥ 0, not {epsilon}")
    size = len(batch)
    mean = sp.Add(*batch) / size
    deviations = [x - mean for x in batch]
    variance = sp.Add(*[d**2 for d in deviations]) / size  # biased: divide by m
    if variance + epsilon == 0:
        raise field_error(
            spec,
            f"every entry of 'batch' equals {mean}, so the variance is 0 and the batch cannot be "
            "standardised; give epsilon > 0",
        )
    std = sp.sqrt(variance + epsilon)
    normalized = [sp.radsimp(d / std) for d in deviations]
    output = [sp.expand(gamma * v + beta) for v in normalized]
    std_label = Tex(r"\sigma" if epsilon == 0 else r"\sqrt{\sigma^{2} + \epsilon}")
    hats, ys = _entries(r"\hat{x}", size), _entries("y", size)
    answers = {
        "mean": Answer("mean", Tex(r"\mu"), mean),
        "variance": Answer("variance", Tex(r"\sigma^{2}"), variance),
        "std": Answer("std", std_label, std),
        "normalized": Answer("normalized", hats, sp.Tuple(*normalized), shape=(size,)),
        "output": Answer("output", ys, sp.Tuple(*output), shape=(size,)),
    }
    steps = [
        Step(
            "Mean of the batch",
            _fraction_lines(Tex(r"\mu"), _summed(batch), sp.Add(*batch), size, mean),
            rule=f"The batch mean: the sum of the m = {size} values divided by m.",
            rule_math=Tex(r"\mu = \frac{1}{m} \sum_{i=1}^{m} x_i"),
        ),
        _variance_step(batch, mean, deviations, variance),
        _std_step(variance, epsilon, std, std_label),
        Step(
            "Standardise each value",
            (
                Line(
                    hats, _tuple_tex([rf"\frac{{{_minus(x, mean)}}}{{{tex(std)}}}" for x in batch])
                ),
                Line(CONTINUE, sp.Tuple(*normalized)),
            ),
            rule="Subtract the mean from each value and divide by the standard deviation.",
            rule_math=Tex(rf"\hat{{x}}_i = \frac{{x_i - \mu}}{{{std_label}}}"),
        ),
        _check_step(normalized, variance, epsilon),
        _output_step(normalized, output, gamma, beta, hats, ys),
    ]
    return Part(
        name=spec.id,
        heading=spec.title,
        statement=spec.statement,
        assumptions=[
            f"The batch has m = {size} values: {', '.join(sp.sstr(x) for x in batch)}.",
            "The variance is the biased (population) one, dividing by m rather than m − 1: the "
            "batch-norm convention.",
            Tex(rf"\gamma = {tex(gamma)},\ \beta = {tex(beta)},\ \epsilon = {tex(epsilon)}"),
        ],
        steps=steps,
        answers=answers,
        verification=check(batch, gamma, beta, epsilon, answers),
    )


def _batch(spec: ProblemSpec) -> list[sp.Rational]:
    value = spec.require("batch")
    if not isinstance(value, list | tuple):
        shown = "text" if isinstance(value, str) else type(value).__name__
        raise field_error(
            spec, f"'batch' must be a list of numbers, e.g. [1, 7, 7, 9], not {shown}"
        )
    if not value:
        raise field_error(spec, "'batch' is empty; give at least one number, e.g. [1, 7, 7, 9]")
    check_batch(spec, len(value), "the size of 'batch'")
    return [exact_number(spec, x, what=f"entry {i} of 'batch'") for i, x in enumerate(value, 1)]


def _number(spec: ProblemSpec, name: str, *, default: int) -> sp.Rational:
    value = spec.fields.get(name)
    return sp.Integer(default) if value is None else exact_number(spec, value, what=f"'{name}'")


def _entries(name: str, size: int) -> Tex:
    """(x̂_1, …, x̂_m) with the batch's own m."""
    if size <= 3:
        return Tex(rf"\left({', '.join(f'{name}_{{{i}}}' for i in range(1, size + 1))}\right)")
    return Tex(rf"\left({name}_{{1}}, \dots, {name}_{{{size}}}\right)")


def _tuple_tex(items: Sequence[str]) -> Tex:
    return Tex(rf"\left({', '.join(items)}\right)")


def _wrapped(value: sp.Expr) -> str:
    """A number as a factor or base: (−5), (1/2) in parentheses, 7 as is."""
    printed = tex(value)
    return printed if value.is_Integer and value >= 0 else rf"\left({printed}\right)"


def _minus(left: sp.Expr, right: sp.Expr) -> str:
    """left − right with a negative right side in parentheses: 1 − (−3)."""
    return rf"{tex(left)} - {tex(right) if right >= 0 else _wrapped(right)}"


def _summed(values: Sequence[str | sp.Expr]) -> str:
    """a + b − c: numbers joined with their signs; text pieces are joined with +."""
    pieces: list[str] = []
    for value in values:
        if isinstance(value, str):
            pieces.append(f" + {value}" if pieces else value)
        elif pieces and value < 0:
            pieces.append(f" - {tex(-value)}")
        else:
            pieces.append(f" + {tex(value)}" if pieces else tex(value))
    return "".join(pieces)


def _fraction_lines(
    label: Tex, written: str, total: sp.Expr, size: int, value: sp.Expr
) -> tuple[Line, ...]:
    """label = (written)/m = total/m = value, skipping a line that would repeat the previous."""
    lines = [Line(label, Tex(rf"\frac{{{written}}}{{{size}}}"))]
    if written != tex(total):
        lines.append(Line(CONTINUE, Tex(rf"\frac{{{tex(total)}}}{{{size}}}")))
    if size != 1 or written != tex(value):
        lines.append(Line(CONTINUE, value))
    return tuple(lines)


def _variance_step(
    batch: list[sp.Rational], mean: sp.Expr, deviations: list[sp.Expr], variance: sp.Expr
) -> Step:
    squares = [rf"\left({_minus(x, mean)}\right)^{{2}}" for x in batch]
    lines = _fraction_lines(
        Tex(r"\sigma^{2}"),
        _summed(squares),
        sp.Add(*[d**2 for d in deviations]),
        len(batch),
        variance,
    )
    deviated = Line(
        CONTINUE,
        Tex(rf"\frac{{{_summed([rf'{_wrapped(d)}^{{2}}' for d in deviations])}}}{{{len(batch)}}}"),
    )
    return Step(
        "Variance of the batch",
        (lines[0], deviated, *lines[1:]),
        rule="Batch norm uses the biased variance: the mean squared deviation, dividing by m.",
        rule_math=Tex(r"\sigma^{2} = \frac{1}{m} \sum_{i=1}^{m} (x_i - \mu)^{2}"),
    )


def _std_step(variance: sp.Expr, epsilon: sp.Expr, std: sp.Expr, label: Tex) -> Step:
    under = tex(variance) if epsilon == 0 else f"{tex(variance)} + {tex(epsilon)}"
    lines = [Line(label, Tex(rf"\sqrt{{{under}}}"))]
    if epsilon != 0:
        lines.append(Line(CONTINUE, Tex(rf"\sqrt{{{tex(variance + epsilon)}}}")))
    lines.append(Line(CONTINUE, std))
    rule = "The standard deviation is the square root of the variance"
    return Step(
        "Standard deviation",
        tuple(lines),
        rule=rule + ("." if epsilon == 0 else ", with ε added first for numerical safety."),
    )


def _check_step(normalized: list[sp.Expr], variance: sp.Expr, epsilon: sp.Expr) -> Step:
    size = len(normalized)
    spread = sp.Add(*[v**2 for v in normalized])
    squares = [rf"{_wrapped(v)}^{{2}}" for v in normalized]
    return Step(
        "Check: mean 0 and variance 1",
        (
            *_fraction_lines(
                Tex(r"\frac{1}{m} \sum_{i} \hat{x}_i"),
                _summed(normalized),
                sp.Add(*normalized),
                size,
                sp.Add(*normalized) / size,
            ),
            *_fraction_lines(
                Tex(r"\frac{1}{m} \sum_{i} \hat{x}_i^{2}"),
                _summed(squares),
                spread,
                size,
                spread / size,
            ),
        ),
        rule=(
            "The standardised batch has mean 0 and (biased) variance 1, as batch norm intends."
            if epsilon == 0
            else "The standardised batch has mean 0; ε makes its variance σ²/(σ² + ε) < 1."
        ),
    )


def _output_step(
    normalized: list[sp.Expr],
    output: list[sp.Expr],
    gamma: sp.Expr,
    beta: sp.Expr,
    hats: Tex,
    ys: Tex,
) -> Step:
    if gamma == 1 and beta == 0:
        return Step(
            "Scale and shift",
            (Line(ys, hats), Line(CONTINUE, sp.Tuple(*output))),
            rule="With γ = 1 and β = 0 the output is the standardised batch itself.",
            rule_math=Tex(r"y_i = \gamma \hat{x}_i + \beta"),
        )
    affine = [_summed([rf"{_wrapped(gamma)} \cdot {_wrapped(v)}", beta]) for v in normalized]
    return Step(
        "Scale and shift",
        (Line(ys, _tuple_tex(affine)), Line(CONTINUE, sp.Tuple(*output))),
        rule="Batch norm's learned scale γ and shift β give the layer's output.",
        rule_math=Tex(r"y_i = \gamma \hat{x}_i + \beta"),
    )


def check(
    batch: list[sp.Rational],
    gamma: sp.Expr,
    beta: sp.Expr,
    epsilon: sp.Expr,
    answers: dict[str, Answer],
) -> Verification:
    """Recompute every answer with numpy (np.var, ddof=0) and test x̂'s moments exactly."""
    normalized = list(answers["normalized"].value)
    variance = answers["variance"].value
    size = len(normalized)
    moments = (sp.Add(*normalized) / size, sp.Add(*[v**2 for v in normalized]) / size)
    if moments != (0, sp.radsimp(variance / (variance + epsilon))):
        raise VerificationError(
            f"batch norm: the standardised batch has mean and variance {moments}"
        )
    values = np.array([float(x) for x in batch])
    std = np.sqrt(np.var(values) + float(epsilon))
    expected = {
        "mean": np.mean(values),
        "variance": np.var(values),
        "std": std,
        "normalized": (values - np.mean(values)) / std,
        "output": float(gamma) * (values - np.mean(values)) / std + float(beta),
    }
    worst = 0.0
    for name, reference in expected.items():
        value = answers[name].value
        derived = np.array(
            [float(v) for v in value] if isinstance(value, sp.Tuple) else float(value)
        )
        error = float(np.max(np.abs(derived - reference)) / max(np.max(np.abs(reference)), 1.0))
        message = f"batch norm: the {name} disagrees with numpy"
        worst = max(worst, within_tolerance(error, message, TOLERANCE))
    method = "numpy's mean and np.var with ddof=0, float64"
    return Verification(points=1, max_rel_error=worst, ok=True, method=method)
