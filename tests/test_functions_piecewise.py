"""The piecewise and parametrised functions (issue 10 item 4): leaky_relu, gelu, gelu_tanh,
hardtanh, clip, huber, max and min. Each solves in a network, passes the numeric check (points
drawn away from its kinks), prints its derivative in the textbook form (indicators 𝕀[a > b],
Φ and φ) and reads back from every printed formula; the grader reads the step function however
a student writes it."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import sympy as sp

from derive.errors import DeriveError, ShapeError, UnsupportedError
from derive.evaluate import Evaluator
from derive.functions import relu
from derive.functions_piecewise import (
    ExtremeIndicator,
    clip,
    entry_max,
    huber,
    maximum,
    normal_cdf,
    normal_pdf,
)
from derive.grade import read_answer
from derive.load import parse_network_text
from derive.numeric_functions import _erf, _normal_cdf, _normal_pdf
from derive.parse import TextSpan
from derive.printing import tex
from derive.roundtrip import check_printed
from derive.shapes import SCALAR, Scope, quantity

SPAN = TextSpan("<answer>")
solve = importlib.import_module("derive.solve").solve  # derive.solve is also a function


def network(vector: str, scalar: str, wrt: str = "W1, b1, c") -> str:
    return f"""title: piecewise
given:
  x: vector n
  W1: matrix k n
  b1: vector k
  w: vector k
  c: scalar
  alpha: scalar
forward:
  - s = W1 x + b1
  - h = {vector}
  - y = w^T h + {scalar}
loss: L = y^2 / 2
wrt: [{wrt}]
"""


def solved(vector: str, scalar: str, wrt: str = "W1, b1, c"):  # type: ignore[no-untyped-def]
    (part,) = solve(parse_network_text(network(vector, scalar, wrt))).parts
    assert part.verification is not None and part.verification.ok
    assert check_printed(part) > 0  # every printed formula read back as what it was printed from
    return part


# id, the vector use, the scalar use, δ_c as printed, a piece of δ_b1 as printed (δ_y = y)
CASES = [
    (
        "leaky_relu",
        "leaky_relu(s)",
        "leaky_relu(c)",
        r"\frac{y (\mathbb{I}[c \leq 0] + 100 \mathbb{I}[c > 0])}{100}",
        r"\frac{1}{100} \mathbb{I}[s \leq 0] + \mathbb{I}[s > 0]",
    ),
    (
        "leaky_relu-slope",
        "leaky_relu(s, 0.2)",
        "leaky_relu(c, alpha)",
        r"y (\alpha \mathbb{I}[c \leq 0] + \mathbb{I}[c > 0])",
        r"\frac{1}{5} \mathbb{I}[s \leq 0] + \mathbb{I}[s > 0]",
    ),
    ("gelu", "gelu(s)", "gelu(c)", r"y (c \phi(c) + \Phi(c))", r"s \odot \phi(s) + \Phi(s)"),
    (
        "gelu_tanh",
        "gelu_tanh(s)",
        "gelu_tanh(c)",
        r"\frac{y \left(\frac{\sqrt{2} c \left(1 - \tanh^{2}\left(\frac{\sqrt{2} (0.044715 c^{3} "
        r"+ c)}{\sqrt{\pi}}\right)\right) (0.134145 c^{2} + 1)}{\sqrt{\pi}} + \tanh\left("
        r"\frac{\sqrt{2} (0.044715 c^{3} + c)}{\sqrt{\pi}}\right) + 1\right)}{2}",
        r"(0.134145 s^{\circ 2} + 1)",
    ),
    (
        "hardtanh",
        "hardtanh(s)",
        "hardtanh(c)",
        r"y \mathbb{I}[c < 1] \mathbb{I}[c > -1]",
        r"\mathbb{I}[s < 1] \odot \mathbb{I}[s > -1]",
    ),
    (
        "clip",
        "clip(s, -0.5, 0.5)",
        "clip(c, -1, 1)",
        r"y \mathbb{I}[c < 1] \mathbb{I}[c > -1]",
        r"\mathbb{I}[s < \frac{1}{2}] \odot \mathbb{I}[s > - \frac{1}{2}]",
    ),
    (
        "huber",
        "huber(s)",
        "huber(c, 0.5)",
        r"y \operatorname{clip}\left(c, - \frac{1}{2}, \frac{1}{2}\right)",
        r"\operatorname{clip}(s, -1, 1)",
    ),
    (
        "max",
        "max(s, alpha)",
        "max(c, alpha)",
        r"y \mathbb{I}[c > \alpha]",
        r"\mathbb{I}[s > \alpha]",
    ),
    ("min", "min(s, 1)", "min(alpha, c)", r"y \mathbb{I}[\alpha > c]", r"\mathbb{I}[s < 1]"),
]


@pytest.mark.parametrize(
    ("vector", "scalar", "expected", "entrywise"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_a_network_using_the_function_solves_checks_and_reads_back(
    vector: str, scalar: str, expected: str, entrywise: str
) -> None:
    part = solved(vector, scalar)
    assert tex(part.answers["c"].value) == expected
    assert entrywise in tex(part.answers["b1"].value)


@pytest.mark.parametrize(
    ("vector", "scalar", "expected"),
    [
        (
            "leaky_relu(s, alpha)",
            "c",
            r"y \mathbf{1}^{\top} (w \odot (s \odot \mathbb{I}[s \leq 0]))",
        ),
        ("clip(s, -1, alpha)", "c", r"y \mathbf{1}^{\top} (w \odot \mathbb{I}[s > \alpha])"),
        (
            "max(s, alpha)",
            "max(c, alpha)",
            r"y \mathbb{I}[\alpha > c] + y \mathbf{1}^{\top} (w \odot \mathbb{I}[s < \alpha])",
        ),
    ],
    ids=["leaky_relu-slope", "clip-bound", "max-scalar"],
)
def test_the_gradient_with_respect_to_a_parameter(vector: str, scalar: str, expected: str) -> None:
    """δ_α of an entrywise f(s, α) is the sum over the entries of δ_h ⊙ ∂f/∂α."""
    part = solved(vector, scalar, wrt="alpha")
    assert tex(part.answers["alpha"].value) == expected


def test_max_and_min_of_two_vectors_and_over_the_entries() -> None:
    """max(A, B) of one shape sends δ ⊙ 𝕀[A > B] to A; max(x) sends δ to its largest entry."""
    text = """title: max pooling
