"""Sequences: one declared step unrolled for T steps, BPTT's sums, and every error's place."""

from __future__ import annotations

from pathlib import Path

import pytest
import sympy as sp
import yaml
from click.testing import CliRunner

from cli import main
from derive import limits, sequences
from derive.engine import backward
from derive.errors import (
    DeriveError,
    InputFileError,
    LimitError,
    Location,
    RedefinitionError,
    ShapeError,
    UnknownSymbolError,
)
from derive.examples import EXAMPLES, example_path
from derive.load import YamlReader, load_network, parse_network_text
from derive.solve import solve

RNN = """\
given: {W: matrix H H, U: matrix H D, b: vector H, V: matrix C H, c: vector C, h_0: vector H}
sequence:
  steps: 3
  given: {x_t: vector D, y_t: vector C}
  forward:
    - h_t = tanh(W h_{t-1} + U x_t + b)
    - p_t = softmax(V h_t + c)
    - e_t = -y_t^T log(p_t)
loss: L = sum_t(e_t)
onehot: [y_t]
wrt: [W, U, b, V, c]
"""

UNROLLED = """\
given: {W: matrix H H, U: matrix H D, b: vector H, V: matrix C H, c: vector C, h_0: vector H,
        x_1: vector D, x_2: vector D, x_3: vector D, y_1: vector C, y_2: vector C, y_3: vector C}
forward:
  - h_1 = tanh(W h_0 + U x_1 + b)
  - p_1 = softmax(V h_1 + c)
  - e_1 = -y_1^T log(p_1)
  - h_2 = tanh(W h_1 + U x_2 + b)
  - p_2 = softmax(V h_2 + c)
  - e_2 = -y_2^T log(p_2)
  - h_3 = tanh(W h_2 + U x_3 + b)
  - p_3 = softmax(V h_3 + c)
  - e_3 = -y_3^T log(p_3)
loss: L = e_1 + e_2 + e_3
onehot: [y_1, y_2, y_3]
wrt: [W, U, b, V, c]
"""


def test_steps_unroll_into_named_quantities_in_step_order() -> None:
    network = parse_network_text(RNN, source="rnn.yaml")
    assert [eq.text for eq in network.equations] == [
        "h_1 = tanh(W h_0 + U x_1 + b)",
        "p_1 = softmax(V h_1 + c)",
        "e_1 = -y_1^T log(p_1)",
        "h_2 = tanh(W h_1 + U x_2 + b)",
        "p_2 = softmax(V h_2 + c)",
        "e_2 = -y_2^T log(p_2)",
        "h_3 = tanh(W h_2 + U x_3 + b)",
        "p_3 = softmax(V h_3 + c)",
        "e_3 = -y_3^T log(p_3)",
        "L = (e_1 + e_2 + e_3)",
    ]
    assert list(network.givens) == [
        *("W", "U", "b", "V", "c", "h_0"),
        *("x_1", "x_2", "x_3", "y_1", "y_2", "y_3"),
    ]
    assert network.onehot == frozenset({"y_1", "y_2", "y_3"})
    assert network.wrt == ["W", "U", "b", "V", "c"]


def test_unrolled_network_is_the_one_written_out_by_hand() -> None:
    rolled = parse_network_text(RNN, source="rnn.yaml")
    written = parse_network_text(UNROLLED, source="unrolled.yaml")
    assert [(eq.target, eq.rhs) for eq in rolled.equations] == [
        (eq.target, eq.rhs) for eq in written.equations
    ]
    assert rolled.givens == written.givens


@pytest.mark.parametrize("steps", [1, 2, 5])
def test_any_number_of_steps_is_the_network_written_out(steps: int) -> None:
    rolled = f"""\
given: {{W: matrix n n, h_0: vector n, x_0: vector n}}
sequence:
  steps: {steps}
  given: {{x_t: vector n}}
  forward:
    - h_t = tanh(W h_{{t-1}} + x_t - x_{{t-1}})
loss: L = sum_t(h_t^T h_t) / 2
wrt: [W, x_t]
"""
    each = range(1, steps + 1)
    written = "\n".join(
        [
            "given: {W: matrix n n, h_0: vector n, x_0: vector n, "
            + ", ".join(f"x_{t}: vector n" for t in each)
            + "}",
            "forward:",
            *(f"  - h_{t} = tanh(W h_{t - 1} + x_{t} - x_{t - 1})" for t in each),
            "loss: L = (" + " + ".join(f"h_{t}^T h_{t}" for t in each) + ") / 2",
            "wrt: [W, " + ", ".join(f"x_{t}" for t in each) + "]",
        ]
    )
    network = parse_network_text(rolled, source="rolled.yaml")
    expected = parse_network_text(written, source="written.yaml")
    assert [(eq.target, eq.rhs) for eq in network.equations] == [
        (eq.target, eq.rhs) for eq in expected.equations
    ]
    assert network.givens == expected.givens
    assert network.wrt == expected.wrt


