"""Kind "update" with a method: momentum, Nesterov, RMSprop and Adam, every state written out."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
import sympy.stats

import derive.examples
from derive.errors import InputFileError, Location, VerificationError
from derive.evaluate import Evaluator
from derive.model import Answer, Part, Solution, Tex
from derive.problem_set import load_problem_set
from derive.problems import ProblemSpec, optimizers, solver
from derive.problems.dropout import solve as solve_dropout
from derive.problems.optimizer_check import check
from derive.problems.optimizers import METHODS, Method, Solved
from derive.problems.update import FIELDS, solve
from derive.render import render_latex
from tests.conftest import write_sigmoid_update_set

HERE = Location("set.yaml", 30, 3)
k = sp.Symbol("k", integer=True, positive=True)
A, b, C = sp.MatrixSymbol("A", k, 1), sp.MatrixSymbol("b", k, 1), sp.MatrixSymbol("C", 1, k)
x, d, y_pred, y_true = sp.symbols("x d y_pred y_true")
alpha, mu, rho, beta1, beta2, epsilon = sp.symbols(
    "alpha mu rho beta1 beta2 epsilon", positive=True
)
t = sp.Symbol("t", integer=True, nonnegative=True)
SIZE = 4


def _spec(fields: dict[str, object], previous: dict[str, Part]) -> ProblemSpec:
    return ProblemSpec("mt-1f", "Update", "Write the update rule for b.", fields, HERE, previous)


def _update(midterm: Part, method: str, parameter: str = "b", **fields: object) -> Part:
    fields = {"gradient_of": "mt-1be", "parameter": parameter, "method": method, **fields}
    return solver("update")(_spec(fields, {"mt-1be": midterm}))


def _point(seed: int) -> dict[sp.Basic, object]:
    """Random values of the midterm's quantities and every hyperparameter and state."""
    rng = np.random.default_rng(seed)
    values: dict[sp.Basic, object] = {
        A: rng.normal(size=(SIZE, 1)),
        b: rng.normal(size=(SIZE, 1)),
        C: rng.normal(size=(1, SIZE)),
        x: 0.7,
        d: -0.2,
        y_true: 0.4,
        alpha: 0.05,
        mu: 0.9,
        rho: 0.95,
        beta1: 0.8,
        beta2: 0.97,
        epsilon: 1e-3,
        t: 3,
    }
    values[y_pred] = (values[C] @ np.sin(values[A] * 0.7 + values[b])).item() - 0.2
    for name in ("v", "s", "m"):
        values[sp.MatrixSymbol(name, k, 1)] = np.abs(rng.normal(size=(SIZE, 1)))
    return values


def _by_hand_gradient(values: dict[sp.Basic, object]) -> np.ndarray:
    """∂L/∂b of the midterm with σ = sin (as derive evaluates an arbitrary σ), by hand."""
    residual = values[y_pred] - 0.4
    return 2 * residual * values[C].T * np.cos(values[A] * 0.7 + values[b])


def _by_hand(method: str, values: dict[sp.Basic, object]) -> dict[str, np.ndarray]:
    """One step of each optimiser in numpy, as the papers' pseudocode reads."""
    g, theta = _by_hand_gradient(values), values[b]
    state = {name: values[sp.MatrixSymbol(name, k, 1)] for name in ("v", "s", "m")}
    if method in ("momentum", "nesterov"):
        v = 0.9 * state["v"] - 0.05 * g
        step = v if method == "momentum" else -0.9 * state["v"] + 1.9 * v  # CS231n's Nesterov
        return {"v": v, "b": theta + step}
    if method == "rmsprop":
        s = 0.95 * state["s"] + 0.05 * g**2
        return {"s": s, "b": theta - 0.05 * g / (np.sqrt(s) + 1e-3)}
    m = 0.8 * state["m"] + 0.2 * g
    v = 0.97 * state["v"] + 0.03 * g**2
    m_hat, v_hat = m / (1 - 0.8**4), v / (1 - 0.97**4)  # 3 steps before this one: t + 1 = 4
    return {"m": m, "v": v, "b": theta - 0.05 * m_hat / (np.sqrt(v_hat) + 1e-3)}


