# ruff: noqa: N802, N815 - sympy dispatches on _print_<ClassName> names (methods and aliases)
"""How derive prints what reads as one atom: names (W_{1}, δ_{s}), entries (x_{i}, W_{ij}),
calls (σ(z), relu(z), f'(z), 𝕀[z > 0], |z|, e^{z}, diag, tr, softmax), 𝟏, 𝟎, I, constants.

A mixin of ``DeriveLatexPrinter`` (``derive.printing``). Every call prints its argument with
``_call_argument``, so that inside an entrywise function the argument is set once, without
brackets of its own: σ(−s), not σ((−s)).
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.printing.latex import LatexPrinter

from derive.functions import elu, relu, sigmoid, silu, softplus, softsign
from derive.functions_piecewise import (
    clip,
    entry_max,
    entry_min,
    gelu,
    gelu_tanh,
    hardtanh,
    huber,
    leaky_relu,
    maximum,
    minimum,
    normal_cdf,
    normal_pdf,
)
from derive.names import ADJOINT_PREFIX, is_adjoint, latex_name

# How known functions are named; arguments follow in parentheses.
FUNCTION_TEX: dict[type, str] = {
    sigmoid: r"\sigma",
    relu: r"\operatorname{relu}",
    softplus: r"\operatorname{softplus}",
    elu: r"\operatorname{elu}",
    silu: r"\operatorname{silu}",
    softsign: r"\operatorname{softsign}",
    sp.tanh: r"\tanh",
    sp.log: r"\log",
    sp.sin: r"\sin",
    sp.cos: r"\cos",
    leaky_relu: r"\operatorname{leakyrelu}",
    gelu: r"\operatorname{gelu}",
    gelu_tanh: r"\operatorname{gelu}_{\tanh}",
    normal_cdf: r"\Phi",
    normal_pdf: r"\phi",
    hardtanh: r"\operatorname{hardtanh}",
    clip: r"\operatorname{clip}",
    huber: r"\operatorname{huber}",
    maximum: r"\max",
    minimum: r"\min",
    entry_max: r"\max",
    entry_min: r"\min",
}


class substituted_names:  # noqa: N801 - used like a function, as a context manager
    """Temporarily print some symbols as given LaTeX (a Lambda's variable as its argument).

    ``names`` is what a symbol prints as among other factors (bracketed if compound);
    ``bare`` is what it prints as where a call's own parentheses already hold it.
    """

    def __init__(
        self,
        printer: LatexPrinter,
        names: dict[sp.Basic, str],
        bare: dict[sp.Basic, str] | None = None,
    ) -> None:
        self.printer = printer
        self.names = names
        self.bare = bare if bare is not None else {}
        self.saved: tuple[dict[sp.Basic, str], dict[sp.Basic, str]] = ({}, {})

    def __enter__(self) -> None:
        settings = self.printer._settings
        self.saved = (settings["symbol_names"], settings.get("bare_names", {}))
        settings["symbol_names"] = self.names
        settings["bare_names"] = self.bare

    def __exit__(self, *exc: object) -> None:
        self.printer._settings["symbol_names"], self.printer._settings["bare_names"] = self.saved


class AtomPrinting(LatexPrinter):
    """The ``_print_<ClassName>`` methods of derive's printer for names, entries and calls."""

    # --- names -------------------------------------------------------------------------------

    def _print_Symbol(self, expr: sp.Symbol, style: str = "plain") -> str:
        name = self._settings["symbol_names"].get(expr)
        if name is not None:
            return str(name)
        return latex_name(expr.name)

    def _print_MatrixSymbol(self, expr: sp.MatrixSymbol) -> str:
        return latex_name(expr.name)

    def _print_MatrixElement(self, expr: sp.matrices.expressions.matexpr.MatrixElement) -> str:
        """x[i, 0] → x_{i}; W[i, j] → W_{ij}; W1[i, j] → (W_{1})_{ij}; delta_s[i, 0] → δ_{s,i}."""
        parent = expr.parent
        rows, cols = parent.shape
        if rows == 1 and cols == 1:
            return self._print(parent)
        indices = [expr.i] if cols == 1 else [expr.j] if rows == 1 else [expr.i, expr.j]
        printed = [self._print(index) for index in indices]
        joined = "".join(printed) if all(len(p) == 1 for p in printed) else ",".join(printed)
        if isinstance(parent, sp.MatrixSymbol):
            name = parent.name
            if is_adjoint(name):
                inner = latex_name(name[len(ADJOINT_PREFIX) :])
                return rf"\delta_{{{inner},{joined}}}"
            base = latex_name(name)
            if "_" in base or "^" in base:
                return rf"({base})_{{{joined}}}"
            return rf"{base}_{{{joined}}}"
        return rf"\left({self._print(parent)}\right)_{{{joined}}}"

    # --- function applications ---------------------------------------------------------------

    def _call_argument(self, arg: sp.Basic) -> str:
        """A call's argument: an entrywise function's variable without its own brackets."""
        bare = self._settings.get("bare_names", {}).get(arg)
        return bare if bare is not None else self._print(arg)

    def _call(self, name: str, expr: sp.Function, exp: str | None) -> str:
        if exp is not None:
            name = rf"{name}^{{{exp}}}"
        args = ", ".join(self._call_argument(arg) for arg in expr.args)
        return rf"{name}\left({args}\right)"

    def _print_named_function(self, expr: sp.Function, exp: str | None = None) -> str:
        """σ(z), relu(z), tanh(z), …: the name from FUNCTION_TEX, then the arguments."""
        return self._call(FUNCTION_TEX[type(expr)], expr, exp)

    _print_sigmoid = _print_named_function
    _print_relu = _print_named_function
    _print_softplus = _print_named_function
    _print_elu = _print_named_function
    _print_silu = _print_named_function
    _print_softsign = _print_named_function
    _print_tanh = _print_named_function
    _print_log = _print_named_function
    _print_sin = _print_named_function
    _print_cos = _print_named_function
    _print_leaky_relu = _print_named_function
    _print_gelu = _print_named_function
    _print_gelu_tanh = _print_named_function
    _print_normal_cdf = _print_named_function
    _print_normal_pdf = _print_named_function
    _print_hardtanh = _print_named_function
    _print_clip = _print_named_function
    _print_huber = _print_named_function
    _print_maximum = _print_named_function
    _print_minimum = _print_named_function
    _print_entry_max = _print_named_function
    _print_entry_min = _print_named_function

    def _print_Function(self, expr: sp.Function, exp: str | None = None) -> str:
        if isinstance(expr, AppliedUndef):  # f(x) for a user's undefined function
            function = type(expr).__name__
            base = function.rstrip("'")  # sigma' is the derivative of a generic sigma: σ'
            return self._call(latex_name(base) + "'" * (len(function) - len(base)), expr, exp)
        return str(super()._print_Function(expr, exp))

    def _print_exp(self, expr: sp.Expr, exp: str | None = None) -> str:
        # Euler's number upright: an italic e could be a quantity named e (a loss often is)
        tex = rf"\mathrm{{e}}^{{{self._call_argument(expr.args[0])}}}"
        return rf"\left({tex}\right)^{{{exp}}}" if exp is not None else tex

    def _print_absolute(self, expr: sp.Function, exp: str | None = None) -> str:
        tex = rf"\left|{self._call_argument(expr.args[0])}\right|"
        return rf"{tex}^{{{exp}}}" if exp is not None else tex

    def _print_signum(self, expr: sp.Function, exp: str | None = None) -> str:
        return self._call(r"\operatorname{sign}", expr, exp)

    def _print_Heaviside(self, expr: sp.Heaviside, exp: str | None = None) -> str:
        # H(x) is the derivative of relu: the indicator of x > 0; H(a − b) reads 𝕀[a > b]
        tex = rf"\mathbb{{I}}[{self._comparison(expr.args[0])}]"
        return rf"{tex}^{{{exp}}}" if exp is not None else tex

    def _print_is_equal(self, expr: sp.Function, exp: str | None = None) -> str:
        left, right = expr.args
        tex = rf"\mathbb{{I}}[{self._call_argument(left)} = {self._print(right)}]"
        return rf"{tex}^{{{exp}}}" if exp is not None else tex

    def _comparison(self, difference: sp.Basic) -> str:
        """``difference > 0`` as a comparison of its positive and negative terms: x − a > 0 is
        x > a, 1 − x > 0 is x < 1, −x > 0 is x ≤ 0 (the complement of x > 0); the side that
        varies in an entrywise body (the vector) is written first."""
        terms = difference.args if isinstance(difference, sp.Add) else (difference,)
        number = sum((t for t in terms if t.is_number), sp.S.Zero)
        above = [t for t in terms if not t.is_number and not t.could_extract_minus_sign()]
        below = [-t for t in terms if not t.is_number and t.could_extract_minus_sign()]
        if not below:
            return rf"{self._side(above)} > {self._print(-number)}"
        if not above:
            if number == 0:
                return rf"{self._side(below)} \leq 0"
            return rf"{self._side(below)} < {self._print(number)}"
        if number.is_negative:
            below.append(-number)
        elif number != 0:
            above.append(number)
        if self._varies(sp.Add(*below)) and not self._varies(sp.Add(*above)):
            return rf"{self._side(below)} < {self._side(above)}"
        return rf"{self._side(above)} > {self._side(below)}"

    def _side(self, terms: list[sp.Basic]) -> str:
        if len(terms) == 1:
            return self._call_argument(terms[0])
        return self._print(sp.Add(*terms))

    def _varies(self, expr: sp.Basic) -> bool:  # the printer's own, in an entrywise body
        return False

    def _function_prime(self, function: sp.Basic, variable: sp.Basic, order: int) -> str | None:
        """f'(x) for d/dx f(x) when f is a one-argument function of exactly x; else None."""
        if not isinstance(function, sp.Function) or function.args != (variable,):
            return None
        if type(function) in FUNCTION_TEX:
            name = FUNCTION_TEX[type(function)]
        elif isinstance(function, AppliedUndef):
            name = latex_name(type(function).__name__)
        else:
            return None
        return rf"{name}{chr(39) * order}\left({self._call_argument(variable)}\right)"

    def _print_Derivative(self, expr: sp.Derivative) -> str:
        if len(expr.variable_count) == 1:
            variable, order = expr.variable_count[0]
            prime = self._function_prime(expr.expr, variable, int(order))
            if prime is not None:
                return prime
        return str(super()._print_Derivative(expr))

    def _print_Subs(self, subs: sp.Subs) -> str:
        """f'(g(x)): the chain rule's derivative of f evaluated at the inner function."""
        expr, old, new = subs.args
        if isinstance(expr, sp.Derivative) and len(old) == 1 and len(expr.variable_count) == 1:
            variable, order = expr.variable_count[0]
            if variable == old[0]:
                d = sp.Dummy("d")
                names = self._settings["symbol_names"]
                bare = {**self._settings.get("bare_names", {}), d: self._print(new[0])}
                inner = expr.expr.xreplace({variable: d})
                with substituted_names(self, dict(names), bare):
                    prime = self._function_prime(inner, d, int(order))
                if prime is not None:
                    return prime
        return str(super()._print_Subs(subs))

    # --- matrices that print as one symbol or call ---------------------------------------------

    def _print_Trace(self, expr: sp.Trace) -> str:
        """A 1×1 trace is how the engine stores a scalar: print the scalar itself."""
        matrix = expr.arg
        if matrix.shape == (1, 1):
            return self._print(matrix)
        return rf"\operatorname{{tr}}\left({self._print(matrix)}\right)"

    def _print_Determinant(self, expr: sp.Determinant) -> str:
        return rf"\det\left({self._print(expr.arg)}\right)"

    def _print_DiagonalOf(self, expr: sp.MatrixExpr) -> str:
        return rf"\operatorname{{diag}}\left({self._print(expr.arg)}\right)"

    def _print_Softmax(self, expr: sp.MatrixExpr) -> str:
        # the axis only where it is not the default (a vector's entries, a matrix's rows)
        argument = self._print(expr.args[0])
        if expr.shape[1] != 1 and expr.axis == 0:
            return rf"\operatorname{{softmax}}\left({argument}, 0\right)"
        return rf"\operatorname{{softmax}}\left({argument}\right)"

    def _print_DiagMatrix(self, expr: DiagMatrix) -> str:
        # the reader's diag takes a column (of a row it is a matrix's diagonal): the row r that
        # sympy's diag(rᵀ) = diag(r) leaves is printed diag(rᵀ)
        vector = expr.args[0]
        if vector.shape[0] == 1 and vector.shape[1] != 1:
            vector = vector.arg if isinstance(vector, sp.Transpose) else sp.Transpose(vector)
        return rf"\operatorname{{diag}}\left({self._print(vector)}\right)"

    def _print_OneMatrix(self, expr: sp.OneMatrix) -> str:
        # a row of ones is the transpose of the column 1: sum(x) = 1ᵀ x
        rows, cols = expr.shape
        return r"\mathbf{1}^{\top}" if rows == 1 and cols != 1 else r"\mathbf{1}"

    def _print_ZeroMatrix(self, expr: sp.ZeroMatrix) -> str:
        return r"\mathbf{0}"

    def _print_Identity(self, expr: sp.Identity) -> str:
        return "I"

    # --- constants ---------------------------------------------------------------------------

    def _print_constant(self, expr: Any) -> str:
        """∞, π, i, …: sympy's own LaTeX (our printmethod skips the ``_latex`` hooks they use)."""
        return str(expr._latex(self))

    _print_Infinity = _print_constant
    _print_NegativeInfinity = _print_constant
    _print_ComplexInfinity = _print_constant
    _print_NaN = _print_constant
    _print_Pi = _print_constant
    _print_Exp1 = _print_constant
    _print_ImaginaryUnit = _print_constant
    _print_EulerGamma = _print_constant
    _print_GoldenRatio = _print_constant
    _print_Catalan = _print_constant
