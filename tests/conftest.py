"""Shared fixtures: a click runner, the midterm's solved part, and networks and problem
sets built from YAML text."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import derive.examples
from derive.cache import ENVIRONMENT
from derive.load import load_network, parse_network_text
from derive.model import Network, Part
from derive.solve import solve as solve_network


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(autouse=True)
def _own_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test its own empty cache of solved problems (never the user's, never shared)."""
    monkeypatch.setenv(ENVIRONMENT, str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="module")
def midterm() -> Part:
    """Midterm 1(b)-(e): y_pred = C σ(A x + b) + d, L = (y_true − y_pred)², index notation."""
    path = Path(derive.examples.__file__).parent / "midterm.yaml"
    part = solve_network(load_network(path), notation="index").parts[0]
    part.name, part.heading = "mt-1be", "Midterm 1(b)-(e)"
    return part


def network_from(text: str) -> Network:
    """A network from YAML text (the same reader as files use)."""
    return parse_network_text(text, source="test.yaml")


def residual_chain_yaml(depth: int) -> str:
    """h_k = h_{k-1} + tanh(W_k h_{k-1}) repeated ``depth`` times, loss ½‖h_depth‖²."""
    given = ["  h0: vector n"] + [f"  W{k}: matrix n n" for k in range(1, depth + 1)]
    forward = []
    for k in range(1, depth + 1):
        forward += [
            f"  - s{k} = W{k} h{k - 1}",
            f"  - a{k} = tanh(s{k})",
            f"  - h{k} = h{k - 1} + a{k}",
        ]
    wrt = ", ".join(f"W{k}" for k in range(1, depth + 1))
    return "\n".join(
        [
            f"title: residual chain of depth {depth}",
            "given:",
            *given,
            "forward:",
            *forward,
            f"loss: e = h{depth}^T h{depth} / 2",
            f"wrt: [{wrt}]",
        ]
    )


def write_sigmoid_update_set(folder: Path, *update_lines: str) -> Path:
    """A problem set file in ``folder``: problem g, the identity σ'(z) = σ(z)(1 − σ(z)), then
    problem u, an update of g's answer whose further fields are ``update_lines``, from line 13."""
    path = folder / "set.yaml"
    path.write_text(
        "title: t\n"
        "problems:\n"
        "  - id: g\n"
        "    kind: identity\n"
        "    function: sigma\n"
        "    variable: z\n"
        "    definition: 1 / (1 + exp(-z))\n"
        "    claim: sigmoid(z) (1 - sigmoid(z))\n"
        "  - id: u\n"
        "    kind: update\n"
        "    gradient_of: g\n"
        "    parameter: derivative\n" + "".join(f"    {line}\n" for line in update_lines),
        encoding="utf-8",
    )
    return path


def write_course(folder: Path, network: str, problems: str) -> Path:
    """A problem set ``set.yaml`` in ``folder`` beside the network file ``net.yaml`` it names;
    the set's path."""
    (folder / "net.yaml").write_text(network, encoding="utf-8")
    path = folder / "set.yaml"
    path.write_text(problems, encoding="utf-8")
    return path
