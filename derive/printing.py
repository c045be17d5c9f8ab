# ruff: noqa: N802, N815 - sympy dispatches on _print_<ClassName> names (methods and aliases)
"""LaTeX for derive's expressions, written the way a solution key writes them.

``DeriveLatexPrinter`` is a sympy ``LatexPrinter`` with one ``_print_<ClassName>`` method per
construct that needs a textbook look: subscripted names (``W1`` → W_1), adjoints
(``delta_s`` → δ_s), σ and the other activations, ⊙, ᵀ, 1×1 traces printed as scalars, and
entries of vectors and matrices (``x_i``, ``W_ij``, ``δ_{s,i}``). ``tex`` is the one entry point
the templates use.
"""

from __future__ import annotations

import re
from typing import Any

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.matrices.expressions.hadamard import HadamardProduct
from sympy.matrices.expressions.kronecker import KroneckerProduct
from sympy.printing.latex import LatexPrinter, translate

from derive.functions import relu, sigmoid, softplus
from derive.graph import NodeMap, deep_recursion, postorder

ADJOINT_PREFIX = "delta_"  # the engine names the adjoint of v "delta_v"

# How known functions are named; arguments follow in parentheses.
FUNCTION_TEX: dict[type, str] = {
    sigmoid: r"\sigma",
    relu: r"\operatorname{relu}",
    softplus: r"\operatorname{softplus}",
    sp.tanh: r"\tanh",
    sp.log: r"\log",
    sp.sin: r"\sin",
    sp.cos: r"\cos",
}

# Subscripts that are accents: y_hat → ŷ.
ACCENTS: dict[str, str] = {"hat": r"\hat", "bar": r"\bar", "tilde": r"\tilde", "dot": r"\dot"}

# Parenthesised content containing any of these is tall: keep \left( … \right) around it.
_TALL = (r"\frac", r"\sum", r"\prod", r"\int", r"\begin", r"\binom", r"\sqrt", r"\left")

_LETTERS_THEN_DIGITS = re.compile(r"([A-Za-z]+?)(\d+)")
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)*")

# Factors that need parentheses when they sit next to ⊙, ᵀ or a matrix product.
_COMPOUND = (sp.MatAdd, sp.MatMul, HadamardProduct, KroneckerProduct, sp.Add, sp.Mul)


def latex_name(name: str) -> str:
    """A name as a textbook writes it: W1 → W_{1}, y_pred → y_{pred}, delta_W1 → δ_{W_1}."""
    if name.startswith(ADJOINT_PREFIX) and len(name) > len(ADJOINT_PREFIX):
        return rf"\delta_{{{latex_name(name[len(ADJOINT_PREFIX) :])}}}"
    if not _IDENTIFIER.fullmatch(name):
        return LatexPrinter()._deal_with_super_sub(name)
    base, *subscripts = name.split("_")
    split = _LETTERS_THEN_DIGITS.fullmatch(base)
    if split:
        base = split.group(1)
        subscripts.insert(0, split.group(2))
    base_tex = translate(base)
    if base_tex == base and len(base) > 1:
        base_tex = rf"\mathit{{{base}}}"  # a multi-letter name is one name, not a product
    if subscripts and subscripts[0] in ACCENTS:
        base_tex = rf"{ACCENTS[subscripts.pop(0)]}{{{base_tex}}}"
    if not subscripts:
        return base_tex
    return rf"{base_tex}_{{{','.join(translate(s) for s in subscripts)}}}"


def _is_adjoint(name: str) -> bool:
    return name.startswith(ADJOINT_PREFIX) and len(name) > len(ADJOINT_PREFIX)


def _negative(expr: sp.Basic) -> bool:
    """Whether ``expr`` prints with a leading minus, without sympy's matrix ``doit``.

    ``MatMul.could_extract_minus_sign`` negates and re-evaluates the product, which asks the
    assumptions system about every factor: minutes for a deep network's answer.
    """
    if isinstance(expr, sp.MatMul):
        coefficient, _ = expr.as_coeff_matrices()
        leading = coefficient.args[0] if coefficient.is_Mul else coefficient
        return bool(leading.is_number and leading.is_negative)
    if isinstance(expr, sp.MatrixExpr):
        return False
    return bool(expr.could_extract_minus_sign())


