"""Index notation: equations written entry by entry, their expansion, errors and solutions."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from click.testing import CliRunner

from cli import main
from derive import limits
from derive.engine import backward
from derive.errors import (
    DeriveError,
    InputFileError,
    LimitError,
    Location,
    RedefinitionError,
    UnknownSymbolError,
)
from derive.evaluate import Evaluator
from derive.examples import EXAMPLES, example_path
from derive.load import load_network, parse_network_text
from derive.printing import latex_name
from derive.solve import solve
from derive.verify import concrete_dims, draw_point, forward

CONV = """\
indices: {i: 1..4, k: 1..3}
given: {x: vector 6, w: vector 3, b: scalar, t: vector 4}
forward:
  - z_i = sum_k(w_k x_{i+k-1}) + b
  - h_i = relu(z_i)
loss: L = sum_i((h_i - t_i)^2) / 2
wrt: [w, b, x]
"""

# The same network written out by hand, one scalar at a time.
CONV_BY_HAND = """\
given: {x_1: scalar, x_2: scalar, x_3: scalar, x_4: scalar, x_5: scalar, x_6: scalar,
        w_1: scalar, w_2: scalar, w_3: scalar, b: scalar,
        t_1: scalar, t_2: scalar, t_3: scalar, t_4: scalar}
forward:
  - z_1 = w_1 x_1 + w_2 x_2 + w_3 x_3 + b
  - z_2 = w_1 x_2 + w_2 x_3 + w_3 x_4 + b
  - z_3 = w_1 x_3 + w_2 x_4 + w_3 x_5 + b
  - z_4 = w_1 x_4 + w_2 x_5 + w_3 x_6 + b
  - h_1 = relu(z_1)
  - h_2 = relu(z_2)
  - h_3 = relu(z_3)
  - h_4 = relu(z_4)
loss: L = ((h_1 - t_1)^2 + (h_2 - t_2)^2 + (h_3 - t_3)^2 + (h_4 - t_4)^2) / 2
wrt: [w_1, w_2, w_3, b, x_1, x_2, x_3, x_4, x_5, x_6]
"""

POOL = """\
indices: {i: 1..2, j: 1..2, p: 1..2, q: 1..2}
given: {x: matrix 4 4, dout: matrix 2 2}
forward:
  - out_{i,j} = max_{p,q}(x_{2(i-1)+p, 2(j-1)+q})