def test_unrolled_equations_keep_the_step_equations_lines() -> None:
    network = parse_network_text(RNN, source="rnn.yaml")
    lines = [eq.location.line for eq in network.equations]
    assert lines == [6, 7, 8] * 3 + [9]
    assert {eq.location.column for eq in network.equations[:-1]} == {7}


def test_bptt_adds_one_contribution_per_step_to_each_shared_weight() -> None:
    network = parse_network_text(RNN, source="rnn.yaml")
    result = backward(network)
    for weight in ("W", "U", "b", "V", "c"):
        users = sorted(term.equation.target.name for term in result.adjoints[weight].terms)
        layer = "h" if weight in ("W", "U", "b") else "p"
        assert users == [f"{layer}_1", f"{layer}_2", f"{layer}_3"], weight
    # δ_h1 gets V^T(…) from p_1 and W^T(…) from h_2: through time and to the output
    assert sorted(t.equation.target.name for t in result.adjoints["h_1"].terms) == ["h_2", "p_1"]


def test_example_shows_bptt_sums_and_softmax_cross_entropy_per_step() -> None:
    network = load_network(example_path("rnn-three-steps"))
    (part,) = solve(network).parts
    assert part.verification is not None and part.verification.ok
    result = backward(network)
    delta = {name: result.adjoints[name].symbol for name in ("a_1", "a_2", "a_3")}
    h_0, h_1, h_2 = (
        network.givens["h_0"].symbol,
        *(network.quantities[f"h_{k}"].symbol for k in (1, 2)),
    )
    expected = delta["a_1"] * h_0.T + delta["a_2"] * h_1.T + delta["a_3"] * h_2.T
    assert sp.simplify(result.adjoints["W"].definition - expected) == sp.ZeroMatrix(*expected.shape)
    p, y = network.quantities["p_2"].symbol, network.givens["y_2"].symbol
    assert result.adjoints["z_2"].resolved == p - y  # δ_z = p − y at every step


