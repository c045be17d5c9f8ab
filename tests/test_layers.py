"""Layers: a layer call expanded into its named steps, every error's message and place, and
the examples solved, checked and compared with the course's closed-form backward passes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from derive import limits
from derive.engine import backward
from derive.errors import (
    DeriveError,
    LimitError,
    Location,
    RedefinitionError,
    ShapeError,
    UnsupportedError,
)
from derive.evaluate import Evaluator
from derive.examples import EXAMPLES, example_path
from derive.load import load_network, parse_network_text
from derive.names import latex_name
from derive.solve import solve
from derive.verify import concrete_dims, draw_point, forward

GIVEN = """\
given:
  x: matrix N D
  v: vector D
  gamma: row D
  beta: row D
  g: vector D
  c: vector D
  eps: scalar
  W: matrix D D
  m: matrix N D
  p: scalar
  dout: matrix N D
"""


def _network(*equations: str, extra_given: str = "", tail: str = "") -> str:
    """A network file: the givens above, ``equations`` in forward, a loss summing the last."""
    forward_lines = "".join(f"  - {equation}\n" for equation in equations)
    last = equations[-1].split("=", 1)[0].strip()
    return (
        f"{GIVEN}{extra_given}forward:\n{forward_lines}loss: L = sum({last})\n"
        f"wrt: [x, gamma, beta]\n{tail}"
    )


def _texts(*equations: str, extra_given: str = "") -> list[str]:
    network = parse_network_text(_network(*equations, extra_given=extra_given), "n.yaml")
    return [equation.text for equation in network.equations[:-1]]


LAYERNORM = [
    "mu_x = mean(x, 1)",
    "x_c = x - mu_x",
    "var_x = mean(x_c .^ 2, 1)",
    "sigma_x = sqrt(var_x + 1e-5)",
    "x_hat = x_c ./ sigma_x",
    "out = gamma .* x_hat + beta",
]

EXPANSIONS = [
    ("layernorm", ["out = layernorm(x, gamma, beta)"], LAYERNORM),
    (
        "batchnorm-over-the-batch",
        ["out = batchnorm(x, gamma, beta)"],
        [text.replace(", 1)", ", 0)") for text in LAYERNORM],
    ),
    (
        "named-eps",
        ["out = layernorm(x, gamma, beta, eps)"],
        [text.replace("1e-5", "eps") for text in LAYERNORM],
    ),
    (
        "number-eps",
        ["out = layernorm(x, gamma, beta, 0.001)"],
        [text.replace("1e-5", "0.001") for text in LAYERNORM],
    ),
    (
        "no-affine",
        ["out = layernorm(x)"],
        [*LAYERNORM[:4], "out = x_c ./ sigma_x"],
    ),
    (
        "one-example-vector",
        ["y = layernorm(v, g, c)"],
        [
            "mu_v = mean(v)",
            "v_c = v - mu_v",
            "var_v = mean(v_c .^ 2)",
            "sigma_v = sqrt(var_v + 1e-5)",
            "v_hat = v_c ./ sigma_v",
            "y = g .* v_hat + c",
        ],
    ),
    (
        "expression-input-named-first",
        ["out = layernorm(x W + m, gamma, 2 beta)"],
        [
            "x_out = x W + m",
            "mu_x_out = mean(x_out, 1)",
            "x_out_c = x_out - mu_x_out",
            "var_x_out = mean(x_out_c .^ 2, 1)",
            "sigma_x_out = sqrt(var_x_out + 1e-5)",
            "x_out_hat = x_out_c ./ sigma_x_out",
            "out = gamma .* x_out_hat + (2 beta)",
        ],
    ),
    (
        "second-layer-of-the-same-input",
        ["a = layernorm(x)", "out = batchnorm(x, gamma, beta)"],
        [
            *LAYERNORM[:4],
            "a = x_c ./ sigma_x",
            "mu_x_out = mean(x, 0)",
            "x_out_c = x - mu_x_out",
            "var_x_out = mean(x_out_c .^ 2, 0)",
            "sigma_x_out = sqrt(var_x_out + 1e-5)",
            "x_out_hat = x_out_c ./ sigma_x_out",
            "out = gamma .* x_out_hat + beta",
        ],
    ),
    (
        "steps-usable-later",
        ["out = layernorm(x, gamma, beta)", "z = x_hat W"],
        [*LAYERNORM, "z = x_hat W"],
    ),
    ("dropout", ["h = dropout(x, m, p)"], ["h = x .* m / (1 - p)"]),
    ("dropout-scaled-mask", ["h = dropout(x W, m)"], ["h = (x W) .* m"]),
    ("dropout-number", ["h = dropout(x, m, 0.5)"], ["h = x .* m / (1 - 0.5)"]),
]


@pytest.mark.parametrize(
    ("equations", "expected"),
    [case[1:] for case in EXPANSIONS],
    ids=[case[0] for case in EXPANSIONS],
)
def test_layer_call_expands_into_named_steps(equations: list[str], expected: list[str]) -> None:
    assert _texts(*equations) == expected


def test_steps_print_as_the_course_names_them() -> None:
    network = parse_network_text(_network("out = layernorm(x, gamma, beta)"), "n.yaml")
    steps = [equation.target.name for equation in network.equations[:-2]]
    assert [latex_name(name) for name in steps] == [
        r"\mu_{x}",
        "x_{c}",
        r"\mathit{var}_{x}",
        r"\sigma_{x}",
        r"\hat{x}",
    ]


def test_steps_keep_the_layer_equations_line() -> None:
    network = parse_network_text(_network("y = x W", "out = layernorm(x, gamma, beta)"), "n.yaml")
    # given: 11 lines from line 2, forward: at 13, y at 14 and the layer at 15
    lines = {eq.target.name: eq.location for eq in network.equations[:-1]}
    steps = ("mu_x", "x_c", "var_x", "sigma_x", "x_hat", "out")
    assert lines == {
        "y": Location("n.yaml", 14, 5),
        **dict.fromkeys(steps, Location("n.yaml", 15, 5)),
    }


ERRORS = [
    (
        "nested-in-an-expression",
        _network("z = W layernorm(v, g, c) + c"),
        UnsupportedError,
        "in 'z = W layernorm(v, g, c) + c': write the layer on its own line, "
        "e.g. 'h = layernorm(…)', and use h here",
        (14, 11),
    ),
    (
        "nested-in-a-layer",
        _network("out = layernorm(dropout(x, m, p), gamma, beta)"),
        UnsupportedError,
        "write the layer on its own line, e.g. 'h = dropout(…)'",
        (14, 21),
    ),
    (
        "argument-count",
        _network("out = layernorm(x, gamma)"),
        UnsupportedError,
        "in 'out = layernorm(x, gamma)': layernorm takes 1, 3 or 4 arguments, not 2: "
        "layernorm(x, gamma, beta, eps)",
        (14, 11),
    ),
    (
        "dropout-argument-count",
        _network("h = dropout(x)"),
        UnsupportedError,
        "dropout takes 2 or 3 arguments, not 1: dropout(h, mask, p)",
        (14, 9),
    ),
    (
        "gamma-shape",
        _network("out = layernorm(x, W, beta)"),
        ShapeError,
        "in 'out = layernorm(x, W, beta)': layernorm's gamma 'W' is D×D; it has one entry per "
        "feature of 'x' (N×D): a row 1×D or a D-vector",
        (14, 24),
    ),
    (
        "beta-of-a-vector",
        _network("y = layernorm(v, g, beta)"),
        ShapeError,
        "layernorm's beta 'beta' is 1×D; it has one entry per feature of 'v' (D×1): a D-vector",
        (14, 25),
    ),
    (
        "batchnorm-of-a-vector",
        _network("y = batchnorm(v, g, c)"),
        ShapeError,
        "in 'y = batchnorm(v, g, c)': batchnorm normalises a matrix N×D (an example per row); "
        "'v' is D×1",
        (14, 19),
    ),
    (
        "layernorm-of-a-scalar",
        _network("y = layernorm(p)"),
        ShapeError,
        "layernorm normalises a vector or a matrix; 'p' is 1×1 (scalar)",
        (14, 19),
    ),
    (
        "eps-shape",
        _network("out = layernorm(x, gamma, beta, v)"),
        ShapeError,
        "layernorm's eps must be a scalar, not D×1",
        (14, 37),
    ),
    (
        "mask-shape",
        _network("h = dropout(x, v, p)"),
        ShapeError,
        "in 'h = dropout(x, v, p)': dropout's mask 'v' is D×1; it has the shape of 'x', N×D",
        (14, 20),
    ),
    (
        "p-shape",
        _network("h = dropout(x, m, v)"),
        ShapeError,
        "dropout's p must be a scalar, not D×1",
        (14, 23),
    ),
    (
        "unknown-argument",
        _network("out = layernorm(q, gamma, beta)"),
        DeriveError,
        "in 'out = layernorm(q, gamma, beta)': unknown symbol 'q'",
        (14, 21),
    ),
    (
        "every-step-name-taken",
        _network(
            "out = layernorm(x, gamma, beta)",
            extra_given="  mu_x: scalar\n  sigma_x_out: scalar\n",
        ),
        RedefinitionError,
        "in 'out = layernorm(x, gamma, beta)': layernorm names its steps mu_x, x_c, var_x, "
        "sigma_x, x_hat (or mu_x_out, x_out_c, var_x_out, sigma_x_out, x_out_hat), but "
        "'sigma_x_out' is already used: rename it",
        (16, 5),
    ),
    (
        "target-already-given",
        _network("m = layernorm(x, gamma, beta)"),
        RedefinitionError,
        "in 'm = layernorm(x, gamma, beta)': 'm' is already a given",
        (14, 5),
    ),
    (
        "layer-name-as-a-quantity",
        _network("layernorm = W x"),
        RedefinitionError,
        "'layernorm' is already a built-in function",
        (14, 5),
    ),
    (
        "in-a-variant",
        _network("out = x W", tail="variants:\n  normed: out = layernorm(x, gamma, beta)\n"),
        UnsupportedError,
        "variant 'normed': layernorm is a layer of several steps; write it in 'forward'",
        (18, 17),
    ),
]


@pytest.mark.parametrize(
    ("text", "error", "message", "where"),
    [case[1:] for case in ERRORS],
    ids=[case[0] for case in ERRORS],
)
def test_layer_error_names_the_equation_and_its_place(
    text: str, error: type[DeriveError], message: str, where: tuple[int, int]
) -> None:
    with pytest.raises(error) as caught:
        parse_network_text(text, source="n.yaml")
    assert message in caught.value.message
    assert caught.value.location == Location("n.yaml", *where)


def test_steps_count_towards_the_equations_limit() -> None:
    text = _network("out = layernorm(x, gamma, beta)", "z = out W")
    with limits.using(limits.current().raised(equations=6)), pytest.raises(LimitError) as caught:
        parse_network_text(text, source="n.yaml")
    assert caught.value.message.startswith("too many equations: 8 (limit 6")
    assert caught.value.location == Location("n.yaml", 14, 5)


def test_variant_may_replace_a_step() -> None:
    text = _network(
        "out = layernorm(x, gamma, beta)", tail="variants:\n  no-shift: out = gamma .* x_hat\n"
    )
    network = parse_network_text(text, source="n.yaml")
    assert network.variants["no-shift"].text == "out = gamma .* x_hat"


# -- the examples, against the course's closed-form backward passes ---------------------------


def _example_gradients(name: str, seed: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The example's givens at a random point and derive's gradient with respect to each wrt."""
    network = load_network(example_path(name))
    dims = concrete_dims(network)
    point = draw_point(network, dims, np.random.default_rng(seed))
    givens = {q.name: np.asarray(point[q.symbol], dtype=float) for q in network.givens.values()}
    evaluator = Evaluator(forward(network, point, dims), dims)
    result = backward(network)
    gradients = {
        wrt: np.asarray(evaluator(result.adjoints[wrt].resolved), dtype=float).reshape(
            givens[wrt].shape
        )
        for wrt in network.wrt
    }
    return givens, gradients


