"""Long formulas broken into lines: where they break, that the lines fit, that nothing is lost;
and the one rule line a step keeps."""

from __future__ import annotations

import pytest
import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.hadamard import HadamardProduct

from derive.documents import solve_example
from derive.functions import sigmoid
from derive.load import parse_network_text
from derive.model import Line, Tex
from derive.printing import tex
from derive.render.breaking import Piece, break_formula, break_rows, indent_width, joined
from derive.render.environment import aligned
from derive.render.latex import render_latex
from derive.render.measure import formula_width, tokens
from derive.solve import solve
from tests.conftest import residual_chain_yaml

n, k = sp.symbols("n k", integer=True, positive=True)
x = sp.MatrixSymbol("x", n, 1)
W = sp.MatrixSymbol("W", k, n)
ws = sp.symbols("w0:40")
xs = sp.symbols("x0:40")
LAYOUT = (r"\left.", r"\right.")  # null delimiters that close a line; the formula is the same


def _unlaid(pieces: list[Piece]) -> str:
    """The pieces joined, without the null delimiters and spaces that only lay them out."""
    text = joined(pieces)
    for mark in LAYOUT:
        text = text.replace(mark, "")
    return text.replace(" ", "")


def _fits(pieces: list[Piece], first: float, width: float) -> bool:
    rooms = [first] + [width - indent_width(p.depth) for p in pieces[1:]]
    return all(formula_width(p.text) <= room for p, room in zip(pieces, rooms, strict=True))


def _sigma(v: sp.MatrixExpr) -> sp.MatrixExpr:
    return ElementwiseApplyFunction(sigmoid, v)


LONG_SUM = sum(((-1) ** i) * ws[i] * xs[i] for i in range(40))
MATRICES = [sp.MatrixSymbol(f"A{i}", n, n) for i in range(12)]
LONG_PRODUCT = sp.MatMul(*[sp.Identity(n) + m for m in MATRICES]) * x
CASES = {
    "sum": LONG_SUM,
    "negative-first": -LONG_SUM,
    "matrix-product": LONG_PRODUCT,
    "scaled-product": sp.Rational(3, 7) * LONG_PRODUCT,
    "hadamard": HadamardProduct(*[_sigma(m * x) for m in MATRICES]),
    "sum-of-products": LONG_PRODUCT + sp.MatMul(*MATRICES) * x,
    "tall-brackets": sp.Symbol("d") * (LONG_SUM + 1 / (1 + sp.Symbol("q"))),
}


@pytest.mark.parametrize("expr", CASES.values(), ids=CASES.keys())
def test_broken_lines_fit_and_join_to_the_printed_formula(expr: sp.Basic) -> None:
    pieces = break_formula(expr, first=25, width=30)
    assert len(pieces) > 1
    assert _unlaid(pieces) == tex(expr).replace(" ", "")
    assert _fits(pieces, 25, 30)
    assert pieces[0].depth == 0 and all(p.depth >= 1 for p in pieces[1:])


def test_a_formula_that_fits_is_one_piece_exactly_as_printed() -> None:
    expr = W * x + sp.MatrixSymbol("b", k, 1)
    assert break_formula(expr, first=30, width=30) == [Piece(tex(expr))]


def test_a_sum_breaks_before_its_signs_as_the_printer_prints_them() -> None:
    pieces = break_formula(LONG_SUM, first=20, width=20)
    assert all(p.text.startswith(("+ ", "- ")) for p in pieces[1:])
    assert not pieces[0].text.startswith(("+", "-"))  # the printer starts with a positive term
    signs = [p.text[0] for p in pieces[1:]]
    assert "+" in signs and "-" in signs


def test_a_product_breaks_between_factors_and_keeps_its_coefficient() -> None:
    pieces = break_formula(sp.Rational(3, 7) * LONG_PRODUCT, first=20, width=20)
    assert pieces[0].text.startswith(r"\frac{3}{7} (I + A_{0})")
    assert all(p.text.startswith("(I + A_{") or p.text == "x" for p in pieces[1:])


def test_a_line_inside_tall_brackets_closes_them_with_null_delimiters() -> None:
    pieces = break_formula(CASES["tall-brackets"], first=20, width=20)
    assert pieces[0].text.endswith(r"\right.")
    assert pieces[-1].text.startswith((r"+ \left.", r"- \left."))  # after it: ± stays binary
    for piece in pieces:
        text = tokens(piece.text)
        assert text.count(r"\left") == text.count(r"\right")


