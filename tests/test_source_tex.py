"""Setup equations printed from the user's text: their order, their brackets, their numbers."""

from __future__ import annotations

import pytest
import sympy as sp

from derive.model import Equation, Line, Quantity, Tex
from derive.parse import Number, parse_expression
from derive.printing import latex_name
from derive.solve import solve
from derive.source_tex import equation_tex, number_tex, setup_line, source_tex
from tests.conftest import network_from

# names that are quantities: parentheses after them multiply (`W (x + b)`), as the builder reads
QUANTITIES = {"a", "b", "c", "f", "g", "h", "i", "m", "t", "x", "y", "z", "W", "W1", "b1", "c_prev"}
C_PREV = latex_name("c_prev")

# (id, equation text, the right side's LaTeX)
CASES: list[tuple[str, str, str]] = [
    # operators
    ("sum", "y = a + b", "a + b"),
    ("difference", "y = t - y", "t - y"),
    ("juxtaposition", "y = W1 x + b1", "W_{1} x + b_{1}"),
    ("star-is-juxtaposition", "y = W * x", "W x"),
    ("hadamard", "y = a .* b", r"a \odot b"),
    ("hadamard-unicode", "y = a ⊙ b", r"a \odot b"),
    ("fraction", "y = a / 2", r"\frac{a}{2}"),
    ("transpose", "y = x^T W x", r"x^{\top} W x"),
    ("transpose-unicode", "y = xᵀ x", r"x^{\top} x"),
    ("power", "y = x^2", "x^{2}"),
    ("power-star-star", "y = x**3", "x^{3}"),
    ("negative-exponent", "y = x^-1", "x^{-1}"),
    ("power-tower", "y = x^2^3", "x^{2^{3}}"),
    ("unary-minus", "y = -x", "-x"),
    ("minus-binds-looser-than-power", "y = -x^2", "-x^{2}"),
    ("leading-sign-of-product", "y = -a b", "-a b"),
    # the user's order of terms and factors
    ("lstm-cell", "c = f .* c_prev + i .* g", rf"f \odot {C_PREV} + i \odot g"),
    ("sum-of-squares", "y = sum(W .* W)", r"\operatorname{sum}(W \odot W)"),
    ("number-last", "y = x 2", r"x \cdot 2"),
    ("terms-kept", "y = b + W x", "b + W x"),
    # brackets: exactly where the tree needs them
    ("transposed-sum", "y = (a + b)^T", r"(a + b)^{\top}"),
    ("negated-difference", "y = -(x - y)", "-(x - y)"),
    ("product-with-sum", "y = W (x + b)", "W (x + b)"),
    ("quantity-before-parentheses", "y = W(x)", "W x"),
    ("grouped-right-difference", "y = a - (b - c)", "a - (b - c)"),
    ("grouped-right-sum", "y = a + (b + c)", "a + (b + c)"),
    ("left-sum-needs-none", "y = (a - b) - c", "a - b - c"),
    ("grouped-right-product", "y = W (x y)", "W (x y)"),
    ("denominator-product", "y = a / (b c)", r"\frac{a}{b c}"),
    ("numerator-sum", "y = (t - y)^2 / 2", r"\frac{(t - y)^{2}}{2}"),
    ("fraction-then-factor", "y = a / b c", r"\frac{a}{b} c"),
    ("fraction-of-fraction", "y = a / b / c", r"\frac{\frac{a}{b}}{c}"),
    ("redundant-parentheses-dropped", "y = x^(2)", "x^{2}"),
    ("redundant-parentheses-around-product", "y = (W x) + b", "W x + b"),
    ("transposed-product", "y = (W x)^T", r"(W x)^{\top}"),
    ("transpose-of-transpose", "y = x^T^T", r"(x^{\top})^{\top}"),
    ("power-of-negation", "y = (-x)^2", "(-x)^{2}"),
    ("transposed-parenthesised-factor", "y = W (x + b)^T", r"W (x + b)^{\top}"),
    ("transposed-whole-product", "y = (W (x + b))^T", r"(W (x + b))^{\top}"),
    ("negated-factor", "y = a * -b", "a (-b)"),
    ("no-double-minus", "y = t - -y", "t - (-y)"),
    ("no-minus-after-plus", "y = a + -b c", "a + (-b c)"),
    ("negated-negation", "y = -(-x)", "-(-x)"),
    ("negated-product", "y = -(a b)", "-(a b)"),
    ("matrix-product-then-hadamard", "y = W x .* m", r"(W x) \odot m"),
    ("hadamard-then-matrix-product", "y = (h .* m) W", r"(h \odot m) W"),
    ("hadamard-of-product", "y = h .* (W x)", r"h \odot (W x)"),
    ("numbers-side-by-side", "y = 2 3", r"2 \cdot 3"),
    ("number-and-fraction", "y = 2 (1 / 2)", r"2 \cdot \frac{1}{2}"),
    # functions
    ("sigmoid", "y = sigmoid(z)", r"\sigma(z)"),
    ("nested-calls", "y = sigmoid(tanh(W1 x + b1))", r"\sigma(\tanh(W_{1} x + b_{1}))"),
    ("relu", "y = relu(z) - a relu(-z)", r"\operatorname{relu}(z) - a \operatorname{relu}(-z)"),
    ("softplus", "y = softplus(z)", r"\operatorname{softplus}(z)"),
    ("log", "y = -(t log(y) + (1 - t) log(1 - y))", r"-(t \log(y) + (1 - t) \log(1 - y))"),
    ("exp", "y = exp(-x)", r"\mathrm{e}^{-x}"),
    ("exp-powered", "y = exp(x)^2", r"(\mathrm{e}^{x})^{2}"),
    ("norm", "y = norm(x - y)^2", r"\left\|x - y\right\|^{2}"),
    ("softmax", "y = softmax(W x)", r"\operatorname{softmax}(W x)"),
    ("tall-argument", "y = log(x / 2)", r"\log\left(\frac{x}{2}\right)"),
    ("called-function-powered", "y = sigmoid(z)^2", r"\sigma(z)^{2}"),
    ("generic-function", "y = phi(z)", r"\phi(z)"),
    # numbers as written
    ("decimal", "y = 0.7978845608 x", r"0.7978845608 x"),
    ("small-decimal", "y = 0.044715 x^3", r"0.044715 x^{3}"),
    ("leading-point", "y = .5 x", "0.5 x"),
    ("trailing-zero-kept", "y = 1.0 x", "1.0 x"),
    ("power-of-ten", "y = x + 1e-5", "x + 10^{-5}"),
    ("scientific", "y = 2.5e-3 x", r"(2.5 \cdot 10^{-3}) x"),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_equation_tex(text: str, expected: str) -> None:
    assert equation_tex(text, quantities=QUANTITIES) == expected


def test_equation_tex_is_trusted_latex() -> None:
    assert isinstance(equation_tex("y = a + b"), Tex)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (sp.Integer(7), "7"),
        (sp.Rational(3, 8), "0.375"),
        (sp.Rational(8943, 200000), "0.044715"),
        (sp.Rational(1, 20), "0.05"),
        (sp.Rational(1, 3), r"\frac{1}{3}"),
    ],
    ids=["integer", "eighths", "gelu-constant", "leading-zeros", "not-a-decimal"],
)
def test_number_without_its_text_prints_from_its_value(value: sp.Rational, expected: str) -> None:
    assert source_tex(Number(value, 0)) == expected