def _reciprocal_of(expr: sp.Basic) -> sp.Basic | None:
    """X for the entrywise reciprocal 1 ⊘ X (an elementwise function d ↦ 1/d), else None."""
    if not isinstance(expr, ElementwiseApplyFunction):
        return None
    function = expr.function
    if isinstance(function, sp.Lambda) and function.expr == 1 / function.variables[0]:
        return expr.expr
    return None


def _negated(term: sp.Basic) -> sp.Basic:
    """−term without re-evaluating a matrix product (``-MatMul`` runs ``doit``, which would
    turn 2 (y − t) into 2y − 2t)."""
    if isinstance(term, sp.MatMul):
        coefficient, matrices = term.as_coeff_matrices()
        flipped = -coefficient
        if flipped == 1:
            return matrices[0] if len(matrices) == 1 else sp.MatMul(*matrices)
        return sp.MatMul(flipped, *matrices)
    return -term


def _is_scalar_trace(expr: sp.Basic) -> bool:
    return isinstance(expr, sp.Trace) and expr.arg.shape == (1, 1)


def _soften_parens(latex: str) -> str:
    r"""Replace ``\left( … \right)`` by plain parentheses unless the content is tall.

    sympy writes ``\left(`` everywhere; around a single line of symbols it only adds space.
    """
    out: list[str] = []
    stack: list[int] = []  # indices in ``out`` of the pending "\left(" pieces
    i = 0
    while i < len(latex):
        if latex.startswith(r"\left(", i):
            stack.append(len(out))
            out.append(r"\left(")
            i += len(r"\left(")
        elif latex.startswith(r"\right)", i) and stack:
            opened = stack.pop()
            inner = "".join(out[opened + 1 :])
            if not any(mark in inner for mark in _TALL):
                out[opened] = "("
                out.append(")")
            else:
                out.append(r"\right)")
            i += len(r"\right)")
        else:
            out.append(latex[i])
            i += 1
    return "".join(out)


