"""Steps of a network's derivation, built from the same Adjoint objects that hold the answers.

Three notations: "matrix" (⊙, ᵀ; the default when anything is a vector), "scalar" (the chain
rule with ∂ fractions and each local derivative; the default when every quantity is a scalar),
and "index" (the matrix steps plus each result entry by entry, δ_{s,i} and ∂e/∂W_{ij}).
"""

from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.hadamard import HadamardProduct

from derive.engine import Adjoint, Backward
from derive.errors import UnsupportedError
from derive.graph import tree_size
from derive.model import Answer, Line, Network, Quantity, Step, Tex, as_dim
from derive.printing import tex
from derive.simplify import tidy
from derive.softmax import Softmax

NOTATIONS = ("matrix", "index", "scalar")
PRINTABLE_NODES = 220  # largest substituted answer (nodes, written out as a tree) printed in full


class Broadcast:
    """The rule key of a vector or scalar spread across a batch (𝟏 b, b 𝟏ᵀ, b 𝟏)."""


class RowSoftmax:
    """The rule key of softmax over the rows (or columns) of a matrix."""


# The rule each node type applies, as a solution key states it (denominator layout).
RULES: dict[type, tuple[str, str]] = {
    Broadcast: (
        "broadcast across the batch: the gradient sums over the examples",
        r"Z = \mathbf{1} b:\ \delta_b \mathrel{+}= \mathbf{1}^{\top} \delta_Z"
        r" = \textstyle\sum_i (\delta_Z)_{i,:}",
    ),
    RowSoftmax: (
        "softmax of each row",
        r"P = \operatorname{softmax}(Z):\ \delta_Z \mathrel{+}= P \odot \delta_P"
        r" - ((P \odot \delta_P) \mathbf{1} \mathbf{1}^{\top}) \odot P",
    ),
    sp.MatMul: (
        "matrix product",
        r"Z = AB:\ \delta_A \mathrel{+}= \delta_Z B^{\top},"
        r"\ \delta_B \mathrel{+}= A^{\top}\delta_Z",
    ),
    sp.MatAdd: (
        "sum",
        r"Z = A + B:\ \delta_A \mathrel{+}= \delta_Z,\ \delta_B \mathrel{+}= \delta_Z",
    ),
    sp.Add: ("sum", r"z = a + b:\ \delta_a \mathrel{+}= \delta_z"),
    sp.Mul: ("product", r"z = ab:\ \delta_a \mathrel{+}= \delta_z\, b"),
    sp.Pow: ("power", r"z = a^{p}:\ \delta_a \mathrel{+}= \delta_z\, p\, a^{p-1}"),
    sp.Function: ("function", r"z = f(a):\ \delta_a \mathrel{+}= \delta_z\, f'(a)"),
    sp.Transpose: ("transpose", r"Z = A^{\top}:\ \delta_A \mathrel{+}= \delta_Z^{\top}"),
    HadamardProduct: (
        "elementwise product",
        r"Z = A \odot B:\ \delta_A \mathrel{+}= \delta_Z \odot B",
    ),
    Softmax: (
        "softmax",
        r"p = \operatorname{softmax}(z):\ \delta_z \mathrel{+}= p \odot \delta_p"
        r" - p\,(p^{\top}\delta_p)",
    ),
    ElementwiseApplyFunction: (
        "elementwise function",
        r"Z = f(A):\ \delta_A \mathrel{+}= \delta_Z \odot f'(A)",
    ),
}


def default_notation(network: Network) -> str:
    return "scalar" if network.all_scalar else "matrix"


def check_notation(network: Network, notation: str) -> None:
    if notation not in NOTATIONS:
        raise UnsupportedError(f"unknown notation '{notation}'; use one of {', '.join(NOTATIONS)}")
    if notation == "scalar" and not network.all_scalar:
        vectors = [q.name for q in network.quantities.values() if not q.is_scalar]
        raise UnsupportedError(
            "scalar notation needs every quantity to be a scalar; "
            f"not scalars: {', '.join(vectors)} (use --notation matrix or index)"
        )


