"""The LaTeX printer: a table of sympy expressions and the LaTeX a solution key shows for them."""

from __future__ import annotations

import pytest
import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.matrices.expressions.hadamard import HadamardProduct
from sympy.printing.latex import LatexPrinter

from derive.activations import absolute
from derive.functions import relu, sigmoid, softplus
from derive.printing import DeriveLatexPrinter, latex_name, tex

n, k = sp.symbols("n k", integer=True, positive=True)
i, j = sp.symbols("i j", integer=True)
t, y, z, h = sp.symbols("t y z h")
d = sp.Dummy("d")
f = sp.Function("f")

W1 = sp.MatrixSymbol("W1", k, n)
X = sp.MatrixSymbol("X", k, n)
x = sp.MatrixSymbol("x", n, 1)
s = sp.MatrixSymbol("s", k, 1)
delta_s = sp.MatrixSymbol("delta_s", k, 1)
delta_w1 = sp.MatrixSymbol("delta_W1", k, n)
ones = sp.OneMatrix(k, 1)


def _sigma(v: sp.MatrixExpr) -> sp.MatrixExpr:
    return ElementwiseApplyFunction(sp.Lambda(d, sigmoid(d)), v)


def _softsign_prime(v: sp.MatrixExpr) -> sp.MatrixExpr:
    return ElementwiseApplyFunction(sp.Lambda(d, (absolute(d) + 1) ** -2), v)


SOFTSIGN_S = r"\left(1 \oslash \left(\left|s\right| + 1\right)^{\circ 2}\right)"
SOFTSIGN_ST = r"\left(1 \oslash \left(\left|s^{\top}\right| + 1\right)^{\circ 2}\right)"