def _normalisation_backward(
    x: np.ndarray, gamma: np.ndarray, dout: np.ndarray, axis: int
) -> dict[str, np.ndarray]:
    """CS231n's batchnorm_backward_alt along ``axis``: with x̂ = (x − μ)/σ over n entries,
    dx = (n dx̂ − Σ dx̂ − x̂ Σ dx̂ ⊙ x̂) / (n σ), dγ = Σ_rows dout ⊙ x̂, dβ = Σ_rows dout."""
    n = x.shape[axis]
    mu = x.mean(axis=axis, keepdims=True)
    sigma = np.sqrt(((x - mu) ** 2).mean(axis=axis, keepdims=True) + 1e-5)
    xhat = (x - mu) / sigma
    dxhat = dout * gamma
    dx = (
        n * dxhat
        - dxhat.sum(axis=axis, keepdims=True)
        - xhat * (dxhat * xhat).sum(axis=axis, keepdims=True)
    ) / (n * sigma)
    return {
        "x": dx,
        "gamma": (dout * xhat).sum(axis=0, keepdims=True),
        "beta": dout.sum(axis=0, keepdims=True),
    }


@pytest.mark.parametrize(("name", "axis"), [("cs231n-layernorm", 1), ("cs231n-batchnorm", 0)])
@pytest.mark.parametrize("seed", [0, 5])
def test_normalisation_examples_match_the_closed_form(name: str, axis: int, seed: int) -> None:
    givens, gradients = _example_gradients(name, seed)
    expected = _normalisation_backward(givens["x"], givens["gamma"], givens["dout"], axis)
    for wrt, gradient in gradients.items():
        assert np.abs(expected[wrt]).max() > 1e-3, wrt
        assert np.allclose(gradient, expected[wrt], rtol=1e-9, atol=1e-12), wrt


