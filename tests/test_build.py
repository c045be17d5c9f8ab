"""Building sympy from equations: shapes, the conventions the engine relies on, every error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import sympy as sp

from derive.build import InputLocations, build_network
from derive.errors import (
    CycleError,
    DeriveError,
    ExpressionSyntaxError,
    InputFileError,
    Location,
    RedefinitionError,
    ShapeError,
    UnknownFunctionError,
    UnknownSymbolError,
    UnsupportedError,
)
from derive.functions import (
    VECTOR_FUNCTIONS,
    VectorFunction,
    absolute,
    elementwise,
    generic_function,
    sigmoid,
)
from derive.model import Network
from derive.parse import TextSpan
from derive.shapes import SCALAR, Scope, build_expression, format_shape, quantity

n, k = (sp.Symbol(name, integer=True, positive=True) for name in "nk")
x, b1, y, u = (
    sp.MatrixSymbol(name, rows, 1) for name, rows in [("x", n), ("b1", k), ("y", k), ("u", k)]
)
W1, W2, A = sp.MatrixSymbol("W1", k, n), sp.MatrixSymbol("W2", 1, k), sp.MatrixSymbol("A", n, n)
t, c, b2 = sp.symbols("t c b2")
f = generic_function("f")

SHAPES = {
    "x": (n, 1),
    "b1": (k, 1),
    "y": (k, 1),
    "u": (k, 1),
    "W1": (k, n),
    "W2": (1, k),
    "A": (n, n),
    "t": SCALAR,
    "c": SCALAR,
    "b2": SCALAR,
}
_ENTRY = sp.Symbol("entry")


def canonical(expr: sp.Basic) -> sp.Basic:
    """``expr`` with every Lambda's variable renamed to one symbol, so that two elementwise
    applications compare equal (sympy gives each ``ElementwiseApplyFunction`` a new Dummy)."""
    return expr.replace(
        lambda e: isinstance(e, sp.Lambda),
        lambda e: sp.Lambda(_ENTRY, e.expr.xreplace({e.variables[0]: _ENTRY})),
    )


SCOPE = Scope(
    {name: quantity(name, shape) for name, shape in SHAPES.items()},
    functions={"f": f},
    dimensions=frozenset({"n", "k"}),
)

# (text, expected sympy expression, expected shape)
EXPRESSIONS: list[tuple[str, Any, tuple[Any, Any]]] = [
    ("W1 x + b1", W1 * x + b1, (k, 1)),
    ("W1*x + b1", W1 * x + b1, (k, 1)),
    ("W2 b1 + b2", sp.Trace(W2 * b1) + b2, SCALAR),
    ("x^T A x", sp.Trace(x.T * A * x), SCALAR),
    ("(y - u)^T (y - u)", sp.Trace((y - u).T * (y - u)), SCALAR),
    ("W1^T", W1.T, (n, k)),
    ("W1^T y", W1.T * y, (n, 1)),
    ("x^T", x.T, (1, n)),
    ("c^T", c, SCALAR),
    ("t - c", t - c, SCALAR),
    ("t -c", t - c, SCALAR),
    ("(t - c)^2 / 2", (t - c) ** 2 / 2, SCALAR),
    ("-(t log(c) + (1 - t) log(1 - c))", -(t * sp.log(c) + (1 - t) * sp.log(1 - c)), SCALAR),
    ("c^-1", 1 / c, SCALAR),
    ("2 x", 2 * x, (n, 1)),
    ("0.5 c", c / 2, SCALAR),
    ("c y", c * y, (k, 1)),
    ("y c", c * y, (k, 1)),
    ("y / c", (1 / c) * y, (k, 1)),
    ("y / 2", sp.Rational(1, 2) * y, (k, 1)),
    ("-y", -y, (k, 1)),
    ("1 - y", sp.OneMatrix(k, 1) - y, (k, 1)),
    ("y + 2", y + 2 * sp.OneMatrix(k, 1), (k, 1)),
    ("y + log(2)", y + sp.log(2) * sp.OneMatrix(k, 1), (k, 1)),
    ("y .* u", sp.HadamardProduct(y, u), (k, 1)),
    ("y ⊙ u", sp.HadamardProduct(y, u), (k, 1)),
    ("c .* y", c * y, (k, 1)),
    ("t .* c", t * c, SCALAR),
    ("sigmoid(c)", sigmoid(c), SCALAR),
    ("sigmoid(W1 x + b1)", elementwise(sigmoid, W1 * x + b1), (k, 1)),
    ("tanh(y)", elementwise(sp.tanh, y), (k, 1)),
    ("log(y)", elementwise(sp.log, y), (k, 1)),
    ("exp(c)", sp.exp(c), SCALAR),
    ("f(c)", f(c), SCALAR),
    ("f(y)", elementwise(f, y), (k, 1)),
    ("sum(y)", sp.Trace(sp.OneMatrix(1, k) * y), SCALAR),
    ("sum(x^T)", sp.Trace(x.T * sp.OneMatrix(n, 1)), SCALAR),
    ("sum(W1)", sp.Trace(sp.OneMatrix(1, k) * W1 * sp.OneMatrix(n, 1)), SCALAR),
    ("sum(c)", c, SCALAR),
    ("norm(x)", sp.sqrt(sp.Trace(x.T * x)), SCALAR),
    ("norm(c)", absolute(c), SCALAR),
    ("W1 (x + x)", W1 * (x + x), (k, 1)),
]


@pytest.mark.parametrize(
    ("text", "expr", "shape"), EXPRESSIONS, ids=[text for text, _, _ in EXPRESSIONS]
)
def test_expression_builds_to_sympy_with_its_shape(text: str, expr: Any, shape: Any) -> None:
    built = build_expression(text, SCOPE)
    assert built.shape == shape
    assert canonical(built.expr) == canonical(expr)


# The meaning of the sympy built, checked with numbers (x: 3, y and u: 2, W1: 2×3, A: 3×3).
NUMERIC: list[tuple[str, Callable[..., Any]]] = [
    ("x^T A x", lambda v: v["x"].T @ v["A"] @ v["x"]),
    ("(y - u)^T (y - u) / 2", lambda v: (v["y"] - v["u"]).T @ (v["y"] - v["u"]) / 2),
    ("1 - y", lambda v: 1 - v["y"]),
    ("W1^T y .* 3", lambda v: v["W1"].T @ v["y"] * 3),
    ("y .* u + 3", lambda v: v["y"] * v["u"] + 3),
    ("sum(W1)", lambda v: v["W1"].sum()),
    ("sum(y)", lambda v: v["y"].sum()),
    ("norm(x)", lambda v: np.linalg.norm(v["x"])),
    ("exp(y) / c", lambda v: np.exp(v["y"]) / v["c"]),
    ("c^2 x^T", lambda v: v["c"] ** 2 * v["x"].T),
]


@pytest.mark.parametrize(("text", "numpy"), NUMERIC, ids=[text for text, _ in NUMERIC])
def test_expression_means_what_numpy_computes(text: str, numpy: Callable[..., Any]) -> None:
    shapes = {"x": (3, 1), "y": (2, 1), "u": (2, 1), "W1": (2, 3), "A": (3, 3), "c": (1, 1)}
    rng = np.random.default_rng(0)
    values = {name: rng.uniform(0.5, 1.5, size=shape) for name, shape in shapes.items()}
    values["c"] = values["c"][0, 0]
    scope = Scope({name: quantity(name, tuple(map(sp.Integer, s))) for name, s in shapes.items()})
    numbers = {
        q.symbol: sp.ImmutableMatrix(values[name]) if not q.is_scalar else sp.Float(values[name])
        for name, q in scope.quantities.items()
    }
    explicit = (
        build_expression(text, scope)
        .expr.xreplace(numbers)
        .replace(lambda e: isinstance(e, sp.OneMatrix), lambda e: sp.ImmutableMatrix.ones(*e.shape))
    )
    result = explicit.doit()
    assert np.allclose(np.array(sp.N(result), dtype=float), numpy(values))


# (text, error class, message, column of the offending token)
EXPRESSION_ERRORS = [
    (
        "c^2 + c + y",
        ShapeError,
        "in 'c^2 + c + y': cannot add 1×1 (scalar) and k×1; a number or a named scalar is added",
        9,
    ),
    ("y - (c + 1)", ShapeError, "in 'y - (c + 1)': cannot subtract 1×1 (scalar) from k×1", 3),
    ("x + y", ShapeError, "cannot add n×1 and k×1", 3),
    ("W1 y", ShapeError, "cannot multiply k×n by k×1: n columns against k rows", 4),
    ("y * u", ShapeError, "cannot multiply k×1 by k×1: 1 columns against k rows (write ^T", 3),
    ("x / y", ShapeError, "cannot divide by k×1: a divisor must be a scalar", 3),
    ("y^2", ShapeError, "cannot raise k×1 to a power: ^ is for scalars (write x^T", 2),
    ("c^y", ShapeError, "an exponent must be a scalar, not k×1", 2),
    ("x .* y", ShapeError, "cannot multiply n×1 and k×1 entry by entry: the shapes differ", 3),
    ("c / 0", UnsupportedError, "in 'c / 0': division by zero", 3),
    ("q + c", UnknownSymbolError, "in 'q + c': unknown symbol 'q' (neither given nor", 1),
    ("2 b_1", UnknownSymbolError, "unknown symbol 'b_1' (did you mean 'b1'?)", 3),
    ("y + (n + 1)", ShapeError, "cannot add k×1 and 1×1 (scalar); a number or a named", 3),
    ("2 sigmoid", UnknownSymbolError, "'sigmoid' is a function: write sigmoid(...)", 3),
    ("e^c", UnknownSymbolError, "unknown symbol 'e' (for Euler's number write exp(x))", 1),
    (
        "c + softmin(y)",
        UnknownFunctionError,
        "in 'c + softmin(y)': unknown function 'softmin'; known: abs, clip, cos, det, diag, elu, "
        "exp, f, gelu, gelu_tanh, hardtanh, huber, inv, leaky_relu, log, logdet, max, mean, "
        "min, norm, norm1, norm2, relu, sigmoid, sign, silu, sin, softmax, softplus, softsign, "
        "sqrt, sum, swish, tanh, tr (declare others under 'functions')",
        5,
    ),
]


@pytest.mark.parametrize(
    ("text", "error", "message", "column"),
    EXPRESSION_ERRORS,
    ids=[text for text, *_ in EXPRESSION_ERRORS],
)
def test_expression_error_quotes_the_text_and_points_at_the_token(
    text: str, error: type[DeriveError], message: str, column: int
) -> None:
    with pytest.raises(error) as caught:
        build_expression(text, SCOPE, span=TextSpan("net.yaml", 7, 10))
    assert message in caught.value.message
    assert caught.value.location == Location("net.yaml", 7, 9 + column)


def test_format_shape() -> None:
    assert format_shape(SCALAR) == "1×1 (scalar)"
    assert format_shape((k, n)) == "k×n"
    assert format_shape((sp.Integer(3), sp.Integer(1))) == "3×1"


GIVEN = {"x": "vector n", "t": "scalar", "W1": "matrix k n", "b1": "vector k", "W2": "matrix 1 k"}
GIVEN |= {"b2": "scalar"}
FORWARD = ["s = W1 x + b1", "h = sigmoid(s)", "z = W2 h + b2", "y = sigmoid(z)"]
LOSS = "e = (t - y)^2 / 2"
WRT = ["W1", "b1", "W2", "b2"]


def two_layer(**changes: Any) -> Network:
    arguments: dict[str, Any] = {
        "title": "Two-layer",
        "given": GIVEN,
        "forward": FORWARD,
        "loss": LOSS,
        "wrt": WRT,
    }
    return build_network(**(arguments | changes))


def test_two_layer_network_follows_the_engine_conventions() -> None:
    network = two_layer(assumptions=["one example"])
    assert [eq.text for eq in network.equations] == [*FORWARD, LOSS]
    assert network.loss.target.name == "e"
    s, h = sp.MatrixSymbol("s", k, 1), sp.MatrixSymbol("h", k, 1)
    z, y_ = sp.Symbol("z"), sp.Symbol("y")
    assert [canonical(eq.rhs) for eq in network.equations] == [
        W1 * x + b1,
        canonical(elementwise(sigmoid, s)),
        sp.Trace(W2 * h) + b2,
        sigmoid(z),
        (t - y_) ** 2 / 2,
    ]
    assert [eq.target.symbol for eq in network.equations] == [s, h, z, y_, sp.Symbol("e")]
    assert network.givens["b2"].symbol == sp.Symbol("b2")  # a scalar has no assumptions
    assert network.givens["W1"].shape == (k, n)
    dimension = network.givens["x"].shape[0]
    assert dimension is network.givens["W1"].shape[1]  # one n per network
    assert dimension == sp.Symbol("n", integer=True, positive=True)  # equal only if so assumed
    assert dimension != sp.Symbol("n")
    assert network.wrt == WRT
    assert network.assumptions == ["one example"]
    assert network.source == "<string>"
    assert network.loss.location == Location("<string>")


GIVEN_SHAPES = [
    ("scalar", SCALAR, sp.Symbol("v")),
    ("vector 1", SCALAR, sp.Symbol("v")),
    ("matrix 1 1", SCALAR, sp.Symbol("v")),
    ("vector 3", (3, 1), sp.MatrixSymbol("v", 3, 1)),
    ("  matrix   2 n ", (2, n), sp.MatrixSymbol("v", 2, n)),
    ("matrix 1 k", (1, k), sp.MatrixSymbol("v", 1, k)),
]


@pytest.mark.parametrize(
    ("spec", "shape", "symbol"), GIVEN_SHAPES, ids=[s for s, *_ in GIVEN_SHAPES]
)
def test_given_spec_gives_shape_and_symbol(spec: str, shape: Any, symbol: sp.Basic) -> None:
    network = build_network(title="t", given={"v": spec}, forward=[], loss="e = sum(v)", wrt=["v"])
    assert network.givens["v"].shape == shape
    assert network.givens["v"].symbol == symbol


def test_scalar_network_builds_the_skip_variant() -> None:
    network = two_layer(
        given=dict.fromkeys(GIVEN, "scalar"), variants={"skip": "z = W2 h + b2 + s"}
    )
    assert network.all_scalar
    skip = network.variants["skip"]
    w2, h, s = sp.symbols("W2 h s")
    assert skip.rhs == w2 * h + b2 + s
    assert skip.target == network.equations[2].target
    assert network.with_variant("skip").equations[2] is skip


def test_vector_network_rejects_the_skip_variant_naming_both_shapes() -> None:
    with pytest.raises(ShapeError) as caught:
        two_layer(variants={"skip": "z = W2 h + b2 + s"})
    assert caught.value.message.startswith(
        "in 'z = W2 h + b2 + s': cannot add 1×1 (scalar) and k×1"
    )
    assert caught.value.location == Location("<string>", None, 15)


def test_variant_may_replace_the_loss() -> None:
    network = two_layer(variants={"log": "e = -log(y)"})
    assert network.variants["log"].rhs == -sp.log(sp.Symbol("y"))


# (changes to the two-layer network, error class, message)
NETWORK_ERRORS: list[tuple[str, dict[str, Any], type[DeriveError], str]] = [
    (
        "variant uses a later quantity",
        {"variants": {"v": "z = W2 h + y"}},
        CycleError,
        "in 'z = W2 h + y': 'y' is used before it is defined (by 'y = sigmoid(z)')",
    ),
    (
        "variant changes the shape",
        {"variants": {"v": "y = sigmoid(s)"}},
        ShapeError,
        "in 'y = sigmoid(s)': variant 'v' makes 'y' k×1, but 'y = sigmoid(z)' makes it "
        "1×1 (scalar)",
    ),
    (
        "variant replaces nothing",
        {"variants": {"v": "q = 2 b2"}},
        UnknownSymbolError,
        "variant 'v': no equation defines 'q' for it to replace",
    ),
    (
        "variant replaces a given",
        {"variants": {"v": "b2 = 2 t"}},
        RedefinitionError,
        "variant 'v': 'b2' is a given; a variant replaces the equation that defines its target",
    ),
    (
        "equation uses its own target",
        {"forward": ["s = W1 x + b1", "h = sigmoid(h)"]},
        CycleError,
        "in 'h = sigmoid(h)': 'h' depends on itself: it is used in its own definition",
    ),
    (
        "equation uses a later target",
        {"forward": ["s = W1 x + b1 + h", "h = sigmoid(s)"]},
        CycleError,
        "in 's = W1 x + b1 + h': 'h' is used before it is defined (by 'h = sigmoid(s)')",
    ),
    (
        "equation uses the loss",
        {"forward": ["s = W1 x + b1", "y = e"]},
        CycleError,
        "in 'y = e': 'e' is used before it is defined (by 'e = (t - y)^2 / 2')",
    ),
    (
        "unknown symbol",
        {"forward": ["s = W1 q + b1"]},
        UnknownSymbolError,
        "in 's = W1 q + b1': unknown symbol 'q'",
    ),
    (
        "target is a given",
        {"forward": ["x = 2 x"]},
        RedefinitionError,
        "in 'x = 2 x': 'x' is already a given",
    ),
    (
        "target is defined twice",
        {"forward": ["s = W1 x", "s = b1"]},
        RedefinitionError,
        "in 's = b1': 's' is already defined by 's = W1 x'",
    ),
    (
        "target is a function",
        {"forward": ["sigmoid = W1 x"]},
        RedefinitionError,
        "in 'sigmoid = W1 x': 'sigmoid' is already a built-in function",
    ),
    (
        "target is a dimension",
        {"forward": ["n = 2 t"]},
        RedefinitionError,
        "in 'n = 2 t': 'n' is already a dimension",
    ),
    (
        "target is reserved",
        {"forward": ["delta_s = W1 x"]},
        RedefinitionError,
        "in 'delta_s = W1 x': 'delta_s' is reserved: derive names the adjoint of x 'delta_x'",
    ),
    (
        "given is reserved",
        {"given": GIVEN | {"delta_x": "scalar"}},
        RedefinitionError,
        "given: 'delta_x' is reserved",
    ),
    (
        "given is not a name",
        {"given": GIVEN | {"2x": "scalar"}},
        InputFileError,
        "given: '2x' is not a name: a name is a letter followed by letters, digits or underscores",
    ),
    (
        "dimension is a given",
        {"given": {"n": "scalar"} | GIVEN},
        RedefinitionError,
        "given 'x: vector n': 'n' is already a given",
    ),
    (
        "given is a dimension",
        {"given": GIVEN | {"n": "scalar"}},
        RedefinitionError,
        "given: 'n' is already a dimension",
    ),
    (
        "loss is not a scalar",
        {"loss": "e = t - b1"},
        ShapeError,
        "the loss must be a scalar, not k×1",
    ),
    (
        "loss is a vector",
        {"loss": "e = b1 .* b1"},
        ShapeError,
        "in 'e = b1 .* b1': the loss must be a scalar, not k×1",
    ),
    ("wrt is empty", {"wrt": []}, InputFileError, "'wrt' is empty"),
    ("wrt twice", {"wrt": ["W1", "W1"]}, InputFileError, "wrt: 'W1' is listed twice"),
    (
        "wrt is computed",
        {"wrt": ["h"]},
        UnsupportedError,
        "wrt: 'h' is computed by 'h = sigmoid(s)', not given",
    ),
    (
        "wrt is unknown",
        {"wrt": ["W3"]},
        UnknownSymbolError,
        "wrt: unknown symbol 'W3' (the givens are x, t, W1, b1, W2, b2)",
    ),
    (
        "onehot is a scalar",
        {"onehot": ["t"]},
        ShapeError,
        "onehot: 't' is 1×1 (scalar); a one-hot target is a column vector or a matrix",
    ),
    ("onehot is a row", {"onehot": ["W2"]}, ShapeError, "onehot: 'W2' is 1×k;"),
    ("onehot is unknown", {"onehot": ["q"]}, UnknownSymbolError, "onehot: unknown symbol 'q'"),
    (
        "function is built in",
        {"functions": ["sigmoid"]},
        RedefinitionError,
        "functions: 'sigmoid' is already a built-in function",
    ),
    (
        "function is a given",
        {"functions": ["f"], "given": GIVEN | {"f": "scalar"}},
        RedefinitionError,
        "given: 'f' is already a declared function",
    ),
    (
        "undeclared function",
        {"forward": ["s = g(W1 x)"]},
        UnknownFunctionError,
        "unknown function 'g'",
    ),
    ("forward is one string", {"forward": "s = W1 x"}, InputFileError, "'forward' must be a list"),
    ("wrt is one string", {"wrt": "W1"}, InputFileError, "'wrt' must be a list of strings"),
    ("given is a list", {"given": ["x"]}, InputFileError, "'given' must map names to strings"),
    ("loss is a list", {"loss": [LOSS]}, InputFileError, "'loss' must be an equation string"),
    (
        "syntax",
        {"forward": ["s = W1 x +"]},
        ExpressionSyntaxError,
        "in 's = W1 x +': unexpected end",
    ),
    (
        "dimension is a function",
        {"given": GIVEN | {"v": "matrix k sum"}},
        RedefinitionError,
        "given 'v: matrix k sum': 'sum' is already a built-in function",
    ),
]


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [case[1:] for case in NETWORK_ERRORS],
    ids=[case[0] for case in NETWORK_ERRORS],
)
def test_build_network_error(
    changes: dict[str, Any], error: type[DeriveError], message: str
) -> None:
    with pytest.raises(error) as caught:
        two_layer(**changes)
    assert message in caught.value.message


GIVEN_SPEC_ERRORS = [
    (
        "tensor k",
        "given 'v: tensor k': a shape reads 'scalar', 'vector DIM', 'row DIM' or 'matrix DIM DIM'",
        1,
    ),
    ("", "given 'v: ': a shape reads 'scalar', 'vector DIM', 'row DIM' or 'matrix DIM DIM'", 1),
    ("vector", "given 'v: vector': 'vector' takes one dimension, e.g. 'vector n'", 7),
    (
        "matrix k",
        "given 'v: matrix k': 'matrix' takes two dimensions (rows, columns), e.g. 'matrix k n'",
        9,
    ),
    ("scalar 3", "given 'v: scalar 3': 'scalar' takes no dimensions", 8),
    ("vector k n", "given 'v: vector k n': 'vector' takes one dimension, e.g. 'vector n'", 10),
    ("vector 0", "given 'v: vector 0': a dimension must be positive", 8),
    (
        "vector -1",
        "given 'v: vector -1': '-1' is not a dimension: use a positive integer or a name",
        8,
    ),
]


@pytest.mark.parametrize(
    ("spec", "message", "column"),
    GIVEN_SPEC_ERRORS,
    ids=[s or "empty" for s, *_ in GIVEN_SPEC_ERRORS],
)
def test_bad_given_spec_points_at_the_word(spec: str, message: str, column: int) -> None:
    locations = InputLocations(given_specs={"v": TextSpan("net.yaml", 2, 6)})
    with pytest.raises(InputFileError) as caught:
        build_network(
            title="t", given={"v": spec}, forward=[], loss="e = 1", wrt=["v"], locations=locations
        )
    assert caught.value.message == message
    assert caught.value.location == Location("net.yaml", 2, 5 + column)


def test_declared_function_is_the_engines_generic_function() -> None:
    network = two_layer(functions=["f"], forward=["s = W1 x + b1", "h = f(s)", *FORWARD[2:]])
    s = sp.MatrixSymbol("s", k, 1)
    assert canonical(network.equations[1].rhs) == canonical(elementwise(generic_function("f"), s))


def test_onehot_vector_given() -> None:
    network = two_layer(
        given=GIVEN | {"t": "vector k"},
        forward=FORWARD[:2],
        loss="e = -(t^T log(h))",
        onehot=["t"],
    )
    assert network.onehot == frozenset({"t"})
    t_, h = sp.MatrixSymbol("t", k, 1), sp.MatrixSymbol("h", k, 1)
    assert canonical(network.loss.rhs) == canonical(-sp.Trace(t_.T * elementwise(sp.log, h)))


def test_locations_place_equation_errors_in_the_file() -> None:
    locations = InputLocations(
        forward=[TextSpan("net.yaml", 9, 5), TextSpan("net.yaml", 10, 5)],
        loss=TextSpan("net.yaml", 13, 7),
        wrt=[TextSpan("net.yaml", 14, 7)],
    )
    network = two_layer(forward=FORWARD[:2], loss="e = sum(h)", locations=locations, wrt=["W1"])
    assert [eq.location for eq in network.equations] == [
        Location("net.yaml", 9, 5),
        Location("net.yaml", 10, 5),
        Location("net.yaml", 13, 7),
    ]
    with pytest.raises(UnknownSymbolError) as caught:
        two_layer(forward=["s = W1 x + q"], locations=locations)
    assert str(caught.value) == (
        "net.yaml, line 9, column 16: in 's = W1 x + q': unknown symbol 'q' "
        "(neither given nor defined by an earlier equation)"
    )
    with pytest.raises(UnknownSymbolError) as caught:
        two_layer(wrt=["W3"], locations=locations)
    assert caught.value.location == Location("net.yaml", 14, 7)


def test_vector_function_shape_error_is_placed_in_the_equation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The contract for entries such as softmax: raise ShapeError, the builder adds where.
    def columns_only(argument: sp.Basic, shape: Any) -> tuple[sp.Basic, Any]:
        raise ShapeError(f"softmax takes a column vector, not {format_shape(shape)}")

    monkeypatch.setitem(VECTOR_FUNCTIONS, "softmax", VectorFunction("softmax", columns_only, ""))
    with pytest.raises(ShapeError) as caught:
        build_expression("2 softmax(W1)", SCOPE, span=TextSpan("net.yaml", 3, 5))
    assert str(caught.value) == (
        "net.yaml, line 3, column 7: in '2 softmax(W1)': softmax takes a column vector, not k×n"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("z (1 + z)^2", "z*(z + 1)**2"),
        ("z(1 + z)^2", "z*(z + 1)**2"),
        ("x (x + b)^T", "x*(b.T + x.T)"),
        ("(z(1 + z))^2", "z**2*(z + 1)**2"),
        ("sigmoid(z)^2", "sigmoid(z)**2"),
    ],
    ids=["space", "no-space", "transpose", "grouped", "function-power"],
)
def test_postfix_after_a_quantity_binds_to_the_parentheses(text: str, expected: str) -> None:
    n = sp.Symbol("n", integer=True, positive=True)
    one = sp.Integer(1)
    scope = Scope(
        {"z": quantity("z", (one, one)), "x": quantity("x", (n, one)), "b": quantity("b", (n, one))}
    )
    assert str(build_expression(text, scope).expr) == expected
