"""The YAML reader: the example files load, and every error names file, line and column."""

from __future__ import annotations

from pathlib import Path

import pytest
import sympy as sp

from derive.errors import (
    CycleError,
    DeriveError,
    ExpressionSyntaxError,
    InputFileError,
    Location,
    RedefinitionError,
    ShapeError,
    UnknownSymbolError,
)
from derive.load import load_network, parse_network_text

DATA = Path(__file__).parent / "data"
EXAMPLE = DATA / "two_layer.yaml"


def test_example_loads_with_four_forward_equations_and_the_loss() -> None:
    network = load_network(EXAMPLE)
    assert network.title == "Two-layer sigmoid network"
    assert len(network.equations) == 5
    assert [eq.text for eq in network.equations] == [
        "s = W1 x + b1",
        "h = sigmoid(s)",
        "z = W2 h + b2",
        "y = sigmoid(z)",
        "e = (t - y)^2 / 2",
    ]
    assert network.loss.target.name == "e"
    assert [eq.location for eq in network.equations] == [
        Location(str(EXAMPLE), 10, 5),
        Location(str(EXAMPLE), 11, 5),
        Location(str(EXAMPLE), 12, 5),
        Location(str(EXAMPLE), 13, 5),
        Location(str(EXAMPLE), 14, 7),
    ]
    assert list(network.givens) == ["x", "t", "W1", "b1", "W2", "b2"]
    assert network.wrt == ["W1", "b1", "W2", "b2"]
    assert network.assumptions == ["the loss is the squared error of one example"]
    assert network.source == str(EXAMPLE)
    assert network.variants["skip"].location == Location(str(EXAMPLE), 17, 9)


def test_title_defaults_to_the_file_stem_and_scalar_skip_variant_builds() -> None:
    network = load_network(DATA / "two_layer_scalar.yaml")
    assert network.title == "two_layer_scalar"
    assert network.all_scalar
    w2, h, b2, s = sp.symbols("W2 h b2 s")
    assert network.variants["skip"].rhs == w2 * h + b2 + s


def test_vector_skip_variant_is_a_shape_error_at_the_plus() -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace("b2 + W2 s", "b2 + s")
    with pytest.raises(ShapeError) as caught:
        parse_network_text(text, source="net.yaml")
    assert str(caught.value).startswith(
        "net.yaml, line 17, column 23: in 'z = W2 h + b2 + s': cannot add 1×1 (scalar) and k×1"
    )


HEADER = "given:\n  x: vector n\n  t: scalar\n  W: matrix k n\n"
TAIL = "loss: e = sum(h)\nwrt: [W]\n"


def network_text(forward: str) -> str:
    return f"{HEADER}forward:\n{forward}{TAIL}"