@pytest.mark.parametrize("method", ["momentum", "nesterov", "rmsprop", "adam"])
def test_every_answer_matches_one_step_written_by_hand(midterm: Part, method: str) -> None:
    part = _update(midterm, method)
    values = _point(1)
    expected = _by_hand(method, values)
    assert list(part.answers) == list(expected)
    for name, answer in part.answers.items():
        assert answer.shape == ("k", 1)
        got = Evaluator(values, {k: SIZE})(answer.value)
        np.testing.assert_allclose(got, expected[name], rtol=1e-12, err_msg=name)


@pytest.mark.parametrize("method", ["momentum", "nesterov", "rmsprop", "adam"])
def test_a_scalar_parameter(midterm: Part, method: str) -> None:
    part = _update(midterm, method, parameter="d")
    g = 2 * (y_pred - y_true)
    answer = part.answers["d"].value
    values = {d: 0.3, y_pred: 1.1, y_true: 0.4, alpha: 0.1, mu: 0.5, rho: 0.9, t: 0}
    values.update({beta1: 0.9, beta2: 0.99, epsilon: 0.01})
    values.update({sp.Symbol(name): 0.25 for name in ("v", "s", "m")})
    g_value, state = 1.4, 0.25
    expected = {
        "momentum": 0.3 + (0.5 * state - 0.1 * g_value),
        "nesterov": 0.3 + 0.5 * (0.5 * state - 0.1 * g_value) - 0.1 * g_value,
        "rmsprop": 0.3 - 0.1 * g_value / (np.sqrt(0.9 * state + 0.1 * g_value**2) + 0.01),
        # t = 0: the first step, whose bias corrections are 1 − β = the averages' weights
        "adam": 0.3
        - 0.1
        * ((0.9 * state + 0.1 * g_value) / 0.1)
        / (np.sqrt((0.99 * state + 0.01 * g_value**2) / 0.01) + 0.01),
    }[method]
    assert float(Evaluator(values, {})(answer)) == pytest.approx(expected, rel=1e-12)
    assert float(Evaluator(values, {})(g)) == pytest.approx(g_value)
    assert part.answers["d"].index_form is None


def test_adam_writes_out_each_state_and_the_bias_corrections(midterm: Part) -> None:
    rules, substituted = _update(midterm, "adam").steps
    assert rules.title == "Adam's update (Kingma & Ba 2015, Algorithm 1)"
    assert [str(line.lhs) for line in rules.lines] == [
        "g^{(t)}",
        "m^{(t+1)}",
        "v^{(t+1)}",
        r"\hat{m}^{(t+1)}",
        r"\hat{v}^{(t+1)}",
        "b^{(t+1)}",
    ]
    assert [str(line.rhs) for line in rules.lines] == [
        r"\frac{\partial L}{\partial b}",
        r"\beta_{1} m^{(t)} + (1 - \beta_{1}) g^{(t)}",
        r"\beta_{2} v^{(t)} + (1 - \beta_{2}) (g^{(t)})^{\circ 2}",
        r"\frac{1}{1 - \beta_{1}^{t + 1}} m^{(t+1)}",
        r"\frac{1}{1 - \beta_{2}^{t + 1}} v^{(t+1)}",
        r"b^{(t)} - \alpha \left(\hat{m}^{(t+1)} \oslash \left((\hat{v}^{(t+1)})"
        r"^{\circ \frac{1}{2}} + \epsilon \mathbf{1}\right)\right)",
    ]
    assert rules.rule_math == Tex(
        r"\mathbb{E}\left[m^{(t+1)}\right] = \left(1 - \beta_{1}^{t + 1}\right) "
        r"\mathbb{E}\left[g\right]"
    )
    assert substituted.title == "Substitute the gradient found in problem mt-1be"
    assert substituted.rule == (
        "Problem mt-1be's answer for b is g; each later line has the earlier ones written out."
    )
    assert [str(line.lhs) for line in substituted.lines][-1] == "b_{i}^{(t+1)}"


def test_the_bias_corrections_are_each_checked_against_numpy(midterm: Part) -> None:
    _, substituted = _update(midterm, "adam").steps
    values = _point(2)
    g = _by_hand_gradient(values)
    m = 0.8 * values[sp.MatrixSymbol("m", k, 1)] + 0.2 * g
    v = 0.97 * values[sp.MatrixSymbol("v", k, 1)] + 0.03 * g**2
    lines = {str(line.lhs): line.rhs for line in substituted.lines}
    got_m = Evaluator(values, {k: SIZE})(lines[r"\hat{m}^{(t+1)}"])
    got_v = Evaluator(values, {k: SIZE})(lines[r"\hat{v}^{(t+1)}"])
    np.testing.assert_allclose(got_m, m / (1 - 0.8**4), rtol=1e-12)
    np.testing.assert_allclose(got_v, v / (1 - 0.97**4), rtol=1e-12)


