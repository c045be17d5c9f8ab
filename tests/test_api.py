"""The Python API as the README shows it: build in code, solve, render."""

from __future__ import annotations

import json

import pytest
import sympy as sp

import derive
from derive.errors import ShapeError
from derive.examples import example_path


def _tiny() -> derive.Network:
    return derive.network(
        title="Tiny net",
        given={"x": "vector n", "t": "scalar", "w": "matrix 1 n"},
        forward=["y = sigmoid(w x)"],
        loss="e = (t - y)^2 / 2",
        wrt=["w"],
    )


def test_network_built_in_code_solves_to_sympy_answers() -> None:
    solution = derive.solve(_tiny())
    answer = solution.parts[0].answers["w"]
    assert isinstance(answer.value, sp.MatrixExpr)
    assert answer.value.shape == (1, sp.Symbol("n", integer=True, positive=True))
    assert solution.parts[0].verification.ok


def test_renderings_from_the_solution_object() -> None:
    solution = derive.solve(_tiny())
    assert solution.to_latex().startswith("\\documentclass")
    assert "Tiny net" in solution.to_markdown()
    assert json.loads(solution.to_json())["title"] == "Tiny net"
    fragment = solution._repr_latex_()
    assert fragment.startswith("$$") and "\\frac{\\partial e}{\\partial w}" in fragment


def test_load_and_solve_a_file() -> None:
    solution = derive.solve(derive.load(example_path("tanh")), notation="index")
    assert solution.parts[0].answers["W"].index_form is not None


def test_api_errors_name_the_equation() -> None:
    with pytest.raises(ShapeError, match="z = w x \\+ x"):
        derive.network(
            title="bad",
            given={"x": "vector n", "w": "matrix 1 n"},
            forward=["z = w x + x"],
            loss="e = z^2",
            wrt=["w"],
        )