loss: L = sum_{i,j}(dout_{ij} out_{ij})
wrt: [x]
"""


def test_an_indexed_equation_is_one_scalar_equation_per_entry() -> None:
    network = parse_network_text(CONV, source="conv.yaml")
    assert [eq.text for eq in network.equations] == [
        "z_1 = (w_1 x_1 + w_2 x_2 + w_3 x_3) + b",
        "z_2 = (w_1 x_2 + w_2 x_3 + w_3 x_4) + b",
        "z_3 = (w_1 x_3 + w_2 x_4 + w_3 x_5) + b",
        "z_4 = (w_1 x_4 + w_2 x_5 + w_3 x_6) + b",
        "h_1 = relu(z_1)",
        "h_2 = relu(z_2)",
        "h_3 = relu(z_3)",
        "h_4 = relu(z_4)",
        "L = ((h_1 - t_1)^2 + (h_2 - t_2)^2 + (h_3 - t_3)^2 + (h_4 - t_4)^2) / 2",
    ]
    assert list(network.givens) == [
        *(f"x_{n}" for n in range(1, 7)),
        *("w_1", "w_2", "w_3", "b"),
        *(f"t_{n}" for n in range(1, 5)),
    ]
    assert all(quantity.shape == (1, 1) for quantity in network.givens.values())
    assert network.wrt == ["w_1", "w_2", "w_3", "b", *(f"x_{n}" for n in range(1, 7))]
    # every expanded equation points at the line of the equation it comes from
    assert [eq.location.line for eq in network.equations] == [4] * 4 + [5] * 4 + [6]


def test_entries_are_named_to_print_with_their_indices() -> None:
    network = parse_network_text(POOL, source="pool.yaml")
    assert [eq.text for eq in network.equations] == [
        "out_1_1 = max(max(x_1_1, x_1_2), max(x_2_1, x_2_2))",
        "out_1_2 = max(max(x_1_3, x_1_4), max(x_2_3, x_2_4))",
        "out_2_1 = max(max(x_3_1, x_3_2), max(x_4_1, x_4_2))",
        "out_2_2 = max(max(x_3_3, x_3_4), max(x_4_3, x_4_4))",
        "L = (dout_1_1 out_1_1 + dout_1_2 out_1_2 + dout_2_1 out_2_1 + dout_2_2 out_2_2)",
    ]
    assert network.wrt == [f"x_{r}_{c}" for r in range(1, 5) for c in range(1, 5)]
    assert [latex_name(name) for name in ("x_3", "x_1_2", "out_2_1", "dout_1_2")] == [
        "x_{3}",
        "x_{1,2}",
        r"\mathit{out}_{2,1}",
        r"\mathit{dout}_{1,2}",
    ]


@pytest.mark.parametrize(
    ("equation", "expanded"),
    [
        ("z_i = w_k x_{2i-1}", None),  # k unbound: an error, below
        ("z_i = x_{i}", "z_1 = x_1"),
        ("z_i = x_i", "z_1 = x_1"),
        ("z_i = x_{2*i} - x_{2 i - 1}", "z_1 = x_2 - x_1"),
        ("z_i = sum_k(-w_k x_{i+k-1})", "z_1 = (-w_1 x_1 - w_2 x_2 - w_3 x_3)"),
        ("z_i = min_k(x_{i+k-1})", "z_1 = min(x_1, min(x_2, x_3))"),
        ("z_i = x_3 + x_{(i+1)*2} w_1", "z_1 = x_3 + x_4 w_1"),
        ("z_i = sum_{k}(sum_j(x_{j+k-1}))", "z_1 = ((x_1 + x_2) + (x_2 + x_3) + (x_3 + x_4))"),
    ],
    ids=["unbound", "braced", "plain", "arithmetic", "signs", "min", "fixed", "nested"],
)
def test_index_arithmetic_and_reductions(equation: str, expanded: str | None) -> None:
    text = f"""\
indices: {{i: 1..2, j: 1..2, k: 1..3}}
given: {{x: vector 6, w: vector 3}}
forward:
  - {equation}
