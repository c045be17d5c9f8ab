"""Nothing runs past the margin: every built-in example, and long answers from deep networks,
compiled by real TeX with no overfull line beyond a small tolerance in its log."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import sympy as sp

from derive.documents import solve_example, solve_file
from derive.examples import EXAMPLES
from derive.load import parse_network_text
from derive.model import Answer, Solution
from derive.printing import tex
from derive.render.measure import formula_width
from derive.render.pdf import overfull_boxes, write_pdf
from derive.solve import solve
from tests.conftest import residual_chain_yaml

TOLERANCE_PT = 10.0
LONG = Path(__file__).parent / "data" / "long"


def _require_tex() -> None:
    if shutil.which("latexmk") is None and shutil.which("pdflatex") is None:
        if os.environ.get("CI"):
            pytest.fail("TeX Live is required under CI")
        pytest.skip("TeX Live not installed")


def _overfull(solution: Solution, tmp_path: Path) -> list[float]:
    _require_tex()
    log = write_pdf(solution, tmp_path / "key.pdf")
    assert "Output written on" in log
    return [width for width in overfull_boxes(log) if width > TOLERANCE_PT]


@pytest.mark.parametrize("name", sorted(EXAMPLES), ids=sorted(EXAMPLES))
def test_no_example_runs_past_the_margin(name: str, tmp_path: Path) -> None:
    """Every built-in example; ``seeds`` is the seed key (what `derive solve` writes)."""
    assert _overfull(solve_example(name), tmp_path) == []


LONG_NETWORKS = {
    "residual-tanh-6": lambda: solve(parse_network_text(residual_chain_yaml(6), source="r.yaml")),
    "lstm-cell": lambda: solve_file(LONG / "lstm_cell.yaml"),
    "gelu-unit": lambda: solve_file(LONG / "gelu_unit.yaml"),
    "gelu-layer": lambda: solve_file(LONG / "gelu_layer.yaml"),
}


@pytest.mark.parametrize("build", LONG_NETWORKS.values(), ids=LONG_NETWORKS.keys())
def test_long_answers_break_inside_the_margin(
    build: Callable[[], Solution], tmp_path: Path
) -> None:
    assert _overfull(build(), tmp_path) == []


def test_the_log_reports_an_overfull_line(tmp_path: Path) -> None:
    """The check above can fail: a formula too long to break is reported."""
    name = sp.Symbol("x" * 200)
    solution = solve_example("tanh")
    answer = next(iter(solution.parts[0].answers.values()))
    solution.parts[0].answers = {"long": Answer("long", answer.label, name)}
    assert _overfull(solution, tmp_path)


def _measured(formulas: list[str], workdir: Path) -> list[float]:
    """Each formula's width in em, as pdflatex sets it in display style."""
    lines = [r"\documentclass[11pt]{article}\usepackage{amsmath,amssymb}\begin{document}"]
    for formula in formulas:
        lines.append(rf"\setbox0\hbox{{$\displaystyle {formula}$}}\typeout{{WIDTH=\the\wd0}}")
    lines.append(r"\end{document}")
    (workdir / "widths.tex").write_text("\n".join(lines), encoding="utf-8")
    subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "widths.tex"],
        cwd=workdir,
        capture_output=True,
        check=False,
        timeout=120,
    )
    log = (workdir / "widths.log").read_text(encoding="utf-8", errors="replace")
    return [float(line[6:-2]) / 10.95 for line in log.splitlines() if line.startswith("WIDTH=")]


def test_width_estimates_are_calibrated_against_pdflatex(tmp_path: Path) -> None:
    """The breaker's widths of every step line of the examples and the LSTM, against TeX's."""
    if shutil.which("pdflatex") is None:
        _require_tex()
        pytest.skip("needs pdflatex")
    solutions = [solve_example(n) for n in sorted(EXAMPLES) if n != "seeds"]
    formulas = sorted(
        {
            tex(side)
            for solution in [*solutions, solve_file(LONG / "lstm_cell.yaml")]
            for part in solution.parts
            for step in part.steps
            for line in step.lines
            for side in (line.lhs, line.rhs)
            if isinstance(side, sp.Basic)
        }
    )
    measured = _measured(formulas, tmp_path)
    assert len(measured) == len(formulas)
    ratios = [formula_width(f) / m for f, m in zip(formulas, measured, strict=True) if m > 3]
    assert len(ratios) > 20
    assert statistics.median(ratios) == pytest.approx(1.0, abs=0.03)
    assert sum(abs(r - 1) <= 0.08 for r in ratios) >= 0.9 * len(ratios)
