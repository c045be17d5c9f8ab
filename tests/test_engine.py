"""The backward pass: textbook forms, the seeds' answers, and linear growth on deep chains."""

from __future__ import annotations

import pytest
import sympy as sp

from derive.documents import solve_example
from derive.engine import backward
from derive.examples import EXAMPLES, example_path
from derive.functions import sigmoid
from derive.load import load_network
from derive.problem_set import is_problem_set
from derive.solve import solve
from tests.conftest import network_from, residual_chain_yaml


def _scalars(names: str) -> list[sp.Symbol]:
    return list(sp.symbols(names))


NETWORK_EXAMPLES = sorted(
    name for name in EXAMPLES if name != "seeds" and not is_problem_set(example_path(name))
)


@pytest.mark.parametrize("name", NETWORK_EXAMPLES, ids=NETWORK_EXAMPLES)
def test_every_example_solves_and_is_checked(name: str) -> None:
    solution = solve_example(name)
    for part in solution.parts:
        assert part.verification is not None and part.verification.ok
        assert part.verification.max_rel_error < 1e-5
        assert set(part.answers) == set(load_network(example_path(name)).wrt)


def _sigma_prime(x: sp.Basic) -> sp.Basic:
    return sigmoid(x) * (1 - sigmoid(x))


def test_seed_problem_1_scalar_answers_keep_the_factor_t_minus_y() -> None:
    # Written independently from the homework: the answer sheet drops (t − y); the key must not.
    x, t, _w1, _b1, w2, _b2, s, h, z, y = _scalars("x t W1 b1 W2 b2 s h z y")
    solution = solve_example("seed-problem-1")
    main, skip = solution.parts
    common = -(t - y) * _sigma_prime(z)
    expected_main = {
        "W2": common * h,
        "b2": common,
        "W1": common * w2 * _sigma_prime(s) * x,
        "b1": common * w2 * _sigma_prime(s),
    }
    expected_skip = {
        "W2": common * h,
        "b2": common,
        "W1": common * (w2 * _sigma_prime(s) + 1) * x,
        "b1": common * (w2 * _sigma_prime(s) + 1),
    }
    for part, expected in ((main, expected_main), (skip, expected_skip)):
        for name, value in expected.items():
            assert sp.simplify(part.answers[name].value - value) == 0, (part.name, name)


def test_skip_variant_factors_the_two_paths() -> None:
    solution = solve_example("seed-problem-1")
    answer = solution.answer("skip", "b1").value
    # δ_z (W2 σ'(s) + 1): one factor holds both paths, nothing expanded
    assert any(isinstance(f, sp.Add) and 1 in f.args for f in sp.Mul.make_args(answer))


def test_vector_form_answers_have_textbook_shape() -> None:
    result = backward(load_network(example_path("two-layer")))
    delta_s = result.adjoints["s"].symbol
    x = sp.MatrixSymbol("x", *result.network.givens["x"].shape)
    assert result.adjoints["W1"].definition == delta_s * x.T  # δ_s xᵀ
    assert result.adjoints["b1"].definition == delta_s
    assert result.adjoints["W1"].resolved.shape == result.network.givens["W1"].shape


def test_binary_cross_entropy_on_a_sigmoid_simplifies_to_y_minus_t() -> None:
    result = backward(load_network(example_path("bce")))
    t, y = sp.symbols("t y")
    assert result.adjoints["z"].definition == y - t
    assert result.adjoints["z"].inlined is not None  # the step shows what was simplified


def test_squared_error_keeps_sigma_prime_in_textbook_form() -> None:
    result = backward(load_network(example_path("two-layer")))
    z = sp.Symbol("z")
    assert result.adjoints["z"].definition == sp.Symbol("delta_y") * _sigma_prime(z)


def test_midterm_per_entry_answers_match_the_official_solution() -> None:
    solution = solve_example("midterm")
    answers = solution.parts[0].answers
    x, y_pred, y_true = sp.symbols("x y_pred y_true")
    k = sp.Symbol("k", integer=True, positive=True)
    big_a, b, c = (sp.MatrixSymbol(n, *s) for n, s in (("A", (k, 1)), ("b", (k, 1)), ("C", (1, k))))
    i, j = sp.symbols("i j", integer=True)
    sigma = answers["C"].index_form.rhs.atoms(sp.Function)
    (sigma_fn,) = {f.func for f in sigma if f.func.__name__ == "sigma"}
    sigma_prime = sp.Function("sigma'")
    assert sp.simplify(answers["d"].value - 2 * (y_pred - y_true)) == 0
    expected_c = 2 * (y_pred - y_true) * sigma_fn(big_a[j, 0] * x + b[j, 0])
    assert sp.simplify(answers["C"].index_form.rhs - expected_c) == 0
    expected_b = 2 * c[0, i] * sigma_prime(big_a[i, 0] * x + b[i, 0]) * (y_pred - y_true)
    assert sp.simplify(answers["b"].index_form.rhs - expected_b) == 0
    assert sp.simplify(answers["A"].index_form.rhs - expected_b * x) == 0