loss: L = z_1 + z_2
wrt: [x]
"""
    if expanded is None:
        with pytest.raises(InputFileError, match="the index k is not bound here"):
            parse_network_text(text, source="net.yaml")
        return
    network = parse_network_text(text, source="net.yaml")
    assert network.equations[0].text == expanded


def test_the_indexed_network_is_the_network_written_out() -> None:
    indexed = backward(parse_network_text(CONV, source="conv.yaml"))
    by_hand = backward(parse_network_text(CONV_BY_HAND, source="hand.yaml"))
    for name in [*(f"w_{k}" for k in (1, 2, 3)), "b", *(f"x_{n}" for n in range(1, 7))]:
        assert sp.simplify(indexed.adjoints[name].resolved - by_hand.adjoints[name].resolved) == 0


@pytest.mark.parametrize("seed", [0, 10, 11])  # points with some units live and some dead
def test_conv_weight_gradient_is_the_correlation_of_the_input_with_the_upstream(seed: int) -> None:
    """∂L/∂w_k = Σ_i δ_{z_i} x_{i+k-1} and ∂L/∂x_n = Σ_{i+k-1=n} δ_{z_i} w_k (CS231n)."""
    network = load_network(example_path("conv1d"))
    dims = concrete_dims(network)
    point = draw_point(network, dims, np.random.default_rng(seed))
    values = forward(network, point, dims)
    evaluate = Evaluator(values, dims)
    result = backward(network)

    def value(name: str) -> float:
        return float(np.asarray(evaluate(result.adjoints[name].resolved), dtype=float))

    def entry(name: str) -> float:
        return float(values[network.quantities[name].symbol])

    delta = {i: (entry(f"h_{i}") - entry(f"t_{i}")) * (entry(f"z_{i}") > 0) for i in range(1, 5)}
    assert any(delta.values())
    for k in (1, 2, 3):
        expected = sum(delta[i] * entry(f"x_{i + k - 1}") for i in range(1, 5))
        assert value(f"w_{k}") == pytest.approx(expected, rel=1e-12, abs=1e-14)
    for n in range(1, 7):
        terms = [(i, n - i + 1) for i in range(1, 5) if 1 <= n - i + 1 <= 3]
        expected = sum(delta[i] * entry(f"w_{k}") for i, k in terms)
        assert value(f"x_{n}") == pytest.approx(expected, rel=1e-12, abs=1e-14)
    assert value("b") == pytest.approx(sum(delta.values()), rel=1e-12)


def test_max_pool_routes_each_upstream_entry_to_its_windows_largest_input() -> None:
    network = load_network(example_path("cs231n-maxpool"))
    dims = concrete_dims(network)
    point = draw_point(network, dims, np.random.default_rng(7))
    values = forward(network, point, dims)
    evaluate = Evaluator(values, dims)
    result = backward(network)
    x = np.array(
        [
            [float(values[network.quantities[f"x_{r}_{c}"].symbol]) for c in range(1, 5)]
            for r in range(1, 5)
        ]
    )
    dout = np.array(
        [
            [float(values[network.quantities[f"dout_{i}_{j}"].symbol]) for j in (1, 2)]
            for i in (1, 2)
        ]
    )
    expected = np.zeros((4, 4))  # max_pool_backward_naive: dout goes to each window's arg-max
    for i in range(2):
        for j in range(2):
            window = x[2 * i : 2 * i + 2, 2 * j : 2 * j + 2]
            r, c = np.unravel_index(np.argmax(window), window.shape)
            expected[2 * i + r, 2 * j + c] = dout[i, j]
    derived = np.array(
        [
            [
                float(np.asarray(evaluate(result.adjoints[f"x_{r}_{c}"].resolved)))
                for c in range(1, 5)
            ]
            for r in range(1, 5)
        ]
    )
    assert np.count_nonzero(expected) == 4
    assert np.allclose(derived, expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", ["conv1d", "cs231n-maxpool"])
def test_examples_solve_and_check(name: str) -> None:
    assert name in EXAMPLES
    (part,) = solve(load_network(example_path(name))).parts
    assert part.verification is not None and part.verification.ok
    assert len(part.answers) == {"conv1d": 10, "cs231n-maxpool": 16}[name]


def test_upstream_of_an_indexed_quantity_pairs_the_entries() -> None:
    text = POOL.replace("loss: L = sum_{i,j}(dout_{ij} out_{ij})", "upstream: {out: dout}")
    network = parse_network_text(text, source="pool.yaml")
    assert network.loss.text == (
        "L = sum(dout_1_1 .* out_1_1) + sum(dout_1_2 .* out_1_2) + sum(dout_2_1 .* out_2_1) "
        "+ sum(dout_2_2 .* out_2_2)"
    )
    (part,) = solve(network).parts
    assert part.verification is not None and part.verification.ok


def _net(
    indices: str = "{i: 1..4, k: 1..3}",
    given: str = "{x: vector 6, w: vector 3, b: scalar}",
    equation: str = "z_i = sum_k(w_k x_{i+k-1}) + b",
    loss: str = "L = sum_i(z_i)",
    wrt: str = "[w, b, x]",
) -> str:
    return (
        f"indices: {indices}\ngiven: {given}\nforward:\n  - {equation}\nloss: {loss}\nwrt: {wrt}\n"
    )


INDEX_ERRORS = [
    (
        "index out of the declared range",
        _net(equation="z_i = sum_k(w_k x_{i+k}) + b"),
        UnknownSymbolError,
        "'x_{i+k}' at i = 4, k = 3 is x_7, outside x, a vector of 6 entries (x_1..x_6)",
        4,
        21,
    ),
    (
        "entry of an indexed quantity out of range",
        _net(loss="L = z_5"),
        UnknownSymbolError,
        "'z_5' is z_5, outside z, defined for i = 1..4 (z_1..z_4)",
        5,
        11,
    ),
    (
        "unknown index",
        _net(equation="z_i = sum_k(w_k x_{i+m}) + b"),
        UnknownSymbolError,
        "'x_{i+m}': 'm' is not a declared index (indices: i = 1..4, k = 1..3)",
        4,
        21,
    ),
    (
        "unknown index of a reduction",
        _net(loss="L = sum_j(z_j)"),
        UnknownSymbolError,
        "'sum_j': 'j' is not a declared index (indices: i = 1..4, k = 1..3)",
        5,
        11,
    ),
    (
        "unknown index of a target",
        _net(equation="z_{m} = b"),
        InputFileError,
        "'z_{m}': 'm' is not a declared index (indices: i = 1..4, k = 1..3)",
        4,
        5,
    ),
    (
        "range not a..b",
        _net(indices="{i: 1-4, k: 1..3}"),
        InputFileError,
        "'indices: i' must be a range first..last of whole numbers, e.g. 1..4, not the value '1-4'",
        1,
        14,
    ),
    (
        "empty range",
        _net(indices="{i: 4..1, k: 1..3}"),
        InputFileError,
        "indices: the range of i is empty (4 > 1); write 1..4",
        1,
        14,
    ),
    (
        "index of two letters",
        _net(indices="{i: 1..4, kk: 1..3}"),
        InputFileError,
        "indices: an index is one letter (i, j, k), not 'kk'",
        1,
        20,
    ),
    (
        "section not a mapping",
        _net(indices="[i, k]"),
        InputFileError,
        "'indices' must be a mapping from each index to its range",
        1,
        10,
    ),
    (
        "index unbound",
        _net(loss="L = x_i"),
        InputFileError,
        "'x_i': the index i is not bound here (an index is bound by the target, as in z_i = …, "
        "or by a reduction such as sum_i(…))",
        5,
        11,
    ),
    (
        "index expression not integer arithmetic",
        _net(equation="z_i = x_{i/2}"),
        InputFileError,
        "'x_{i/2}': an index is an integer expression of the indices such as i+k-1 or 2i-1, "
        "not 'i/2'",
        4,
        11,
    ),
    (
        "too few indices for a matrix",
        _net(given="{x: matrix 6 2}", equation="z_i = x_{i}"),
        InputFileError,
        "'x_{i}': x is a 6×2 matrix, so an entry has 2 indices (x_{i,j}), not 1",
        4,
        11,
    ),
    (
        "entries of a given without an explicit size",
        _net(given="{x: vector n, w: vector 3, b: scalar}"),
        InputFileError,
        "'x' is written entry by entry, so it must be a vector or matrix of explicit size, "
        "e.g. 'vector 6' or 'matrix 4 4', not 'vector n'",
        4,
        21,
    ),
    (
        "a quantity written entry by entry used whole",
        _net(loss="L = sum(x) + z_1"),
        InputFileError,
        "'x' is written entry by entry (x_1..x_6), so an equation names its entries (x_{…}), "
        "not the whole x",
        5,
        15,
    ),
    (
        "an entry that is also a given",
        _net(given="{x: vector 6, w: vector 3, b: scalar, x_2: scalar}"),
        RedefinitionError,
        "'x_2' is an entry of x written in index notation, and also a name of its own (line 2)",
        2,
        46,
    ),
    (
        "an index named like a given",
        _net(indices="{i: 1..4, k: 1..3, b: 1..2}"),
        RedefinitionError,
        "indices: 'b' is an index and also a given or a quantity",
        2,
        35,
    ),
    (
        "a target indexed by an expression",
        _net(equation="z_{i+1} = b"),
        InputFileError,
        "in 'z_{i+1} = …': an equation defines its entries for plain indices ('z_{i,j}'), "
        "not 'i+1'",
        4,
        5,
    ),
    (
        "a reduction over an index already bound",
        _net(equation="z_i = sum_i(x_i)"),
        InputFileError,
        "'sum_i': i is already bound here",
        4,
        11,
    ),
    (
        "a reduction not closed",
        _net(loss="L = sum_i(z_i"),
        InputFileError,
        "'sum_i(' has no closing parenthesis",
        5,
        11,
    ),
    (
        "the loss indexed",
        _net(loss="L_i = z_i"),
        InputFileError,
        "the loss defines one scalar; write its entries' equations under forward",
        5,
        7,
    ),
]


@pytest.mark.parametrize(
    ("text", "error", "message", "line", "column"),
    [case[1:] for case in INDEX_ERRORS],
    ids=[case[0] for case in INDEX_ERRORS],
)
def test_index_error_names_file_line_and_column(
    text: str, error: type[DeriveError], message: str, line: int, column: int
) -> None:
    with pytest.raises(error) as caught:
        parse_network_text(text, source="net.yaml")
    assert type(caught.value) is error
    assert caught.value.message.startswith(message)
    assert caught.value.location == Location("net.yaml", line, column)


def test_expanded_equations_over_the_equations_limit() -> None:
    with limits.using(limits.current().raised(equations=4)), pytest.raises(LimitError) as caught:
        parse_network_text(_net(), source="net.yaml")
    assert caught.value.message == (
        "indices: written out to 'z_i', the network has 5 equations "
        "(limit 4; raise it with --limit equations=N)"
    )
    assert caught.value.location == Location("net.yaml", 4, 5)


def test_range_over_the_dimension_limit() -> None:
    with limits.using(limits.current().raised(dimension=3)), pytest.raises(LimitError) as caught:
        parse_network_text(_net(), source="net.yaml")
    assert caught.value.message == (
        "indices: i takes 4 values (limit 3; raise it with --limit dimension=N)"
    )
    assert caught.value.location == Location("net.yaml", 1, 14)


def test_givens_written_entry_by_entry_over_the_items_limit() -> None:
    with limits.using(limits.current().raised(yaml_items=8)), pytest.raises(LimitError) as caught:
        parse_network_text(_net(), source="net.yaml")
    assert caught.value.message == (
        "indices: the givens written entry by entry are 10 givens "
        "(limit 8; raise it with --limit yaml-items=N)"
    )


def test_a_long_sum_is_stopped_at_the_expression_limit() -> None:
    text = _net(indices="{i: 1..1, k: 1..900}", given="{x: vector 900, w: vector 900, b: scalar}")
    bounds = limits.current().raised(expression_chars=500)
    with limits.using(bounds), pytest.raises(LimitError) as caught:
        parse_network_text(text, source="net.yaml")
    assert caught.value.message == (
        "'sum_k(…)' written out is too long (limit 500; raise it with --limit expression-chars=N)"
    )
    assert caught.value.location == Location("net.yaml", 4, 11)


def test_a_name_like_an_entry_with_an_undeclared_letter_is_a_name() -> None:
    text = _net(
        given="{x: vector 6, w: vector 3, b: scalar, w_j: scalar}",
        equation="z_i = sum_k(w_k x_{i+k-1}) + w_j",
    )
    assert parse_network_text(text, source="net.yaml").equations[0].text.endswith(") + w_j")


def test_cli_reports_an_index_error_with_file_and_line(runner: CliRunner, tmp_path) -> None:
    path = tmp_path / "conv.yaml"
    path.write_text(_net(equation="z_i = sum_k(w_k x_{i+k}) + b"))
    outcome = runner.invoke(main, ["solve", str(path), "-o", str(tmp_path / "out.pdf")])
    assert outcome.exit_code == 1
    assert f"{path}, line 4, column 21" in outcome.output
    assert "is x_7, outside x, a vector of 6 entries (x_1..x_6)" in outcome.output
