"""A bug in derive (any exception that is not a DeriveError) is one line and exit status 3.

The traceback is shown only under ``derive --debug``; the line names what was being solved
(the network's part, a problem set's problem id) or done (grading, writing).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import sympy as sp
from click.testing import CliRunner

import derive
import derive.render
from cli import main
from derive.adjoint import backprop
from derive.errors import InternalError
from derive.examples import example_path
from derive.model import Network

# derive.solve is also the name of the function `derive/__init__.py` exports.
solve_module = importlib.import_module("derive.solve")

SHEET = Path(example_path("seed-problem-1")).parent / "answer_sheet_000.yaml"

NETWORK = """\
title: Tiny net
given:
  x: vector n
  t: scalar
  w: matrix 1 n
  b: scalar
forward:
  - z = w x + b
  - y = sigmoid(z)
loss: e = (t - y)^2 / 2
wrt: [w, b]
variants:
  shifted: z = w x + 2 b
"""

PROBLEM_SET = """\
title: A small set
problems:
  - id: tiny-1
    kind: identity
    function: sigma
    variable: z
    definition: 1 / (1 + exp(-z))
    claim: sigmoid(z) (1 - sigmoid(z))
  - id: tiny-2
    kind: network
    network:
      title: One layer
      given: {x: scalar, w: scalar, t: scalar}
      forward: ["y = sigmoid(w x)"]
      loss: e = (t - y)^2 / 2
      wrt: [w]
"""

EXPECTED = "Error: internal error while solving main: ZeroDivisionError: boom"


def _boom(*args: object, **kwargs: object) -> None:
    raise ZeroDivisionError("boom")


@pytest.fixture
def broken_matmul_rule() -> Iterator[None]:
    """The adjoint rule for matrix products replaced by one that divides by zero."""
    original = backprop.registry[sp.MatMul]

    def broken(expr: sp.Basic, seed: sp.Basic) -> Iterator[object]:
        yield 1 / 0

    backprop.register(sp.MatMul)(broken)
    try:
        yield
    finally:
        backprop.register(sp.MatMul)(original)


@pytest.fixture
def network_file(tmp_path: Path) -> Path:
    path = tmp_path / "net.yaml"
    path.write_text(NETWORK, encoding="utf-8")
    return path


@pytest.mark.usefixtures("broken_matmul_rule")
def test_a_broken_rule_is_one_line_naming_the_part(
    runner: CliRunner, network_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "key.json"
    result = runner.invoke(main, ["solve", str(network_file), "-o", str(out)])
    assert result.exit_code == 3, result.output
    assert "Error: internal error while solving main: ZeroDivisionError: division by zero" in (
        result.output
    )
    assert "please report it" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_the_line_names_the_variant_that_failed(
    runner: CliRunner, network_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_backward = solve_module.backward

    def fails_on_the_variant(network: Network) -> object:
        if any(eq.text == "z = w x + 2 b" for eq in network.equations):
            raise ZeroDivisionError("boom")
        return real_backward(network)

    monkeypatch.setattr(solve_module, "backward", fails_on_the_variant)
    result = runner.invoke(main, ["solve", str(network_file), "-o", str(tmp_path / "k.json")])
    assert result.exit_code == 3, result.output
    assert "Error: internal error while solving shifted: ZeroDivisionError: boom" in result.output


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_the_traceback_only_with_debug(
    runner: CliRunner,
    network_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    debug: bool,
) -> None:
    monkeypatch.setattr(solve_module, "backward", _boom)
    args = ["--debug"] * debug + ["solve", str(network_file), "-o", str(tmp_path / "k.json")]
    result = runner.invoke(main, args)
    assert result.exit_code == 3, result.output
    assert EXPECTED in result.output
    assert "please report it" in result.output
    assert ("Traceback" in result.output) is debug
    # the traceback reaches the function that raised, not just the command line
    assert ("in _boom" in result.output) is debug


def test_a_problem_set_names_the_problem(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "set.yaml"
    path.write_text(PROBLEM_SET, encoding="utf-8")
    monkeypatch.setattr(solve_module, "backward", _boom)
    result = runner.invoke(main, ["solve", str(path), "-o", str(tmp_path / "k.json")])
    assert result.exit_code == 3, result.output
    assert "Error: internal error while solving tiny-2: ZeroDivisionError: boom" in result.output
    assert "Traceback" not in result.output


def test_a_problem_of_another_kind_names_the_problem(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "set.yaml"
    path.write_text(PROBLEM_SET, encoding="utf-8")
    monkeypatch.setattr(importlib.import_module("derive.problems.identity"), "solve", _boom)
    result = runner.invoke(main, ["solve", str(path), "-o", str(tmp_path / "k.json")])
    assert result.exit_code == 3, result.output
    assert "Error: internal error while solving tiny-1: ZeroDivisionError: boom" in result.output


def test_grading_names_the_submission(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.import_module("derive.class_grading"), "judge", _boom)
    result = runner.invoke(main, ["grade", str(SHEET)])
    assert result.exit_code == 3, result.output
    assert f"Error: internal error while grading {SHEET}: ZeroDivisionError: boom" in (
        result.output
    )
    assert "please report it" in result.output and "Traceback" not in result.output


def test_grading_a_key_that_fails_names_the_part(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(solve_module, "backward", _boom)
    result = runner.invoke(main, ["grade", str(SHEET), "--json"])
    assert result.exit_code == 3, result.output
    assert EXPECTED in result.output


def test_writing_names_the_output(
    runner: CliRunner, network_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(derive.render._TEXT_RENDERERS, "json", _boom)
    out = tmp_path / "key.json"
    result = runner.invoke(main, ["solve", str(network_file), "-o", str(out)])
    assert result.exit_code == 3, result.output
    assert f"Error: internal error while writing {out}: ZeroDivisionError: boom" in result.output


def test_bad_input_is_still_exit_1_without_internal_error(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(NETWORK.replace("w x + b", "w q + b", 1), encoding="utf-8")
    result = runner.invoke(main, ["--debug", "solve", str(path), "-o", str(tmp_path / "k.json")])
    assert result.exit_code == 1, result.output
    assert "unknown symbol 'q'" in result.output
    assert "internal error" not in result.output and "Traceback" not in result.output


def test_keyboard_interrupt_is_not_an_internal_error(
    runner: CliRunner, network_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(network: Network) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(solve_module, "backward", interrupted)
    with pytest.raises(KeyboardInterrupt):
        derive.solve(derive.load(network_file))
    result = runner.invoke(main, ["solve", str(network_file), "-o", str(tmp_path / "k.json")])
    assert result.exit_code == 1  # click's own "Aborted!"
    assert "internal error" not in result.output


def test_the_error_keeps_the_original_and_reads_as_one_line() -> None:
    original = ValueError("first line\nsecond line")
    error = InternalError("hw-1", original)
    assert error.part == "hw-1" and error.original is original and error.__cause__ is original
    assert str(error) == (
        "internal error while solving hw-1: ValueError: first line — please report it"
    )
    assert str(InternalError("x.yaml", KeyError(), activity="grading")) == (
        "internal error while grading x.yaml: KeyError — please report it"
    )