def partial(numerator: Quantity | sp.Basic, denominator: Quantity | sp.Basic) -> str:
    """∂a/∂b in LaTeX."""
    top = numerator.symbol if isinstance(numerator, Quantity) else numerator
    bottom = denominator.symbol if isinstance(denominator, Quantity) else denominator
    return rf"\frac{{\partial {tex(top)}}}{{\partial {tex(bottom)}}}"


def adjoint_steps(backward: Backward, notation: str) -> list[Step]:
    """One step per computed quantity, closest to the loss first."""
    network = backward.network
    steps = []
    for name, adjoint in backward.adjoints.items():
        if name in network.givens:
            continue
        steps.append(_adjoint_step(network, adjoint, notation))
    return steps


def _adjoint_step(network: Network, adjoint: Adjoint, notation: str) -> Step:
    loss = network.loss.target
    label = Tex(rf"{tex(adjoint.symbol)} = {partial(loss, adjoint.quantity)}")
    lines: list[Line] = []
    if notation == "scalar":
        lines.extend(_scalar_chain(network, adjoint))
    else:
        summed = (
            sp.Add(*[t.contribution for t in adjoint.terms]) if adjoint.quantity.is_scalar else None
        )
        raw = summed if summed is not None else sp.MatAdd(*[t.contribution for t in adjoint.terms])
        lines.append(Line(label, raw))
    lines.extend(_simplification_lines(adjoint, lines[-1].rhs))
    if notation == "index" and not adjoint.quantity.is_scalar:
        lines.append(_index_line(adjoint.symbol, adjoint.definition))
    users = ", ".join(t.equation.target.name for t in adjoint.terms)
    return Step(
        title=f"Backpropagate into {adjoint.quantity.name}",
        lines=tuple(lines),
        rule=_rule_text(adjoint, users, network.onehot),
        rule_math=_rule_math(adjoint),
    )


def _scalar_chain(network: Network, adjoint: Adjoint) -> list[Line]:
    """∂e/∂v = Σ_u ∂e/∂u ∂u/∂v, each local derivative, then the product."""
    loss = network.loss.target
    quantity = adjoint.quantity
    chain = []
    locals_: list[Line] = []
    combined = []
    for term in adjoint.terms:
        user = term.equation.target
        local = _local_derivative(term.contribution, user, loss)
        locals_.append(Line(Tex(partial(user, quantity)), local))
        if user.name == loss.name:
            chain.append(partial(loss, quantity))
            combined.append(local)
        else:
            chain.append(rf"{partial(loss, user)}\,{partial(user, quantity)}")
            combined.append(sp.Symbol(f"delta_{user.name}") * local)
    if len(adjoint.terms) == 1 and adjoint.terms[0].equation.target.name == loss.name:
        return locals_
    head = Line(Tex(partial(loss, quantity)), Tex(" + ".join(chain)))
    product = Line(Tex(""), sp.Add(*combined))
    return [*locals_, head, product]


def _local_derivative(contribution: sp.Basic, user: Quantity, loss: Quantity) -> sp.Basic:
    """∂u/∂v read off the engine's own term δ_u ∂u/∂v (the loss's term has δ_e = 1)."""
    if user.name == loss.name:
        return contribution
    seed = sp.Symbol(f"delta_{user.name}")
    local = contribution / seed
    if local.has(seed):  # δ_u a + δ_u b: pull δ_u out of the sum, then it cancels
        local = tidy(contribution) / seed
    return sp.cancel(local) if local.has(seed) else local


def _simplification_lines(adjoint: Adjoint, shown: object) -> list[Line]:
    """The inlined and simplified forms, where they differ from what is already shown."""
    lines = []
    if adjoint.inlined is not None:
        lines.append(Line(Tex(""), adjoint.inlined))
    last = lines[-1].rhs if lines else shown
    if tex(adjoint.definition) != _as_tex(last):
        lines.append(Line(Tex(""), adjoint.definition))
    return lines