def test_dropout_example_matches_the_masked_backward_pass() -> None:
    givens, gradients = _example_gradients("dropout-hidden", 2)
    x, w1, b1, m, p = (givens[k] for k in ("x", "W1", "b1", "m", "p"))
    w2, dout = givens["W2"], givens["dout"]
    a = x @ w1 + b1
    h_drop = np.maximum(a, 0) * m / (1 - p)
    da = (dout @ w2.T) * m / (1 - p) * (a > 0)  # CS231n's dropout_backward: dout ⊙ mask
    expected = {
        "W1": x.T @ da,
        "b1": da.sum(axis=0, keepdims=True),
        "W2": h_drop.T @ dout,
        "b2": dout.sum(axis=0, keepdims=True),
    }
    for wrt, gradient in gradients.items():
        assert np.allclose(gradient, expected[wrt], rtol=1e-9, atol=1e-12), wrt


@pytest.mark.parametrize("name", ["cs231n-layernorm", "cs231n-batchnorm", "dropout-hidden"])
def test_examples_solve_and_check(name: str) -> None:
    (part,) = solve(load_network(example_path(name))).parts
    assert part.verification is not None and part.verification.ok
    assert EXAMPLES[name].description


def test_cli_shows_every_step_of_the_layer(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "ln.md"
    result = runner.invoke(main, ["solve", "--example", "cs231n-layernorm", "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    for shown in (
        r"\mu_{x} &= \operatorname{mean}\left(x, 1\right)",
        r"\hat{x} &= x_{c} \oslash \sigma_{x}",
        r"\delta_{\hat{x}} = \frac{\partial L}{\partial \hat{x}}",
        r"\delta_{\mathit{var}_{x}} = \frac{\partial L}{\partial \mathit{var}_{x}}",
        r"\delta_{\mu_{x}} = \frac{\partial L}{\partial \mu_{x}}",
    ):
        assert shown in text
