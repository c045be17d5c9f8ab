"""Simplification to the forms a textbook uses, never by expanding everything.

``tidy`` only combines like terms of matrix sums (so σ(s) ⊙ (1 − σ(s)) keeps its shape);
``fuse_with_forward`` tries the forward definitions (y = σ(z)) on a small scalar adjoint and
keeps the result only when it is simpler, written back over the forward names (BCE on a
sigmoid: δ_z = y − t).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import sympy as sp
from sympy.core.mul import _keep_coeff
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.matrices.expressions.hadamard import HadamardProduct
from sympy.matrices.expressions.matexpr import MatrixElement

from derive.functions import ENTRY, elementwise
from derive.graph import NodeMap, bottom_up, postorder, substitute
from derive.model import Network
from derive.softmax import Softmax

# The fusions recognise textbook forms (y − t, p − t): entry i of those needs at most one inner
# product (softmax's pᵀδ). Entries of longer products nest sums that cost sympy seconds.
FUSE_INNER_PRODUCTS = 1


class Tidy:
    """Combine like terms and pull out common factors, bottom up over the shared graph.

    Matrix sums combine like terms (so σ(s) ⊙ (1 − σ(s)) keeps its shape); scalar sums get
    sympy's ``factor_terms`` one level deep (2 y − 2 t → 2 (y − t)), with every factor that is
    not a number hidden behind a placeholder, so sympy's scalar algebra never walks into a
    matrix expression (a trace, a 1×1 product) or re-walks a shared subexpression. The memo is
    kept between calls: a subexpression shared by several answers is tidied once.
    """

    def __init__(self) -> None:
        self.memo: NodeMap[sp.Basic] = NodeMap()

    def __call__(self, expr: sp.Basic) -> sp.Basic:
        return bottom_up(expr, _tidy_node, self.memo, descend=_has_expressions)


def tidy(expr: sp.Basic) -> sp.Basic:
    """One expression tidied (see ``Tidy``; use one ``Tidy`` for many related expressions)."""
    return Tidy()(expr)


def _has_expressions(node: sp.Basic) -> bool:
    # a Lambda's body is a function definition (1/x, x^2), a MatrixSymbol's args are its name
    return not isinstance(node, sp.Lambda | sp.MatrixSymbol)


def _tidy_node(node: sp.Basic) -> sp.Basic:
    """One node whose arguments are already tidy."""
    if isinstance(node, sp.MatAdd):
        terms = [part for term in node.args for part in _distribute(term)]
        return _common_factor(sp.MatAdd(*terms).doit(deep=False))
    if isinstance(node, sp.MatMul):
        coefficient, matrices = node.as_coeff_matrices()
        count = len(matrices)
        flat_coefficient, flat = _flattened(coefficient, matrices)
        inner, folded = _fold_ones(flat)
        folds = inner != 1 or len(folded) < len(flat)  # ones met, perhaps across a nesting
        if folds:
            coefficient, matrices = flat_coefficient * inner, folded
        matrices = [m for m in matrices if not isinstance(m, sp.Identity)] or [matrices[0]]
        if len(matrices) < count or folds:
            node = sp.MatMul(coefficient, *matrices) if coefficient != 1 else sp.MatMul(*matrices)
            if len(matrices) == 1:
                return matrices[0] if coefficient == 1 else node
        if coefficient == 1 and len(matrices) == 1:
            return matrices[0]
        if len(matrices) == 1 and isinstance(matrices[0], sp.MatAdd):  # c (A + B) → c A + c B
            return _common_factor(sp.MatAdd(*_distribute(node)).doit(deep=False))
        return node
    if isinstance(node, HadamardProduct):
        return _drop_ones(node)
    if isinstance(node, sp.Transpose) and isinstance(node.arg, sp.MatMul):
        return _transposed_ones(node)
    if isinstance(node, sp.Trace):
        coefficient, matrices = _coeff_matrices(node.arg)
        if len(matrices) == 1 and isinstance(matrices[0], sp.OneMatrix):  # tr(c 𝟏_{a×a}) = c a
            return coefficient * matrices[0].shape[0]
    if isinstance(node, DiagMatrix):
        coefficient, matrices = _coeff_matrices(node.args[0])
        if len(matrices) == 1 and isinstance(matrices[0], sp.OneMatrix):  # diag(c 𝟏) = c I
            identity = sp.Identity(node.shape[0])
            return identity if coefficient == 1 else sp.MatMul(coefficient, identity)
    if isinstance(node, sp.Add):
        return _factor_sum(node)
    return node


def _common_factor(total: sp.Basic) -> sp.Basic:
    """1/N P − 1/N Y → 1/N (P − Y): a scalar every term of a matrix sum carries, pulled out
    once the like terms are combined (the batch mean of a key's (P − Y)/N)."""
    if not isinstance(total, sp.MatAdd):
        return total
    scales = []
    for term in total.args:
        coefficient = term.as_coeff_matrices()[0] if isinstance(term, sp.MatMul) else sp.S.One
        scale = coefficient if isinstance(coefficient, sp.Basic) else sp.Integer(coefficient)
        numeric, symbolic = scale.as_coeff_Mul()
        scales.append((abs(numeric), symbolic))
    first = scales[0]
    if first == (1, 1) or any(scale != first for scale in scales[1:]):
        return total
    factor = first[0] * first[1]
    inner = [
        sp.MatMul(term.as_coeff_matrices()[0] / factor, *term.as_coeff_matrices()[1])
        for term in total.args
    ]
    return sp.MatMul(factor, sp.MatAdd(*[_unit(t) for t in inner]))


def _unit(term: sp.MatMul) -> sp.Basic:
    coefficient, matrices = term.as_coeff_matrices()
    product = matrices[0] if len(matrices) == 1 else sp.MatMul(*matrices)
    return product if coefficient == 1 else sp.MatMul(coefficient, product)


def _coeff_matrices(matrix: sp.Basic) -> tuple[sp.Basic, list[sp.Basic]]:
    if isinstance(matrix, sp.MatMul):
        coefficient, matrices = matrix.as_coeff_matrices()
        return coefficient, list(matrices)
    return sp.S.One, [matrix]


def _flattened(
    coefficient: sp.Basic, matrices: Sequence[sp.Basic]
) -> tuple[sp.Basic, list[sp.Basic]]:
    """A product's factors with a nested product's spliced in: (A 𝟏) 𝟏ᵀ → A, 𝟏, 𝟏ᵀ."""
    flat: list[sp.Basic] = []
    for matrix in matrices:
        if isinstance(matrix, sp.MatMul):
            inner, factors = matrix.as_coeff_matrices()
            coefficient = coefficient * inner
            flat.extend(factors)
        else:
            flat.append(matrix)
    return coefficient, flat


def _transposed_ones(node: sp.Transpose) -> sp.Basic:
    """(c A 𝟏)ᵀ = c 𝟏ᵀ Aᵀ where the product holds ones, so they can fold with the factors
    beside the transpose: an adjoint c 𝟏 substituted into δᵀ 𝟏 is ((c 𝟏)ᵀ 𝟏 = n c)."""
    coefficient, matrices = _flattened(*node.arg.as_coeff_matrices())
    if not any(isinstance(m, sp.OneMatrix) for m in matrices):
        return node
    flipped = [
        sp.OneMatrix(*m.shape[::-1]) if isinstance(m, sp.OneMatrix) else m.T
        for m in reversed(matrices)
    ]
    if coefficient == 1 and len(flipped) == 1:
        return flipped[0]
    return sp.MatMul(coefficient, *flipped) if coefficient != 1 else sp.MatMul(*flipped)


def _fold_ones(matrices: list[sp.Basic]) -> tuple[sp.Basic, list[sp.Basic]]:
    """Neighbouring all-ones factors multiplied out: 𝟏_{a×1} 𝟏_{1×b} = 𝟏_{a×b}, and
    𝟏_{a×n} 𝟏_{n×b} = n 𝟏_{a×b} (the inner size n comes out as a scalar factor); a 1×1 one
    left beside other factors dropped."""
    scale: sp.Basic = sp.S.One
    folded: list[sp.Basic] = []
    for matrix in matrices:
        if isinstance(matrix, sp.Transpose) and isinstance(matrix.arg, sp.OneMatrix):
            matrix = sp.OneMatrix(*matrix.shape)
        last = folded[-1] if folded else None
        if (
            isinstance(matrix, sp.OneMatrix)
            and isinstance(last, sp.OneMatrix)
            and last.shape[1] == matrix.shape[0]
        ):
            scale *= matrix.shape[0]
            folded[-1] = sp.OneMatrix(last.shape[0], matrix.shape[1])
        else:
            folded.append(matrix)
    single = [m for m in folded if not (isinstance(m, sp.OneMatrix) and m.shape == (1, 1))]
    return scale, single or folded[:1]  # 𝟏_{1×1} is the number 1 beside other factors


def _factor_sum(total: sp.Add) -> sp.Basic:
    """Pull the common content, sign and factors out of a scalar sum: 2 y − 2 t → 2 (y − t).

    Like sympy's ``factor_terms`` one level deep: only the terms' own factors are looked at
    (a factor is a base with a rational exponent), so a matrix expression or a shared
    subexpression inside a factor is never walked.
    """
    coefficients: list[sp.Rational] = []
    powers: list[dict[sp.Basic, sp.Rational]] = []
    for term in total.args:
        coefficient, rest = term.as_coeff_Mul()
        if not coefficient.is_Rational:
            return total
        coefficients.append(coefficient)
        powers.append(_powers(rest))
    numerators = [abs(c.p) for c in coefficients]
    denominators = [c.q for c in coefficients]
    content = sp.Rational(math.gcd(*numerators), math.lcm(*denominators))
    if all(c < 0 for c in coefficients):
        content = -content
    common: dict[sp.Basic, sp.Rational] = {}
    for base, exponent in powers[0].items():
        exponents = [p.get(base) for p in powers]
        if all(e is not None and (e > 0) == (exponent > 0) for e in exponents):
            common[base] = min(exponents, key=abs)  # type: ignore[arg-type]
    if content == 1 and not common:
        return total
    reduced = []
    for coefficient, found in zip(coefficients, powers, strict=True):
        factors = [b ** (e - common.get(b, 0)) for b, e in found.items()]
        reduced.append(sp.Mul(coefficient / content, *factors))
    pulled = sp.Mul(*[base**exponent for base, exponent in common.items()])
    # _keep_coeff keeps 2 (y − t) as it is; a plain Mul would distribute the 2 again
    return _keep_coeff(content, pulled * sp.Add(*reduced), sign=True)


def _powers(product: sp.Basic) -> dict[sp.Basic, sp.Rational]:
    """A product's factors as base → rational exponent (x² y⁻¹ → {x: 2, y: −1})."""
    found: dict[sp.Basic, sp.Rational] = {}
    for factor in sp.Mul.make_args(product):
        base, exponent = factor.as_base_exp()
        if not exponent.is_Rational:
            base, exponent = factor, sp.S.One
        found[base] = found.get(base, sp.S.Zero) + exponent
    return found


def _drop_ones(product: HadamardProduct) -> sp.Basic:
    """(c 1) ⊙ X → c X: the ones that sum(X) = 1ᵀ X 1 leaves in its adjoint."""
    scale: sp.Basic = sp.S.One
    kept = []
    for factor in product.args:
        coefficient, matrices = (
            factor.as_coeff_matrices() if isinstance(factor, sp.MatMul) else (1, [factor])
        )
        if len(matrices) == 1 and isinstance(matrices[0], sp.OneMatrix):
            scale = scale * coefficient
        else:
            kept.append(factor)
    if len(kept) == len(product.args):
        return product
    if not kept:
        return sp.MatMul(scale, sp.OneMatrix(*product.shape)) if scale != 1 else product.args[0]
    kept_product = kept[0] if len(kept) == 1 else HadamardProduct(*kept)
    return kept_product if scale == 1 else sp.MatMul(scale, kept_product).doit(deep=False)


def _distribute(term: sp.Basic) -> list[sp.Basic]:
    """c (A + B) → [c A, c B] for a scalar c; anything else unchanged."""
    if isinstance(term, sp.MatAdd):
        return list(term.args)
    if isinstance(term, sp.MatMul):
        coefficient, matrices = term.as_coeff_matrices()
        if len(matrices) == 1 and isinstance(matrices[0], sp.MatAdd):
            return [coefficient * inner for inner in matrices[0].args]
    return [term]


def fuse_with_forward(
    expr: sp.Basic, definitions: dict[str, sp.Basic], network: Network
) -> sp.Basic | None:
    """``expr`` simplified with the scalar forward definitions substituted, or None.

    The result is written back over the forward names (σ(z) → y) so it reads like the key.
    """
    quantities = network.quantities
    present = expr.atoms(sp.Symbol, sp.MatrixSymbol)
    # only definitions over symbols already present (y = σ(z) where z is there too)
    scalar_definitions = {
        quantities[name].symbol: rhs
        for name, rhs in definitions.items()
        if quantities[name].is_scalar
        and quantities[name].symbol in present
        and rhs.atoms(sp.Symbol, sp.MatrixSymbol) <= present
    }
    if not scalar_definitions or sp.count_ops(expr) > 60:
        return None
    forward = expr.xreplace(scalar_definitions)
    simplified = _cancel(forward)
    if simplified is None:
        return None
    return simplified.xreplace({rhs: symbol for symbol, rhs in scalar_definitions.items()})


def fuse_entrywise(
    expr: sp.MatrixExpr, definitions: dict[str, sp.Basic], network: Network
) -> sp.Basic | None:
    """A vector or matrix ``expr`` simplified entry by entry, lifted back to matrix form, or None.

    Entry (i, j) of the expression is a scalar sympy can simplify: p_i (−t_i / p_i) cancels, a
    sum over a one-hot target's entries (a one-hot matrix's row) is 1, σ(z_i) folds back to
    y_i. The result is lifted back (X_ij → X, products → ⊙, functions → entrywise) when every
    term is an entry at (i, j).
    """
    if expr.shape == (1, 1) or _inner_products(expr) > FUSE_INNER_PRODUCTS:
        return None
    # softmax(z) written inline is one vector p here, as if the user had named it
    named = {
        node: sp.MatrixSymbol(f"_softmax{index}", *node.shape)
        for index, node in enumerate(n for n in postorder(expr) if isinstance(n, Softmax))
    }
    if named:
        lifted = fuse_entrywise(expr.xreplace(named), definitions, network)
        return None if lifted is None else lifted.xreplace({v: k for k, v in named.items()})
    i = sp.Dummy("i", integer=True)
    j = sp.Dummy("j", integer=True) if expr.shape[1] != 1 else sp.S.Zero
    entry = _scalar_traces(expr._entry(i, j, expand=False))  # sums left unevaluated
    entry = entry.replace(lambda e: isinstance(e, sp.Sum), lambda e: _onehot_sum(e, network))
    quantities = network.quantities
    present = entry.atoms(sp.MatrixSymbol)
    forward: dict[sp.Basic, sp.Basic] = {}
    for name, rhs in definitions.items():
        q = quantities[name]
        if q.is_scalar or q.symbol not in present or q.shape != expr.shape:
            continue
        if rhs.atoms(sp.MatrixSymbol) <= present and not rhs.has(sp.Sum):
            value = rhs[i, j]
            if not value.has(sp.Sum):
                forward[q.symbol[i, j]] = value
    if sp.count_ops(entry) > 80:
        return None
    simplified = _cancel(entry.xreplace(forward))
    if simplified is None:
        return None
    folded = simplified.xreplace({value: symbol for symbol, value in forward.items()})
    lifted = _lift(folded, (i, j), expr.shape)
    if lifted is None or lifted.has(sp.Sum, MatrixElement):  # Σ_k t_k, t_0 + t_1: not a vector
        return None
    return lifted


def _inner_products(expr: sp.Basic) -> int:
    """How many summed indices entry i of ``expr`` has: k − 1 for each product of k matrices."""
    return sum(
        len(node.as_coeff_matrices()[1]) - 1
        for node in postorder(expr)
        if isinstance(node, sp.MatMul)
    )


def _cancel(expr: sp.Basic) -> sp.Basic | None:
    """``expr`` as one cancelled fraction with common factors pulled out, or None.

    Rational cancellation is all the textbook fusions need (p_i (−t_i / p_i) = −t_i;
    (−t/y + (1 − t)/(1 − y)) y (1 − y) = y − t). Traces of matrix products are opaque to it
    (placeholders), so scalar algebra never reorders a matrix product. A result that brings in
    a function the expression did not have (tanh rewritten with cosh) is not a textbook form.
    """
    hidden, placeholders = _hide_traces(expr)
    simplified = sp.factor_terms(sp.cancel(hidden)).xreplace(placeholders)
    if _function_types(simplified) - _function_types(expr):
        return None
    return simplified


def _hide_traces(expr: sp.Basic) -> tuple[sp.Basic, dict[sp.Basic, sp.Basic]]:
    """``expr`` with every trace replaced by a placeholder, and the way back."""
    traces = {node for node in postorder(expr) if _opaque_scalar(node)}
    if not traces:
        return expr, {}
    names = {trace: sp.Dummy("tr") for trace in traces}
    return substitute(expr, names), {dummy: trace for trace, dummy in names.items()}


def _opaque_scalar(node: sp.Basic) -> bool:
    """A scalar built from a matrix (a trace, max(x) over the entries): scalar algebra must
    not walk into it."""
    if isinstance(node, sp.Trace):
        return True
    return isinstance(node, sp.Function) and any(
        isinstance(argument, sp.MatrixExpr) for argument in node.args
    )


def _function_types(expr: sp.Basic) -> set[type]:
    return {type(f) for f in expr.atoms(sp.Function)}


def _scalar_traces(entry: sp.Basic) -> sp.Basic:
    """tr(M) of a 1×1 product → its single entry, a sum over the inner index."""
    # unexpanded, so that Σ_k t_k stays a Sum even when the size is a number (2 classes)
    return entry.replace(
        lambda e: isinstance(e, sp.Trace) and e.arg.shape == (1, 1),
        lambda e: _entry_sum(e.arg),
    )


def _entry_sum(product: sp.MatrixExpr) -> sp.Basic:
    if isinstance(product, sp.MatMul):
        return product._entry(0, 0, expand=False)
    return product[0, 0]


def _onehot_sum(total: sp.Sum, network: Network) -> sp.Basic:
    """Σ_k c t_k = c for a one-hot t summed over all of its entries."""
    (index, low, high), *rest = total.limits
    coefficient, term = total.function.as_independent(index, as_Add=False)
    if rest or not isinstance(term, MatrixElement):
        return total
    matrix = term.parent
    if getattr(matrix, "name", None) not in network.onehot:
        return total
    rows, cols = matrix.shape
    if cols == 1:  # a one-hot vector: Σ_k t_k = 1
        full = low == 0 and sp.expand(high - (rows - 1)) == 0
        return coefficient if full and term.indices == (index, 0) else total
    # a matrix whose rows are one-hot: Σ_k Y_ik = 1
    full = low == 0 and sp.expand(high - (cols - 1)) == 0
    row = term.indices[0]
    return coefficient if full and term.indices[1] == index and not row.has(index) else total


def _lift(
    entry: sp.Basic, at: tuple[sp.Basic, sp.Basic], shape: tuple[sp.Basic, sp.Basic]
) -> sp.Basic | None:
    """The matrix whose entry ``at`` = (i, j) is ``entry``, or None if it is not entrywise."""
    if not any(entry.has(index) for index in at if index.free_symbols):
        return entry * sp.OneMatrix(*shape)
    if isinstance(entry, MatrixElement):
        whole = entry.indices == at and entry.parent.shape == shape  # not a column of W
        return entry.parent if whole else None
    if isinstance(entry, sp.Add):
        parts = [_lift(term, at, shape) for term in entry.args]
        return None if any(p is None for p in parts) else sp.MatAdd(*parts)
    if isinstance(entry, sp.Mul):
        dummies = [index for index in at if index.free_symbols]
        coefficient, dependent = entry.as_independent(*dummies, as_Add=False)
        factors = [_lift(f, at, shape) for f in sp.Mul.make_args(dependent)]
        if any(f is None for f in factors):
            return None
        product = factors[0] if len(factors) == 1 else HadamardProduct(*factors)
        return product if coefficient == 1 else coefficient * product
    if isinstance(entry, sp.Pow) and not any(entry.exp.has(index) for index in at):
        base = _lift(entry.base, at, shape)
        return None if base is None else elementwise(sp.Lambda(ENTRY, ENTRY**entry.exp), base)
    if isinstance(entry, sp.Function) and len(entry.args) == 1:
        argument = _lift(entry.args[0], at, shape)
        return None if argument is None else elementwise(entry.func, argument)
    return None