def _as_tex(item: object) -> str:
    return item if isinstance(item, str) else tex(item)


def _rule_text(adjoint: Adjoint, users: str, onehot: frozenset[str] = frozenset()) -> str:
    """What the step uses, in a few words: the rule of the node nearest the quantity (or that
    several uses add up), and the one-hot fact a simplification needs. Nothing for a plain
    substitution (u = v)."""
    kinds = _nearest_rules(adjoint)
    found = []
    if len(adjoint.terms) > 1:
        found.append(f"{adjoint.quantity.name} is used by {users}: the contributions add")
    elif len(kinds) == 1 and kinds[0] is not None:
        name = RULES[kinds[0]][0]
        found.append(name[:1].upper() + name[1:])
    if adjoint.inlined is not None and onehot:
        if _matrix_onehot(adjoint, onehot):
            found.append(f"each row of {', '.join(sorted(onehot))} is one-hot: it sums to 1")
        else:
            found.append(f"{', '.join(sorted(onehot))} is one-hot: its entries sum to 1")
    return "; ".join(found) + ("." if found else "")


def _matrix_onehot(adjoint: Adjoint, onehot: frozenset[str]) -> bool:
    """True when a one-hot target the step relies on is a matrix (its rows are one-hot)."""
    symbols = adjoint.definition.atoms(sp.MatrixSymbol)
    return any(s.name in onehot and s.shape[1] != 1 for s in symbols)


def _rule_math(adjoint: Adjoint) -> Tex | None:
    """The one rule the step applies, as a formula, when every use applies the same one."""
    kinds = _nearest_rules(adjoint)
    if len(kinds) != 1 or kinds[0] is None:
        return None
    return Tex(RULES[kinds[0]][1])


def _nearest_rules(adjoint: Adjoint) -> list[type | None]:
    """The rule key of the node nearest above each use of the quantity in the equations that
    use it (None where an equation is the quantity itself, u = v), each key once."""
    found: list[type | None] = []
    for term in adjoint.terms:
        for kind in _nearest_above(term.equation.rhs, adjoint.quantity.symbol, None):
            if kind not in found:
                found.append(kind)
    return found


def _nearest_above(expr: sp.Basic, symbol: sp.Basic, above: type | None) -> set[type | None]:
    """The rule key of the nearest node with a rule above each occurrence of ``symbol`` in
    ``expr``; ``above`` is the nearest one above ``expr`` itself."""
    if expr == symbol:
        return {above}
    if not expr.args or not expr.has(symbol):
        return set()
    here = next((kind for kind in RULES if isinstance(expr, kind)), above)  # MatMul before Mul
    if isinstance(expr, sp.MatMul) and _spreads(expr, symbol):
        here = Broadcast
    if isinstance(expr, Softmax) and expr.shape[1] != 1:
        here = RowSoftmax
    if isinstance(expr, sp.Mul) and len(expr.args) == 2 and expr.args[0] == -1:
        here = above  # a sign is not a step's rule: in (t − y)² the rule for y is the power
    return set().union(*(_nearest_above(arg, symbol, here) for arg in expr.args))


def _spreads(product: sp.MatMul, symbol: sp.Basic) -> bool:
    """True for 𝟏 b, b 𝟏ᵀ or 𝟏 bᵀ: ``symbol`` next to nothing but all-ones factors."""
    _, factors = product.as_coeff_matrices()
    ones = [f for f in factors if isinstance(f, sp.OneMatrix)]
    others = [f for f in factors if not isinstance(f, sp.OneMatrix)]
    return bool(ones) and len(others) == 1 and others[0] in (symbol, transpose_of(symbol))


def transpose_of(symbol: sp.Basic) -> sp.Basic:
    return symbol.T if isinstance(symbol, sp.MatrixExpr) else symbol


