"""Networks that once crashed or were refused, each solved and checked numerically.

Every case is a class of failure seen on networks users write (issue: the engine works on any
architecture). ``solve`` runs the numeric check, so a wrong answer fails here as a
VerificationError; where the textbook form matters, the LaTeX is asserted too.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from derive.errors import VerificationError
from derive.evaluate import Evaluator
from derive.load import parse_network_text
from derive.printing import tex
from derive.solve import solve
from derive.verify import concrete_dims, draw_point, forward, verify

CASES = {
    # a scalar scaling a vector: c x, then wrt c
    "scalar-scales-vector": """
given: {x: vector 2, c: scalar}
forward: [a = c x]
loss: e = sum(a .* a)
wrt: [c, x]
""",
    # a quantity twice in one expression, folded by sympy to 2 a
    "reuse-folded-to-2a": """
given: {x: vector 2, W: matrix 2 2}
forward: [a = W x, h = tanh(a) + 2 a]
loss: e = sum(h)
wrt: [W]
""",
    "reuse-a-plus-a": """
given: {x: vector 2, W: matrix 2 2}
forward: [a = W x, h = tanh(a) + a + a]
loss: e = sum(h)
wrt: [W]
""",
    # the scalar's adjoint is a trace of a product inside a log
    "scalar-inside-log": """
given: {x: vector 2, c: scalar, w: vector 2}
forward: [h = log(1 + (c x) .* (c x))]
loss: e = w^T h
wrt: [c, x]
""",
    # a centred vector: the first lines of a layer norm
    "centred-vector": """
given: {x: vector 4, o: vector 4}
forward: [mu = o^T x / 4, xc = x - mu o]
loss: L = xc^T xc
wrt: [x]
""",
    "normalised-vector": """
given: {x: vector 3}
forward: [h = x / norm(x)]
loss: e = sum(h)
wrt: [x]
""",
    "softmax-two-classes": """
given: {z: vector 2, t: vector 2}
onehot: [t]
forward: [p = softmax(z)]
loss: e = -t^T log(p)
wrt: [z]
""",
    "matrix-power": """
given: {W: matrix 3 3, x: vector 3}
forward: [y = W W W x, u = W^T W^T y]
loss: e = sum(u)
wrt: [W, x]
""",
    "softmax-inside-the-loss": """
given: {x: vector n, W1: matrix m n, W2: matrix k m, t: vector k}
onehot: [t]
forward: [h = tanh(W1 x), z = W2 h]
loss: e = -t^T log(softmax(z)) + sum(W1 .* W1)
wrt: [W1, W2]
""",
    # sign(w), the derivative of |w|, must be checked as sign, never as a stand-in
    "norm-of-a-scalar": """
given: {w: scalar, x: vector 2}
forward: [a = norm(w) x]
loss: e = sum(a)
wrt: [w]
""",
    # a saturated sigmoid: 1 - y is about 1e-8 at the drawn points unless they avoid it
    "saturating-bce": """
given: {x: vector 3, w: vector 3, t: scalar}
forward: [z = 30 w^T x, y = sigmoid(z)]
loss: e = -(t log(y) + (1 - t) log(1 - y))
wrt: [w]
""",
    # a scalar spread over a square product: tr(1ᵀ 1_{n×n} 1) folds to n², not tr(n 1)
    "scalar-spread-over-square-product": """
given: {W3: matrix n k, W4: matrix k n, c1: scalar}
forward: [h3 = W3 W4 + c1]
loss: e = c1 + sum(h3)
wrt: [c1, W3]
""",
    # (1_{4×m})ᵀ inside a matrix product is printed with its size, 1_{m×4}
    "transposed-ones-in-a-product": """
