"""scripts/benchmark.py: its cheapest section end to end, its bounds, and a fair comparison.

The full benchmark takes many minutes (`make benchmark`); these tests take a few seconds.
"""

from __future__ import annotations

import importlib.util
import json
import random
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import sympy as sp

from derive.load import parse_network_text
from derive.solve import solve

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "benchmark.py"


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("derive_benchmark", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_quick_help_section_prints_a_table_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--only", "help", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "derive --help (subprocess, wall time)" in done.stdout
    assert "command" in done.stdout and "runs" in done.stdout
    report = json.loads(out.read_text(encoding="utf-8"))
    assert {"commit", "python", "sympy", "cpus", "budget_s", "sympy_budget_s"} <= set(
        report["meta"]
    )
    assert report["meta"]["quick"] is True
    assert list(report["sections"]) == ["help"]
    timing = report["sections"]["help"]["time"]
    assert timing["status"] == "ok" and timing["seconds"] > 0 and len(timing["runs"]) >= 1


def test_unknown_section_is_refused() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--only", "help,nonsense"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "unknown section(s) nonsense" in done.stderr


def test_a_case_over_budget_is_reported_as_such(script: ModuleType) -> None:
    spec = {"kind": "sympy", "shape": "two-back", "depth": 40, "repeats": 1}
    found, _ = script.run_worker(spec, ["sympy"], 0.0, startup=0.5)
    assert found["sympy"].status == "over budget"
    assert found["sympy"].cell() == "> 0 s"


@pytest.mark.parametrize(
    ("sympy", "derive", "expected"),
    [
        ({"runs": [6.0]}, {"runs": [2.0]}, (3.0, "=")),
        ({"status": "over budget", "budget": 60.0}, {"runs": [2.0]}, (30.0, "≥")),
        ({"runs": [6.0]}, {"status": "over budget", "budget": 300.0}, (0.02, "≤")),
        ({"status": "over budget", "budget": 60.0}, {"status": "error"}, (None, "?")),
    ],
    ids=["both-timed", "sympy-over-budget", "derive-over-budget", "unknown"],
)
def test_ratio_and_its_bound(
    script: ModuleType, sympy: dict, derive: dict, expected: tuple[float | None, str]
) -> None:
    value, kind = script.ratio(script.Measured(**sympy), script.Measured(**derive))
    assert kind == expected[1]
    if expected[0] is None:
        assert value is None
    else:
        assert value == pytest.approx(expected[0])


def test_stage_totals_stop_at_the_first_missing_number(script: ModuleType) -> None:
    measured = script.Measured
    assert script.total([measured([1.0, 3.0, 2.0]), measured([0.5])], 10.0).seconds == 2.5
    over = script.total([measured([1.0]), measured(status="over budget")], 10.0)
    assert (over.seconds, over.cell()) == (None, "> 10 s")


@pytest.mark.parametrize("shape", ["two-back", "one-back"])
def test_derive_and_plain_sympy_compute_the_same_gradients(script: ModuleType, shape: str) -> None:
    """The comparison is fair: both sides differentiate the same chain by the same parameters."""
    depth = 3
    network = parse_network_text(script.chain_yaml(shape, depth))
    answers = solve(network).parts[0].answers
    names = [f"{p}{layer}" for layer in range(1, depth + 1) for p in ("w", "b")]
    assert list(answers) == names
    rng = random.Random(0)
    point = {sp.Symbol(n): rng.uniform(-1, 1) for n in ["h0", "h1", *names]}
    for name, expected in zip(names, script.plain_sympy(shape, depth), strict=True):
        value = answers[name].value
        for equation in reversed(network.equations):  # over the givens only
            value = value.subs(equation.target.symbol, equation.rhs)
        assert float(value.subs(point)) == pytest.approx(float(expected.subs(point)), rel=1e-9)
