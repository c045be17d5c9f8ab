"""The JSON output is a contract: every answer rebuilds from its srepr with plain sympy."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy as sp

from derive.documents import solve_example
from derive.evaluate import Evaluator
from derive.examples import example_path
from derive.functions import SREPR_NAMESPACE
from derive.load import load_network
from derive.verify import concrete_dims, draw_point, forward

EXAMPLES = [
    "seed-problem-1",
    "two-layer",
    "bce",
    "relu",
    "softmax",
    "midterm",
    "three-layer-skip",
    "vector-output",
]


def _rebuild(text: str) -> sp.Basic:
    namespace: dict[str, object] = {}
    exec("from sympy import *", namespace)
    namespace.update(SREPR_NAMESPACE)
    return eval(text, namespace)


@pytest.mark.parametrize("name", EXAMPLES, ids=EXAMPLES)
def test_answers_rebuild_and_evaluate_to_the_checked_gradient(name: str) -> None:
    solution = solve_example(name)
    document = json.loads(solution.to_json())
    network = load_network(example_path(name))
    dims = concrete_dims(network)
    values = forward(network, draw_point(network, dims, np.random.default_rng(7)), dims)
    assert set(document) == {"title", "parts"}
    for part, json_part in zip(solution.parts, document["parts"], strict=True):
        assert json_part["verification"]["ok"] is True
        for wrt, entry in json_part["answers"].items():
            rebuilt = _rebuild(entry["sympy"])
            names = {s.name for s in rebuilt.atoms(sp.Symbol, sp.MatrixSymbol)}
            assert not any(n.startswith("delta_") for n in names), "no adjoint may be left"
            expected = Evaluator(values, dims)(part.answers[wrt].value)
            assert np.allclose(Evaluator(values, dims)(rebuilt), expected)
            quantity = network.givens[wrt]
            dims_json = [int(d) if d.is_Integer else str(d) for d in quantity.shape]
            assert entry["shape"] == ([] if quantity.is_scalar else dims_json)
