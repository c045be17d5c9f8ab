"""Layers: a one-line layer call expanded into the named steps a course writes out.

An equation whose right side is a layer call, ``out = layernorm(x, gamma, beta)``, becomes
the equations of the layer's forward pass before it is built, each step named after the
layer's input, as the midterm's batch-norm problem and CS231n's staged graph write them::

    mu_x    = mean(x, 1)             μ: each row's mean (batchnorm: each column's, axis 0)
    x_c     = x - mu_x               centred values
    var_x   = mean(x_c .^ 2, 1)      biased variance, as torch and CS231n compute it
    sigma_x = sqrt(var_x + 1e-5)     ε inside the root
    x_hat   = x_c ./ sigma_x         normalised values x̂
    out     = gamma .* x_hat + beta

so the engine's reverse pass has an adjoint for every step (δ_x̂, δ_σ, δ_var, δ_x_c, δ_μ)
and the document shows them, while the user writes one line. ``dropout(h, m, p)`` is
inverted dropout with a given mask, ``h .* m / (1 - p)``. The shapes of the arguments are
checked here, so a wrong one is an error naming the layer's own equation, not a step the
user did not write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import sympy as sp

from derive import limits
from derive.errors import DeriveError, RedefinitionError, ShapeError, UnsupportedError
from derive.functions import ACTIVATIONS, VECTOR_FUNCTIONS
from derive.model import Shape
from derive.names import is_adjoint
from derive.parse import (
    Binary,
    Call,
    Name,
    Negate,
    Node,
    Number,
    ParsedEquation,
    Summation,
    TextSpan,
    Transposed,
    parse_equation,
)
from derive.shapes import ExpressionBuilder, Scope, Shaped, format_shape

EPSILON = "1e-5"  # torch's and CS231n's default ε


@dataclass(frozen=True)
class Argument:
    """One argument of a layer call: its text as written, its shape, where it starts."""

    text: str
    shaped: Shaped
    offset: int
    is_name: bool
    is_number: bool

    @property
    def term(self) -> str:
        """The argument as a term of a larger expression: a name or number as is, else in
        brackets."""
        return self.text if self.is_name or self.is_number else f"({self.text})"


@dataclass(frozen=True)
class LayerCall:
    """A layer call being expanded: the equation, its target, the arguments, and the names
    already in use (which the steps must not take)."""

    equation: ParsedEquation
    span: TextSpan
    layer: Layer
    arguments: tuple[Argument, ...]
    taken: frozenset[str]

    def fail(self, error: type[DeriveError], message: str, offset: int) -> DeriveError:
        where = self.span.location(offset)
        return error(f"in '{self.equation.text}': {message}", location=where)


Steps = list[tuple[str, str]]  # (target, right side), in order; the last defines the call's target


@dataclass(frozen=True)
class Layer:
    """A layer: how it is called, how many arguments it takes, and its steps."""

    name: str
    usage: str
    counts: tuple[int, ...]  # the numbers of arguments it accepts
    steps: Callable[[LayerCall], Steps]


def expanded(
    parsed: ParsedEquation, span: TextSpan, scope: Scope, *, equations: int = 0
) -> list[tuple[ParsedEquation, TextSpan]]:
    """``parsed`` as the equations to build: itself, or a layer call's steps. ``scope`` is what
    the equation may use; ``equations`` counts the others in the network (for the limit)."""
    layer_calls = list(_layer_calls(parsed.rhs))
    if not layer_calls:
        return [(parsed, span)]
    call = layer_calls[0]
    if call is not parsed.rhs or len(layer_calls) > 1:
        nested = next(item for item in layer_calls if item is not parsed.rhs)
        message = (
            f"write the layer on its own line, e.g. 'h = {nested.function}(…)', and use h "
            "here: a layer's steps become equations of their own"
        )
        where = span.location(nested.offset)
        raise UnsupportedError(f"in '{parsed.text}': {message}", location=where)
    if parsed.target in _taken(parsed, scope) or is_adjoint(parsed.target):
        return [(parsed, span)]  # the builder's error for a name already used names this line
    layer = LAYERS[call.function]
    if len(call.arguments) not in layer.counts:
        counts = ", ".join(str(n) for n in layer.counts[:-1]) + f" or {layer.counts[-1]}"
        message = f"{layer.name} takes {counts} arguments, not {len(call.arguments)}: {layer.usage}"
        raise UnsupportedError(
            f"in '{parsed.text}': {message}", location=span.location(call.offset)
        )
    builder = ExpressionBuilder(scope, parsed.text, span)
    written = parse_equation(parsed.text)  # offsets into the text itself, to slice arguments
    assert isinstance(written.rhs, Call)
    texts = _argument_texts(parsed.text, written.rhs.offset)
    arguments = tuple(
        Argument(text, builder.build(node), node.offset, isinstance(node, Name), _number(node))
        for text, node in zip(texts, call.arguments, strict=True)
    )
    taken = _taken(parsed, scope) | {parsed.target}
    steps = layer.steps(LayerCall(parsed, span, layer, arguments, taken))
    limits.check_count("equations", equations + len(steps), "equations", location=span.start)
    inexact = TextSpan(span.source, span.line, span.column, exact=False)
    return [(parse_equation(f"{target} = {rhs}"), inexact) for target, rhs in steps]


def _taken(parsed: ParsedEquation, scope: Scope) -> frozenset[str]:
    """The names in use besides the equation's own target: givens, every equation's target,
    functions, dimensions."""
    later = set(scope.later) - {parsed.target}
    names = {*scope.quantities, *later, *scope.functions, *scope.dimensions}
    return frozenset(names | {*ACTIVATIONS, *VECTOR_FUNCTIONS, *LAYERS})


def refuse_in_variant(parsed: ParsedEquation, label: str, span: TextSpan) -> None:
    """A variant is one equation; a layer's steps are several, so a layer is written in
    ``forward`` (a variant may still replace one of its steps, or its output's equation)."""
    for call in _layer_calls(parsed.rhs):
        message = (
            f"variant '{label}': {call.function} is a layer of several steps; write it in "
            "'forward' (a variant replaces one equation, which may be one of its steps)"
        )
        raise UnsupportedError(message, location=span.location(call.offset))


def _number(node: Node) -> bool:
    return isinstance(node, Number)


def _layer_calls(node: Node) -> list[Call]:
    """Every layer call in ``node``, outermost first (a loop: expressions may be deep)."""
    found: list[Call] = []
    stack: list[Node] = [node]
    while stack:
        item = stack.pop()
        match item:
            case Call():
                if item.function in LAYERS:
                    found.append(item)
                stack.extend(reversed(item.arguments))
            case Binary():
                stack.extend((item.right, item.left))
            case Negate() | Transposed():
                stack.append(item.operand)
            case Summation():
                stack.extend((item.body, item.upper, item.lower))
    return found


def _argument_texts(text: str, offset: int) -> list[str]:
    """The text of each argument of the call at ``offset``: split at its top-level commas."""
    start = text.index("(", offset) + 1
    texts, depth, begin = [], 0, start
    for index in range(start, len(text)):
        char = text[index]
        if char == "(":
            depth += 1
        elif char == ")" and depth > 0:
            depth -= 1
        elif char in ",)" and depth == 0:
            texts.append(text[begin:index].strip())
            begin = index + 1
            if char == ")":
                break
    return texts


# -- normalisation layers -------------------------------------------------------------------


@dataclass(frozen=True)
class Names:
    """The names of a normalisation's steps after a label, the input's name: μ_x, x_c, var_x,
    σ_x, x̂. ``source`` is how the steps refer to the input; when the input is an expression
    the first step names it ``source`` (``named``)."""

    label: str
    source: str
    named: bool

    @property
    def mean(self) -> str:
        return f"mu_{self.label}"

    @property
    def centred(self) -> str:
        return f"{self.label}_c"

    @property
    def variance(self) -> str:
        return f"var_{self.label}"

    @property
    def deviation(self) -> str:
        return f"sigma_{self.label}"

    @property
    def normalised(self) -> str:
        return f"{self.label}_hat"

    def __iter__(self) -> Iterator[str]:
        """Every name the steps define."""
        defined = (self.mean, self.centred, self.variance, self.deviation, self.normalised)
        return iter(((self.source,) if self.named else ()) + defined)


def _normalisation(call: LayerCall, *, over_rows: bool) -> Steps:
    """The steps of layernorm (``over_rows``: each row over its features) or batchnorm (each
    column over the examples), with γ and β if given."""
    layer = call.layer.name
    x, *rest = call.arguments
    affine = len(rest) >= 2
    eps = rest[2].term if len(rest) == 3 else EPSILON
    rows, cols = x.shaped.shape
    if x.shaped.is_scalar or (not over_rows and (rows == 1 or cols == 1)):
        wanted = "a matrix N×D (an example per row)" if not over_rows else "a vector or a matrix"
        message = f"{layer} normalises {wanted}; '{x.text}' is {format_shape(x.shaped.shape)}"
        raise call.fail(ShapeError, message, x.offset)
    vector = rows == 1 or cols == 1
    features: Shape = (rows, cols) if cols == 1 else (sp.Integer(1), cols)
    if affine:
        for role, argument in zip(("gamma", "beta"), rest[:2], strict=True):
            _check_per_feature(call, role, argument, x, features)
    if len(rest) == 3 and not rest[2].shaped.is_scalar:
        shape = format_shape(rest[2].shaped.shape)
        raise call.fail(ShapeError, f"{layer}'s eps must be a scalar, not {shape}", rest[2].offset)

    names = _free_names(call, x)
    base = names.source
    steps: Steps = []
    if not x.is_name:  # an expression is named first, so each step can use it
        steps.append((base, x.text))
    axis = "" if vector else (", 1" if over_rows else ", 0")
    steps += [
        (names.mean, f"mean({base}{axis})"),
        (names.centred, f"{base} - {names.mean}"),
        (names.variance, f"mean({names.centred} .^ 2{axis})"),
        (names.deviation, f"sqrt({names.variance} + {eps})"),
    ]
    normalised = f"{names.centred} ./ {names.deviation}"
    if not affine:
        return [*steps, (call.equation.target, normalised)]
    gamma, beta = rest[0].term, rest[1].term
    steps.append((names.normalised, normalised))
    return [*steps, (call.equation.target, f"{gamma} .* {names.normalised} + {beta}")]


def _check_per_feature(
    call: LayerCall, role: str, argument: Argument, x: Argument, features: Shape
) -> None:
    """γ and β have one entry per feature: a row 1×D (or a D-vector, numpy's 1-D parameter)
    beside an N×D batch; a D-vector beside one example x of D entries."""
    rows, cols = x.shaped.shape
    allowed = {features}
    if rows != 1 and cols != 1 and rows != cols:
        allowed.add((cols, sp.Integer(1)))
    if argument.shaped.shape in allowed:
        return
    one = format_shape(features) if features[0] == 1 else f"a {features[0]}-vector"
    wanted = f"a row {one}" if features[0] == 1 else one
    if len(allowed) > 1:
        wanted += f" or a {cols}-vector"
    message = (
        f"{call.layer.name}'s {role} '{argument.text}' is {format_shape(argument.shaped.shape)}; "
        f"it has one entry per feature of '{x.text}' ({format_shape(x.shaped.shape)}): {wanted}"
    )
    raise call.fail(ShapeError, message, argument.offset)


def _free_names(call: LayerCall, x: Argument) -> Names:
    """The steps' names after the input (μ_x, x̂), or after input and output (μ_{x,out}) if
    another quantity already has one; an expression input is named x_out (or out_in) first.
    An error if every choice is taken."""
    target = call.equation.target
    if x.is_name:
        tried = [Names(label, x.text, named=False) for label in (x.text, f"{x.text}_{target}")]
    else:
        tried = [Names(label, label, named=True) for label in (f"x_{target}", f"{target}_in")]
    for names in tried:
        if not call.taken.intersection(names):
            return names
    clash = next(name for name in tried[-1] if name in call.taken)
    message = (
        f"{call.layer.name} names its steps {', '.join(tried[0])} (or {', '.join(tried[1])}), "
        f"but '{clash}' is already used: rename it"
    )
    raise RedefinitionError(f"in '{call.equation.text}': {message}", location=call.span.start)


def _layernorm(call: LayerCall) -> Steps:
    return _normalisation(call, over_rows=True)


def _batchnorm(call: LayerCall) -> Steps:
    return _normalisation(call, over_rows=False)


def _dropout(call: LayerCall) -> Steps:
    """Inverted dropout with a given mask: h ⊙ m / (1 − p), p the probability of dropping."""
    h, mask, *rest = call.arguments
    if mask.shaped.shape != h.shaped.shape:
        message = (
            f"dropout's mask '{mask.text}' is {format_shape(mask.shaped.shape)}; it has the "
            f"shape of '{h.text}', {format_shape(h.shaped.shape)}"
        )
        raise call.fail(ShapeError, message, mask.offset)
    masked = f"{h.term} .* {mask.term}"
    if not rest:
        return [(call.equation.target, masked)]
    (p,) = rest
    if not p.shaped.is_scalar:
        shape = format_shape(p.shaped.shape)
        raise call.fail(ShapeError, f"dropout's p must be a scalar, not {shape}", p.offset)
    return [(call.equation.target, f"{masked} / (1 - {p.term})")]


LAYERS: Mapping[str, Layer] = {
    layer.name: layer
    for layer in (
        Layer("layernorm", "layernorm(x, gamma, beta, eps)", (1, 3, 4), _layernorm),
        Layer("batchnorm", "batchnorm(X, gamma, beta, eps)", (1, 3, 4), _batchnorm),
        Layer("dropout", "dropout(h, mask, p)", (2, 3), _dropout),
    )
}
