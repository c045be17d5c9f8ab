"""The objects that flow through the pipeline: a Network in, a Solution out.

A Solution is a list of Parts; a Part is a list of Steps and the answers they arrive at. The
engine builds Steps and answers together, so the document cannot disagree with the answers;
the templates only lay the records out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeAlias

import sympy as sp

from derive.errors import Location

Dim: TypeAlias = sp.Expr  # a dimension: a positive integer symbol (n, k) or an Integer
Shape: TypeAlias = tuple[Dim, Dim]  # (rows, cols); a scalar is (1, 1)


def as_dim(dim: int | sp.Basic) -> sp.Expr:
    """A dimension as a sympy expression (dimensions may come from code as plain ints)."""
    return sp.Integer(dim) if isinstance(dim, int) else dim


class Tex(str):
    """LaTeX written by derive's own code (never user text), placed in documents as is."""

    __slots__ = ()


# What a displayed formula side may be: a sympy expression (printed by derive's LatexPrinter),
# trusted LaTeX (Tex), or plain user text (escaped before it reaches LaTeX).
MathItem: TypeAlias = sp.Basic | Tex | str


@dataclass(frozen=True)
class Quantity:
    """A named value of the network: a given (input, parameter, target) or a computed one."""

    name: str
    shape: Shape
    symbol: sp.Basic  # sympy Symbol for scalars, MatrixSymbol otherwise

    @property
    def is_scalar(self) -> bool:
        return self.shape == (1, 1)

    @property
    def kind(self) -> str:
        """'scalar', 'vector' (a column n x 1) or 'matrix'."""
        if self.is_scalar:
            return "scalar"
        if self.shape[1] == 1:
            return "vector"
        return "matrix"


@dataclass(frozen=True)
class Equation:
    """``target = rhs`` as the user wrote it (``text``) and as sympy over the quantities."""

    target: Quantity
    rhs: sp.Basic
    text: str
    location: Location | None = None


@dataclass
class Network:
    """Givens, equations in order, the loss (the last quantity), what to differentiate, variants.

    Built by the YAML reader or in Python (``derive.api``); both produce the same object.
    """

    title: str
    givens: dict[str, Quantity]
    equations: list[Equation]  # forward equations, in order; the loss equation is the last
    wrt: list[str]
    variants: dict[str, Equation] = field(default_factory=dict)
    assumptions: list[str] = field(default_factory=list)  # extra user-stated assumptions
    onehot: frozenset[str] = frozenset()  # givens declared one-hot (entries >= 0 summing to 1)
    source: str = "<string>"

    @property
    def loss(self) -> Equation:
        return self.equations[-1]

    @property
    def quantities(self) -> dict[str, Quantity]:
        """Every named value: givens, then computed ones in order."""
        found = dict(self.givens)
        for equation in self.equations:
            found[equation.target.name] = equation.target
        return found

    @property
    def all_scalar(self) -> bool:
        return all(q.is_scalar for q in self.quantities.values())

    def with_variant(self, name: str) -> Network:
        """The network with the equation the variant ``name`` replaces swapped for the variant's."""
        replacement = self.variants[name]
        equations = [
            replacement if eq.target.name == replacement.target.name else eq
            for eq in self.equations
        ]
        return Network(
            title=self.title,
            givens=self.givens,
            equations=equations,
            wrt=self.wrt,
            variants={},
            assumptions=self.assumptions,
            onehot=self.onehot,
            source=self.source,
        )


@dataclass(frozen=True)
class Line:
    """One displayed line ``lhs = rhs`` (or ``lhs`` alone when ``rhs`` is None)."""

    lhs: MathItem
    rhs: MathItem | None = None
    relation: str = "="
    value: sp.Basic | None = None  # the sympy expression a Tex rhs is written from, if any


@dataclass(frozen=True)
class Step:
    """One step of a derivation: what was done, the math, and the rule that justifies it."""

    title: str  # plain text, e.g. "Backpropagate into h"
    lines: tuple[Line, ...]
    rule: str = ""  # plain text: why this step holds
    rule_math: Tex | None = None  # the rule as a formula, if it has one


@dataclass(frozen=True)
class Answer:
    """The final result for one thing asked (a gradient, a minimiser, a number, an identity)."""

    name: str  # what was asked, e.g. "W1"
    label: MathItem  # how the question reads, e.g. Tex(r"\frac{\partial e}{\partial W_1}")
    value: sp.Basic  # the final expression (no intermediate δ left) or exact number
    shape: tuple[int | str, ...] = ()  # () for scalars, else (rows, cols) as JSON-ready values
    compact: sp.Basic | None = None  # the same answer written with named adjoints, if shorter
    index_form: Line | None = None  # the per-entry form, e.g. ∂e/∂W1_ij = δ_s,i x_j
    display: sp.Basic | None = None  # what the document boxes when ``value`` is too long to print
    note: str = ""  # plain text shown under the answer

    @property
    def shown(self) -> sp.Basic:
        """The expression the document boxes."""
        return self.value if self.display is None else self.display


@dataclass(frozen=True)
class Verification:
    """How the answers of a Part were checked numerically."""

    points: int
    max_rel_error: float
    ok: bool
    method: str = "complex-step derivatives, float64"


@dataclass
class Part:
    """One problem (or one variant of it): statement, assumptions, steps, answers, check."""

    name: str  # "main", a variant's name, or a problem's id
    heading: str
    statement: str = ""  # plain text
    assumptions: list[MathItem] = field(default_factory=list)
    setup: list[Line] = field(default_factory=list)  # e.g. the forward equations
    steps: list[Step] = field(default_factory=list)
    answers: dict[str, Answer] = field(default_factory=dict)
    verification: Verification | None = None
    # each adjoint δ_v and its definition in later adjoints, closest to the loss first: what an
    # answer written with named adjoints (``Answer.compact``) needs to be evaluated
    adjoints: list[tuple[sp.Basic, sp.Basic]] = field(default_factory=list)


@dataclass
class Solution:
    """A whole solution document: a title and its parts."""

    title: str
    parts: list[Part]
    subtitle: str = ""
    # problems that gave up (time or memory limit): "file: problem 'mt-3': gave up after 30 s …"
    failures: list[str] = field(default_factory=list)

    def answers_of(self, part: str) -> dict[str, Answer]:
        """The answers of the part named ``part`` ({} if there is none)."""
        return next((p.answers for p in self.parts if p.name == part), {})

    def answer(self, part: str, name: str) -> Answer:
        for candidate in self.parts:
            if candidate.name == part:
                return candidate.answers[name]
        raise KeyError(part)

    def to_latex(self) -> str:
        from derive.render import render_latex

        return render_latex(self)

    def to_markdown(self) -> str:
        from derive.render import render_markdown

        return render_markdown(self)

    def to_json(self) -> str:
        from derive.render import render_json

        return render_json(self)

    def to_pdf(self, path: str) -> None:
        from derive.render import write_pdf

        write_pdf(self, path)

    def _repr_latex_(self) -> str:
        from derive.render import render_latex_fragment

        return render_latex_fragment(self)
