"""Every printed formula is read back and compared with the expression it was printed from."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import sympy as sp

from derive.documents import solve_example
from derive.examples import EXAMPLES
from derive.load import load_network
from derive.model import Line, Part, Tex
from derive.printing import DeriveLatexPrinter
from derive.roundtrip import PrintedFormulaError, check_printed, printed_formulas

solve_module = importlib.import_module("derive.solve")  # derive.solve is also a function
CORPUS = sorted((Path(__file__).parent / "data" / "roundtrip").glob("*.yaml"))


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 30


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_every_formula_of_the_corpus_reads_back(path: Path) -> None:
    solution = solve_module.solve(load_network(path))  # raises PrintedFormulaError on a mismatch
    for part in solution.parts:
        formulas = list(printed_formulas(part))
        assert len(formulas) >= len(part.answers) + len(part.setup)
        assert check_printed(part) == len(formulas)


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_every_formula_of_the_built_in_examples_reads_back(name: str) -> None:
    for part in solve_example(name).parts:
        assert check_printed(part) > 0


def test_a_broken_printer_rule_stops_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """A transpose printed without its ᵀ: the answer is right, the page is wrong."""
    monkeypatch.setattr(DeriveLatexPrinter, "_print_Transpose", lambda self, e: self._print(e.arg))
    path = Path(__file__).parent / "data" / "roundtrip" / "relu_mlp.yaml"
    with pytest.raises(PrintedFormulaError) as raised:
        solve_module.solve(load_network(path))
    message = str(raised.value)
    assert "the printed formula" in message
    assert "printed:" in message and "from:" in message


def test_a_dropped_bracket_stops_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """(1 − σ(z)) ⊙ … printed without its brackets reads as 1 − (σ(z) ⊙ …)."""

    def unbracketed(self: DeriveLatexPrinter, arg: sp.Basic) -> str:
        return str(self._print(arg))

    monkeypatch.setattr(DeriveLatexPrinter, "_hadamard_factor", unbracketed, raising=False)
    path = Path(__file__).parent / "data" / "roundtrip" / "deep_sigmoid.yaml"
    with pytest.raises(PrintedFormulaError, match="says something else"):
        solve_module.solve(load_network(path))


def test_a_setup_line_is_read_from_its_own_text() -> None:
    x, y = sp.symbols("x y")
    good = Part("p", "p", setup=[Line(sp.Symbol("z"), Tex("x + 2 y"), value=x + 2 * y)])
    assert check_printed(good) == 1
    bad = Part("p", "p", setup=[Line(sp.Symbol("z"), Tex("x - 2 y"), value=x + 2 * y)])
    with pytest.raises(PrintedFormulaError, match="the setup line for z"):
        check_printed(bad)


def test_an_unreadable_formula_is_reported_with_both_forms() -> None:
    x = sp.Symbol("x")
    bad = Part("p", "p", setup=[Line(sp.Symbol("z"), Tex(r"x \oplus 2"), value=x + 2)])
    with pytest.raises(PrintedFormulaError, match="cannot be read back") as raised:
        check_printed(bad)
    assert r"printed: x \oplus 2" in str(raised.value)


@pytest.mark.parametrize("stem", ["negative_sampling", "leaky_relu", "lstm_cell", "gelu_tanh"])
def test_a_printed_key_pasted_into_the_grader_is_correct(stem: str) -> None:
    """What a TA copies from the page grades as correct against the key it came from."""
    from derive.grade import Submission, grade
    from derive.parse import TextSpan
    from derive.printing import tex

    network = load_network(Path(__file__).parent / "data" / "roundtrip" / f"{stem}.yaml")
    key = solve_module.solve(network)
    answers = {
        name: (tex(answer.value), TextSpan("<pasted>"))
        for name, answer in key.parts[0].answers.items()
    }
    verdicts = grade(Submission(network, {"main": answers}))
    assert verdicts and all(v.correct for v in verdicts), [v.comment for v in verdicts]


def test_ones_in_a_product_carry_their_size_where_no_neighbour_gives_it() -> None:
    """Wᵀ 1_{m×n}, x 1_nᵀ and 1_n xᵀ print their size; 1ᵀ x and W 1 need none."""
    import numpy as np

    from derive.printing import tex
    from derive.roundtrip import check_formula

    n, m = sp.symbols("n m", integer=True, positive=True)
    w = sp.MatrixSymbol("W", m, 2)
    x = sp.MatrixSymbol("x", n, 1)
    cases = {
        sp.MatMul(w.T, sp.OneMatrix(m, n)): r"W^{\top} \mathbf{1}_{m \times n}",
        sp.MatMul(w.T, sp.OneMatrix(m, 1), sp.OneMatrix(1, n)): (
            r"W^{\top} \mathbf{1} \mathbf{1}_{n}^{\top}"
        ),
        sp.MatMul(x, sp.OneMatrix(1, m)): r"x \mathbf{1}_{m}^{\top}",
        sp.MatMul(sp.OneMatrix(m, 1), x.T): r"\mathbf{1}_{m} x^{\top}",
    }
    rng = np.random.default_rng(0)
    for expr, printed in cases.items():
        assert tex(expr) == printed
        check_formula(expr, "test", rng)
