"""Problems of a set solved side by side: the same parts, progress and first error as in order."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from derive import bounded, problems
from derive.bounded import Bounds
from derive.errors import DeriveError, InputFileError
from derive.model import Part
from derive.problem_set import load_problem_set
from derive.problems import ProblemSpec
from tests.conftest import write_course

NETWORK = "given: {x: scalar, t: scalar, w: scalar}\nforward: [y = sigmoid(w x)]\n"
NETWORK += "loss: e = (t - y)^2 / 2\nwrt: [w]\nvariants:\n  lin: y = w x\n"


def _identity(name: str) -> str:
    return (
        f"  - id: {name}\n    title: Problem {name}\n    kind: identity\n    function: tanh\n"
        "    variable: z\n    definition: (exp(z) - exp(-z)) / (exp(z) + exp(-z))\n"
        "    claim: 1 - tanh(z)^2\n"
    )


SET = (
    "title: Side by side\nproblems:\n"
    "  - id: net\n    title: The network\n    kind: network\n    network: net.yaml\n"
    + _identity("a")
    + "  - id: step\n    title: The step\n    kind: update\n    gradient_of: net-lin\n"
    "    parameter: w\n" + _identity("b") + _identity("c")
)


@pytest.fixture
def course(tmp_path: Path) -> Path:
    return write_course(tmp_path, NETWORK, SET)


def _with(monkeypatch: pytest.MonkeyPatch, behaviour: Callable[[ProblemSpec], None]) -> None:
    """Every non-network problem runs ``behaviour(spec)`` (sleep, fail) before it is solved."""
    real = problems.solver

    def solver(kind: str, **kwargs: object) -> Callable[[ProblemSpec], Part]:
        solve = real(kind, **kwargs)  # type: ignore[arg-type]

        def wrapped(spec: ProblemSpec) -> Part:
            behaviour(spec)
            return solve(spec)

        return wrapped

    monkeypatch.setattr("derive.problem_set.solver", solver)


def _solved(path: Path, workers: int) -> tuple[list[str], list[str]]:
    lines: list[str] = []
    with bounded.bounded(Bounds(seconds=60)):
        solution = load_problem_set(path, workers=workers, progress=lines.append)
    return [repr(part) for part in solution.parts], lines


def test_side_by_side_gives_the_parts_and_progress_of_one_by_one(course: Path) -> None:
    parts, lines = _solved(course, workers=1)
    assert _solved(course, workers=3) == (parts, lines)
    assert lines == [
        "[1/5] The network",
        "[2/5] Problem a",
        "[3/5] The step",
        "[4/5] Problem b",
        "[5/5] Problem c",
    ]
    assert "net-lin" in parts[3]  # the update read the earlier problem's variant


def test_independent_problems_run_at_once(course: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _with(monkeypatch, lambda spec: time.sleep(2) if spec.id in ("b", "c") else None)
    start = time.monotonic()
    _solved(course, workers=2)
    assert time.monotonic() - start < 3.8  # one after another: over 4 s of sleep alone


def test_the_first_failing_problem_is_reported_and_no_worker_is_left(
    course: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(spec: ProblemSpec) -> None:
        if spec.id == "a":
            time.sleep(1.5)  # fails after b and c have failed
        if spec.id in ("a", "b", "c"):
            raise InputFileError(f"problem '{spec.id}' is broken")

    _with(monkeypatch, fail)
    lines: list[str] = []
    earlier = set(multiprocessing.active_children())  # another test's worker may still run
    with bounded.bounded(Bounds(seconds=60)), pytest.raises(DeriveError) as raised:
        load_problem_set(course, workers=2, progress=lines.append)
    assert "problem 'a' is broken" in str(raised.value)
    assert lines == ["[1/5] The network", "[2/5] Problem a"]
    assert set(multiprocessing.active_children()) <= earlier


def test_a_problem_over_its_time_limit_gives_up_while_the_others_complete(
    runner: CliRunner, course: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _with(monkeypatch, lambda spec: time.sleep(30) if spec.id == "b" else None)
    output = tmp_path / "key.md"
    command = ["solve", str(course), "-o", str(output), "--time-limit", "3"]
    result = runner.invoke(main, command)
    assert result.exit_code == 1, result.output
    assert "problem 'b': gave up after 3 s (limit --time-limit)" in result.output
    assert [line for line in result.output.splitlines() if line.startswith("Solving")] == [
        "Solving [1/5] The network ...",
        "Solving [2/5] Problem a ...",
        "Solving [3/5] The step ...",
        "Solving [4/5] Problem b ...",
        "Solving [5/5] Problem c ...",
    ]
    text = output.read_text(encoding="utf-8")
    assert "Not solved: problem 'b': gave up after 3 s" in text and "Problem c" in text
