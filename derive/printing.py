# ruff: noqa: N802 - sympy dispatches on _print_<ClassName> names
"""LaTeX for derive's expressions, written the way a solution key writes them.

``DeriveLatexPrinter`` is a sympy ``LatexPrinter`` with one ``_print_<ClassName>`` method per
construct that needs a textbook look: names (``derive.names``), σ and the other functions
(``derive.printing_atoms``), ⊙, ᵀ, 1×1 traces printed as scalars, and entries of vectors
and matrices (``x_i``, ``W_ij``, ``δ_{s,i}``). ``tex`` is the one entry point.

Everything printed reads back unambiguously (``derive.latex_reader``): juxtaposition, ⊙ and ⊘
are one left-associative level, tighter than + and −, and a postfix (ᵀ, ^{-1}, ^{∘2}) binds
to one atom. So each operand is classed (``Binding``) and bracketed by what it sits in, and a
sign is only ever printed once, in front (never ``- -``, ``+ -`` or ``A (- B)``).
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.matrices.expressions.hadamard import HadamardPower, HadamardProduct

from derive.graph import NodeMap, deep_recursion, postorder
from derive.names import ACCENTS, ADJOINT_PREFIX, GREEK, latex_name
from derive.printing_atoms import FUNCTION_TEX, AtomPrinting, substituted_names
from derive.printing_forms import (
    DECIMAL_DENOMINATOR,
    Binding,
    decimal,
    entrywise_parts,
    is_call,
    is_scalar_trace,
    is_zero,
    mul_factors,
    reciprocal_of,
    soften_parens,
    without_sign,
)
from derive.softmax import Softmax

__all__ = ["ACCENTS", "ADJOINT_PREFIX", "DECIMAL_DENOMINATOR", "FUNCTION_TEX", "GREEK"]
__all__ += ["DeriveLatexPrinter", "decimal", "latex_name", "tex"]


# Powers sympy prints with the base in a group of their own: \sqrt{b}, \frac{1}{b}.
_ROOTS = (sp.Rational(1, 2), sp.Rational(-1, 2), sp.S.NegativeOne)


class DeriveLatexPrinter(AtomPrinting):
    """sympy's LaTeX printer with a deep-learning textbook's notation."""

    printmethod = "_derive_latex"

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__(settings)
        # keyed by identity (see derive.graph); the node and the names dict are kept beside the
        # text so that neither id is reused while the entry exists
        self._printed: dict[tuple[int, int, object], tuple[sp.Basic, object, str]] = {}
        self._functions: NodeMap[frozenset[str]] = NodeMap()

    def doprint(self, expr: Any) -> str:
        with deep_recursion():
            return soften_parens(super().doprint(expr))

    def _print(self, expr: Any, **kwargs: Any) -> str:
        """Each distinct subexpression printed once (answers share subexpressions)."""
        if kwargs or not isinstance(expr, sp.Basic):
            return str(super()._print(expr, **kwargs))
        names = self._settings["symbol_names"]
        key = (id(expr), id(names), self._settings["order"])
        found = self._printed.get(key)
        if found is not None:
            return found[2]
        printed = str(super()._print(expr))
        self._printed[key] = (expr, names, printed)
        return printed

    def _binding(self, expr: sp.Basic, *, unsigned: bool = False) -> Binding:
        """How tightly ``expr`` prints (see ``Binding``); ``unsigned``: once its sign is off."""
        if isinstance(expr, sp.MatMul | HadamardProduct | sp.MatAdd | sp.Add):
            expr = self._single(expr, unsigned=unsigned)
        if is_scalar_trace(expr):
            return self._binding(expr.arg)
        if isinstance(expr, sp.MatAdd | sp.Add):
            return Binding.SUM
        if isinstance(expr, ElementwiseApplyFunction):
            variable, body = entrywise_parts(expr)
            if is_call(body, variable):
                return Binding.ATOM
            if isinstance(body, sp.Pow) and body.base == variable:
                return Binding.PRODUCT if body.exp == -1 else Binding.POSTFIX  # 1 ⊘ s, s^{∘2}
            if isinstance(body, sp.exp):
                return Binding.POSTFIX
            saved = self._settings.get("entrywise")
            self._settings["entrywise"] = variable  # as printed: 1 ⊘ (|s| + 1)^{∘2}, a product
            try:
                return self._binding(body)
            finally:
                self._settings["entrywise"] = saved
        if isinstance(expr, sp.OneMatrix) and expr.shape[0] == 1 and expr.shape[1] != 1:
            return Binding.POSTFIX  # 1^{⊤}
        if isinstance(expr, sp.Pow) and expr.exp.is_negative and self._varies(expr):
            return Binding.PRODUCT  # 1 ⊘ σ(s)
        if isinstance(expr, sp.Transpose | sp.Inverse | sp.MatPow | HadamardPower | sp.Pow):
            return Binding.POSTFIX
        if isinstance(expr, sp.exp):
            return Binding.POSTFIX
        atoms = sp.MatrixSymbol | sp.Symbol | sp.OneMatrix | sp.Identity | sp.ZeroMatrix
        if isinstance(expr, atoms | DiagMatrix | Softmax | sp.Function | sp.Trace):
            return Binding.ATOM
        if isinstance(expr, sp.Integer) and expr >= 0:
            return Binding.ATOM
        return Binding.PRODUCT

    def _single(self, expr: sp.Basic, *, unsigned: bool = False) -> sp.Basic:
        """The one operand of a product with no coefficient (but a sign, if ``unsigned``), or
        of a one-term sum; else expr."""
        if isinstance(expr, sp.MatAdd | sp.Add) and len(expr.args) == 1:
            return self._single(expr.args[0], unsigned=unsigned)
        if isinstance(expr, sp.MatMul | HadamardProduct):
            number, scalars, matrices = self._matmul_parts(expr)
            unit = number == 1 or (unsigned and number == -1)
            if unit and not scalars and len(matrices) == 1 and matrices[0] is not expr:
                return self._single(matrices[0], unsigned=unsigned)
        return expr

    def _bracketed(self, expr: sp.Basic, loosest: Binding) -> tuple[bool, str]:
        """(negative, text) of ``expr`` as an operand that holds at least as tight as
        ``loosest``: a leading minus taken off (a product's sign), then brackets if needed."""
        text = self._print(expr)
        if self._binding(expr) == Binding.SUM:
            return False, rf"\left({text}\right)"
        negative, text = without_sign(text)
        if self._binding(expr, unsigned=negative) < loosest:
            text = rf"\left({text}\right)"
        return negative, text

    def _atom(self, expr: sp.Basic) -> str:
        """``expr`` printed so that a postfix (ᵀ, ^{-1}, ^{∘2}) binds to all of it."""
        if self._binding(expr) == Binding.ATOM:
            return self._print(expr)
        return rf"\left({self._print(expr)}\right)"

    # --- numbers and scalar algebra ----------------------------------------------------------

    def _print_Rational(self, expr: sp.Rational) -> str:
        return decimal(expr) or str(super()._print_Rational(expr))

    def _print_Mul(self, expr: sp.Expr) -> str:
        """Factors in a key's order: one number in front (0.5, never 1 or - -), then sums like
        (y − t), names, and each function beside its complement, σ(z)(1 − σ(z))."""
        if not isinstance(expr, sp.Mul):  # sympy prints some powers through here
            return str(super()._print_Mul(expr))
        if self._varies(expr):
            return self._print_entrywise_Mul(expr)
        flat = mul_factors(expr)
        numbers = [f for f in flat if f.is_Number]
        if (
            len(flat) > len(expr.args)
            or len(numbers) > 1
            or sp.S.One in numbers
            or (numbers and numbers[0] is not expr.args[0])
        ):  # an unevaluated product: Mul(1, x), Mul(2, 3, x), Mul(-1, Mul(-1, x))
            others = [f for f in flat if not f.is_Number]
            number = sp.Mul(*numbers)
            if not others:
                return self._print(number)
            if number == 1 and len(others) == 1:
                return self._print(others[0])
            leading = [number] if number != 1 else []
            return self._print(sp.Mul(*leading, *others, evaluate=False))
        number, rest = expr.as_coeff_Mul()
        if isinstance(number, sp.Rational) and decimal(number):
            negative, text = self._bracketed(rest, Binding.PRODUCT)
            sign = "- " if (number < 0) != negative else ""
            return rf"{sign}{decimal(abs(number))} {text}"
        if any(isinstance(f, sp.Pow) and f.exp.is_negative for f in expr.args):
            return str(super()._print_Mul(expr))  # sympy's fraction
        factors = sorted(expr.args, key=self._factor_order)
        if list(factors) == list(expr.args):
            return str(super()._print_Mul(expr))
        saved = self._settings["order"]
        self._settings["order"] = "none"
        try:
            return str(super()._print_Mul(sp.Mul(*factors, evaluate=False)))
        finally:
            self._settings["order"] = saved

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

    def _needs_mul_brackets(self, expr: sp.Basic, first: bool = False, last: bool = False) -> bool:
        """A 1×1 trace prints as its matrix, so a product around it may need brackets: t (a + b);
        no factor after the first may start with a sign or a digit (2 (3 x)), as a reader sees."""
        if is_scalar_trace(expr):
            text, binding = self._print(expr), self._binding(expr)
            if binding == Binding.SUM or (not first and text[0] in "-0123456789"):
                return True
            return bool(self._settings.get("coefficient")) and binding == Binding.PRODUCT
        return bool(super()._needs_mul_brackets(expr, first=first, last=last))

    def _needs_add_brackets(self, expr: sp.Basic) -> bool:
        return bool(expr.is_Relational)  # a sum inside a sum reads as one: a + (b - c) = a + b - c

    def _print_Add(self, expr: sp.Expr, order: str | None = None) -> str:
        """Terms joined by + and −, each sign printed once, starting with a positive term if
        there is one (y - t, not -t + y); a term 0 is left out."""
        terms = [t for t in self._as_ordered_terms(expr, order=order) if not is_zero(t)]
        signed = [without_sign(self._print(term)) for term in terms or [sp.S.Zero]]
        if signed[0][0]:
            positive = next((s for s in signed if not s[0]), None)
            if positive is not None:
                signed.remove(positive)
                signed.insert(0, positive)
        pieces = [("- " if signed[0][0] else "") + signed[0][1]]
        pieces += [(" - " if negative else " + ") + text for negative, text in signed[1:]]
        return "".join(pieces)

    def _print_MatAdd(self, expr: sp.MatAdd) -> str:
        return self._print_Add(expr)

    # --- matrices ----------------------------------------------------------------------------

    def _matmul_parts(self, expr: sp.Basic) -> tuple[sp.Number, list[sp.Basic], list[sp.Basic]]:
        """The number, the other scalars and the matrices of a product, nested products and the
        scalars of ⊙ factors flattened: MatMul(-1, MatMul(-1, X)) is 1, [] and [X]."""
        number: sp.Number = sp.S.One
        scalars: list[sp.Basic] = []
        matrices: list[sp.Basic] = []
        pending = [expr]
        while pending:
            factor = pending.pop()
            if isinstance(factor, sp.MatMul | sp.Mul):
                pending.extend(reversed(factor.args))
            elif isinstance(factor, sp.MatAdd) and len(factor.args) == 1:
                pending.append(factor.args[0])
            elif isinstance(factor, HadamardProduct):
                inner, more, operands = self._hadamard_parts(factor)
                number, scalars = number * inner, scalars + more
                if len(operands) == 1 and reciprocal_of(operands[0]) is None:
                    pending.append(operands[0])  # (−1) ⊙ x is −x
                elif inner == 1 and not more and len(operands) == len(factor.args):
                    matrices.append(factor)
                else:
                    matrices.append(HadamardProduct(*operands))
            elif factor.is_Matrix:
                matrices.append(factor)
            elif factor.is_Number:
                number *= factor
            else:
                scalars.append(factor)
        return number, scalars, matrices

    def _hadamard_parts(
        self, expr: HadamardProduct
    ) -> tuple[sp.Number, list[sp.Basic], list[sp.Basic]]:
        """The number and scalars of a ⊙ product's factors, and what is left of the factors
        (2 a ⊙ 1 ⊙ (1 ⊘ p) is 2, [] and [a, 1 ⊘ p]); a divisor keeps its coefficient."""
        number: sp.Number = sp.S.One
        scalars: list[sp.Basic] = []
        operands: list[sp.Basic] = []
        for arg in expr.args:
            if isinstance(arg, sp.MatMul):
                inner, more, matrices = self._matmul_parts(arg)
                number, scalars = number * inner, scalars + more
                arg = matrices[0] if len(matrices) == 1 else sp.MatMul(*matrices)
            if not isinstance(arg, sp.OneMatrix):
                operands.append(arg)
        return number, scalars, operands or [sp.OneMatrix(*expr.shape)]

    def _product(
        self, number: sp.Number, scalars: list[sp.Basic], factors: list[str], *, grouped: bool
    ) -> str:
        """The coefficient ``number`` · ``scalars``, then the printed ``factors``, one sign in
        front; ``grouped`` brackets a lone compound factor behind a coefficient: 2 (a ⊙ b)."""
        extra, rest = sp.Mul(*scalars).as_coeff_Mul()
        number *= extra
        negative = bool(number.is_negative)
        number = -number if negative else number
        pieces = []
        if rest != 1 or number != 1:
            scalar = number if rest == 1 else rest if number == 1 else None
            scalar = sp.Mul(number, rest, evaluate=False) if scalar is None else scalar
            # a scalar xᵀ y before matrices is bracketed: it does not associate with them
            names = dict(self._settings["symbol_names"])  # a fresh key for the printed cache
            saved, self._settings["coefficient"] = self._settings.get("coefficient"), True
            try:
                with substituted_names(self, names, self._settings.get("bare_names", {})):
                    lone_trace = factors and is_scalar_trace(scalar)
                    loosest = Binding.POSTFIX if lone_trace else Binding.PRODUCT
                    flipped, text = self._bracketed(scalar, loosest)
            finally:
                self._settings["coefficient"] = saved
            negative ^= flipped
            pieces.append(text)
            if grouped and len(factors) == 1:
                factors = [rf"\left({factors[0]}\right)"]
        return ("- " if negative else "") + " ".join(pieces + factors)

    def _print_MatMul(self, expr: sp.MatMul) -> str:
        number, scalars, matrices = self._matmul_parts(expr)
        if number == 1 and not scalars and len(matrices) == 1:
            return self._print(matrices[0])
        factors = []
        for index, matrix in enumerate(matrices):
            if isinstance(matrix, sp.Transpose) and isinstance(matrix.arg, sp.OneMatrix):
                matrix = sp.OneMatrix(*matrix.shape)  # (𝟏_{a×b})ᵀ = 𝟏_{b×a}, sized like one
            if isinstance(matrix, sp.OneMatrix) and len(matrices) > 1:
                following = matrices[index + 1] if index + 1 < len(matrices) else None
                factors.append(self._ones_factor(matrix, index, following))
                continue
            loosest = Binding.POSTFIX if len(matrices) > 1 else Binding.PRODUCT
            negative, text = self._bracketed(matrix, loosest)
            number = -number if negative else number
            factors.append(text)
        compound = len(matrices) == 1 and self._binding(matrices[0]) == Binding.PRODUCT
        return self._product(number, scalars, factors, grouped=compound)

    def _ones_factor(self, ones: sp.OneMatrix, index: int, following: sp.Basic | None) -> str:
        """𝟏 in a matrix product, with its size where no neighbour gives it: 1ᵀ x and W 1 need
        none, x 1_nᵀ, 1_n xᵀ and 1_nᵀ 1 do (two ones size neither), and a matrix of ones is
        1_{m×n}."""
        rows, cols = ones.shape
        if rows != 1 and cols != 1:
            return rf"\mathbf{{1}}_{{{self._print(rows)} \times {self._print(cols)}}}"
        if cols == 1:  # a column: its length is contracted unless it comes first
            return r"\mathbf{1}" if index > 0 else rf"\mathbf{{1}}_{{{self._print(rows)}}}"
        ones_next = isinstance(following, sp.OneMatrix) or (
            isinstance(following, sp.Transpose) and isinstance(following.arg, sp.OneMatrix)
        )
        if following is not None and not ones_next:  # a row the next factor contracts
            return r"\mathbf{1}^{\top}"
        return rf"\mathbf{{1}}_{{{self._print(cols)}}}^{{\top}}"

    def _print_HadamardProduct(self, expr: HadamardProduct) -> str:
        """A ⊙ B, and A ⊘ B where a factor is an entrywise reciprocal (t ⊙ (1 ⊘ p) = t ⊘ p);
        scalars and signs of the factors in front ((2 a) ⊙ (−b) is −2 a ⊙ b), ones left out."""
        number, scalars, operands = self._hadamard_parts(expr)
        if len(operands) == 1 and reciprocal_of(operands[0]) is None:
            return self._print(sp.MatMul(number, *scalars, operands[0]))
        if number != 1 or scalars or len(operands) < len(expr.args):
            stripped = self._print(HadamardProduct(*operands))
            return self._product(number, scalars, [stripped], grouped=True)
        negative, text = False, ""
        operands.sort(key=lambda operand: reciprocal_of(operand) is not None)  # t ⊘ p
        for index, operand in enumerate(operands):
            divisor = reciprocal_of(operand)
            operand = operand if divisor is None else divisor
            negative ^= self._bracketed(operand, Binding.POSTFIX)[0]
            printed = self._hadamard_factor(operand)
            if divisor is not None:
                text += (r" \oslash " if index else r"\mathbf{1} \oslash ") + printed
            else:
                text += (r" \odot " if index else "") + printed
        return ("- " if negative else "") + text

    def _hadamard_factor(self, operand: sp.Basic) -> str:
        """An operand of ⊙ or ⊘ without its sign (the product's is in front), bracketed unless
        it is an atom or a postfix: (1 - σ(s)) ⊙ x."""
        return self._bracketed(operand, Binding.POSTFIX)[1]

    def _print_Transpose(self, expr: sp.Transpose) -> str:
        if isinstance(expr.arg, sp.OneMatrix | sp.ZeroMatrix):  # (1ᵀ)ᵀ is the column 1
            return self._print(type(expr.arg)(*reversed(expr.arg.shape)))
        return rf"{self._atom(expr.arg)}^{{\top}}"

    def _print_MatPow(self, expr: sp.MatPow) -> str:
        return rf"{self._atom(expr.base)}^{{{self._print(expr.exp)}}}"

    def _print_HadamardPower(self, expr: HadamardPower) -> str:
        return rf"{self._atom(expr.base)}^{{\circ {self._print(expr.exp)}}}"

    def _print_Inverse(self, expr: sp.Inverse) -> str:
        return rf"{self._atom(expr.arg)}^{{-1}}"

    def _print_ElementwiseApplyFunction(self, expr: ElementwiseApplyFunction) -> str:
        """f applied entry by entry to X, printed as f(X): the Lambda's body at the argument,
        in entrywise notation (``_print_entrywise_Mul``).

        A call's parentheses hold the argument (σ(W x + b), σ(−s)); elsewhere in the body the
        argument is bracketed as an operand (1 − (W x)^{∘2}, 2 (−s))."""
        variable, body = entrywise_parts(expr)
        argument = expr.expr
        if isinstance(body, sp.Pow) and body.base == variable and body.exp.is_number:
            if body.exp == -1:
                return rf"1 \oslash {self._atom(argument)}"  # entrywise reciprocal
            return rf"{self._atom(argument)}^{{\circ {self._print(body.exp)}}}"
        names = {**self._settings["symbol_names"], variable: self._atom(argument)}
        bare = {**self._settings.get("bare_names", {}), variable: self._print(argument)}
        saved = self._settings.get("entrywise")
        self._settings["entrywise"] = variable
        try:
            with substituted_names(self, names, bare):
                return self._print(body)
        finally:
            self._settings["entrywise"] = saved

    def _varies(self, expr: sp.Basic) -> bool:
        """Inside an entrywise body: whether ``expr`` is a vector there (holds the variable)."""
        variable = self._settings.get("entrywise")
        return variable is not None and expr.has(variable)

    def _print_entrywise_Mul(self, expr: sp.Mul) -> str:
        """A product in an entrywise body, where the variable stands for a vector: the factors
        that vary joined by ⊙ and ⊘ (s ⊙ σ(s), 1 ⊘ σ(s)), the constant ones in front."""
        number: sp.Number = sp.S.One
        scalars: list[sp.Basic] = []
        pieces: list[sp.Basic] = []
        divisors: list[sp.Basic] = []
        for factor in expr.args:
            if not self._varies(factor):
                number, scalars = (
                    (number * factor, scalars) if factor.is_Number else (number, [*scalars, factor])
                )
            elif isinstance(factor, sp.Pow) and factor.exp.is_negative:
                divisors.append(factor.base ** (-factor.exp))
            else:
                pieces.append(factor)
        text = ""
        for index, operand in enumerate(pieces + divisors):
            flipped, printed = self._bracketed(operand, Binding.POSTFIX)
            number = -number if flipped else number
            divides = index >= len(pieces)
            operator = r" \oslash " if divides else r" \odot "
            text += (operator if index else "1" + operator if divides else "") + printed
        return self._product(number, scalars, [text], grouped=len(pieces + divisors) > 1)

    def _print_Pow(self, expr: sp.Pow) -> str:
        """In an entrywise body a power of what varies is entrywise: σ(s)^{∘2}, 1 ⊘ σ(s); a
        function's power is \\tanh^{2}(z) only for a number, else σ(a)^{a - 1}."""
        if self._varies(expr.base) and expr.exp.is_number and not self._varies(expr.exp):
            if expr.exp.is_negative:
                return self._print_entrywise_Mul(sp.Mul(1, expr, evaluate=False))
            return rf"{self._atom(expr.base)}^{{\circ {self._print(expr.exp)}}}"
        base, exp = expr.args
        if is_scalar_trace(base) and self._binding(base) != Binding.ATOM and exp not in _ROOTS:
            # (xᵀ x)^{3/2}: the scalar a 1×1 trace stands for, bracketed under its power
            return rf"\left({self._print(base)}\right)^{{{self._print(exp)}}}"
        if isinstance(expr.base, sp.Function) and not expr.exp.is_Rational:
            return rf"{self._atom(expr.base)}^{{{self._print(expr.exp)}}}"  # σ(a)^{a - 1}
        return str(super()._print_Pow(expr))


# tex(expr) of the expressions printed lately, keyed by identity (the node kept beside its text,
# so its id is not reused while the entry exists): a step, its check and its page print the
# same expression
_PRINTED: dict[int, tuple[sp.Basic, str]] = {}
_PRINTED_MAX = 4096


def tex(expr: Any, **settings: Any) -> str:
    """The LaTeX of a sympy expression in derive's notation (settings as for sympy's ``latex``)."""
    if settings or not isinstance(expr, sp.Basic):
        return DeriveLatexPrinter(settings).doprint(expr)
    found = _PRINTED.get(id(expr))
    if found is not None and found[0] is expr:
        return found[1]
    printed = DeriveLatexPrinter().doprint(expr)
    if len(_PRINTED) >= _PRINTED_MAX:
        _PRINTED.clear()
    _PRINTED[id(expr)] = (expr, printed)
    return printed