given:
  x: vector n
  W1: matrix k n
  W2: matrix k n
  b1: vector k
forward:
  - s = W1 x + b1
  - r = W2 x
  - m = max(s, r) + min(r, s)
  - y = max(m) - min(s)
loss: L = y^2 / 2
wrt: [W1, W2, b1]
"""
    (part,) = solve(parse_network_text(text)).parts
    assert part.verification is not None and part.verification.ok
    assert check_printed(part) > 0
    printed = tex(part.answers["b1"].value)
    assert r"\mathbb{I}[m = \max(m)]" in printed
    assert r"\mathbb{I}[s = \min(s)]" in printed
    assert r"\mathbb{I}[s - r > 0]" in printed


# max over the entries of an expression the backward pass rewrites (transposes, distributes),
# one layer deeper, over a row vector, used twice: 𝕀[z = max(z)] must still pick the entry
REWRITTEN_EXTREMES = {
    "one-layer-deeper": """
given: {x: vector n, W1: matrix n n, W2: matrix k n}
forward:
  - h1 = tanh(W1 x)
  - h2 = max(sum(h1) (W2 h1))
loss: e = sigmoid(h2)
wrt: [x, W1, W2]
""",
    "row-vector": """
given: {a1: scalar, r: row n, W1: matrix n k}
forward:
  - h1 = max(a1 (a1 + r))
  - h2 = min(sum(r) (r W1))
loss: e = h1 + h2
wrt: [a1, r, W1]
""",
    "reused-twice": """
given: {a1: scalar, x: vector n, W1: matrix n n}
forward:
  - h1 = max(a1 (a1 + x))
  - h2 = max(a1 (a1 + x)) + min(sum(x) (W1 x)) h1
loss: e = h1 h2 + max(sum(x) (W1 x))
wrt: [a1, x, W1]
""",
    "matrix": """
given: {a1: scalar, X: matrix n k, W1: matrix k n}
forward:
  - h1 = max(a1 (a1 + X))
  - h2 = min(sum(X) (W1 X))
loss: e = (h1 - h2)^2 / 2
wrt: [a1, X, W1]
""",
    "inline-in-the-loss": """
given: {a1: scalar, x: vector n, t: scalar}
forward:
  - h1 = tanh(x)
