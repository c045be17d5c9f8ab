"""Random networks solved by derive, every JSON answer checked against an independent oracle.

The oracle is the generator's own forward pass (``networks.py``), differentiated by torch
autograd in float64, or by central finite differences of its numpy version where torch is not
installed. derive's answer is rebuilt from its JSON ``"sympy"`` string with plain sympy and
evaluated at the oracle's point. The kept regressions (``regressions/*.yaml``, shrunk failures
of this test) are checked the same way.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, event, given, target
from hypothesis import strategies as st

from derive.evaluate import Evaluator
from derive.functions import SREPR_NAMESPACE
from derive.load import parse_network_text
from derive.model import Network
from derive.solve import solve
from derive.verify import forward as derive_forward
from tests.property.networks import (
    NUMPY,
    SIZES,
    GeneratedNetwork,
    is_scalar,
    networks,
    torch_backend,
)
from tests.property.regressions import REGRESSIONS, read_network

pytestmark = pytest.mark.property

# Wall time for one network (parse, solve with derive's own check, JSON); CI machines are slower.
SOLVE_SECONDS = 3.0 * (3 if os.environ.get("CI") else 1)
TORCH = torch_backend()
RTOL, ATOL = (1e-6, 1e-9) if TORCH is not None else (1e-5, 1e-7)
EXTREME = 1e6  # a point where some quantity is larger than this is not a fair test


@given(networks(), st.integers(0, 2**32 - 1))
def test_random_network_matches_the_oracle(generated: GeneratedNetwork, seed: int) -> None:
    givens = oracle_point(generated, seed)
    assume(givens is not None)
    assert givens is not None
    elapsed = check_against_oracle(generated, givens)
    event(f"solved in {'<0.5' if elapsed < 0.5 else '<1' if elapsed < 1 else '>=1'} s")
    target(elapsed, label="seconds to solve")


@pytest.mark.property_regression
@pytest.mark.parametrize("path", REGRESSIONS, ids=[path.stem for path in REGRESSIONS])
def test_kept_regression_matches_the_oracle(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    generated = read_network(text)
    givens = oracle_point(generated, seed=0)
    assert givens is not None, "the kept network has no fair point at seed 0"
    check_against_oracle(generated, givens, text=text)


def oracle_point(generated: GeneratedNetwork, seed: int) -> dict[str, np.ndarray] | None:
    """Values for the givens at which every part is finite, moderate and smooth."""
    givens = generated.draw_values(np.random.default_rng(seed))
    with np.errstate(all="ignore"):
        for part in generated.parts().values():
            values = part.run(givens, NUMPY)
            if not all(np.all(np.abs(v) < EXTREME) for v in values.values()):
                return None
            if part.at_kink(values):  # torch's relu'(0) = 0, derive's Heaviside(0) = 1/2
                return None
    return givens


def check_against_oracle(
    generated: GeneratedNetwork, givens: Mapping[str, np.ndarray], *, text: str | None = None
) -> float:
    """Solve the file (``text``, or the generator's own) to JSON and compare every answer.

    Returns the seconds derive took to read and solve it.
    """
    start = time.perf_counter()
    network = parse_network_text(text or generated.yaml, source="generated.yaml")
    document = json.loads(solve(network).to_json())
    elapsed = time.perf_counter() - start
    assert_same_shapes(generated, network)
    parts = generated.parts()
    assert [part["name"] for part in document["parts"]] == list(parts)
    for entry in document["parts"]:
        name = entry["name"]
        meant = parts[name]
        solved = network if name == "main" else network.with_variant(name)
        assert entry["verification"]["ok"] is True
        assert set(entry["answers"]) == set(generated.wrt)
        values = meant.run(givens, NUMPY)
        assert_same_forward(meant, solved, givens, values)
        reference = reference_gradients(meant, givens)
        quantities = solved.quantities.values()
        point = {q.symbol: _as_evaluator_value(values[q.name], q.is_scalar) for q in quantities}
        for wrt, answer in entry["answers"].items():
            where = f"part {name}, gradient for {wrt}"
            expected_shape = generated.shapes[wrt]
            json_shape = [] if is_scalar(expected_shape) else list(expected_shape)
            assert answer["shape"] == json_shape, f"{where}: JSON shape"
            rebuilt = rebuild(answer["sympy"])
            derived = np.asarray(Evaluator(point, dimensions(network))(rebuilt), dtype=float)
            assert_close(derived, reference[wrt], where, answer["sympy"])
    if elapsed >= SOLVE_SECONDS:  # timed again: a pause (a collection, a busy machine) passes,
        elapsed = min(elapsed, _seconds_to_solve(text or generated.yaml))  # slowness repeats
    assert elapsed < SOLVE_SECONDS, f"solving took {elapsed:.1f} s (twice)"
    return elapsed


def _seconds_to_solve(text: str) -> float:
    start = time.perf_counter()
    solve(parse_network_text(text, source="generated.yaml")).to_json()
    return time.perf_counter() - start


def rebuild(srepr: str) -> sp.Basic:
    """An answer from its JSON srepr, with plain sympy and derive's function names."""
    return eval(srepr, {**vars(sp), **SREPR_NAMESPACE})


def dimensions(network: Network) -> dict[sp.Basic, int]:
    """The oracle's size for every dimension symbol of ``network`` (see ``networks.SIZES``)."""
    found = {}
    for quantity in network.quantities.values():
        for dim in quantity.shape:
            for symbol in sp.sympify(dim).free_symbols:
                found[symbol] = SIZES[symbol.name]
    return found


def reference_gradients(
    meant: GeneratedNetwork, givens: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """∂loss/∂w for every wrt name: torch autograd, or central differences without torch."""
    if TORCH is None:
        return {name: finite_differences(meant, givens, name) for name in meant.wrt}
    import torch

    tensors = {
        name: torch.tensor(value, dtype=torch.float64, requires_grad=name in meant.wrt)
        for name, value in givens.items()
    }
    loss = meant.run(tensors, TORCH)[meant.loss[0]].sum()
    wanted = [tensors[name] for name in meant.wrt]
    # a variant's loss may use none of them: every gradient is then zero
    grads = (
        torch.autograd.grad(loss, wanted, allow_unused=True)
        if loss.requires_grad
        else [None] * len(wanted)
    )
    return {
        name: np.zeros(givens[name].shape) if grad is None else grad.detach().numpy()
        for name, grad in zip(meant.wrt, grads, strict=True)
    }


def finite_differences(
    meant: GeneratedNetwork, givens: Mapping[str, np.ndarray], name: str
) -> np.ndarray:
    """∂loss/∂name by central differences of the numpy forward pass, entry by entry."""
    base = givens[name]
    gradient = np.zeros(base.shape)
    for index in np.ndindex(base.shape):
        step = 1e-6 * max(1.0, abs(float(base[index])))
        losses = []
        for sign in (1.0, -1.0):
            moved = base.copy()
            moved[index] += sign * step
            losses.append(float(meant.run({**givens, name: moved}, NUMPY)[meant.loss[0]][0, 0]))
        gradient[index] = (losses[0] - losses[1]) / (2 * step)
    return gradient


def assert_same_shapes(generated: GeneratedNetwork, network: Network) -> None:
    """derive reads every quantity with the shape the generator meant."""
    for name, quantity in network.quantities.items():
        rows, cols = (sp.sympify(d) for d in quantity.shape)
        read = tuple(int(d) if d.is_Integer else str(d) for d in (rows, cols))
        assert read == generated.shapes[name], f"derive reads {name} as {read}"


def assert_same_forward(
    meant: GeneratedNetwork,
    solved: Network,
    givens: Mapping[str, np.ndarray],
    values: Mapping[str, np.ndarray],
) -> None:
    """derive's own forward pass agrees with the oracle's (so a mismatch is in a derivative)."""
    given = solved.givens.values()
    point = {q.symbol: _as_evaluator_value(givens[q.name], q.is_scalar) for q in given}
    theirs = derive_forward(solved, point, dimensions(solved))
    for equation in solved.equations:
        ours = values[equation.target.name]
        read = np.asarray(theirs[equation.target.symbol], dtype=float).reshape(ours.shape)
        assert np.allclose(read, ours, rtol=1e-9, atol=1e-12), (
            f"derive computes {equation.target.name} = {equation.text} differently"
        )


def assert_close(derived: np.ndarray, reference: np.ndarray, where: str, srepr: str) -> None:
    if reference.shape == (1, 1):
        assert derived.size == 1, f"{where}: a scalar answer of shape {derived.shape}"
        derived = derived.reshape(1, 1)
    wrong_shape = f"{where}: shape {derived.shape}, not {reference.shape}"
    assert derived.shape == reference.shape, wrong_shape
    error = float(np.abs(derived - reference).max())
    allowed = ATOL + RTOL * float(np.abs(reference).max())
    assert error <= allowed, (
        f"{where}: derive's answer differs from the oracle by {error:.3e} "
        f"(allowed {allowed:.1e})\nderive: {derived.ravel()[:6]}\noracle: "
        f"{reference.ravel()[:6]}\nanswer: {srepr[:400]}"
    )


def _as_evaluator_value(value: np.ndarray, scalar: bool) -> float | np.ndarray:
    """derive's Evaluator takes a float for a scalar and a 2-D array otherwise."""
    return float(value[0, 0]) if scalar else np.asarray(value, dtype=float)