given: {W2: matrix m n, W3: matrix n 4}
forward: [h4 = (tanh(W2) (W3 + 2))^T]
loss: e = 2 + sum(h4)
wrt: [W2]
""",
}


def _network(text: str):  # type: ignore[no-untyped-def]
    return parse_network_text(f"title: regression\n{text}", source="regression.yaml")


@pytest.mark.parametrize("name", list(CASES), ids=list(CASES))
def test_solves_and_checks(name: str) -> None:
    start = time.perf_counter()
    solution = solve(_network(CASES[name]))
    solution.to_json()
    assert time.perf_counter() - start < 10
    verification = solution.parts[0].verification
    assert verification is not None and verification.max_rel_error < 1e-8


def test_entrywise_paths_collect_into_one_hadamard_factor() -> None:
    answers = solve(_network(CASES["reuse-folded-to-2a"])).parts[0].answers
    assert tex(answers["W"].value) == r"(3 \mathbf{1} - \tanh(a)^{\circ 2}) x^{\top}"


def test_softmax_with_two_classes_simplifies_to_p_minus_t() -> None:
    answers = solve(_network(CASES["softmax-two-classes"])).parts[0].answers
    assert tex(answers["z"].value) == "p - t"


def test_two_back_chain_answer_is_checked_and_boxed_compactly() -> None:
    given = ["  h0: scalar", "  h1: scalar"] + [f"  w{k}: scalar" for k in range(1, 17)]
    forward_lines = [f"  - h{k + 1} = sigmoid(w{k} h{k}) + h{k - 1}" for k in range(1, 17)]
    text = "\n".join(
        ["given:", *given, "forward:", *forward_lines, "loss: e = h17^2 / 2", "wrt: [w1, w16]"]
    )
    start = time.perf_counter()
    solution = solve(_network(text))
    solution.to_json()
    assert time.perf_counter() - start < 5
    first = solution.parts[0].answers["w1"]
    assert first.display is not None  # too long to print: the document boxes δ's form


def test_the_check_refuses_a_scaled_answer_at_a_saturated_sigmoid() -> None:
    network = _network(CASES["saturating-bce"])
    solution = solve(network)
    right = solution.parts[0].answers["w"].value
    with pytest.raises(VerificationError, match="refusing to write a wrong key"):
        verify(network, {"w": 1.001 * right})


def test_points_are_drawn_away_from_kinks() -> None:
    network = _network(
        """
given: {x: vector 3, W: matrix 3 3}
forward: [h = relu(W x)]
loss: e = norm(h)
wrt: [W]
"""
    )
    dims = concrete_dims(network)
    rng = np.random.default_rng(0)
    for _ in range(20):
        point = draw_point(network, dims, rng)
        values = forward(network, point, dims)
        pre_activation = Evaluator(values, dims)(network.equations[0].rhs.args[1])
        assert np.min(np.abs(pre_activation)) >= 1e-4  # relu's argument W x
        assert float(values[network.loss.target.symbol]) > 1e-4  # norm away from 0


def test_softmax_inside_the_loss_simplifies_like_a_named_p() -> None:
    answers = solve(_network(CASES["softmax-inside-the-loss"])).parts[0].answers
    assert tex(answers["W2"].value) == r"(\operatorname{softmax}(z) - t) h^{\top}"


def _two_back_chain(depth: int) -> str:
    given = ["  h0: scalar", "  h1: scalar"] + [f"  w{k}: scalar" for k in range(1, depth + 1)]
    lines = [f"  - h{k + 1} = sigmoid(w{k} h{k}) + h{k - 1}" for k in range(1, depth + 1)]
    return "\n".join(
        ["given:", *given, "forward:", *lines, f"loss: e = h{depth + 1}^2 / 2", "wrt: [w1, w2]"]
    )


def test_json_writes_an_enormous_answer_with_named_adjoints() -> None:
    import json

    import sympy as sp

    from derive.functions import SREPR_NAMESPACE

    network = _network(_two_back_chain(30))
    solution = solve(network)
    text = solution.to_json()
    assert len(text) < 200_000  # the substituted tree would have about 10^6 paths
    part = json.loads(text)["parts"][0]
    answer = part["answers"]["w1"]
    assert answer["substituted"] is False
    namespace = {**vars(sp), **SREPR_NAMESPACE}
    dims = concrete_dims(network)
    point = draw_point(network, dims, np.random.default_rng(1))
    evaluator = Evaluator(forward(network, point, dims), dims)
    for adjoint in part["adjoints"]:  # closest to the loss first: each uses earlier ones
        value = evaluator(eval(adjoint["sympy"], namespace))
        evaluator.values[sp.Symbol(adjoint["name"])] = value
        evaluator.memo.clear()
    compact = evaluator(eval(answer["sympy"], namespace))
    checked = Evaluator(forward(network, point, dims), dims)(solution.parts[0].answers["w1"].value)
    assert np.isclose(float(compact), float(checked), rtol=1e-10)


def test_a_sum_of_ones_over_a_square_matrix_is_its_count() -> None:
    answers = solve(_network(CASES["scalar-spread-over-square-product"])).parts[0].answers
    assert tex(answers["c1"].value) == "n^{2} + 1"


def test_transposed_ones_in_a_product_keep_their_size() -> None:
    answers = solve(_network(CASES["transposed-ones-in-a-product"])).parts[0].answers
    assert r"\mathbf{1}_{m \times 4} (2 \mathbf{1} + W_{3}^{\top})" in tex(answers["W2"].value)