class DeriveLatexPrinter(LatexPrinter):
    """sympy's LaTeX printer with a deep-learning textbook's notation."""

    printmethod = "_derive_latex"

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__(settings)
        # keyed by identity (see derive.graph); the node is kept beside its text to stay alive
        self._printed: dict[tuple[int, int, object], tuple[sp.Basic, str]] = {}
        self._functions: NodeMap[frozenset[str]] = NodeMap()

    def doprint(self, expr: Any) -> str:
        with deep_recursion():
            return _soften_parens(super().doprint(expr))

    def _print(self, expr: Any, **kwargs: Any) -> str:
        """Each distinct subexpression printed once (answers share subexpressions)."""
        if kwargs or not isinstance(expr, sp.Basic):
            return super()._print(expr, **kwargs)
        key = (id(expr), id(self._settings["symbol_names"]), self._settings["order"])
        found = self._printed.get(key)
        if found is not None:
            return found[1]
        printed = super()._print(expr)
        self._printed[key] = (expr, printed)
        return printed

    def _factor_order(self, factor: sp.Basic) -> tuple[int, str, int]:
        """Sort key of a product's factor: numbers, sums like (y − t), names, then functions,
        each function's argument beside its complement (σ(z)(1 − σ(z)))."""
        if factor.is_number:
            return (0, "", 0)
        functions = sorted(self._function_names(factor))
        if not functions:
            return (1 if isinstance(factor, sp.Add) else 2, "", 0)
        base = factor.base if isinstance(factor, sp.Pow) else factor
        return (3, functions[0], 0 if isinstance(base, sp.Function) else 1)

    def _function_names(self, expr: sp.Basic) -> frozenset[str]:
        """str() of every function application in ``expr``, each distinct node visited once."""
        for node in postorder(expr):
            if node in self._functions:
                continue
            below = frozenset().union(*(self._functions[arg] for arg in node.args))
            self._functions[node] = below | {str(node)} if isinstance(node, sp.Function) else below
        return self._functions[expr]

    # --- names -------------------------------------------------------------------------------

    def _print_Symbol(self, expr: sp.Symbol, style: str = "plain") -> str:
        name = self._settings["symbol_names"].get(expr)
        if name is not None:
            return name
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
            if _is_adjoint(name):
                inner = latex_name(name[len(ADJOINT_PREFIX) :])
                return rf"\delta_{{{inner},{joined}}}"
            base = latex_name(name)
            if "_" in base or "^" in base:
                return rf"({base})_{{{joined}}}"
            return rf"{base}_{{{joined}}}"
        return rf"\left({self._print(parent)}\right)_{{{joined}}}"

    # --- scalar algebra ----------------------------------------------------------------------

    def _print_Mul(self, expr: sp.Expr) -> str:
        """Factors in a key's order: numbers, differences like (y − t), names, then each
        function beside its complement, σ(z)(1 − σ(z))."""
        if not isinstance(expr, sp.Mul) or any(
            isinstance(f, sp.Pow) and f.exp.is_negative for f in expr.args
        ):  # sympy prints a power with a negative exponent as a fraction through here
            return super()._print_Mul(expr)
        factors = sorted(expr.args, key=self._factor_order)
        if list(factors) == list(expr.args):
            return super()._print_Mul(expr)
        reordered = sp.Mul(*factors, evaluate=False)
        saved = self._settings["order"]
        self._settings["order"] = "none"
        try:
            return super()._print_Mul(reordered)
        finally:
            self._settings["order"] = saved

    def _print_Add(self, expr: sp.Expr, order: str | None = None) -> str:
        """Like sympy's, but a sum starts with a positive term if it has one: y - t, not -t + y."""
        terms = list(self._as_ordered_terms(expr, order=order))
        if terms and _negative(terms[0]):
            positive = next((t for t in terms if not _negative(t)), None)
            if positive is not None:
                terms.remove(positive)
                terms.insert(0, positive)
        pieces: list[str] = []
        for index, term in enumerate(terms):
            if index > 0 and _is_scalar_trace(term) and _negative(term.arg):
                pieces.append(" - ")
                term = sp.Trace(_negated(term.arg))
            elif index > 0 and _negative(term):
                pieces.append(" - ")
                term = _negated(term)
            elif index > 0:
                pieces.append(" + ")
            term_tex = self._print(term)
            if self._needs_add_brackets(term):
                term_tex = rf"\left({term_tex}\right)"
            pieces.append(term_tex)
        return "".join(pieces)

    def _needs_mul_brackets(self, expr: sp.Basic, first: bool = False, last: bool = False) -> bool:
        """A 1×1 trace prints as its matrix, so a product around it may need brackets: t (a + b)."""
        if _is_scalar_trace(expr):
            matrix = expr.arg
            if isinstance(matrix, sp.MatAdd):
                return True
            leading_number = isinstance(matrix, sp.MatMul) and matrix.args[0].is_number
            return not first and (leading_number or _negative(matrix))
        return super()._needs_mul_brackets(expr, first=first, last=last)

    def _print_MatAdd(self, expr: sp.MatAdd) -> str:
        return self._print_Add(expr)

    def _print_named_function(self, expr: sp.Function, exp: str | None = None) -> str:
        """σ(z), relu(z), tanh(z), …: the name from FUNCTION_TEX, then the arguments."""
        name = FUNCTION_TEX[type(expr)]
        if exp is not None:
            name = rf"{name}^{{{exp}}}"
        args = ", ".join(self._print(arg) for arg in expr.args)
        return rf"{name}\left({args}\right)"

    _print_sigmoid = _print_named_function
    _print_relu = _print_named_function
    _print_softplus = _print_named_function
    _print_tanh = _print_named_function
    _print_log = _print_named_function
    _print_sin = _print_named_function
    _print_cos = _print_named_function

    def _print_Function(self, expr: sp.Function, exp: str | None = None) -> str:
        if isinstance(expr, AppliedUndef):  # f(x) for a user's undefined function
            function = type(expr).__name__
            base = function.rstrip("'")  # sigma' is the derivative of a generic sigma: σ'
            name = latex_name(base) + "'" * (len(function) - len(base))
            if exp is not None:
                name = rf"{name}^{{{exp}}}"
            args = ", ".join(self._print(arg) for arg in expr.args)
            return rf"{name}\left({args}\right)"
        return super()._print_Function(expr, exp)

    def _print_absolute(self, expr: sp.Function, exp: str | None = None) -> str:
        tex = rf"\left|{self._print(expr.args[0])}\right|"
        return rf"{tex}^{{{exp}}}" if exp is not None else tex

    def _print_signum(self, expr: sp.Function, exp: str | None = None) -> str:
        tex = rf"\operatorname{{sign}}\left({self._print(expr.args[0])}\right)"
        return rf"{tex}^{{{exp}}}" if exp is not None else tex

    def _print_Heaviside(self, expr: sp.Heaviside, exp: str | None = None) -> str:
        # H(x) is the derivative of relu: the indicator of x > 0
        tex = rf"\mathbb{{I}}[{self._print(expr.args[0])} > 0]"
        return rf"{tex}^{{{exp}}}" if exp is not None else tex

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
        return rf"{name}{chr(39) * order}\left({self._print(variable)}\right)"

    def _print_Derivative(self, expr: sp.Derivative) -> str:
        if len(expr.variable_count) == 1:
            variable, order = expr.variable_count[0]
            prime = self._function_prime(expr.expr, variable, int(order))
            if prime is not None:
                return prime
        return super()._print_Derivative(expr)

    def _print_Subs(self, subs: sp.Subs) -> str:
        """f'(g(x)): the chain rule's derivative of f evaluated at the inner function."""
        expr, old, new = subs.args
        if isinstance(expr, sp.Derivative) and len(old) == 1 and len(expr.variable_count) == 1:
            variable, order = expr.variable_count[0]
            if variable == old[0]:
                d = sp.Dummy("d")
                placeholder = {**self._settings["symbol_names"], d: self._print(new[0])}
                inner = expr.expr.xreplace({variable: d})
                with _symbol_names(self, placeholder):
                    prime = self._function_prime(inner, d, int(order))
                if prime is not None:
                    return prime
        return super()._print_Subs(subs)

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

    # --- matrices ----------------------------------------------------------------------------

    def _atom(self, expr: sp.Basic) -> str:
        """``expr`` printed so that a postfix (ᵀ, ^{-1}) or ⊙ binds to all of it."""
        tex = self._print(expr)
        simple = isinstance(
            expr,
            sp.MatrixSymbol | sp.Symbol | sp.OneMatrix | sp.Identity | ElementwiseApplyFunction,
        )
        if simple or (isinstance(expr, DiagMatrix | sp.Function) and "^" not in tex):
            return tex
        return rf"\left({tex}\right)"

    def _print_Transpose(self, expr: sp.Transpose) -> str:
        return rf"{self._atom(expr.arg)}^{{\top}}"

    def _print_MatPow(self, expr: sp.MatPow) -> str:
        return rf"{self._atom(expr.base)}^{{{self._print(expr.exp)}}}"

    def _print_Inverse(self, expr: sp.Inverse) -> str:
        return rf"{self._atom(expr.arg)}^{{-1}}"

    def _print_HadamardProduct(self, expr: HadamardProduct) -> str:
        """A ⊙ B, and A ⊘ B where a factor is an entrywise reciprocal (t ⊙ (1 ⊘ p) = t ⊘ p)."""
        divisors = [a for a in expr.args if _reciprocal_of(a) is not None]
        factors = [a for a in expr.args if _reciprocal_of(a) is None]
        sign = ""
        if factors and len(factors) == 1 and divisors and _negative(factors[0]):
            sign, factors = "- ", [_negated(factors[0])]
        pieces = [self._hadamard_factor(arg) for arg in factors] or [r"\mathbf{1}"]
        text = r" \odot ".join(pieces)
        for divisor in divisors:
            text += rf" \oslash {self._hadamard_factor(_reciprocal_of(divisor))}"
        return sign + text

    def _hadamard_factor(self, arg: sp.Basic) -> str:
        tex = self._print(arg)
        if isinstance(arg, _COMPOUND) or _negative(arg):
            tex = rf"\left({tex}\right)"
        return tex

    def _print_MatMul(self, expr: sp.MatMul) -> str:
        args = list(expr.args)
        sign = ""
        if _negative(expr):
            sign = "- "
            if args[0] == -1:
                args = args[1:]
            else:
                args[0] = -args[0]
        factors = []
        for arg in args:
            tex = self._print(arg)
            compound = isinstance(arg, sp.MatAdd | HadamardProduct | KroneckerProduct | sp.Add)
            if compound or (isinstance(arg, sp.Trace) and isinstance(arg.arg, sp.MatAdd)):
                tex = rf"\left({tex}\right)"
            factors.append(tex)
        return sign + " ".join(factors)

    def _print_Trace(self, expr: sp.Trace) -> str:
        """A 1×1 trace is how the engine stores a scalar: print the scalar itself."""
        matrix = expr.arg
        if matrix.shape == (1, 1):
            return self._print(matrix)
        return rf"\operatorname{{tr}}\left({self._print(matrix)}\right)"

    def _print_Softmax(self, expr: sp.MatrixExpr) -> str:
        return rf"\operatorname{{softmax}}\left({self._print(expr.args[0])}\right)"

    def _print_DiagMatrix(self, expr: DiagMatrix) -> str:
        return rf"\operatorname{{diag}}\left({self._print(expr.args[0])}\right)"

    def _print_OneMatrix(self, expr: sp.OneMatrix) -> str:
        # a row of ones is the transpose of the column 1: sum(x) = 1ᵀ x
        rows, cols = expr.shape
        return r"\mathbf{1}^{\top}" if rows == 1 and cols != 1 else r"\mathbf{1}"

    def _print_ZeroMatrix(self, expr: sp.ZeroMatrix) -> str:
        return r"\mathbf{0}"

    def _print_Identity(self, expr: sp.Identity) -> str:
        return "I"

    def _print_ElementwiseApplyFunction(self, expr: ElementwiseApplyFunction) -> str:
        """f applied entry by entry to X, printed as f(X): the Lambda's body at the argument."""
        function, argument = expr.function, expr.expr
        if isinstance(function, sp.Lambda):
            (variable,), body = function.args
        else:
            variable = sp.Dummy("d")
            body = function(variable)
        if isinstance(body, sp.Pow) and body.base == variable and body.exp.is_number:
            if body.exp == -1:
                return rf"1 \oslash {self._atom(argument)}"  # entrywise reciprocal
            return rf"{self._atom(argument)}^{{\circ {self._print(body.exp)}}}"
        # A function call brings its own parentheses: σ(W x + b), not σ((W x + b)).
        called = (
            isinstance(body, sp.Function)
            and body.args[0] == variable
            and all(arg.is_number for arg in body.args[1:])  # Heaviside(d, 1/2)
        )
        derived = isinstance(body, sp.Derivative) and body.expr.args == (variable,)
        argument_tex = self._print(argument) if called or derived else self._atom(argument)
        names = {**self._settings["symbol_names"], variable: argument_tex}
        with _symbol_names(self, names):
            return self._print(body)


class _symbol_names:  # noqa: N801 - used like a function, as a context manager
    """Temporarily print some symbols as given LaTeX (a Lambda's variable as its argument)."""

    def __init__(self, printer: DeriveLatexPrinter, names: dict[sp.Basic, str]) -> None:
        self.printer = printer
        self.names = names
        self.saved: dict[sp.Basic, str] = {}

    def __enter__(self) -> None:
        self.saved = self.printer._settings["symbol_names"]
        self.printer._settings["symbol_names"] = self.names

    def __exit__(self, *exc: object) -> None:
        self.printer._settings["symbol_names"] = self.saved


def tex(expr: Any, **settings: Any) -> str:
    """The LaTeX of a sympy expression in derive's notation (settings as for sympy's ``latex``)."""
    return DeriveLatexPrinter(settings).doprint(expr)
