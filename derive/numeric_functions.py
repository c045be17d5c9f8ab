"""The numeric functions of the checks: every function derive knows, evaluated with numpy.

One table, ``NUMERIC_FUNCTIONS``: each function's evaluation (real, extended precision or
complex, as the complex-step check needs) and where it has kinks, so a random point can be kept
away from them. Generic functions f (a problem's "arbitrary nonlinearity") are instantiated as
sin with derivative cos.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np
import sympy as sp

from derive.errors import UnsupportedError
from derive.functions import (
    absolute,
    elu,
    generic_role,
    relu,
    sigmoid,
    signum,
    silu,
    softplus,
    softsign,
)
from derive.functions_piecewise import (
    clip,
    entry_max,
    entry_min,
    gelu,
    gelu_tanh,
    hardtanh,
    huber,
    is_equal,
    leaky_relu,
    maximum,
    minimum,
    normal_cdf,
    normal_pdf,
)

Value = Any  # float or numpy array


def expit(x: Value) -> Value:
    """σ(x), computed stably as (1 + tanh(x/2)) / 2 (real, extended or complex)."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _real(x: Value) -> Value:
    return np.real(x)


def _softplus(x: Value) -> Value:
    # log(1 + e^x) without overflow, analytic in x (the complex-step check perturbs x by i h)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(_real(x) > 0, x + np.log1p(np.exp(-x)), np.log1p(np.exp(x)))


def _absolute(x: Value) -> Value:
    # |x| continued analytically from the real axis: x or −x by the sign of the real part
    return np.where(_real(x) >= 0, x, -x)


def _elu(x: Value) -> Value:
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(_real(x) > 0, x, np.expm1(x))


def _complex_erf_entry(z: complex) -> complex:
    """erf(z) with its imaginary part exact even when it is 10⁻³⁰ of the real part (the
    complex step): mpmath works with enough digits for both parts."""
    z = complex(z)
    digits = 20
    if z.imag:
        digits += max(0, math.ceil(math.log10(abs(z) / abs(z.imag))))
    with mpmath.workdps(digits):
        return complex(mpmath.erf(mpmath.mpc(z.real, z.imag)))


_complex_erf = np.frompyfunc(_complex_erf_entry, 1, 1)
_real_erf = np.frompyfunc(lambda x: math.erf(float(x)), 1, 1)


def _erf(x: Value) -> Value:
    """erf entrywise, for complex arguments too (mpmath; numpy has no erf)."""
    array = np.asarray(x)
    if np.iscomplexobj(array):
        return np.asarray(_complex_erf(array), dtype=complex)[()]
    return np.asarray(_real_erf(array), dtype=np.result_type(array, 1.0))[()]


def _normal_cdf(x: Value) -> Value:
    # Φ(x) = (1 + erf(x / √2)) / 2
    return 0.5 * (1.0 + _erf(x / math.sqrt(2.0)))


def _normal_pdf(x: Value) -> Value:
    # φ(x) = e^{−x²/2} / √(2π)
    return np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def _gelu_tanh(x: Value) -> Value:
    # ½ x (1 + tanh(√(2/π) (x + 0.044715 x³)))
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def _clip(x: Value, low: Value, high: Value) -> Value:
    # continued analytically from the real axis piece by piece, as |x| is
    real = _real(x)
    return np.where(real < _real(low), 0 * x + low, np.where(real > _real(high), 0 * x + high, x))


def _huber(x: Value, delta: Value) -> Value:
    # x²/2 for |x| ≤ δ, else δ (|x| − δ/2)
    size = _absolute(x)
    return np.where(_real(size) <= _real(delta), 0.5 * x * x, delta * (size - 0.5 * delta))


def _pick(first: Value, second: Value, larger: bool) -> Value:
    # max (min) of two values by their real parts, the chosen one whole (its imaginary part too)
    chosen = _real(first) > _real(second) if larger else _real(first) < _real(second)
    return np.where(chosen, first, second)


def _extreme_entry(x: Value, larger: bool) -> Value:
    array = np.asarray(x)
    real = _real(array)
    index = np.argmax(real) if larger else np.argmin(real)
    return array.reshape(-1)[index]


def _top_two_gap(x: Value) -> Value:
    """How far the largest entry is from the next one (a tie is max's kink)."""
    real = np.sort(np.asarray(_real(x), dtype=float).reshape(-1))
    return real[-1] - real[-2] if real.size > 1 else np.inf