def test_cli_solves_both_examples(runner: CliRunner, tmp_path: Path) -> None:
    for name, shown in (
        ("rnn-three-steps", r"\delta_{a_{1}} h_{0}^{\top} + \delta_{a_{2}} h_{1}^{\top}"),
        ("lstm-step", r"\delta_{c_{1}} \odot f_{1}"),
    ):
        out = tmp_path / f"{name}.md"
        result = runner.invoke(main, ["solve", "--example", name, "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert shown in out.read_text(encoding="utf-8")


def test_examples_are_listed_with_their_first_line() -> None:
    assert EXAMPLES["rnn-three-steps"].description.startswith("Vanilla RNN unrolled for 3 steps")
    assert EXAMPLES["lstm-step"].description.startswith("One LSTM step")


@pytest.mark.parametrize(
    ("loss", "expected"),
    [
        ("L = sum_t(e_t)", "L = (e_1 + e_2 + e_3)"),
        ("L = sum_t(e_t) / 3", "L = (e_1 + e_2 + e_3) / 3"),
        ("L = sum_t(-y_t^T log(p_t))", "L = (-y_1^T log(p_1) - y_2^T log(p_2) - y_3^T log(p_3))"),
        (
            "L = sum_t(e_t + sum(h_t - h_{t-1}))",
            "L = (e_1 + sum(h_1 - h_0) + e_2 + sum(h_2 - h_1) + e_3 + sum(h_3 - h_2))",
        ),
        ("L = e_3 + e_1", "L = e_3 + e_1"),
    ],
    ids=["sum", "mean", "signed-body", "earlier-step", "named-steps"],
)
def test_sum_over_steps_is_written_out(loss: str, expected: str) -> None:
    network = parse_network_text(RNN.replace("L = sum_t(e_t)", loss), source="rnn.yaml")
    assert network.loss.text == expected


def test_variants_sum_over_steps_or_replace_one_step() -> None:
    text = (
        f"{RNN}variants:\n  mean: L = sum_t(e_t) / 3\n  skip: h_2 = tanh(W h_1 + U x_2 + b) + h_0\n"
    )
    network = parse_network_text(text, source="rnn.yaml")
    assert {label: eq.text for label, eq in network.variants.items()} == {
        "mean": "L = (e_1 + e_2 + e_3) / 3",
        "skip": "h_2 = tanh(W h_1 + U x_2 + b) + h_0",
    }
    with pytest.raises(InputFileError) as caught:
        parse_network_text(f"{RNN}variants:\n  last: L = e_t\n", source="rnn.yaml")
    assert caught.value.message.startswith("'e_t' names one quantity per step")
    assert caught.value.location == Location("rnn.yaml", 13, 13)


def test_later_step_and_extra_given_outside_the_steps() -> None:
    text = """\
given: {w: vector n, x_3: vector n}
sequence:
  steps: 2
  given: {x_t: vector n}
  forward:
    - e_t = w^T (x_{t+1} - x_t)
loss: L = sum_t(e_t^2)
wrt: [w, x_t]
"""
    network = parse_network_text(text, source="next.yaml")
    assert [eq.text for eq in network.equations[:2]] == [
        "e_1 = w^T (x_2 - x_1)",
        "e_2 = w^T (x_3 - x_2)",
    ]
    assert network.wrt == ["w", "x_1", "x_2"]


def test_one_step_needs_no_top_level_forward_and_reads_like_the_course() -> None:
    network = load_network(example_path("lstm-step"))
    assert [eq.text for eq in network.equations][:2] == [
        "a_i_1 = W_i x_1 + U_i h_0 + b_i",
        "i_1 = sigmoid(a_i_1)",
    ]
    assert [eq.text for eq in network.equations][8:10] == [
        "c_1 = f_1 ⊙ c_0 + i_1 ⊙ g_1",
        "h_1 = o_1 ⊙ tanh(c_1)",
    ]


HEAD = "given: {W: matrix H H, h_0: vector H, v: vector H}\n"  # line 1


def _file(
    steps: str = "3",
    given: str = "{x_t: vector H}",
    step: str = "h_t = tanh(W h_{t-1})",
    loss: str = "L = v^T h_3",
    extra: str = "",
) -> str:
    """Line 2 is 'sequence:', line 3 steps, line 4 given, line 6 the step equation, 7 the loss."""
    return (
        f"{HEAD}sequence:\n  steps: {steps}\n  given: {given}\n  forward:\n    - {step}\n"
        f"loss: {loss}\nwrt: [W]\n{extra}"
    )


SEQUENCE_ERRORS = [
    (
        "step index before the first step",
        _file(step="h_t = tanh(W h_{t-2})"),
        UnknownSymbolError,
        "'h_{t-2}' at step t = 1 is step -1: the steps are t = 1..3, and only an initial value "
        "such as 'h_0' can be given before them",
        6,
        20,
    ),
    (
        "initial value not given",
        _file(step="s_t = tanh(W s_{t-1})", loss="L = v^T s_3"),
        UnknownSymbolError,
        "'s_{t-1}' at step t = 1 is 's_0', outside the steps t = 1..3, and 's_0' is not a given "
        "(declare the initial value 's_0' under given)",
        6,
        20,
    ),
    (
        "step after the last step",
        _file(step="h_t = tanh(W h_{t-1} + x_{t+1})"),
        UnknownSymbolError,
        "'x_{t+1}' at step t = 3 is 'x_4', outside the steps t = 1..3, and 'x_4' is not a given",
        6,
        30,
    ),
    (
        "per-step given also defined by a step equation",
        _file(given="{h_t: vector H}"),
        RedefinitionError,
        "in 'h_1 = tanh(W h_0)': 'h_1' is already a given",
        6,
        7,
    ),
    (
        "per-step given x_t clashes with x_2",
        _file().replace("v: vector H", "v: vector H, x_2: vector H"),
        RedefinitionError,
        "sequence: the per-step given 'x_t' is x_1, x_2, x_3 for t = 1..3, but 'x_2' is "
        "already a given (line 1)",
        4,
        11,
    ),
    (
        "step equation clashes with a given",
        _file().replace("v: vector H", "v: vector H, h_1: vector H"),
        RedefinitionError,
        "sequence: 'h_t' is h_1, h_2, h_3 for t = 1..3, but 'h_1' is already a given (line 1)",
        6,
        7,
    ),
    (
        "steps zero",
        _file(steps="0"),
        InputFileError,
        "'sequence: steps' must be a positive whole number (t = 1..steps), not the value '0'",
        3,
        10,
    ),
    (
        "steps negative",
        _file(steps="-2"),
        InputFileError,
        "'sequence: steps' must be a positive whole number (t = 1..steps), not the value '-2'",
        3,
        10,
    ),
    (
        "steps a fraction",
        _file(steps="2.5"),
        InputFileError,
        "'sequence: steps' must be a positive whole number (t = 1..steps), not the value '2.5'",
        3,
        10,
    ),
    (
        "steps a word",
        _file(steps="three"),
        InputFileError,
        "'sequence: steps' must be a positive whole number (t = 1..steps), not the value 'three'",
        3,
        10,
    ),
    (
        "steps true",
        _file(steps="true"),
        InputFileError,
        "'sequence: steps' must be a positive whole number (t = 1..steps), not the value 'true'",
        3,
        10,
    ),
    (
        "steps a list",
        _file(steps="[3]"),
        InputFileError,
        "'sequence: steps' must be a positive whole number (t = 1..steps), not a list",
        3,
        10,
    ),
    (
        "steps over the equations limit",
        _file(steps="1001"),
        LimitError,
        "a sequence of 1001 steps (limit 1 000; raise it with --limit equations=N)",
        3,
        10,
    ),
    (
        "steps times equations over the limit",
        _file(steps="400", step="h_t = tanh(W h_{t-1})\n    - a_t = h_t\n    - b_t = a_t"),
        LimitError,
        "sequence: 400 steps of 3 equations make 1 201 equations (limit 1 000; raise it with "
        "--limit equations=N)",
        3,
        10,
    ),
    (
        "steps with too many digits",
        _file(steps="1" * 101),
        LimitError,
        "a number with 101 digits (limit 100; raise it with --limit digits=N)",
        3,
        10,
    ),
    (
        "missing steps",
        f"{HEAD}sequence:\n  forward:\n    - h_t = W h_{{t-1}}\nloss: L = v^T h_1\nwrt: [W]\n",
        InputFileError,
        "'sequence' needs 'steps', the number of steps T (t = 1..T)",
        3,
        3,
    ),
    (
        "sequence not a mapping",
        f"{HEAD}sequence: [3]\nloss: L = v^T h_0\nwrt: [W]\n",
        InputFileError,
        "'sequence' must be a mapping with the keys steps, given, forward, not a list",
        2,
        11,
    ),
    (
        "unknown key in the sequence",
        _file(extra="").replace("  steps: 3\n", "  steps: 3\n  index: t\n"),
        InputFileError,
        "unknown key 'index' in 'sequence' (it has steps, given, forward)",
        4,
        3,
    ),
    (
        "per-step given not named for step t",
        _file(given="{x: vector H}"),
        InputFileError,
        "sequence: a per-step given is named for step t, e.g. 'x_t', not 'x'",
        4,
        11,
    ),
    (
        "step equation target not named for step t",
        _file(step="h = tanh(W h_0)"),
        InputFileError,
        "in 'h = tanh(W h_0)': a step equation defines one quantity per step, named for step t "
        "(e.g. 'h_t = …'), not 'h'",
        6,
        7,
    ),
    (
        "step equation target at an earlier step",
        _file(step="h_{t-1} = tanh(W h_0)"),
        InputFileError,
        "not 'h_{t-1}'",
        6,
        7,
    ),
    (
        "step equation with no equals sign",
        _file(step="tanh(W h_0)"),
        InputFileError,
        "in 'tanh(W h_0)': a step equation reads 'name_t = expression'",
        6,
        7,
    ),
    (
        "indexed name that is not per step",
        _file(step="h_t = tanh(W_t h_{t-1})"),
        UnknownSymbolError,
        "'W_t' is indexed by the step t, but 'W_t' is not a per-step quantity (the sequence "
        "declares x_t, h_t)",
        6,
        18,
    ),
    (
        "index other than t",
        _file(step="h_t = tanh(W h_{2*t})"),
        InputFileError,
        "'h_{2*t}': a step index is t, t-1, t+1, … in braces, not '2*t'",
        6,
        20,
    ),
    (
        "sum over steps inside a step",
        _file(step="h_t = tanh(W h_{t-1}) + sum_t(x_t)"),
        InputFileError,
        "sum_t(...) sums over all the steps: it stands outside the sequence (in loss or "
        "forward), never in a step equation or another sum_t",
        6,
        31,
    ),
    (
        "per-step name outside a sum",
        _file(loss="L = v^T h_t"),
        InputFileError,
        "'h_t' names one quantity per step; outside the sequence write one step ('h_3') or sum "
        "over the steps with sum_t(...)",
        7,
        15,
    ),
    (
        "sum over steps not closed",
        _file(loss="L = sum_t(v^T h_t"),
        InputFileError,
        "sum_t( has no closing parenthesis",
        7,
        11,
    ),
    (
        "per-step given declared at the top level",
        _file().replace("v: vector H", "v: vector H, y_t: vector H"),
        InputFileError,
        "given: 'y_t' is named for step t; a per-step given belongs under 'sequence: given'",
        1,
        52,
    ),
    (
        "shape error in an unrolled equation points at the step equation",
        _file(step="h_t = tanh(W h_{t-1} + x_t)").replace("x_t: vector H", "x_t: vector D"),
        ShapeError,
        "in 'h_1 = tanh(W h_0 + x_1)'",
        6,
        7,
    ),
    (
        "unknown symbol in an unrolled equation points at the step equation",
        _file(step="h_t = tanh(W h_{t-1} + q)"),
        UnknownSymbolError,
        "in 'h_1 = tanh(W h_0 + q)'",
        6,
        7,
    ),
]


@pytest.mark.parametrize(
    ("text", "error", "message", "line", "column"),
    [case[1:] for case in SEQUENCE_ERRORS],
    ids=[case[0] for case in SEQUENCE_ERRORS],
)
def test_sequence_error_names_file_line_and_column(
    text: str, error: type[DeriveError], message: str, line: int, column: int
) -> None:
    with pytest.raises(error) as caught:
        parse_network_text(text, source="seq.yaml")
    assert message in caught.value.message
    assert caught.value.location == Location("seq.yaml", line, column)


def test_per_step_givens_over_the_items_limit() -> None:
    with limits.using(limits.current().raised(yaml_items=5)), pytest.raises(LimitError) as caught:
        parse_network_text(_file(given="{x_t: vector H, y_t: vector H}"), source="seq.yaml")
    assert caught.value.message == (
        "sequence: 3 steps of 2 per-step givens make 9 givens "
        "(limit 5; raise it with --limit yaml-items=N)"
    )
    assert caught.value.location == Location("seq.yaml", 3, 10)


def test_unknown_key_message_lists_sequence() -> None:
    with pytest.raises(InputFileError) as caught:
        parse_network_text(f"{RNN}steps: 3\n", source="rnn.yaml")
    assert caught.value.message.startswith("unknown key 'steps' (a network file has given,")
    assert "grading, sequence" in caught.value.message


def test_upstream_gradient_of_every_step_pairs_the_steps() -> None:
    text = """\
given: {W: matrix H H, U: matrix H D, b: vector H, h_0: vector H}
sequence:
  steps: 3
  given: {x_t: vector D, dh_t: vector H}
  forward:
    - h_t = tanh(W h_{t-1} + U x_t + b)
upstream: {h_t: dh_t}
wrt: [W, U, b, h_0]
"""
    network = parse_network_text(text, source="rnn_backward.yaml")
    assert network.loss.text.endswith("= sum(dh_1 .* h_1) + sum(dh_2 .* h_2) + sum(dh_3 .* h_3)")
    (part,) = solve(network).parts
    assert part.verification is not None and part.verification.ok


def test_indices_other_than_the_step_are_left_for_the_indices_section() -> None:
    text = _file(step="h_t = tanh(W h_{t-1} + z_{i+1})")
    reader = YamlReader(text, "seq.yaml")
    entries = reader.mapping(reader.compose(), "a network file", "a mapping")
    forward = sequences.unrolled(reader, entries)["forward"][1]
    assert isinstance(forward, yaml.SequenceNode)
    assert [item.value for item in forward.value] == [
        f"h_{t} = tanh(W h_{t - 1} + z_{{i+1}})" for t in (1, 2, 3)
    ]