@pytest.mark.parametrize(
    ("method", "rules"),
    [
        ("momentum", [r"\mu v^{(t)} - \alpha g^{(t)}", r"b^{(t)} + v^{(t+1)}"]),
        (
            "nesterov",
            [r"\mu v^{(t)} - \alpha g^{(t)}", r"b^{(t)} + \mu v^{(t+1)} - \alpha g^{(t)}"],
        ),
        (
            "rmsprop",
            [
                r"\rho s^{(t)} + (1 - \rho) (g^{(t)})^{\circ 2}",
                r"b^{(t)} - \alpha \left(g^{(t)} \oslash \left((s^{(t+1)})"
                r"^{\circ \frac{1}{2}} + \epsilon \mathbf{1}\right)\right)",
            ],
        ),
    ],
    ids=["momentum", "nesterov", "rmsprop"],
)
def test_the_rules_as_the_textbooks_write_them(
    midterm: Part, method: str, rules: list[str]
) -> None:
    step = _update(midterm, method).steps[0]
    assert [str(line.rhs) for line in step.lines[1:]] == rules


def test_scalar_rules_keep_the_textbook_order(midterm: Part) -> None:
    step = _update(midterm, "rmsprop", parameter="d").steps[0]
    assert [str(line.rhs) for line in step.lines[1:]] == [
        r"\rho s^{(t)} + (1 - \rho) (g^{(t)})^{2}",
        r"d^{(t)} - \frac{\alpha g^{(t)}}{\epsilon + \sqrt{s^{(t+1)}}}",
    ]


@pytest.mark.parametrize("method", ["momentum", "nesterov", "rmsprop", "adam"])
def test_the_entry_by_entry_form_is_the_same_update(midterm: Part, method: str) -> None:
    answer = _update(midterm, method).answers["b"]
    assert answer.index_form is not None
    assert answer.index_form.lhs == Tex(r"b_{i}^{(t+1)}")
    values = _point(3)
    whole = Evaluator(values, {k: SIZE})(answer.value)
    i = sp.Symbol("i", integer=True)
    for entry in range(SIZE):
        one = answer.index_form.rhs.xreplace({i: entry})
        assert float(Evaluator(values, {k: SIZE})(one)) == pytest.approx(whole[entry, 0])


def test_the_names_of_the_fields_are_used(midterm: Part) -> None:
    part = _update(
        midterm,
        "adam",
        learning_rate="eta",
        beta1="rho1",
        beta2="rho2",
        epsilon="delta",
        step="n",
        first_moment="s",
        second_moment="r",
    )
    assert list(part.answers) == ["s", "r", "b"]
    assert part.answers["s"].label == Tex("s^{(n+1)}")
    names = {str(symbol) for symbol in part.answers["b"].value.free_symbols}
    assert {"eta", "rho1", "rho2", "delta", "n", "s", "r"} <= names
    assert not {"alpha", "beta1", "beta2", "epsilon", "t", "m", "v"} & names
    assert part.steps[0].lines[-1].rhs.startswith(r"b^{(n)} - \eta")


@pytest.mark.parametrize("method", ["momentum", "nesterov", "rmsprop", "adam"])
def test_the_check_uses_central_differences_of_the_loss(midterm: Part, method: str) -> None:
    verification = _update(midterm, method).verification
    assert verification is not None and verification.ok and verification.points == 3
    assert verification.max_rel_error < 1e-7
    shown = METHODS[method].shown  # type: ignore[union-attr]
    assert verification.method == (
        f"a numpy implementation of {shown} on every line, "
        "the gradient by central differences of the loss, float64"
    )