loss: e = (t - max(a1 (a1 + h1)^T))^2 / 2 + min(2 (h1 - a1 x))
wrt: [a1, x]
""",
}


@pytest.mark.parametrize("body", REWRITTEN_EXTREMES.values(), ids=REWRITTEN_EXTREMES.keys())
def test_max_over_rewritten_entries_passes_the_check_and_reads_back(body: str) -> None:
    """The extreme of 𝕀[z = max(z)] is taken over z as rewritten, so exact equality holds."""
    (part,) = solve(parse_network_text("title: extremes" + body)).parts
    assert part.verification is not None and part.verification.ok
    assert check_printed(part) > 0


def test_a_transposed_indicator_takes_its_extreme_over_the_transposed_entries() -> None:
    a, x = sp.Symbol("a"), sp.MatrixSymbol("x", 3, 1)
    z = sp.MatMul(a, sp.MatAdd(a * sp.OneMatrix(3, 1), x))
    indicator = entry_max(z).fdiff()
    assert isinstance(indicator, ExtremeIndicator)
    flipped = indicator.T  # a (a 𝟏ᵀ + xᵀ): the max must follow, or no entry equals it
    assert isinstance(flipped, ExtremeIndicator) and flipped.expr != z
    assert flipped.function.expr.args[1] == entry_max(flipped.expr)
    point = {a: 0.1 + 0.2j * 1e-30, x: np.array([[0.3], [0.7], [-0.2]])}
    assert np.real(Evaluator(point, {})(flipped)).tolist() == [[0.0, 1.0, 0.0]]
    assert sp.srepr(indicator).startswith("ElementwiseApplyFunction(Lambda(")


def test_max_with_zero_is_relu() -> None:
    c = sp.Symbol("c")
    read = read_answer("max(0, c) + max(c, 0)", Scope({"c": quantity("c", SCALAR)}), span=SPAN)
    assert read.expr == 2 * relu(c)


@pytest.mark.parametrize(
    ("equation", "error", "message"),
    [
        (
            "h = leaky_relu(s, 0.1, 2)",
            UnsupportedError,
            "leaky_relu takes 1 to 2 arguments, not 3: leaky_relu(x, alpha)",
        ),
        ("h = clip(s)", UnsupportedError, "clip takes 3 arguments, not 1: clip(x, a, b)"),
        (
            "h = huber(s, 1, 2)",
            UnsupportedError,
            "huber takes 1 to 2 arguments, not 3: huber(x, delta)",
        ),
        ("h = max(s, s, s)", UnsupportedError, "max takes 1 to 2 arguments, not 3: max(a, b)"),
        ("h = gelu(s, 2)", UnsupportedError, "gelu takes 1 argument, not 2: gelu(x)"),
        ("h = leaky_relu(s, b1)", ShapeError, "leaky_relu's alpha must be a scalar, not k×1"),
        (
            "h = max(s, x)",
            ShapeError,
            "max of k×1 and n×1: the two arguments have one shape, or one is a scalar",
        ),
        (
            "h = maxx(s)",
            DeriveError,
            "unknown function 'maxx'; known: abs, clip, ",
        ),
    ],
    ids=["leaky_relu", "clip", "huber", "max", "gelu", "vector-slope", "max-shapes", "unknown"],
)
def test_a_wrong_call_names_the_function_and_its_usage(
    equation: str, error: type[DeriveError], message: str
) -> None:
    text = network("tanh(s)", "c").replace("  - h = tanh(s)", f"  - {equation}")
    with pytest.raises(error) as caught:
        parse_network_text(text)
    assert message in caught.value.message


@pytest.mark.parametrize(
    "answer",
    [
        r"\mathbb{1}[z > 0]",
        r"\mathbb{I}[z > 0]",
        "1[z>0]",
        "step(z)",
        "H(z)",
        "Heaviside(z)",
        r"\operatorname{step}(z)",
    ],
)
def test_the_grader_reads_every_spelling_of_the_step_function(answer: str) -> None:
    z = sp.Symbol("z")
    read = read_answer(answer, Scope({"z": quantity("z", SCALAR)}), span=SPAN)
    assert read.expr == sp.Heaviside(z)


def test_phi_and_its_density_read_back() -> None:
    z = sp.Symbol("z")
    read = read_answer(r"\Phi(z) + z \phi(z)", Scope({"z": quantity("z", SCALAR)}), span=SPAN)
    assert read.expr == normal_cdf(z) + z * normal_pdf(z)


def test_the_complex_erf_keeps_a_tiny_imaginary_part() -> None:
    """Complex-step: Im Φ(x + i h) / h is φ(x) even for h = 10⁻³⁰ (mpmath with enough digits)."""
    x = np.array([[0.3], [-0.7], [2.5]])
    h = 1e-30
    assert np.allclose(np.imag(_normal_cdf(x + 1j * h)) / h, _normal_pdf(x), rtol=1e-12)
    assert np.allclose(np.real(_erf(x + 1j * h)), _erf(x), rtol=1e-15)


@pytest.mark.parametrize(
    ("expr", "values", "margin"),
    [
        (clip(sp.Symbol("a"), -1, 1), {"a": 0.9}, 0.1),
        (huber(sp.Symbol("a"), 1), {"a": -1.2}, 0.2),
        (maximum(sp.Symbol("a"), sp.Symbol("b")), {"a": 0.3, "b": 0.35}, 0.05),
        (entry_max(sp.MatrixSymbol("X", 3, 1)), {"X": np.array([[0.1], [0.5], [0.45]])}, 0.05),
    ],
    ids=["clip", "huber", "max", "max-entries"],
)
def test_kinks_are_measured_so_points_near_them_are_redrawn(
    expr: sp.Basic, values: dict[str, object], margin: float
) -> None:
    margins: list[float] = []
    symbols = {s.name: s for s in expr.free_symbols}
    Evaluator({symbols[name]: value for name, value in values.items()}, {}, margins)(expr)
    assert min(margins) == pytest.approx(margin)