def _bottom_two_gap(x: Value) -> Value:
    real = np.sort(np.asarray(_real(x), dtype=float).reshape(-1))
    return real[1] - real[0] if real.size > 1 else np.inf


@dataclass(frozen=True)
class NumericFunction:
    """How the checks evaluate one sympy function, and where it is not smooth.

    ``evaluate`` works on real, extended-precision and complex arrays alike (analytic in its
    argument away from ``kink``), so the complex-step derivative of the forward pass is exact.
    ``kink`` is where the function (or its derivative) jumps or blows up: points are drawn
    away from it. A function of several arguments gives ``kinks`` instead: the distances of
    its arguments from its kinks (x − a and x − b for clip(x, a, b)).
    """

    name: str
    evaluate: Callable[..., Value]
    kink: float | None = None
    kinks: Callable[..., tuple[Value, ...]] | None = None


NUMERIC_FUNCTIONS: dict[object, NumericFunction] = {
    function: entry
    for function, entry in (
        (sigmoid, NumericFunction("sigmoid", expit)),
        (relu, NumericFunction("relu", lambda x: np.where(_real(x) > 0, x, 0 * x), kink=0.0)),
        (softplus, NumericFunction("softplus", _softplus)),
        (sp.tanh, NumericFunction("tanh", np.tanh)),
        (sp.exp, NumericFunction("exp", np.exp)),
        (sp.log, NumericFunction("log", np.log, kink=0.0)),
        (absolute, NumericFunction("abs", _absolute, kink=0.0)),
        (elu, NumericFunction("elu", _elu, kink=0.0)),
        (silu, NumericFunction("silu", lambda x: x * expit(x))),
        (softsign, NumericFunction("softsign", lambda x: x / (1 + _absolute(x)), kink=0.0)),
        (signum, NumericFunction("sign", lambda x: np.sign(_real(x)), kink=0.0)),
        (
            sp.Heaviside,
            NumericFunction("indicator", lambda x, h0=0.5: np.heaviside(_real(x), h0), kink=0.0),
        ),
        (sp.sin, NumericFunction("sin", np.sin)),
        (sp.cos, NumericFunction("cos", np.cos)),
        (
            leaky_relu,
            NumericFunction(
                "leaky_relu", lambda x, alpha: np.where(_real(x) > 0, x, alpha * x), kink=0.0
            ),
        ),
        (normal_cdf, NumericFunction("Phi", _normal_cdf)),
        (normal_pdf, NumericFunction("phi", _normal_pdf)),
        (gelu, NumericFunction("gelu", lambda x: x * _normal_cdf(x))),
        (gelu_tanh, NumericFunction("gelu_tanh", _gelu_tanh)),
        (
            hardtanh,
            NumericFunction(
                "hardtanh", lambda x: _clip(x, -1.0, 1.0), kinks=lambda x: (x - 1, x + 1)
            ),
        ),
        (clip, NumericFunction("clip", _clip, kinks=lambda x, a, b: (x - a, x - b))),
        (huber, NumericFunction("huber", _huber, kinks=lambda x, d: (x - d, x + d))),
        (
            maximum,
            NumericFunction("max", lambda a, b: _pick(a, b, True), kinks=lambda a, b: (a - b,)),
        ),
        (
            minimum,
            NumericFunction("min", lambda a, b: _pick(a, b, False), kinks=lambda a, b: (a - b,)),
        ),
        (
            entry_max,
            NumericFunction(
                "max", lambda x: _extreme_entry(x, True), kinks=lambda x: (_top_two_gap(x),)
            ),
        ),
        (
            entry_min,
            NumericFunction(
                "min", lambda x: _extreme_entry(x, False), kinks=lambda x: (_bottom_two_gap(x),)
            ),
        ),
        (
            is_equal,
            NumericFunction("indicator", lambda a, b: np.where(_real(a) == _real(b), 1.0, 0.0)),
        ),
    )
}


def numeric_function(func: object) -> NumericFunction:
    """The table entry for ``func``; a declared generic f is checked as sin (f' as cos).

    A function with no entry is an error: the check never stands in one function for another.
    """
    found = NUMERIC_FUNCTIONS.get(func)
    if found is not None:
        return found
    role = generic_role(func)
    if role == "function":
        return NUMERIC_FUNCTIONS[sp.sin]
    if role == "derivative":
        return NUMERIC_FUNCTIONS[sp.cos]
    name = getattr(func, "__name__", str(func))
    known = ", ".join(sorted(f.name for f in NUMERIC_FUNCTIONS.values()))
    raise UnsupportedError(f"cannot evaluate the function {name} numerically (known: {known})")