def _index_line(symbol: sp.Basic, value: sp.Basic) -> Line:
    """``symbol``'s entry = ``value``'s entry (i for column vectors, j for rows, ij otherwise)."""
    if not isinstance(symbol, sp.MatrixExpr):
        return Line(symbol, value)
    row, col = entry_indices(symbol)
    return Line(symbol[row, col], index_entry(value, row, col))


def entry_indices(matrix: sp.MatrixExpr) -> tuple[sp.Basic, sp.Basic]:
    i, j = sp.symbols("i j", integer=True)
    rows, cols = matrix.shape
    if cols == 1:
        return i, sp.S.Zero
    if rows == 1:
        return sp.S.Zero, j
    return i, j


def index_entry(expr: sp.Basic, i: sp.Basic, j: sp.Basic) -> sp.Basic:
    """Entry (i, j) of a matrix expression, as sympy writes it with sums over indices."""
    if isinstance(expr, sp.MatrixExpr):
        entry = expr[i, j]
    else:
        entry = expr.replace(lambda e: isinstance(e, sp.Trace), lambda e: e.arg[0, 0])
    return _textbook_sums(entry)


def _textbook_sums(entry: sp.Basic) -> sp.Basic:
    """Σ_{k=1}^{n} as a key writes it: sympy's entries sum a dummy from 0 to n − 1.

    Entry labels are a convention, so counting them from 1 relabels every entry alike.
    """
    names = iter(sp.symbols("k l p q r", integer=True))
    renamed: dict[sp.Basic, sp.Basic] = {}

    def relabel(total: sp.Sum) -> sp.Basic:
        (index, low, high), *rest = total.limits
        if rest or low != 0:
            return total
        if index not in renamed:
            renamed[index] = next(names, index)
        new = renamed[index]
        return sp.Sum(total.function.xreplace({index: new}), (new, 1, high + 1))

    return entry.replace(lambda e: isinstance(e, sp.Sum), relabel)


def answer_for(network: Network, adjoint: Adjoint, notation: str) -> tuple[Answer, Step]:
    """The boxed answer for a wrt given and the step that reads it off its adjoint."""
    quantity = adjoint.quantity
    loss = network.loss.target
    label = Tex(partial(loss, quantity))
    lines = [Line(label, adjoint.definition)]
    size = tree_size(adjoint.resolved, limit=10 * PRINTABLE_NODES)
    printable = size <= PRINTABLE_NODES
    if printable and adjoint.resolved != adjoint.definition:  # == walks the small tree only
        lines.append(Line(Tex(""), adjoint.resolved))
    index_form = None
    if notation == "index" and not quantity.is_scalar:
        row, col = entry_indices(quantity.symbol)
        entry = quantity.symbol[row, col]
        # per entry, the substituted answer reads like the key when it is short
        resolved = adjoint.resolved
        short = tree_size(resolved, limit=200) < 200 and sp.count_ops(resolved) <= 40
        source = adjoint.resolved if short else adjoint.definition
        index_form = Line(Tex(partial(loss, entry)), index_entry(source, row, col))
        lines.append(index_form)
    shape = () if quantity.is_scalar else tuple(_json_dim(d) for d in quantity.shape)
    answer = Answer(
        name=quantity.name,
        label=label,
        value=adjoint.resolved,
        shape=shape,
        compact=adjoint.definition if adjoint.definition != adjoint.resolved else None,
        index_form=index_form,
        display=None if printable else adjoint.definition,
        note=""
        if printable
        else (
            "With every adjoint substituted the answer has "
            f"{'more than ' if size == 10 * PRINTABLE_NODES else ''}{size} terms and factors: "
            "too long to print; the JSON output holds it, checked like the rest."
        ),
    )
    step = Step(
        title=f"Gradient with respect to {quantity.name}",
        lines=tuple(lines),
        rule=_rule_text(adjoint, ", ".join(t.equation.target.name for t in adjoint.terms)),
        rule_math=_rule_math(adjoint),
    )
    return answer, step


def _json_dim(dim: sp.Basic) -> int | str:
    dim = as_dim(dim)
    return int(dim) if dim.is_Integer else str(dim)