CASES: list[tuple[str, sp.Basic, str]] = [
    # names
    ("plain", sp.Symbol("x"), "x"),
    ("digit-subscript", sp.Symbol("W1"), "W_{1}"),
    ("digit-subscript-b", sp.Symbol("b2"), "b_{2}"),
    ("word-subscript", sp.Symbol("y_pred"), "y_{pred}"),
    ("greek", sp.Symbol("gamma"), r"\gamma"),
    ("greek-lambda", sp.Symbol("lambda"), r"\lambda"),
    ("greek-digit", sp.Symbol("alpha2"), r"\alpha_{2}"),
    ("multi-letter", sp.Symbol("loss"), r"\mathit{loss}"),
    ("accent", sp.Symbol("y_hat"), r"\hat{y}"),
    ("matrix-symbol", W1, "W_{1}"),
    ("adjoint", sp.Symbol("delta_s"), r"\delta_{s}"),
    ("adjoint-subscript", sp.Symbol("delta_W1"), r"\delta_{W_{1}}"),
    ("adjoint-word", sp.Symbol("delta_y_pred"), r"\delta_{y_{pred}}"),
    ("adjoint-matrix", delta_w1, r"\delta_{W_{1}}"),
    ("bare-delta", sp.Symbol("delta"), r"\delta"),
    # functions
    ("sigmoid", sigmoid(z), r"\sigma(z)"),
    ("relu", relu(z), r"\operatorname{relu}(z)"),
    ("softplus", softplus(z), r"\operatorname{softplus}(z)"),
    ("tanh", sp.tanh(z), r"\tanh(z)"),
    ("tanh-squared", sp.tanh(z) ** 2, r"\tanh^{2}(z)"),
    ("heaviside", sp.Heaviside(z), r"\mathbb{I}[z > 0]"),
    ("undefined", f(z), "f(z)"),
    ("prime", sp.Derivative(f(z), z), "f'(z)"),
    ("second-prime", sp.Derivative(f(z), (z, 2)), "f''(z)"),
    ("chain-rule-subs", f(z**2).diff(z), "2 z f'(z^{2})"),
    ("sigmoid-prime", sp.Derivative(sigmoid(d), d, evaluate=False), r"\sigma'(d)"),
    ("tall-argument", sigmoid(1 / z), r"\sigma\left(\frac{1}{z}\right)"),
    # elementwise
    ("elementwise-sigmoid", _sigma(s), r"\sigma(s)"),
    ("elementwise-class", ElementwiseApplyFunction(sigmoid, W1 * x + s), r"\sigma(W_{1} x + s)"),
    ("elementwise-reciprocal", ElementwiseApplyFunction(sp.Lambda(d, 1 / d), X), r"1 \oslash X"),
    # softsign' = 1 ⊘ (|s| + 1)^{∘2} is a ⊘ product: bracketed as a factor (before, Wᵀ 1 ⊘ … read
    # as (Wᵀ 1) ⊘ …), after a column, before a row, behind a number
    (
        "reciprocal-body-after-a-matrix",
        W1.T * _softsign_prime(s),
        rf"W_{{1}}^{{\top}} {SOFTSIGN_S}",
    ),
    ("reciprocal-body-before-a-matrix", _softsign_prime(s.T) * W1, rf"{SOFTSIGN_ST} W_{{1}}"),
    ("reciprocal-body-scaled", 2 * _softsign_prime(s), rf"2 {SOFTSIGN_S}"),
    (
        "elementwise-square",
        ElementwiseApplyFunction(sp.Lambda(d, d**2), W1 * x),
        r"(W_{1} x)^{\circ 2}",
    ),
    (
        "elementwise-derivative",
        ElementwiseApplyFunction(sp.Lambda(d, sp.Derivative(f(d), d)), s),
        "f'(s)",
    ),
    (
        "elementwise-heaviside",
        ElementwiseApplyFunction(sp.Heaviside, W1 * x),
        r"\mathbb{I}[W_{1} x > 0]",
    ),
    # matrix algebra
    ("one-matrix", ones, r"\mathbf{1}"),
    ("identity", sp.Identity(k), "I"),
    ("zero-matrix", sp.ZeroMatrix(k, 1), r"\mathbf{0}"),
    ("transpose", X.T, r"X^{\top}"),
    ("transpose-subscript", W1.T, r"W_{1}^{\top}"),
    (
        "transpose-hadamard",
        sp.Transpose(HadamardProduct(s, delta_s)),
        r"(s \odot \delta_{s})^{\top}",
    ),
    ("transpose-sum", sp.Transpose(W1 + X), r"(W_{1} + X)^{\top}"),
    ("answer", delta_s * x.T, r"\delta_{s} x^{\top}"),
    ("negated-matmul", -delta_s * x.T, r"- \delta_{s} x^{\top}"),
    ("scalar-sum-coefficient", (t - y) * delta_s * x.T, r"(t - y) \delta_{s} x^{\top}"),
    (
        "hadamard",
        HadamardProduct(delta_s, ones - _sigma(s)),
        r"\delta_{s} \odot (\mathbf{1} - \sigma(s))",
    ),
    (
        "hadamard-in-matmul",
        HadamardProduct(delta_s, _sigma(s)) * x.T,
        r"(\sigma(s) \odot \delta_{s}) x^{\top}",
    ),
    ("trace-scalar", sp.Trace(x.T * x), r"x^{\top} x"),
    ("trace-scalar-in-product", t * sp.Trace(-(x.T * x)), r"t (- x^{\top} x)"),
    ("trace-matrix", sp.Trace(X * X.T), r"\operatorname{tr}(X X^{\top})"),
    ("diag", DiagMatrix(s), r"\operatorname{diag}(s)"),
    # diag reads a column: a row is printed transposed, a transposed column bare
    ("diag-of-a-row", DiagMatrix(sp.MatrixSymbol("w", 1, n)), r"\operatorname{diag}(w^{\top})"),
    ("diag-of-a-transposed-column", DiagMatrix(s.T), r"\operatorname{diag}(s)"),
    (
        "diag-of-a-row-product",
        DiagMatrix(x.T * W1.T),
        r"\operatorname{diag}((x^{\top} W_{1}^{\top})^{\top})",
    ),
    ("inverse", sp.Inverse(X * X.T), r"(X X^{\top})^{-1}"),
    ("inverse-symbol", sp.Inverse(sp.MatrixSymbol("A", k, k)), "A^{-1}"),
    # index form
    ("element-vector", x[i, 0], "x_{i}"),
    ("element-matrix", X[i, j], "X_{ij}"),
    ("element-subscripted", W1[i, j], "(W_{1})_{ij}"),
    ("element-adjoint", delta_s[i, 0], r"\delta_{s,i}"),
    ("element-adjoint-matrix", delta_w1[i, j], r"\delta_{W_{1},ij}"),
    ("element-compound-index", X[i + 1, j], "X_{i + 1,j}"),
    ("element-of-1x1", sp.MatrixSymbol("e", 1, 1)[0, 0], "e"),
    (
        "sum",
        sp.Sum(W1[i, j] * x[j, 0], (j, 0, n - 1)),
        r"\sum_{j=0}^{n - 1} (W_{1})_{ij} x_{j}",
    ),
    # scalar algebra
    (
        "textbook-product",
        -(t - y) * sigmoid(z) * (1 - sigmoid(z)) * h,
        r"(y - t) h \sigma(z) (1 - \sigma(z))",
    ),
    ("positive-term-first", y - t, "y - t"),
    ("all-negative", -y - t, "- t - y"),
    ("fraction", 1 / (1 + sp.exp(-z)), r"\frac{1}{1 + \mathrm{e}^{- z}}"),
    ("rational", sp.Rational(-5, 3), r"- \frac{5}{3}"),
    # constants (sympy prints these through _latex hooks, which derive's printmethod skips)
    ("infinity", sp.oo, r"\infty"),
    ("negative-infinity", -sp.oo, r"-\infty"),
    ("pi-times-symbol", 2 * sp.pi * z, r"2 \pi z"),
    ("imaginary-unit", 1 + 2 * sp.I, "1 + 2 i"),
]


@pytest.mark.parametrize(("expr", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_tex(expr: sp.Basic, expected: str) -> None:
    assert tex(expr) == expected


def test_printer_class_is_a_sympy_latex_printer() -> None:
    printer = DeriveLatexPrinter()
    assert isinstance(printer, LatexPrinter)
    assert printer.doprint(sigmoid(z)) == r"\sigma(z)"


def test_settings_pass_through() -> None:
    assert tex(sp.Symbol("a") * sp.Symbol("b"), mul_symbol="dot") == r"a \cdot b"


@pytest.mark.parametrize(
    ("name", "expected"),
    [("W1", "W_{1}"), ("h_2_out", "h_{2,out}"), ("delta_", r"\delta_{}")],
    ids=["digits", "two-subscripts", "prefix-only"],
)
def test_latex_name(name: str, expected: str) -> None:
    assert latex_name(name) == expected


def test_entrywise_division_prints_as_oslash() -> None:
    from derive.functions import ENTRY, elementwise

    t, p = sp.MatrixSymbol("t", 3, 1), sp.MatrixSymbol("p", 3, 1)
    reciprocal = elementwise(sp.Lambda(ENTRY, 1 / ENTRY), p)
    assert tex(sp.HadamardProduct(t, reciprocal)) == r"t \oslash p"
    assert tex(sp.HadamardProduct(-t, reciprocal)) == r"- t \oslash p"
    assert tex(sp.OneMatrix(1, 3) * t) == r"\mathbf{1}^{\top} t"