def test_number_token_rejects_other_text() -> None:
    with pytest.raises(ValueError, match="not a number"):
        number_tex("x")


def test_a_name_is_a_quantity_only_if_declared() -> None:
    node = parse_expression("f(x + b)")
    assert source_tex(node, quantities={"x", "b"}) == "f(x + b)"  # a declared function
    assert source_tex(node, quantities={"f", "x", "b"}) == "f (x + b)"  # a product


x_symbol = sp.MatrixSymbol("x", sp.Symbol("n", integer=True, positive=True), 1)
y_quantity = Quantity("y", (sp.Integer(1), sp.Integer(1)), sp.Symbol("y"))


def test_setup_line_keeps_the_sympy_rhs_as_its_value() -> None:
    rhs = sp.Trace(x_symbol.T * x_symbol) / 2
    line = setup_line(Equation(y_quantity, rhs, "y = x^T x / 2"), quantities={"x", "y"})
    assert line == Line(y_quantity.symbol, Tex(r"\frac{x^{\top} x}{2}"), value=rhs)


@pytest.mark.parametrize("text", ["", "z = x^T x / 2"], ids=["no-text", "another-target"])
def test_setup_line_prints_from_sympy_when_the_text_does_not_match(text: str) -> None:
    rhs = sp.Trace(x_symbol.T * x_symbol) / 2
    line = setup_line(Equation(y_quantity, rhs, text), quantities={"x", "y"})
    assert line == Line(y_quantity.symbol, rhs)


LSTM = """
title: LSTM cell state
given:
  f: vector n
  i: vector n
  g: vector n
  c_prev: vector n
  W: matrix n n
forward:
  - c = f .* c_prev + i .* g
loss: L = sum(W .* W) / 2 + 0.044715 * c^T c
wrt: [f]
variants:
  halved: c = 0.5 (f .* c_prev + i .* g)
"""


def test_solution_shows_the_setup_in_the_users_order() -> None:
    solution = solve(network_from(LSTM))
    latex = solution.to_latex()
    cell = rf"c &= f \odot {C_PREV} + i \odot g"
    loss = r"L &= \frac{\operatorname{sum}(W \odot W)}{2} + 0.044715 c^{\top} c"
    halved = rf"c &= 0.5 (f \odot {C_PREV} + i \odot g)"
    assert cell in latex and loss in latex and halved in latex
    assert rf"{C_PREV} \odot f" not in latex.split(r"\subsection*{Derivation}")[0]
    assert r"\mathbf{1}^{\top} W" not in latex.split(r"\subsection*{Derivation}")[0]
    main, variant = solution.parts
    assert [line.value for line in main.setup] == [eq.rhs for eq in network_from(LSTM).equations]
    assert variant.setup[0].value is not None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("h = (w1 * x) (x + y)", "(w_{1} x) (x + y)"),  # a 1×1 product before a bracket
        ("h = (w1 * x) (x ./ (1 + x))", r"(w_{1} x) (x \oslash (1 + x))"),
        ("h = W * V * (x + y)", "(W V) (x + y)"),
        ("h = (w1 * x) x", "w_{1} x x"),  # no bracket follows: nothing to take as argument
    ],
)
def test_a_product_before_a_bracket_keeps_its_parentheses(text: str, expected: str) -> None:
    assert equation_tex(text, quantities={"w1", "x", "y", "W", "V"}) == expected
