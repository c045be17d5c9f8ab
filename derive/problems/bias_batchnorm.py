"""Kind "bias_before_batchnorm": a bias added before batch norm changes nothing.

For one output unit over a batch a_1, …, a_m (symbolic m, or a given size), BN(a + b)_i is
written with sympy Sums: the mean shifts by b, centring removes it, the variance is unchanged,
so BN(a + b)_i = BN(a)_i and ∂BN(a + b)_i/∂b = 0. sympy proves both after writing every batch
sum in the a_k alone (``linear_sums``); random batches confirm them numerically against numpy.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from derive.errors import InputFileError, VerificationError
from derive.evaluate import Evaluator
from derive.load import shorten
from derive.model import Answer, Line, Part, Step, Tex, Verification
from derive.printing import tex
from derive.problems import ProblemSpec
from derive.problems.field_values import check_batch

FIELDS: dict[str, str] = {
    "batch_size": "optional: a whole number m ≥ 2 of examples in the batch; default symbolic m",
    "epsilon": "optional: whether batch norm adds ε under its square root; default true",
}

BATCH_SIZES = (2, 3, 5, 8)  # the numeric check's batches when the size is symbolic
TOLERANCE = 1e-10

i, j, k = sp.symbols("i j k", integer=True, positive=True)
a = sp.IndexedBase("a", real=True)
b, gamma, beta = sp.symbols("b gamma beta", real=True)
mu_a, sigma_a = sp.Symbol("mu_a", real=True), sp.Symbol("sigma_a", positive=True)
mu_ab, sigma_ab = sp.Symbol("mu_ab", real=True), sp.Symbol("sigma_ab", positive=True)  # of a + b
MU_SHIFTED, SIGMA_SHIFTED = Tex(r"\mu_{a+b}"), Tex(r"\sigma_{a+b}^{2}")
SHIFTED_NAMES = {mu_ab: r"\mu_{a+b}", sigma_ab: r"\sigma_{a+b}"}
BN_SHIFTED = Tex(r"\mathrm{BN}(a + b)_{i}")
BN_PLAIN = Tex(r"\mathrm{BN}(a)_{i}")


def mean(summand: sp.Expr, index: sp.Symbol, m: sp.Expr) -> sp.Expr:
    """(1/m) Σ_index summand over the batch."""
    return sp.Sum(summand, (index, 1, m)) / m


def batchnorm(x: sp.Expr, batch: sp.Expr, m: sp.Expr, epsilon: sp.Expr) -> sp.Expr:
    """BN of the entry x of a batch whose k-th entry is ``batch``: γ (x − μ)/√(σ² + ε) + β."""
    mu = mean(batch, k, m)
    variance = mean((batch.xreplace({k: j}) - mu) ** 2, j, m)
    return gamma * (x - mu) / sp.sqrt(variance + epsilon) + beta


def linear_sums(expr: sp.Expr) -> sp.Expr:
    """Each Sum split into sums of single terms over k, constants taken out: Σ(a_k + b) = Σa_k + mb.

    Two ways of writing the same batch statistic become the same expression, so a difference
    of them cancels (sympy's own ``simplify`` does not combine nested Sums reliably).
    """

    def split(total: sp.Sum) -> sp.Expr:
        ((index, low, high),) = total.limits
        result = sp.Integer(0)
        for term in sp.Add.make_args(sp.expand(total.function)):
            constant, varying = term.as_independent(index, as_Add=False)
            if varying == 1:
                result += constant * (high - low + 1)
            else:
                result += constant * sp.Sum(varying.xreplace({index: k}), (k, low, high))
        return result

    return expr.replace(lambda e: isinstance(e, sp.Sum), split)


def _vanishes(expr: sp.Expr) -> bool:
    """Whether ``expr`` is 0: expanded (the radicands then agree term by term), else cancelled,
    and only then by ``sp.simplify``."""
    return sp.expand(expr) == 0 or sp.cancel(expr) == 0 or sp.simplify(expr) == 0


def solve(spec: ProblemSpec) -> Part:
    m, epsilon = read(spec)
    shifted = batchnorm(a[i] + b, a[k] + b, m, epsilon)
    plain = batchnorm(a[i], a[k], m, epsilon)
    difference = linear_sums(shifted - plain)
    gradient = linear_sums(sp.diff(shifted, b))
    if not (_vanishes(difference) and _vanishes(gradient)):
        raise VerificationError(f"problem '{spec.id}': sympy could not cancel the bias")
    difference = gradient = sp.S.Zero  # what both reduce to
    normalised = gamma * (a[i] - mu_a) / sp.sqrt(sigma_a**2 + epsilon) + beta
    difference_label = Tex(rf"{BN_SHIFTED} - {BN_PLAIN}")
    gradient_label = Tex(rf"\partial\, {BN_SHIFTED} / \partial b")
    return Part(
        name=spec.id,
        heading=spec.title,
        statement=spec.statement,
        assumptions=assumptions(m, epsilon),
        setup=[
            Line(mu_a, mean(a[k], k, m)),
            Line(sigma_a**2, mean((a[j] - mu_a) ** 2, j, m)),
            Line(BN_PLAIN, normalised),
        ],
        steps=[
            *shift_steps(m),
            Step(
                "So is the normalised value, and the output",
                (
                    Line(
                        BN_SHIFTED,
                        _shown(gamma * _centred(a[i]) / sp.sqrt(sigma_ab**2 + epsilon) + beta),
                    ),
                    Line(Tex(""), normalised),
                    Line(Tex(""), BN_PLAIN),
                    Line(difference_label, difference),
                ),
                rule=(
                    "Substitute the mean and variance of steps 1 and 3. To check, sympy writes "
                    "every batch sum in the difference in the batch values alone: it is 0."
                ),
            ),
            Step(
                "The bias gets no gradient",
                (Line(Tex(rf"\frac{{\partial\, {BN_SHIFTED}}}{{\partial b}}"), gradient),),
                rule="Whatever the loss, gradient descent never moves b from its initial value.",
            ),
            bias_step(normalised),
        ],
        answers={
            "difference": Answer("difference", difference_label, difference),
            "bias_gradient": Answer("bias_gradient", gradient_label, gradient),
        },
        verification=check(spec, m, epsilon, shifted, plain),
    )


def shift_steps(m: sp.Expr) -> list[Step]:
    """The batch statistics of a + b: the mean moves by b, deviations and variance do not."""
    shifted_mean = linear_sums(mean(a[k] + b, k, m))
    by_name = {sp.Sum(a[k], (k, 1, m)): m * mu_a}  # Σ a_k = m μ_a
    deviation = _centred(a[i])
    spread = mean(_centred(a[j]) ** 2, j, m)
    return [
        Step(
            "The batch mean shifts by b",
            (
                Line(MU_SHIFTED, mean(a[k] + b, k, m)),
                Line(Tex(""), sp.expand(shifted_mean)),
                Line(Tex(""), sp.expand(shifted_mean.subs(by_name))),
            ),
            rule="The sum of a constant over m examples is m times it.",
        ),
        Step(
            "Centring removes b",
            (Line(_shown(deviation), deviation.subs(mu_ab, mu_a + b)),),
            rule="The mean of step 1.",
        ),
        Step(
            "The variance is unchanged",
            (
                Line(SIGMA_SHIFTED, _shown(spread)),
                Line(Tex(""), spread.subs(mu_ab, mu_a + b)),
                Line(Tex(""), sigma_a**2),
            ),
            rule="Every deviation from the mean is the same as without b (step 2).",
        ),
    ]


def bias_step(normalised: sp.Expr) -> Step:
    """BN(a)_i = slope · a_i + offset: the offset the bias would give comes through β."""
    slope, offset = sp.diff(normalised, a[i]), normalised.subs(a[i], 0)
    return Step(
        "β is the bias",
        (Line(BN_PLAIN, Tex(rf"{tex(slope)}\, {tex(a[i])} + \left({tex(offset)}\right)")),),
        rule=(
            "Without b the output is still an affine function of the unit's value, and its "
            "offset is learned through β. A linear layer followed by batch norm can be "
            "nn.Linear(..., bias=False) and loses nothing."
        ),
    )


def _shown(expr: sp.Expr) -> Tex:
    """``expr`` printed with μ_{a+b} and σ_{a+b} for the statistics of the shifted batch."""
    return Tex(tex(expr, symbol_names=SHIFTED_NAMES, order="none"))


def _centred(entry: sp.Expr) -> sp.Expr:
    """a_i + b − μ_{a+b}, kept in this order (sympy would write b − μ_{a+b} + a_i)."""
    return sp.Add(entry, b, -mu_ab, evaluate=False)


def read(spec: ProblemSpec) -> tuple[sp.Expr, sp.Expr]:
    """The batch size (symbolic m unless given) and ε (a positive symbol, or 0 when off)."""
    size = spec.fields.get("batch_size", "m")
    if size != "m" and (isinstance(size, bool) or not isinstance(size, int) or size < 2):
        shown = repr(shorten(size)) if isinstance(size, str) else repr(size)
        message = f"'batch_size' must be m (symbolic) or a whole number of at least 2, not {shown}"
        raise _error(spec, message)
    if isinstance(size, int):
        check_batch(spec, size, "'batch_size'", limit="batch_size")
    with_epsilon = spec.fields.get("epsilon", True)
    if not isinstance(with_epsilon, bool):
        shown = shorten(str(with_epsilon))
        raise _error(spec, f"'epsilon' must be true or false, not {shown!r}")
    m = sp.Symbol("m", integer=True, positive=True) if size == "m" else sp.Integer(size)
    return m, sp.Symbol("epsilon", positive=True) if with_epsilon else sp.Integer(0)


def _error(spec: ProblemSpec, message: str) -> InputFileError:
    return InputFileError(f"problem '{spec.id}': {message}", location=spec.location)


def assumptions(m: sp.Expr, epsilon: sp.Expr) -> list[Tex | str]:
    found: list[Tex | str] = [
        "Batch norm treats each output unit on its own, so one unit suffices.",
        Tex(rf"a_k = w^{{\top}} x_k \text{{ for the examples }} k = 1, \dots, {tex(m)}"),
        Tex(r"a_k, b, \gamma, \beta \in \mathbb{R}"),
    ]
    if epsilon == 0:
        found.append("No ε: the batch's values are not all equal, so its variance is positive.")
    else:
        found.append(Tex(rf"{tex(epsilon)} > 0"))
    return found


def check(
    spec: ProblemSpec, m: sp.Expr, epsilon: sp.Expr, shifted: sp.Expr, plain: sp.Expr
) -> Verification:
    """Both sides on random batches, evaluated from the sympy expressions and by numpy."""
    rng = np.random.default_rng(0)
    sizes = BATCH_SIZES if isinstance(m, sp.Symbol) else (int(m),)
    worst = 0.0
    for size in sizes:
        batch = rng.normal(2.0, 3.0, size)
        bias, scale, shift = rng.normal(size=3) * 4
        eps = 1e-3 if epsilon != 0 else 0.0
        values = {b: bias, gamma: scale, beta: shift, epsilon: eps, m: size}
        values = {symbol: value for symbol, value in values.items() if symbol.is_Symbol}
        values |= {a[n + 1]: batch[n] for n in range(size)}
        expected = scale * (batch - batch.mean()) / np.sqrt(batch.var() + eps) + shift  # numpy
        for side in (shifted, plain):
            evaluate = Evaluator(values, {})  # one per side: the batch's sums evaluated once
            got = np.array([float(evaluate(side.xreplace({i: n + 1}))) for n in range(size)])
            worst = max(
                worst, float(np.max(np.abs(got - expected) / np.maximum(1.0, np.abs(expected))))
            )
    if not worst <= TOLERANCE:
        raise VerificationError(
            f"problem '{spec.id}': batch norm with and without b differ numerically"
        )
    return Verification(
        len(sizes), worst, True, method="numpy's batch norm on random batches, float64"
    )
