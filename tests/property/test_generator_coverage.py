"""The generator covers the language and means what it writes.

Every construct of the README's expression table is mapped to a generator feature, and every
feature turns up in drawn networks; every drawn file reads back (YAML, this suite's reader,
derive's parser and shapes) as the tree it was printed from; the oracle's numpy and torch
forward passes agree, and torch's gradients agree with finite differences.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, Phase, find, given, settings

from derive.load import parse_network_text
from tests.property.networks import (
    ARCHITECTURE_FEATURES,
    NUMPY,
    README_CONSTRUCTS,
    features,
    networks,
    text,
    torch_backend,
)
from tests.property.regressions import read_network
from tests.property.test_random_networks import (
    assert_same_shapes,
    finite_differences,
    oracle_point,
    reference_gradients,
)

pytestmark = pytest.mark.property

README = Path(__file__).resolve().parents[2] / "README.md"
FEATURES = sorted({*README_CONSTRUCTS.values(), *ARCHITECTURE_FEATURES})
TORCH = torch_backend()


def readme_constructs() -> list[str]:
    """The code spans in the first column of the table under "Expressions:" in README.md."""
    section = README.read_text(encoding="utf-8").split("## Network files", 1)[1]
    table = section.split("\n## ", 1)[0].split("Expressions:", 1)[1].strip().split("\n\n")[0]
    rows = [line for line in table.splitlines() if line.startswith("|")][2:]  # header, rule
    return [span for row in rows for span in re.findall(r"`([^`]+)`", row.split("|")[1])]


def test_the_readme_table_is_read() -> None:
    found = readme_constructs()
    assert "softmax(z)" in found
    assert "sigmoid tanh relu softplus exp log" in found


def test_every_readme_construct_maps_to_a_generator_feature() -> None:
    """A cell lists one construct (`A x`) or several separated by spaces (`+ - * /`)."""
    missing = [
        span
        for span in readme_constructs()
        if span not in README_CONSTRUCTS
        and not all(word in README_CONSTRUCTS for word in span.split())
    ]
    assert not missing, f"README constructs the generator does not map: {missing}"


@pytest.mark.parametrize("feature", FEATURES)
def test_the_generator_produces(feature: str) -> None:
    found = find(
        networks(),
        lambda network: feature in features(network),
        settings=settings(
            max_examples=3000,
            database=None,
            derandomize=True,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        ),
    )
    assert feature in features(found)


@given(networks())
def test_the_file_reads_back_as_the_network_it_was_printed_from(generated) -> None:
    document = yaml.safe_load(generated.yaml)
    written = [*document["forward"], document["loss"]]
    assert written == [f"{name} = {text(node)}" for name, node in generated.equations]
    again = read_network(generated.yaml)
    assert again.equations == generated.equations
    assert again.variants == generated.variants
    assert again.functions == generated.functions
    assert [(g.name, g.shape) for g in again.givens] == [
        (g.name, g.shape) for g in generated.givens
    ]
    assert_same_shapes(generated, parse_network_text(generated.yaml, source="generated.yaml"))


@pytest.mark.skipif(TORCH is None, reason="torch is not installed")
@settings(max_examples=max(10, settings.default.max_examples // 10))
@given(networks())
def test_the_oracle_agrees_with_itself(generated) -> None:
    """numpy and torch forward passes agree; torch's gradients match central differences."""
    import torch

    givens = oracle_point(generated, seed=0)
    if givens is None:
        return
    ours = generated.run(givens, NUMPY)
    tensors = {name: torch.tensor(value, dtype=torch.float64) for name, value in givens.items()}
    theirs = generated.run(tensors, TORCH)
    for name, value in ours.items():
        assert np.allclose(theirs[name].numpy(), value, rtol=1e-10, atol=1e-12), name
    gradients = reference_gradients(generated, givens)
    for name in generated.wrt:
        numeric = finite_differences(generated, givens, name)
        scale = max(1.0, float(np.abs(gradients[name]).max()))
        assert np.abs(numeric - gradients[name]).max() <= 1e-4 * scale, name
