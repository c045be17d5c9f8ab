"""Optional: every example's gradients against torch autograd (skipped when torch is absent)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from derive.evaluate import Evaluator
from derive.examples import example_path
from derive.functions import relu, sigmoid, softplus
from derive.load import load_network
from derive.verify import forward
from tests.torch_oracle import adjoints_beside_autograd, givens_as_tensors, random_point

torch = pytest.importorskip("torch")

TORCH_FUNCTIONS = {
    sigmoid: torch.sigmoid,
    relu: torch.relu,
    softplus: torch.nn.functional.softplus,
    sp.tanh: torch.tanh,
    sp.exp: torch.exp,
    sp.log: torch.log,
}


def _torch_eval(expr: sp.Basic, values: dict[sp.Basic, object]) -> object:
    """A small independent evaluator of the forward equations in torch."""
    if expr in values:
        return values[expr]
    if isinstance(expr, sp.Number):
        return float(expr)
    if hasattr(expr, "function") and hasattr(expr, "expr"):  # ElementwiseApplyFunction
        body = expr.function.expr
        return TORCH_FUNCTIONS[body.func](_torch_eval(expr.expr, values))
    if isinstance(expr, sp.MatMul):  # before Mul: a MatMul is a Mul too
        coefficient, matrices = expr.as_coeff_matrices()
        result = _torch_eval(matrices[0], values)
        for m in matrices[1:]:
            result = result @ _torch_eval(m, values)
        return _torch_eval(coefficient, values) * result
    if isinstance(expr, sp.OneMatrix):
        return torch.ones(*(int(d.subs(values["dims"])) for d in expr.shape), dtype=torch.float64)
    args = [_torch_eval(a, values) for a in expr.args]
    if isinstance(expr, sp.Add | sp.MatAdd):
        total = args[0]
        for a in args[1:]:
            total = total + a
        return total
    if isinstance(expr, sp.Mul | sp.HadamardProduct):
        product = args[0]
        for a in args[1:]:
            product = product * a
        return product
    if isinstance(expr, sp.Pow):
        return args[0] ** args[1]
    if isinstance(expr, sp.Transpose):
        return args[0].T
    if isinstance(expr, sp.Trace):
        return torch.trace(args[0]) if args[0].dim() == 2 else args[0]
    if isinstance(expr, sp.Function):
        return TORCH_FUNCTIONS[expr.func](args[0])
    raise NotImplementedError(type(expr).__name__)


@pytest.mark.parametrize(
    "name",
    ["two-layer", "tanh", "relu", "softplus", "bce", "three-layer-skip", "vector-output"],
)
def test_gradients_match_torch_autograd(name: str) -> None:
    network = load_network(example_path(name))
    dims, point = random_point(network, np.random.default_rng(3))
    tensors = givens_as_tensors(network, point)
    values: dict[sp.Basic, object] = {"dims": dims}
    for given, tensor in tensors.items():
        values[network.givens[given].symbol] = tensor
    for equation in network.equations:
        values[equation.target.symbol] = _torch_eval(equation.rhs, values)
    values[network.loss.target.symbol].backward()
    evaluator = Evaluator(forward(network, point, dims), dims)
    for wrt, derived, expected in adjoints_beside_autograd(network, evaluator, tensors):
        assert np.allclose(derived, expected, rtol=1e-9, atol=1e-12), wrt