# (case, YAML text, error class, message, line, column)
FILE_ERRORS: list[tuple[str, str, type[DeriveError], str, int, int]] = [
    (
        "yaml syntax",
        "given:\n  x: scalar\n forward: [\n",
        InputFileError,
        "invalid YAML: expected <block end>, but found '<block mapping start>' "
        "(check the indentation)",
        3,
        2,
    ),
    (
        "yaml unclosed list",
        "wrt: [W1, b1\n",
        InputFileError,
        "invalid YAML: expected ',' or ']', but got '<stream end>'",
        2,
        1,
    ),
    (
        "empty file",
        "",
        InputFileError,
        "the file is empty; a network file is a mapping with given, forward, loss, wrt",
        1,
        1,
    ),
    (
        "top level is a list",
        "- x\n",
        InputFileError,
        "a network file must be a mapping with the keys given, forward, …, not a list",
        1,
        1,
    ),
    (
        "unknown key",
        f"{HEADER}forward: []\n{TAIL}outputs: [y]\n",
        InputFileError,
        "unknown key 'outputs' (a network file has given, forward, loss, wrt, title, variants, "
        "functions, onehot, assumptions, grading, sequence, upstream, indices)",
        8,
        1,
    ),
    (
        "randomized file",
        f"{HEADER}forward: []\n{TAIL}randomize:\n  a: [1, 2]\n",
        InputFileError,
        "the file draws values (randomize:); write its variants with `derive key FILE`",
        8,
        1,
    ),
    (
        "missing key",
        f"{HEADER}forward: []\nloss: e = t\n",
        InputFileError,
        "missing required key 'wrt'",
        1,
        1,
    ),
    (
        "empty given",
        "given:\nforward: []\nloss: e = 1\nwrt: [x]\n",
        InputFileError,
        "'given' must be a mapping from each name to its shape, e.g. 'x: vector n', not empty",
        1,
        7,
    ),
    (
        "forward is a string",
        f"{HEADER}forward: h = W x\n{TAIL}",
        InputFileError,
        "'forward' must be a list of equations, e.g. '- s = W1 x + b1', not the value 'h = W x'",
        5,
        10,
    ),
    (
        "forward item is a mapping",
        network_text("  - h: W x\n"),
        InputFileError,
        "each item of 'forward' must be an equation, not a mapping",
        6,
        5,
    ),
    (
        "wrt is a name",
        f"{HEADER}forward: []\nloss: e = t\nwrt: W\n",
        InputFileError,
        "'wrt' must be a list of names, e.g. [W1, b1], not the value 'W'",
        7,
        6,
    ),
    (
        "given spec is a list",
        "given:\n  x: [vector, n]\nforward: []\nloss: e = 1\nwrt: [x]\n",
        InputFileError,
        "'given: x' must be 'scalar', 'vector n' or 'matrix k n', not a list",
        2,
        6,
    ),
    (
        "duplicate given",
        "given:\n  x: scalar\n  x: vector n\nforward: []\nloss: e = x\nwrt: [x]\n",
        InputFileError,
        "duplicate key 'x' in given",
        3,
        3,
    ),
    (
        "bad given spec",
        "given:\n  x: matrix k -2\nforward: []\nloss: e = 1\nwrt: [x]\n",
        InputFileError,
        "given 'x: matrix k -2': '-2' is not a dimension: use a positive integer or a name",
        2,
        15,
    ),
    (
        "loss is a list",
        f"{HEADER}forward: []\nloss: [e = t]\nwrt: [W]\n",
        InputFileError,
        "'loss' must be one equation, e.g. 'e = (t - y)^2 / 2', not a list",
        6,
        7,
    ),
    (
        "syntax error in a plain equation",
        network_text("  - h = W x +\n"),
        ExpressionSyntaxError,
        "in 'h = W x +': unexpected end of the equation; expected a name, a number or '('",
        6,
        14,
    ),
    (
        "syntax error in a quoted equation",
        network_text('  - "h = W x + )"\n'),
        ExpressionSyntaxError,
        "in 'h = W x + )': unexpected ')'",
        6,
        16,
    ),
    (
        "syntax error in a single-quoted equation",
        network_text("  - 'h = W  x + )'\n"),
        ExpressionSyntaxError,
        "unexpected ')'",
        6,
        17,
    ),
    (
        "syntax error in a folded equation points at its start",
        network_text("  - >-\n    h = W x\n    + )\n"),
        ExpressionSyntaxError,
        "in 'h = W x + )': unexpected ')'",
        6,
        5,
    ),
    (
        "unknown symbol",
        network_text("  - h = W q\n"),
        UnknownSymbolError,
        "in 'h = W q': unknown symbol 'q'",
        6,
        11,
    ),
    (
        "cycle",
        network_text("  - h = W x + g\n  - g = 2 h\n"),
        CycleError,
        "in 'h = W x + g': 'g' is used before it is defined (by 'g = 2 h')",
        6,
        15,
    ),
    (
        "redefinition",
        network_text("  - t = 2 t\n"),
        RedefinitionError,
        "in 't = 2 t': 't' is already a given",
        6,
        5,
    ),
    (
        "shape in the loss",
        f"{HEADER}forward: []\nloss: e = W x\nwrt: [W]\n",
        ShapeError,
        "in 'e = W x': the loss must be a scalar, not k×1",
        6,
        7,
    ),
    (
        "unknown wrt item",
        f"{HEADER}forward: [h = W x]\nloss: e = sum(h)\nwrt: [W, V]\n",
        UnknownSymbolError,
        "wrt: unknown symbol 'V' (the givens are x, t, W)",
        7,
        10,
    ),
    (
        "onehot scalar",
        f"{HEADER}forward: [h = W x]\n{TAIL}onehot: [t]\n",
        ShapeError,
        "onehot: 't' is 1×1 (scalar); a one-hot target is a column vector or a matrix",
        8,
        10,
    ),
    (
        "variant of a given",
        f"{HEADER}forward: [h = W x]\n{TAIL}variants:\n  bad: x = 2 x\n",
        RedefinitionError,
        "variant 'bad': 'x' is a given",
        9,
        8,
    ),
]


@pytest.mark.parametrize(
    ("text", "error", "message", "line", "column"),
    [case[1:] for case in FILE_ERRORS],
    ids=[case[0] for case in FILE_ERRORS],
)
def test_file_error_names_line_and_column(
    text: str, error: type[DeriveError], message: str, line: int, column: int
) -> None:
    with pytest.raises(error) as caught:
        parse_network_text(text, source="net.yaml")
    assert message in caught.value.message
    assert caught.value.location == Location("net.yaml", line, column)
    assert str(caught.value).startswith(f"net.yaml, line {line}, column {column}: ")


def test_yaml_syntax_error_says_what_yaml_found() -> None:
    with pytest.raises(InputFileError) as caught:
        parse_network_text("given: {x: scalar\nforward: []\n", source="net.yaml")
    assert caught.value.message.startswith("invalid YAML: expected ',' or '}'")


def test_optional_keys_are_read() -> None:
    text = (
        "title: Generic\n"
        "given: {x: vector n, t: vector n, w: scalar}\n"
        "functions: [f]\n"
        "forward:\n  - h = f(w x)\n"
        "loss: e = -(t^T log(h))\n"
        "wrt: [w]\n"
        "onehot: [t]\n"
        "assumptions: [t is one-hot]\n"
        "variants: {plain: h = w x}\n"
    )
    network = parse_network_text(text)
    assert network.title == "Generic"
    assert network.onehot == frozenset({"t"})
    assert network.assumptions == ["t is one-hot"]
    assert network.variants["plain"].text == "h = w x"
    assert type(network.equations[0].rhs.function.expr).__name__ == "f"


def test_optional_keys_may_be_empty() -> None:
    text = network_text("  - h = W x\n") + "variants:\nfunctions:\n"
    assert parse_network_text(text, source="net.yaml").variants == {}


def test_title_of_a_string_source() -> None:
    assert parse_network_text(network_text("  - h = W x\n")).title == "Network"


def test_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(InputFileError) as caught:
        load_network(path)
    assert str(caught.value) == f"{path}: no such file: '{path}'"


def test_directory_is_not_a_network_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="is a directory, not a network file"):
        load_network(tmp_path)


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("given: {x: scalar}  # Größe\n".encode("latin-1"))
    with pytest.raises(InputFileError) as caught:
        load_network(path)
    assert caught.value.message == f"'{path}' is not UTF-8 text"