@pytest.mark.parametrize(
    ("method", "key", "label"),
    [
        ("momentum", "velocity", "v^{(t+1)}"),
        ("nesterov", "parameter", "b^{(t+1)}"),
        ("rmsprop", "square_average", "s^{(t+1)}"),
        ("adam", "second_moment_hat", r"\hat{v}^{(t+1)}"),
    ],
)
def test_a_wrong_line_fails_the_check(
    midterm: Part, method: str, key: str, label: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check compares each line with numpy: one line off by 10⁻⁴ α is caught."""
    off = sp.MatMul(alpha / 10**4, sp.OneMatrix(k, 1))

    def tampered(spec: ProblemSpec, row: Method, solved: list[Solved], *args, **kw):  # type: ignore[no-untyped-def]
        wrong = [
            Solved(s.update, s.template, s.value + off) if s.update.key == key else s
            for s in solved
        ]
        return check(spec, row, wrong, *args, **kw)

    monkeypatch.setattr(optimizers, "check", tampered)
    message = f"problem 'mt-1f': the line for {label} does not agree with a numpy implementation"
    with pytest.raises(VerificationError, match=re.escape(message)):
        _update(midterm, method)


def test_a_gradient_that_cannot_be_evaluated_checks_the_updates_over_g() -> None:
    """A gradient holding a random variable has no number: the updates over g are checked."""
    z = sp.Symbol("z")
    weight = sp.stats.Bernoulli("B", sp.Rational(1, 2)) * z
    source = Part("rv", "A random gradient", answers={"z": Answer("z", Tex("g"), weight)})
    fields = {"gradient_of": "rv", "parameter": "z", "method": "adam"}
    part = solve(_spec(fields, {"rv": source}))
    assert part.verification is not None and part.verification.ok
    assert part.verification.method == (
        "a numpy implementation of Adam on every line, at random gradients, float64"
    )
    assert list(part.answers) == ["m", "v", "z"]


def test_a_gradient_of_another_kind_is_evaluated_from_its_answer() -> None:
    """Dropout's setup w' = B w is no loss: its answer is evaluated, not differenced."""
    dropout = solve_dropout(ProblemSpec("hw-2", "Dropout", "", {}))
    fields = {"gradient_of": "hw-2", "parameter": "expectation", "method": "nesterov"}
    part = solver("update")(_spec(fields, {"hw-2": dropout}))
    assert part.verification is not None and part.verification.ok
    assert "the gradient evaluated from its answer" in part.verification.method


def test_a_gradient_from_an_identity_is_evaluated_from_its_answer(tmp_path: Path) -> None:
    path = write_sigmoid_update_set(tmp_path, "method: momentum", "momentum: mu")
    part = load_problem_set(path, points=1).parts[1]
    assert part.verification is not None
    assert "the gradient evaluated from its answer" in part.verification.method


# --- fields ------------------------------------------------------------------------------------


def test_the_kind_lists_every_field() -> None:
    assert list(FIELDS) == [
        "gradient_of",
        "parameter",
        "learning_rate",
        "method",
        "momentum",
        "decay",
        "beta1",
        "beta2",
        "epsilon",
        "step",
        "velocity",
        "square_average",
        "first_moment",
        "second_moment",
    ]


def test_sgd_by_name_is_the_plain_update(midterm: Part) -> None:
    plain = solve(_spec({"gradient_of": "mt-1be", "parameter": "b"}, {"mt-1be": midterm}))
    named = _update(midterm, "sgd")
    assert named.answers["b"].value == plain.answers["b"].value
    assert named.verification == plain.verification


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"method": "adagrad"},
            "'method' must be one of sgd, momentum, nesterov, rmsprop, adam, not 'adagrad'",
        ),
        ({"method": 3}, "'method' must be one of sgd, momentum, nesterov, rmsprop, adam, not 3"),
        ({"momentum": "mu"}, "'momentum' is a field of methods momentum, nesterov, not of sgd"),
        (
            {"method": "momentum", "beta1": "b1"},
            "'beta1' is a field of method adam, not of momentum",
        ),
        (
            {"method": "adam", "epsilon": "eps", "decay": "rho"},
            "'decay' is a field of method rmsprop, not of adam",
        ),
        ({"method": "rmsprop", "step": "k"}, "'step' is a field of method adam, not of rmsprop"),
        ({"method": "adam", "beta1": 0.9}, "'beta1' must be a name such as beta1, not 0.9"),
        ({"method": "momentum", "velocity": "2v"}, "'velocity' must be a name such as v, not '2v'"),
        (
            {"method": "adam", "beta2": "beta1"},
            "'beta2' names beta1, as 'beta1' does; each name must differ",
        ),
        (
            {"method": "adam", "first_moment": "m", "second_moment": "m"},
            "'second_moment' names m, as 'first_moment' does; each name must differ",
        ),
        (
            {"method": "adam", "step": "x"},
            "'step' names x, which problem 'mt-1be' already uses; choose another name with 'step'",
        ),
        (
            {"method": "momentum", "velocity": "k"},
            "'velocity' names k, which problem 'mt-1be' already uses; "
            "choose another name with 'velocity'",
        ),
        (
            {"method": "rmsprop", "epsilon": "alpha"},
            "'epsilon' names alpha, which problem 'mt-1be' already uses; "
            "choose another name with 'epsilon'",
        ),
        (
            {"method": "rmsprop", "square_average": "b"},
            "'square_average' names b, which problem 'mt-1be' already uses; "
            "choose another name with 'square_average'",
        ),
    ],
    ids=[
        "unknown-method",
        "method-type",
        "momentum-for-sgd",
        "adam-field-for-momentum",
        "rmsprop-field-for-adam",
        "step-for-rmsprop",
        "number-for-a-name",
        "bad-name",
        "same-name-twice",
        "same-state-twice",
        "step-is-a-quantity",
        "state-is-a-dimension",
        "hyperparameter-is-the-rate",
        "state-is-the-parameter",
    ],
)
def test_bad_fields(midterm: Part, fields: dict[str, object], message: str) -> None:
    spec = _spec({"gradient_of": "mt-1be", "parameter": "b", **fields}, {"mt-1be": midterm})
    with pytest.raises(InputFileError, match=re.escape(f"problem 'mt-1f': {message}")) as caught:
        solver("update")(spec)
    assert caught.value.location == HERE


def test_a_field_of_another_method_is_refused_at_its_line(tmp_path: Path) -> None:
    # method at line 13, beta2 at line 14
    path = write_sigmoid_update_set(tmp_path, "method: rmsprop", "beta2: beta2")
    with pytest.raises(InputFileError) as raised:
        load_problem_set(path, points=1)
    message = str(raised.value)
    assert "line 14" in message
    assert "'beta2' is a field of method adam, not of rmsprop" in message


def test_the_hw_target_t_needs_another_step_name(tmp_path: Path) -> None:
    """Homework 1's target is t: Adam's step count must then have another name."""
    path = tmp_path / "set.yaml"
    network = Path(derive.examples.__file__).parent / "two_layer.yaml"
    (tmp_path / "two_layer.yaml").write_text(network.read_text(encoding="utf-8"), encoding="utf-8")
    path.write_text(
        "title: t\n"
        "problems:\n"
        "  - id: hw\n"
        "    kind: network\n"
        "    network: two_layer.yaml\n"
        "  - id: u\n"
        "    kind: update\n"
        "    gradient_of: hw\n"
        "    parameter: b1\n"
        "    method: adam\n",
        encoding="utf-8",
    )
    with pytest.raises(InputFileError, match="'step' names t, which problem 'hw' already uses"):
        load_problem_set(path, points=1)
    path.write_text(path.read_text(encoding="utf-8") + "    step: tau\n", encoding="utf-8")
    part = load_problem_set(path, points=1).parts[-1]
    assert part.verification is not None and part.verification.ok
    assert part.answers["b1"].label == Tex(r"b_{1}^{(\tau+1)}")


# --- the document ------------------------------------------------------------------------------


def test_renders_to_latex(midterm: Part) -> None:
    part = _update(midterm, "adam")
    latex = render_latex(Solution("Key", [midterm, part]))
    assert r"\hat{m}^{(t+1)}" in latex
    assert r"\beta_{1} m^{(t)} + (1 - \beta_{1}) g^{(t)}" in latex
    assert r"b_{i}^{(t+1)}" in latex


def test_the_shipped_example_solves_and_checks() -> None:
    solution = load_problem_set(derive.examples.example_path("adam-update"), points=1)
    gradient, adam = solution.parts
    assert list(adam.answers) == ["m", "v", "w"]
    assert adam.verification is not None and adam.verification.ok
    assert "central differences of the loss" in adam.verification.method
    assert gradient.answers["w"].label == Tex(r"\frac{\partial L}{\partial w}")
    first = derive.examples.example_path("adam-update").read_text(encoding="utf-8")
    assert first.startswith("# Adam's update")
