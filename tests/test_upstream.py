"""Upstream gradients instead of a loss (issue 10 item 6, CS231n's dout): `upstream: {out: dout}`
means ∂L/∂out = dout is given; the key is written in dout, and each misuse says what is wrong."""

from __future__ import annotations

import importlib

import pytest

from derive.errors import DeriveError
from derive.load import parse_network_text
from derive.printing import tex
from derive.roundtrip import check_printed

solve = importlib.import_module("derive.solve").solve  # derive.solve is also a function

GIVEN = "given: {x: matrix N D, w: matrix D M, b: row M, dout: matrix N M, g: vector M}\n"
FORWARD = "forward:\n  - a = x w + b\n  - out = relu(a)\n"


def network(tail: str) -> str:
    return f"title: affine relu\n{GIVEN}{FORWARD}{tail}"


def test_the_key_is_written_in_the_upstream_gradient() -> None:
    parsed = parse_network_text(network("upstream: {out: dout}\nwrt: [x, w, b]\n"))
    (part,) = solve(parsed).parts
    assert part.verification is not None and part.verification.ok
    assert check_printed(part) > 0
    answers = {name: tex(answer.value) for name, answer in part.answers.items()}
    assert answers["w"] == r"x^{\top} (\mathit{dout} \odot \mathbb{I}[a > 0])"
    assert answers["b"] == r"\mathbf{1}^{\top} (\mathit{dout} \odot \mathbb{I}[a > 0])"
    assert "The upstream gradient is given: ∂L/∂out = dout" in parsed.assumptions[0]


@pytest.mark.parametrize(
    ("tail", "message"),
    [
        (
            "loss: L = sum(out)\nupstream: {out: dout}\nwrt: [w]\n",
            "'loss' and 'upstream' together: give the loss or its upstream gradients",
        ),
        ("upstream: {x: dout}\nwrt: [w]\n", "upstream: 'x' is a given; the gradient is given"),
        ("upstream: {q: dout}\nwrt: [w]\n", "upstream: 'q' is not computed by 'forward'"),
        ("upstream: {out: dq}\nwrt: [w]\n", "upstream: the gradient 'dq' of 'out' must be a given"),
        (
            "upstream: {out: g}\nwrt: [w]\n",
            "upstream: 'g' is M×1, but the gradient of 'out' has its shape, N×M",
        ),
        ("wrt: [w]\n", "missing required key 'loss'"),
    ],
)
def test_misuse_says_what_is_wrong(tail: str, message: str) -> None:
    with pytest.raises(DeriveError) as raised:
        solve(parse_network_text(network(tail)))
    assert message in raised.value.message
