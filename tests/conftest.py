"""Shared fixtures: a click runner and networks built from YAML text."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from derive.cache import ENVIRONMENT
from derive.load import parse_network_text
from derive.model import Network


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(autouse=True)
def _own_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test its own empty cache of solved problems (never the user's, never shared)."""
    monkeypatch.setenv(ENVIRONMENT, str(tmp_path_factory.mktemp("cache")))


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