def test_no_last_line_of_a_lone_short_factor_when_the_lines_can_be_refilled() -> None:
    pieces = break_formula(LONG_PRODUCT, first=30, width=30)
    assert formula_width(pieces[-1].text) >= 4


def test_rows_break_beside_the_widest_left_side() -> None:
    label = r"\frac{\partial e}{\partial W}"
    rows = break_rows([(label, "=", LONG_SUM), ("", "=", Tex(r"\text{short}"))], width=30)
    assert [len(r.pieces) for r in rows][1] == 1
    room = 30 * 0.96 - 2 / 6 - formula_width(label)
    assert _fits(list(rows[0].pieces), room - formula_width("="), room)


def test_the_aligned_filter_puts_a_continuation_line_in_the_right_column() -> None:
    rows = aligned([Line(Tex("a"), LONG_SUM), Line(LONG_SUM)])
    assert rows[1].lhs == "" and rows[1].relation == ""
    assert _unlaid(list(rows[1].pieces)) == tex(LONG_SUM).replace(" ", "")


def test_every_answer_of_a_deep_residual_chain_fits_its_box() -> None:
    network = parse_network_text(residual_chain_yaml(6), source="residual.yaml")
    solution = solve(network)
    for answer in solution.parts[0].answers.values():
        rows = aligned([Line(answer.label, answer.shown)], "box")
        pieces = list(rows[0].pieces)
        assert _unlaid(pieces) == tex(answer.shown).replace(" ", "")
        assert all(formula_width(p.text) <= 40 for p in pieces), answer.name
    document = render_latex(solution)
    assert r"&\quad " in document  # the long ones were broken


WIDTHS = [
    ("a + b", 2.18),
    ("a = b", 2.29),
    (r"\left(a\right)", 1.31),
    ("-a", 1.31),
    (r"\operatorname{diag}", 1.85),
    (r"\tanh", 2.0),
    (r"a^{\top}", 1.18),
    (r"\frac{a}{b}", 0.75),
    (r"\sum_{k=1}^{n}", 1.44),
    (r"a \odot b", 2.18),
]


@pytest.mark.parametrize(("latex", "measured"), WIDTHS, ids=[w[0] for w in WIDTHS])
def test_width_estimates_match_what_pdflatex_measured(latex: str, measured: float) -> None:
    """Widths in em of 11pt Computer Modern, measured with \\setbox and \\wd."""
    assert formula_width(latex) == pytest.approx(measured, rel=0.08)


# --- the rule line of a step ---------------------------------------------------------------------


def _rules(name: str) -> dict[str, tuple[str, str | None]]:
    steps = solve_example(name).parts[0].steps
    return {s.title: (s.rule, s.rule_math) for s in steps}


def test_a_step_states_the_one_rule_nearest_the_quantity() -> None:
    rules = _rules("two-layer")
    text, formula = rules["Backpropagate into s"]
    assert text == "Elementwise function."
    assert formula == r"Z = f(A):\ \delta_A \mathrel{+}= \delta_Z \odot f'(A)"
    assert rules["Gradient with respect to W1"][0] == "Matrix product."
    for text, formula in rules.values():
        assert "Rules:" not in text and "Sum over the equations" not in text
        assert formula is None or r";\quad" not in formula  # at most one formula


def test_a_quantity_used_twice_says_that_the_contributions_add() -> None:
    text, formula = _rules("three-layer-skip")["Backpropagate into h1"]
    assert text == "h1 is used by h2, s2: the contributions add."
    assert formula is None


def test_a_plain_substitution_has_no_rule() -> None:
    network = parse_network_text(
        "given:\n  x: scalar\nforward:\n  - h = x\n  - z = h\nloss: e = z^2\nwrt: [x]\n",
        source="copy.yaml",
    )
    solution = solve(network)
    step = next(s for s in solution.parts[0].steps if s.title == "Backpropagate into h")
    assert step.rule == "" and step.rule_math is None
    after = render_latex(solution).split("Backpropagate into h.}")[1]
    assert r"\deriverule" not in after.split(r"\paragraph")[0]


def test_a_one_hot_target_is_named_where_the_simplification_needs_it() -> None:
    text, _ = _rules("softmax")["Backpropagate into z"]
    assert text == "Softmax; t is one-hot: its entries sum to 1."
