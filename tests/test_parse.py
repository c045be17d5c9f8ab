"""The equation grammar: how text is read (precedence, juxtaposition) and how errors point."""

from __future__ import annotations

import logging
from pathlib import Path

import lark
import pytest
import sympy as sp

from derive.errors import ExpressionSyntaxError, Location
from derive.parse import (
    Binary,
    Name,
    Number,
    TextSpan,
    fully_parenthesized,
    parse_equation,
    parse_expression,
    start_offset,
)

# (text, how it reads with every operation in parentheses)
READINGS = [
    ("W1 x + b1", "((W1 * x) + b1)"),
    ("W2 h + b2", "((W2 * h) + b2)"),
    ("t - y", "(t - y)"),
    ("t -y", "(t - y)"),
    ("t − y", "(t - y)"),
    ("t - -y", "(t - (-y))"),
    ("a * -b", "(a * (-b))"),
    ("-a b", "((-a) * b)"),
    ("-x^2", "(-(x ^ 2))"),
    ("(t - y)^2 / 2", "(((t - y) ^ 2) / 2)"),
    ("-(t log(y) + (1 - t) log(1 - y))", "(-((t * log(y)) + ((1 - t) * log((1 - y)))))"),
    ("x^T A x", "((x^T * A) * x)"),
    ("(t - y)^T (t - y)", "((t - y)^T * (t - y))"),
    ("xᵀ y", "(x^T * y)"),
    ("x ^ T", "x^T"),
    ("x^T^T", "x^T^T"),
    ("x^Tb", "(x ^ Tb)"),
    ("x^2^3", "(x ^ (2 ^ 3))"),
    ("x^-1 y", "((x ^ (-1)) * y)"),
    ("x**2", "(x ^ 2)"),
    ("a / b c", "((a / b) * c)"),
    ("a b / c", "((a * b) / c)"),
    ("2x", "(2 * x)"),
    ("2 x y", "((2 * x) * y)"),
    ("0.5 x", "(1/2 * x)"),
    ("x .* y ⊙ z", "((x .* y) .* z)"),
    ("a + b .* c", "(a + (b .* c))"),
    ("2.*x", "(2 .* x)"),
    ("sigmoid(W1 x + b1)", "sigmoid(((W1 * x) + b1))"),
    ("sigmoid (s)", "sigmoid(s)"),
    ("W2 sigmoid(s)", "(W2 * sigmoid(s))"),
    ("W (x + b)", "W((x + b))"),
    ("y_pred - t_1", "(y_pred - t_1)"),
]


@pytest.mark.parametrize(("text", "reading"), READINGS, ids=[text for text, _ in READINGS])
def test_expression_reads_with_the_documented_precedence(text: str, reading: str) -> None:
    assert fully_parenthesized(parse_expression(text)) == reading


NUMBERS = [
    ("2", sp.Integer(2)),
    ("0.5", sp.Rational(1, 2)),
    (".25", sp.Rational(1, 4)),
    ("1e-3", sp.Rational(1, 1000)),
    ("2.5E2", sp.Integer(250)),
]


@pytest.mark.parametrize(("text", "value"), NUMBERS, ids=[text for text, _ in NUMBERS])
def test_numbers_are_exact_rationals(text: str, value: sp.Rational) -> None:
    node = parse_expression(text)
    assert isinstance(node, Number)
    assert node.value == value
    assert isinstance(node.value, sp.Rational)


def test_equation_keeps_target_text_and_offsets() -> None:
    parsed = parse_equation("  z = W2 h + b2")
    assert parsed.target == "z"
    assert parsed.target_offset == 2
    assert parsed.text == "z = W2 h + b2"
    assert isinstance(parsed.rhs, Binary)
    assert parsed.rhs.op == "+"
    assert parsed.rhs.offset == 11  # the '+'
    product = parsed.rhs.left
    assert isinstance(product, Binary)
    assert product.offset == 9  # a juxtaposition points at its right operand, 'h'
    assert start_offset(product) == 6
    assert product.left == Name("W2", 6)


SYNTAX_ERRORS = [
    (
        "s = W1 x +",
        "in 's = W1 x +': unexpected end of the equation; expected a name, a number or '('",
        11,
    ),
    ("s = W1 x + )", "in 's = W1 x + )': unexpected ')'; expected a name, a number or '('", 12),
    ("s = (x", "in 's = (x': unexpected end of the equation; expected an operator or ')'", 7),
    ("s = x y)", "unexpected ')'; expected an operator or the end of the equation", 8),
    ("s = x $ y", "in 's = x $ y': unexpected character '$'", 7),
    ("s = σ(x)", "unexpected character 'σ' (names are written in the letters A-Z", 5),
    ("s = x = y", "unexpected '='; expected an operator", 7),
    ("s = x +* y", "unexpected '*'; expected a name, a number or '('", 8),
    ("sigmoid(s)", "unexpected '('; expected '=' (an equation reads 'name = expression')", 8),
    ("x + y", "unexpected '+'; expected '=' (an equation reads 'name = expression')", 3),
    ("3 = x", "unexpected '3'; expected a name (an equation reads 'name = expression')", 1),
    ("a = x^2^T", "unexpected '^T'", 8),
    ("", "empty equation", 1),
    ("   ", "empty equation", 1),
]


@pytest.mark.parametrize(
    ("text", "message", "column"), SYNTAX_ERRORS, ids=[repr(text) for text, _, _ in SYNTAX_ERRORS]
)
def test_syntax_error_names_the_offending_column(text: str, message: str, column: int) -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_equation(text)
    assert message in caught.value.message
    assert caught.value.location == Location("<string>", None, column)


def test_expression_may_not_contain_an_equals_sign() -> None:
    with pytest.raises(ExpressionSyntaxError, match="in 'x = y': unexpected '='"):
        parse_expression("x = y")
    with pytest.raises(ExpressionSyntaxError, match="empty expression"):
        parse_expression("")


def test_syntax_error_inside_a_file_adds_the_offset_to_the_column() -> None:
    span = TextSpan("net.yaml", 4, 5)
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_equation("s = W1 x + )", span=span)
    assert str(caught.value).startswith("net.yaml, line 4, column 16: in 's = W1 x + )'")


SPANS = [
    (TextSpan("f.yaml", 3, 5), 4, Location("f.yaml", 3, 9)),
    (TextSpan("f.yaml", 3, 5, exact=False), 4, Location("f.yaml", 3, 5)),
    (TextSpan("<string>"), 4, Location("<string>", None, 5)),
]


@pytest.mark.parametrize(
    ("span", "offset", "location"), SPANS, ids=["exact", "folded", "python string"]
)
def test_text_span_turns_offsets_into_locations(
    span: TextSpan, offset: int, location: Location
) -> None:
    assert span.location(offset) == location


def test_grammar_has_no_conflicts(caplog: pytest.LogCaptureFixture) -> None:
    # lark resolves a shift/reduce conflict silently (by shifting); this test makes it loud.
    grammar = (Path(__file__).parents[1] / "derive" / "grammar.lark").read_text(encoding="utf-8")
    with caplog.at_level(logging.DEBUG, logger="lark"):
        lark.Lark(grammar, start=["equation", "expression"], parser="lalr", debug=True)
    assert not [r for r in caplog.records if "conflict" in r.getMessage().lower()]
