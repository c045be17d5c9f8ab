"""Batches (issue 10 item 1-2): a bias broadcast across the examples of a batch, sums and means
along an axis, softmax over the rows of a matrix, and entrywise ./ and .^ in the network
language. Each network solves, passes derive's numeric check, prints the textbook form and
reads back from every printed formula; each refusal says why."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from derive.errors import DeriveError, ShapeError
from derive.load import parse_network_text
from derive.printing import tex
from derive.roundtrip import check_printed

solve = importlib.import_module("derive.solve").solve  # derive.solve is also a function


def network(given: str, forward: list[str], loss: str, wrt: str, extra: str = "") -> str:
    lines = "\n".join(f"  - {equation}" for equation in forward)
    return f"title: batch\ngiven:\n{given}\nforward:\n{lines}\nloss: {loss}\nwrt: [{wrt}]\n{extra}"


def solved(text: str) -> dict[str, str]:
    """The answers as printed, after the numeric check passed and every formula read back."""
    (part,) = solve(parse_network_text(text)).parts
    assert part.verification is not None and part.verification.ok
    assert check_printed(part) > 0
    return {name: tex(answer.value) for name, answer in part.answers.items()}


ROWS_GIVEN = "  X: matrix N D\n  W: matrix D H\n  b: {bias}\n  V: matrix H C"


@pytest.mark.parametrize("bias", ["row H", "vector H", "matrix 1 H"])
def test_a_bias_is_broadcast_across_the_rows_of_a_batch(bias: str) -> None:
    text = network(
        ROWS_GIVEN.format(bias=bias),
        ["Z = X W + b", "A = tanh(Z)", "S = A V"],
        "L = sum(S .* S) / 2",
        "W, b",
    )
    answers = solved(text)
    # δ_b sums δ_Z over the examples: 𝟏ᵀ δ_Z (or its transpose for a column b)
    assert r"\mathbf{1}" in answers["b"]


def test_a_column_bias_is_broadcast_across_the_columns_of_a_batch() -> None:
    text = network(
        "  X: matrix D N\n  W: matrix H D\n  b: vector H",
        ["Z = W X + b", "A = sigmoid(Z)"],
        "L = sum(A) / N",
        "W, b",
    )
    answers = solved(text)
    assert r"\mathbf{1}" in answers["b"]


def test_a_named_scalar_is_added_to_every_entry_but_a_scalar_expression_is_not() -> None:
    text = network(
        "  X: matrix m n\n  w: vector n\n  b: scalar\n  y: vector m",
        ["z = X w + b"],
        "J = sum((z - y) .* (z - y)) / (2 m)",
        "w, b",
    )
    assert "b" in solved(text)
    slip = network("  x: vector n\n  w: vector n", ["z = w^T x + x"], "e = sum(z)", "w")
    with pytest.raises(ShapeError, match="a scalar expression is not: name it first"):
        solve(parse_network_text(slip))


def test_sums_and_means_along_an_axis() -> None:
    text = network(
        "  X: matrix N D\n  W: matrix D C",
        ["S = X W", "r = sum(S .* S, 1)", "c = mean(S, 0)"],
        "L = sum(r) + sum(c .* c)",
        "W",
    )
    assert "W" in solved(text)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("sum(X, 2)", r"sum.s axis is 0 \(down each column\) or 1 \(along each row\), not 2"),
        ("sum(X, 1, 0)", r"sum takes 1 to 2 arguments, not 3: sum\(x, axis\)"),
        ("sum(X, D)", "sum's option must be a whole number such as 0 or 1"),
        ("tanh(X, 1)", r"tanh takes 1 argument, not 2: tanh\(x\)"),
        ("softmax(X, 3)", "softmax's axis is 0 .each column. or 1 .each row., not 3"),
        ("softmax(sum(X))", "softmax takes a vector or a matrix, not a scalar"),
        ("softmax(sum(X, 1), 1)", "softmax along axis 1 of N×1 normalises single entries"),
        ("W(X, 1)", "'W' is a quantity, not a function: a product takes no commas"),
    ],
)
def test_bad_calls_say_what_is_wrong(call: str, message: str) -> None:
    text = network("  X: matrix N D\n  W: matrix D C", [f"S = {call}"], "L = sum(S)", "W")
    with pytest.raises(DeriveError, match=message):
        solve(parse_network_text(text))


def test_batched_softmax_cross_entropy_simplifies_to_p_minus_y_over_n() -> None:
    text = network(
        "  X: matrix N D\n  Y: matrix N C\n  W: matrix D C\n  b: row C",
        ["S = X W + b", "P = softmax(S)"],
        "L = -sum(Y .* log(P)) / N",
        "W, b",
        "onehot: [Y]\n",
    )
    (part,) = solve(parse_network_text(text)).parts
    assert part.verification is not None and part.verification.ok
    delta = next(step for step in part.steps if "Backpropagate into S" in step.title)
    assert tex(delta.lines[-1].rhs) == r"\frac{1}{N} (P - Y)"


def test_softmax_over_the_columns_of_a_batch_of_column_examples() -> None:
    text = network(
        "  X: matrix D N\n  Y: matrix C N\n  W: matrix C D",
        ["S = W X", "P = softmax(S, 0)"],
        "L = -sum(Y .* log(P)) / N",
        "W",
    )
    assert r"\operatorname{softmax}\left(S, 0\right)" not in solved(text)["W"]  # P is named


def test_entrywise_division_and_power_in_the_network_language() -> None:
    text = network(
        "  x: vector n\n  w: vector n\n  s: vector n",
        ["u = (w .* x) ./ (1 + s .* s)", "v = u .^ 3"],
        "L = sum(v)",
        "w, s",
    )
    answers = solved(text)
    assert r"\oslash" in answers["s"] or r"\frac" in answers["s"]


def test_a_row_shape_reads_row_dim() -> None:
    text = network("  x: row n\n  W: matrix n k", ["z = x W"], "L = sum(z .* z)", "W")
    assert "W" in solved(text)
    bad = network("  x: row\n  W: matrix n k", ["z = x W"], "L = sum(z)", "W")
    with pytest.raises(DeriveError, match=r"'row' \(a row vector\) takes one dimension"):
        solve(parse_network_text(bad))


def test_one_hot_matrices_have_one_hot_rows() -> None:
    from derive.verify import _one_hot

    value = _one_hot((5, 3), np.random.default_rng(0))
    assert (value.sum(axis=1) == 1).all() and set(np.unique(value)) == {0.0, 1.0}
    bad = network("  x: row n\n  W: matrix n k", ["z = x W"], "L = sum(z)", "W", "onehot: [x]\n")
    with pytest.raises(ShapeError, match="a one-hot target is a column vector or a matrix"):
        solve(parse_network_text(bad))
