"""Bounded work: each problem, key and graded answer in a worker with time and memory limits."""

from __future__ import annotations

import importlib
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from derive import bounded
from derive.bounded import Bounds, GaveUpError
from derive.errors import InputFileError, InternalError, Location

problems = importlib.import_module("derive.problems")
class_grading = importlib.import_module("derive.class_grading")

SET = """title: two problems, one slow
problems:
  - id: quick
    kind: identity
    function: sigma
    variable: z
    definition: 1 / (1 + exp(-z))
    claim: sigmoid(z) (1 - sigmoid(z))
  - id: slow
    kind: identity
    function: tanh
    variable: z
    definition: (exp(z) - exp(-z)) / (exp(z) + exp(-z))
    claim: 1 - tanh(z)^2
"""


def _slow(seconds: float) -> None:
    time.sleep(seconds)


def test_work_runs_in_a_worker_and_returns_its_value() -> None:
    with bounded.bounded(Bounds(seconds=5)):
        assert bounded.run(lambda: sum(range(10)), what="x") == 45


def test_a_slow_unit_gives_up_at_its_time_limit() -> None:
    start = time.monotonic()
    with bounded.bounded(Bounds(seconds=0.5)), pytest.raises(GaveUpError) as raised:
        bounded.run(lambda: _slow(30), what="problem 'mt-3'")
    assert time.monotonic() - start < 5
    assert str(raised.value) == "problem 'mt-3': gave up after 0.5 s (limit --time-limit)"


def test_a_greedy_unit_runs_out_of_memory() -> None:
    with bounded.bounded(Bounds(memory=64 * 1024**2)), pytest.raises(GaveUpError) as raised:
        bounded.run(lambda: bytearray(2 * 1024**3), what="problem 'big'")
    assert str(raised.value) == "problem 'big': ran out of memory (limit --memory-limit)"


def test_errors_come_back_whole() -> None:
    def bad_input() -> None:
        raise InputFileError("bad field", location=Location("set.yaml", 4, 2))

    with bounded.bounded(Bounds()), pytest.raises(InputFileError) as raised:
        bounded.run(bad_input, what="p")
    assert str(raised.value) == "set.yaml, line 4, column 2: bad field"
    with bounded.bounded(Bounds()), pytest.raises(ZeroDivisionError) as bug:
        bounded.run(lambda: 1 / 0, what="problem 'div'")
    assert "in <lambda>" in bug.value.remote_traceback  # type: ignore[attr-defined]
    with bounded.bounded(Bounds()), pytest.raises(InternalError, match="boom"):
        bounded.run(lambda: _raise(InternalError("p", ValueError("boom"))), what="p")


def _raise(error: Exception) -> None:
    raise error


def test_without_bounds_work_runs_in_process() -> None:
    marker: list[int] = []
    bounded.run(lambda: marker.append(1), what="x")
    assert marker == [1]


def test_the_rest_of_a_problem_set_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = problems.solver

    def solver(kind: str, **kwargs: object):  # type: ignore[no-untyped-def]
        solve = real(kind, **kwargs)  # type: ignore[arg-type]

        def maybe_slow(spec):  # type: ignore[no-untyped-def]
            if spec.id == "slow":
                _slow(30)
            return solve(spec)

        return maybe_slow

    monkeypatch.setattr("derive.problem_set.solver", solver)
    path = tmp_path / "set.yaml"
    path.write_text(SET, encoding="utf-8")
    out = tmp_path / "key.md"
    start = time.monotonic()
    result = CliRunner().invoke(main, ["solve", str(path), "-o", str(out), "--time-limit", "1"])
    assert time.monotonic() - start < 20
    assert result.exit_code == 1, result.output
    assert "problem 'slow': gave up after 1 s (limit --time-limit)" in result.output
    assert "Traceback" not in result.output
    text = out.read_text(encoding="utf-8")
    assert "quick" in text and "Not solved: problem 'slow': gave up after 1 s" in text


def test_an_answer_that_overruns_is_wrong_and_the_others_are_graded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = class_grading.judge

    def judge(part, text, span):  # type: ignore[no-untyped-def]
        if part.id.endswith(".W1"):
            _slow(30)
        return real(part, text, span)

    monkeypatch.setattr(class_grading, "judge", judge)
    sheet = Path(__file__).parents[1] / "derive" / "examples" / "answer_sheet_000.yaml"
    start = time.monotonic()
    result = CliRunner().invoke(main, ["grade", str(sheet), "--time-limit", "2"])
    assert time.monotonic() - start < 15  # the two W1 answers overrun side by side
    assert result.exit_code == 0, result.output
    assert result.output.count("the answer gave up after 2 s (limit --time-limit)") == 2
    assert "Score: 0/8" in result.output
    assert result.output.count("missing factor (t − y)") == 6
