"""The LaTeX reader: derive's printed notation (and a student's) back to sympy."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from derive.errors import ExpressionSyntaxError, ShapeError, UnknownFunctionError
from derive.evaluate import Evaluator
from derive.functions import sigmoid
from derive.latex_names import normalize_name
from derive.latex_reader import read_latex
from derive.shapes import Scope, quantity

n, k = sp.symbols("n k", integer=True, positive=True)
ONE = sp.Integer(1)
QUANTITIES = [
    quantity("W1", (k, n)),
    quantity("x", (n, ONE)),
    quantity("s", (k, ONE)),
    quantity("delta_s", (k, ONE)),
    quantity("y_hat", (k, ONE)),
    quantity("t", (k, ONE)),
    quantity("A", (k, k)),
    quantity("reg", (ONE, ONE)),
    quantity("alpha", (ONE, ONE)),
    quantity("c_prev", (ONE, ONE)),
    quantity("sigma^2", (ONE, ONE)),
    quantity("r", (ONE, n)),
]
SCOPE = Scope({q.name: q for q in QUANTITIES})
SYMBOLS = {q.name: q.symbol for q in QUANTITIES}
W1, x, s, delta_s, y_hat, t, A = (
    SYMBOLS[name] for name in ["W1", "x", "s", "delta_s", "y_hat", "t", "A"]
)
reg, alpha, c_prev, variance = (SYMBOLS[name] for name in ("reg", "alpha", "c_prev", "sigma^2"))
i = sp.Symbol("i", integer=True)


def _sig(z: sp.Basic) -> sp.Basic:
    d = sp.Dummy()
    return ElementwiseApplyFunction(sp.Lambda(d, sigmoid(d)), z)


CALL_FIFTH = (alpha * (1 + alpha)) ** 5

READINGS = [
    ("adjoint-outer", r"\delta_{s} x^{\top}", delta_s * x.T),
    ("subscript-name", r"W_{1}^{\top} \delta_{s}", W1.T * delta_s),
    ("plain-subscript", r"W_1^T \delta_s", W1.T * delta_s),
    ("accent", r"\hat{y} - t", y_hat - t),
    ("mathit", r"2 \mathit{reg} W_{1}", 2 * reg * W1),
    ("letter-run", r"reg\,\alpha", reg * alpha),
    ("underscore-word", r"c_{\mathit{prev}} + c_{prev}", 2 * c_prev),
    ("ones-row", r"\mathbf{1}^{\top} s", sp.Trace(sp.OneMatrix(1, k) * s)),
    ("ones-sized", r"\mathbf{1}_{k}^{\top} s", sp.Trace(sp.OneMatrix(1, k) * s)),
    ("ones-in-sum", r"\mathbf{1} - s", sp.OneMatrix(k, 1) - s),
    ("identity", r"\alpha I + A", alpha * sp.Identity(k) + A),
    ("inverse", r"A^{-1} s", sp.Inverse(A) * s),
    ("fraction", r"\frac{1}{2} (\hat{y} - t)^{\top} (\hat{y} - t)", None),
    ("hadamard-oslash", r"s \odot t \oslash \hat{y}", None),
    ("entrywise-power", r"s^{\circ 2}", None),
    ("entrywise-power-times-bracket", r"s^{\circ 2} (\alpha + 1)", None),
    ("exp", r"e^{-\alpha}", sp.exp(-alpha)),
    ("exp-upright", r"\mathrm{e}^{-\alpha}", sp.exp(-alpha)),
    ("function-power", r"\tanh^{2}\left(\alpha\right)", sp.tanh(alpha) ** 2),
    ("indicator", r"\mathbb{I}[s > 0] \odot s", None),
    ("indicator-student", r"1[s>0] \odot s", None),
    ("step-names", r"H(s) \odot \operatorname{step}(s) \odot \operatorname{Heaviside}(s)", None),
    ("diag", r"\operatorname{diag}\left(s\right) A", None),
    ("trace", r"\operatorname{tr}\left(A\right)", sp.Trace(A)),
    ("abs-norm", r"\left|\alpha\right| + \left\|x\right\|", None),
    ("prime", r"\sigma'\left(s\right)", None),
    ("quantity-call", r"W_{1} \left(x\right)", W1 * x),
    # a quantity's call in parentheses of its own is one factor: the power takes all of it
    ("quantity-call-squared", r"(\alpha (\mathit{reg} + 1))^{2}", (alpha * (reg + 1)) ** 2),
    ("row-call-squared", r"(r (x + x))^{2}", sp.Trace(SYMBOLS["r"] * (x + x)) ** 2),
    ("call-powers-twice", r"(\alpha (1 + \alpha))^{2} (\alpha (1 + \alpha))^{3}", CALL_FIFTH),
    ("powered-name-squared", r"(\alpha^{2}(1 - \mathit{reg}))^{2}", (alpha**2 * (1 - reg)) ** 2),
    ("powered-name", r"\alpha^{2}(1 - \mathit{reg})", alpha**2 * (1 - reg)),
    ("layout", r"\begin{aligned} & s \\ &\quad + t \end{aligned}", s + t),
    ("variance-name", r"\sqrt{\sigma^{2} + 1}", sp.sqrt(variance + 1)),
    ("entry", r"\delta_{s,i} + x_{i}", delta_s[i, 0] + x[i, 0]),
]


def _value(expr: sp.Basic, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    dims = {n: 3, k: 4}
    values = {
        q.symbol: rng.uniform(0.5, 1.5, size=tuple(int(d.xreplace(dims)) for d in q.shape))
        if not q.is_scalar
        else rng.uniform(0.5, 1.5)
        for q in QUANTITIES
    }
    return np.asarray(Evaluator({**values, i: 1}, dims)(expr.xreplace({i: 1})), dtype=float)


@pytest.mark.parametrize(
    ("latex", "expected"), [r[1:] for r in READINGS], ids=[r[0] for r in READINGS]
)
def test_reads_printed_notation(latex: str, expected: sp.Basic | None) -> None:
    read = read_latex(latex, SCOPE, indices={"i": i}).expr
    if expected is not None:
        np.testing.assert_allclose(_value(read), _value(expected), rtol=1e-12)
    assert np.all(np.isfinite(_value(read)))


def test_sigmoid_prime_is_the_derivative() -> None:
    read = read_latex(r"\sigma'\left(s\right)", SCOPE).expr
    expected = _sig(s)
    sig = _value(expected)
    np.testing.assert_allclose(_value(read), sig * (1 - sig), rtol=1e-12)


def test_sum_with_limits_adds_the_entries() -> None:
    read = read_latex(r"\sum_{k=1}^{n} x_{k}", SCOPE).expr
    assert isinstance(read, sp.Sum)
    assert read.limits[0][2] == n


@pytest.mark.parametrize(
    ("printed", "identifier"),
    [
        (r"W_{1}", "W_1"),
        (r"\delta_{W_{1}}", "delta_W_1"),
        (r"\hat{y}", "y_hat"),
        (r"\mathit{reg}", "reg"),
        (r"\gamma_{1}", "gamma_1"),
        (r"W_{xi}", "W_xi"),
        (r"(W_{1})_{ij}", "W_1_ij"),
        (r"{x}_{k}", "x_k"),
        (r"\delta_{s,i}", "delta_s_i"),
        (r"\sigma'", "sigma'"),
        (r"\hat{\mathit{yy}}", "yy_hat"),
    ],
)
def test_normalizes_names(printed: str, identifier: str) -> None:
    assert normalize_name(printed) == identifier


@pytest.mark.parametrize(
    ("latex", "error", "message"),
    [
        (r"s \odot", ExpressionSyntaxError, "cannot read the LaTeX at the end"),
        (r"\operatorname{frob}(s)", UnknownFunctionError, "unknown function 'frob'"),
        (r"s + x", ShapeError, "cannot add k×1 and n×1"),
        (r"s \mathbf{1}^{\top}", ShapeError, r"write its length as a subscript, \mathbf{1}_{n}"),
        (r"s^{2}", ShapeError, "only a square matrix has integer powers"),
        (r"\operatorname{diag}(W_{1})", ShapeError, "diag takes a square matrix, not k×n"),
        ("", ExpressionSyntaxError, "empty formula"),
    ],
    ids=[
        "dangling-operator",
        "unknown-function",
        "shapes",
        "ones-size",
        "vector-power",
        "diag",
        "empty",
    ],
)
def test_errors_say_what_is_wrong(latex: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=None) as raised:
        read_latex(latex, SCOPE)
    assert message in str(raised.value)