def test_depth_100_residual_chain_stays_linear() -> None:
    sizes = {}
    for depth in (25, 50, 100):
        result = backward(network_from(residual_chain_yaml(depth)))
        sizes[depth] = len(sp.srepr(result.adjoints["W1"].resolved))
    # doubling the depth doubles the first layer's answer (no 2^depth blow-up)
    assert sizes[100] < 2.3 * sizes[50] < 2.3 * 2.3 * sizes[25]


def test_depth_100_residual_chain_solves_and_verifies() -> None:
    solution = solve(network_from(residual_chain_yaml(100)), points=1)
    part = solution.parts[0]
    assert len(part.answers) == 100
    assert part.verification is not None and part.verification.ok


def test_shared_adjoint_is_collected_into_one_linear_map() -> None:
    result = backward(network_from(residual_chain_yaml(3)))
    resolved = result.adjoints["h1"].resolved
    assert resolved.atoms(sp.matrices.expressions.diagonal.DiagMatrix)


def test_softmax_with_cross_entropy_on_a_one_hot_target_gives_p_minus_t() -> None:
    result = backward(load_network(example_path("softmax")))
    c = result.network.givens["t"].shape[0]
    p, t = sp.MatrixSymbol("p", c, 1), sp.MatrixSymbol("t", c, 1)
    assert result.adjoints["z"].definition == p - t
    assert "one-hot" in " ".join(map(str, solve_example("softmax").parts[0].assumptions))


def test_vector_binary_cross_entropy_simplifies_entry_by_entry() -> None:
    network = network_from(
        "given: {x: vector n, t: vector m, W: matrix m n}\n"
        "forward: [z = W x, y = sigmoid(z)]\n"
        "loss: e = -(t^T log(y) + (1 - t)^T log(1 - y))\n"
        "wrt: [W]\n"
    )
    result = backward(network)
    m = network.givens["t"].shape[0]
    y, t = sp.MatrixSymbol("y", m, 1), sp.MatrixSymbol("t", m, 1)
    assert result.adjoints["z"].definition == y - t
    assert solve(network).parts[0].verification.ok


def test_softmax_without_one_hot_keeps_the_general_form() -> None:
    network = network_from(
        "given: {z: vector c, t: vector c}\n"
        "forward: [p = softmax(z)]\n"
        "loss: e = -t^T log(p)\n"
        "wrt: [z]\n"
    )
    # without the one-hot assumption p − t would be wrong (Σ t ≠ 1); the check confirms it
    result = backward(network)
    c = network.givens["t"].shape[0]
    assert result.adjoints["z"].definition != sp.MatrixSymbol("p", c, 1) - sp.MatrixSymbol(
        "t", c, 1
    )
    assert solve(network).parts[0].verification.ok


def test_matrix_batch_with_sum_of_squares_simplifies_the_ones() -> None:
    network = network_from(
        "given: {X: matrix n m, T: matrix k m, W: matrix k n}\n"
        "forward: [Z = W X, Y = sigmoid(Z)]\n"
        "loss: e = sum((Y - T) .* (Y - T)) / 2\n"
        "wrt: [W]\n"
    )
    result = backward(network)
    k, m = network.givens["T"].shape
    assert result.adjoints["Y"].definition == sp.MatrixSymbol("Y", k, m) - sp.MatrixSymbol(
        "T", k, m
    )
    assert solve(network).parts[0].verification.ok


def test_index_form_sums_count_from_one() -> None:
    solution = solve(load_network(example_path("vector-output")), notation="index")
    entry = solution.parts[0].answers["W1"].index_form.rhs
    (total,) = entry.atoms(sp.Sum)
    (index, low, high), *_ = total.limits
    assert low == 1 and str(index) == "k" and str(high) == "m"


# A scalar added to every entry, the sum of the entries taken downstream: the adjoint c 1 is
# substituted into δᵀ 1, ((c 1)ᵀ 1 = n c); the ones fold to the size (column, row, a doubling
# nesting the product, used twice)
BROADCAST_THEN_SUMMED = {
    "column": "given: {v: vector n, a: scalar, t: scalar}\nforward: [h = v + a, s = sum(h)]",
    "row": "given: {v: row n, a: scalar, t: scalar}\nforward: [h = v + a, s = sum(h)]",
    "doubled": "given: {v: vector n, a: scalar, t: scalar}\nforward: [h = v + a, s = sum(2 h)]",
    "used-twice": (
        "given: {v: vector n, a: scalar, t: scalar}\nforward: [h = v + a, s = sum(h) + sum(h + a)]"
    ),
}


@pytest.mark.parametrize("given", BROADCAST_THEN_SUMMED.values(), ids=BROADCAST_THEN_SUMMED.keys())
def test_a_broadcast_scalar_summed_back_folds_its_ones(given: str) -> None:
    network = network_from(f"{given}\nloss: e = (t - s)^2 / 2\nwrt: [a, v]\n")
    (part,) = solve(network).parts  # checked numerically and read back from its LaTeX
    assert part.verification is not None and part.verification.ok
    assert not part.answers["a"].value.atoms(sp.OneMatrix)
