"""tr, inv, det, logdet, diag and the 1- and 2-norms (issue 10 item 3): each solves with Giles'
adjoint, passes the numeric check, prints the textbook answer and reads back; misuse is a
shape error that says what the function takes."""

from __future__ import annotations

import importlib

import pytest

from derive.errors import DeriveError
from derive.load import parse_network_text
from derive.printing import tex
from derive.roundtrip import check_printed

solve = importlib.import_module("derive.solve").solve  # derive.solve is also a function


def answer(loss: str, wrt: str = "A", forward: str = "[]") -> str:
    text = (
        "title: matrix functions\n"
        "given: {A: matrix n n, B: matrix n n, x: vector n, W: matrix n k}\n"
        f"forward: {forward}\nloss: 'L = {loss}'\nwrt: [{wrt}]\n"
    )
    (part,) = solve(parse_network_text(text)).parts
    assert part.verification is not None and part.verification.ok
    assert check_printed(part) > 0
    return tex(part.answers[wrt].value)


@pytest.mark.parametrize(
    ("loss", "expected"),
    [
        ("logdet(A)", r"(A^{\top})^{-1}"),  # ∂ log det A / ∂A = A⁻ᵀ
        ("det(A)", r"\det(A) (A^{\top})^{-1}"),  # Jacobi's formula
        ("tr(A B)", r"B^{\top}"),
        ("tr(inv(A))", r"- (A^{\top})^{-2}"),  # −A⁻ᵀ A⁻ᵀ
        ("sum(diag(A))", "I"),
    ],
)
def test_giles_adjoints(loss: str, expected: str) -> None:
    assert answer(loss) == expected


def test_a_symmetric_inverse_squared_has_an_adjoint() -> None:
    """inv(M)ᵀ inv(M) of a symmetric M folds to M⁻²: A^{-p} is differentiated as (A⁻¹)^p."""
    m = "W W^T + diag(1 + x .* x)"
    assert answer(f"tr(inv({m})^T inv({m}))", "x")


def test_diag_of_a_vector_and_the_norms() -> None:
    assert answer("sum(diag(x) B)", "x") == r"B \mathbf{1}"  # the row sums
    assert answer("norm1(x)", "x") == r"\operatorname{sign}(x)"
    assert answer("norm(x, 1)", "x") == r"\operatorname{sign}(x)"
    assert answer("norm2(x)", "x") == r"\frac{1}{\sqrt{x^{\top} x}} x"


@pytest.mark.parametrize(
    ("loss", "message"),
    [
        ("tr(W)", "tr takes a square matrix, not n×k"),
        ("det(x^T x)", "det takes a square matrix, not a scalar"),
        ("sum(inv(W))", "inv takes a square matrix, not n×k"),
        ("sum(diag(W))", "diag takes a square matrix, not n×k"),
        ("norm(x, 3)", r"norm\(x, p\) takes p = 1 or 2, not 3"),
        ("logdet(A, 1)", r"logdet takes 1 argument, not 2: logdet\(x\)"),
    ],
)
def test_misuse_says_what_the_function_takes(loss: str, message: str) -> None:
    with pytest.raises(DeriveError, match=message):
        answer(loss)
