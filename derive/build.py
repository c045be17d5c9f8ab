"""Building a Network: givens and their shapes, equations in order, the loss, variants, wrt.

``build_network`` is both what the YAML reader calls and the Python API, so it checks its
input itself: every name means one thing, equations only use what is given or defined
before them, shapes fit (``derive.shapes``), the loss is a scalar and wrt names givens.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import sympy as sp

from derive import layers, limits
from derive.errors import (
    InputFileError,
    Location,
    RedefinitionError,
    ShapeError,
    UnknownSymbolError,
    UnsupportedError,
)
from derive.functions import ACTIVATIONS, VECTOR_FUNCTIONS, generic_function
from derive.model import Equation, Network, Quantity, Shape
from derive.parse import ParsedEquation, TextSpan, parse_equation
from derive.shapes import (
    NAME_PATTERN,
    ExpressionBuilder,
    Scope,
    dimension_symbol,
    format_shape,
    quantity,
)

RESERVED_PREFIX = "delta_"  # adjoints are named delta_<name>

# A given's shape: the keyword, how many dimensions follow it, and how it is written.
_SHAPE_FORMS: dict[str, tuple[int, str]] = {
    "scalar": (0, "'scalar' takes no dimensions"),
    "vector": (1, "'vector' takes one dimension, e.g. 'vector n'"),
    "row": (1, "'row' (a row vector) takes one dimension, e.g. 'row n'"),
    "matrix": (2, "'matrix' takes two dimensions (rows, columns), e.g. 'matrix k n'"),
}
_SHAPE_USAGE = "a shape reads 'scalar', 'vector DIM', 'row DIM' or 'matrix DIM DIM'"


@dataclass(frozen=True)
class InputLocations:
    """Where each item of the input starts in its file; the YAML reader fills this in."""

    given_names: Mapping[str, TextSpan] = field(default_factory=dict)
    given_specs: Mapping[str, TextSpan] = field(default_factory=dict)
    forward: Sequence[TextSpan] = ()
    loss: TextSpan | None = None
    wrt: Sequence[TextSpan] = ()
    upstream: Mapping[str, TextSpan] = field(default_factory=dict)
    variants: Mapping[str, TextSpan] = field(default_factory=dict)
    functions: Sequence[TextSpan] = ()
    onehot: Sequence[TextSpan] = ()


def build_network(
    *,
    title: str,
    given: Mapping[str, str],
    forward: Sequence[str],
    loss: str | None,
    wrt: Sequence[str],
    variants: Mapping[str, str] | None = None,
    upstream: Mapping[str, str] | None = None,
    functions: Sequence[str] | None = None,
    onehot: Sequence[str] | None = None,
    assumptions: Sequence[str] | None = None,
    source: str = "<string>",
    locations: InputLocations | None = None,
) -> Network:
    """The Network these givens and equations describe; the loss equation comes last.

    ``given`` maps names to shapes (``"scalar"``, ``"vector n"``, ``"matrix k n"``);
    ``forward`` are equations ``"name = expression"`` in order; ``variants`` maps a name to one
    equation that replaces the equation defining the same quantity. ``upstream`` gives the
    gradient of a downstream loss instead of a loss, as CS231n's ``dout``: {"out": "dout"}
    means ∂L/∂out = dout (a given of out's shape), and the loss is L = sum(dout ⊙ out), whose
    gradient is exactly that.
    """
    where = locations or InputLocations()
    assumptions = list(assumptions or ())
    if upstream:
        loss, statement = _upstream_loss(upstream, loss, given, forward, source, where)
        assumptions.insert(0, statement)
    elif loss is None:
        raise InputFileError("a network needs a 'loss' (or 'upstream' gradients instead)")
    _check_types(
        {"given": given, "variants": variants or {}},
        {
            "forward": forward,
            "wrt": wrt,
            "functions": functions or (),
            "onehot": onehot or (),
            "assumptions": assumptions or (),
        },
        loss,
    )
    count = len(forward) + 1 + len(variants or {})
    over = list(where.forward[limits.current().equations :])
    limits.check_count(
        "equations", count, "equations", location=over[0].start if over else Location(source)
    )
    builder = _NetworkBuilder(source, where)
    builder.declare_functions(functions or ())
    builder.declare_givens(given)
    builder.upstream = dict(upstream or {})
    equations = builder.equations([*forward, loss])
    return Network(
        title=title,
        givens=builder.givens,
        equations=equations,
        wrt=builder.givens_named(wrt, "wrt"),
        variants={label: builder.variant(label, text) for label, text in (variants or {}).items()},
        assumptions=assumptions,
        onehot=frozenset(builder.onehot(onehot or ())),
        source=source,
    )


def _upstream_loss(
    upstream: Mapping[str, str],
    loss: str | None,
    given: Mapping[str, str],
    forward: Sequence[str],
    source: str,
    where: InputLocations,
) -> tuple[str, str]:
    """The loss L = Σ sum(G ⊙ O) whose gradient with respect to each O is its given G, and the
    sentence the document states it in."""
    first = next(iter(upstream))
    location = where.upstream.get(first, TextSpan(source)).start
    if loss is not None:
        message = "'loss' and 'upstream' together: give the loss or its upstream gradients"
        raise InputFileError(message, location=location)
    if not isinstance(upstream, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in upstream.items()
    ):
        raise InputFileError("'upstream' must map names to strings", location=location)
    used = set(given) | {text.split("=", 1)[0].strip() for text in forward}
    name = next(n for n in ("L", "loss", "J", "E", "L_upstream") if n not in used)
    terms = " + ".join(f"sum({gradient} .* {target})" for target, gradient in upstream.items())
    stated = ", ".join(f"∂{name}/∂{target} = {gradient}" for target, gradient in upstream.items())
    statement = (
        f"The upstream gradient is given: {stated}; {name} = {terms.replace('.*', '⊙')} "
        "stands for the loss downstream, whose gradient is exactly that."
    )
    return f"{name} = {terms}", statement


def _check_types(mappings: Mapping[str, object], lists: Mapping[str, object], loss: object) -> None:
    """Clear errors for Python callers who pass a wrong type (the YAML reader checks first)."""
    for key, value in mappings.items():
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise InputFileError(f"'{key}' must map names to strings")
    for key, value in lists.items():
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise InputFileError(f"'{key}' must be a list of strings, not {type(value).__name__}")
        if not all(isinstance(item, str) for item in value):
            raise InputFileError(f"'{key}' must be a list of strings")
    if loss is not None and not isinstance(loss, str):
        raise InputFileError(f"'loss' must be an equation string, not {type(loss).__name__}")


class _NetworkBuilder:
    """The state of one build: what each name means, the givens, the equations so far."""

    def __init__(self, source: str, locations: InputLocations) -> None:
        self.source = source
        self.locations = locations
        self.meaning: dict[str, str] = {
            name: "a built-in function"
            for name in (*ACTIVATIONS, *VECTOR_FUNCTIONS, *layers.LAYERS)
        }
        self.dimensions: dict[str, sp.Symbol] = {}
        self.functions: dict[str, sp.FunctionClass] = {}  # generic ones, from 'functions'
        self.givens: dict[str, Quantity] = {}
        self.parsed: list[ParsedEquation] = []
        self.built: list[Equation] = []
        self.upstream: dict[str, str] = {}  # output -> its given gradient, instead of a loss

    def span(self, spans: Sequence[TextSpan] | Mapping[str, TextSpan], key: int | str) -> TextSpan:
        if isinstance(spans, Mapping):
            found = spans.get(str(key))
        else:
            found = spans[key] if isinstance(key, int) and key < len(spans) else None
        return found or TextSpan(self.source)

    def claim(self, name: str, meaning: str, *, context: str, location: Location) -> None:
        """Record that ``name`` means ``meaning``; a name may mean only one thing."""
        if not NAME_PATTERN.fullmatch(name):
            message = (
                f"{context}'{name}' is not a name: "
                "a name is a letter followed by letters, digits or underscores"
            )
            raise InputFileError(message, location=location)
        if name.startswith(RESERVED_PREFIX):
            message = f"{context}'{name}' is reserved: derive names the adjoint of x 'delta_x'"
            raise RedefinitionError(message, location=location)
        if name in self.meaning:
            message = f"{context}'{name}' is already {self.meaning[name]}"
            raise RedefinitionError(message, location=location)
        self.meaning[name] = meaning

    def declare_functions(self, names: Sequence[str]) -> None:
        for index, name in enumerate(names):
            span = self.span(self.locations.functions, index)
            self.claim(name, "a declared function", context="functions: ", location=span.start)
            self.functions[name] = generic_function(name)

    def declare_givens(self, given: Mapping[str, str]) -> None:
        for name, spec in given.items():
            location = self.span(self.locations.given_names, name).start
            self.claim(name, "a given", context="given: ", location=location)
            shape = self.shape(name, spec, self.span(self.locations.given_specs, name))
            self.givens[name] = quantity(name, shape)

    def shape(self, name: str, spec: str, span: TextSpan) -> Shape:
        """The shape a given spec such as ``matrix k n`` describes; 1×1 is a scalar."""
        words = [(m.group(), m.start()) for m in re.finditer(r"\S+", spec)]
        context = f"given '{name}: {spec.strip()}': "
        if not words or words[0][0] not in _SHAPE_FORMS:
            location = span.location(words[0][1] if words else 0)
            raise InputFileError(f"{context}{_SHAPE_USAGE}", location=location)
        count, usage = _SHAPE_FORMS[words[0][0]]
        if len(words) != count + 1:
            offset = words[count + 1][1] if len(words) > count + 1 else len(spec.rstrip())
            raise InputFileError(f"{context}{usage}", location=span.location(offset))
        sizes = [self.dimension(word, context, span.location(at)) for word, at in words[1:]]
        sizes += [sp.Integer(1)] * (2 - count)
        rows, cols = reversed(sizes) if words[0][0] == "row" else sizes
        if rows.is_Integer and cols.is_Integer and int(rows) * int(cols) > limits.current().entries:
            what = f"{context}a quantity of {int(rows) * int(cols)} entries"
            raise limits.exceeded("entries", what, location=span.start)
        return (rows, cols)

    def dimension(self, word: str, context: str, location: Location) -> sp.Expr:
        if re.fullmatch(r"[0-9]+", word):
            size = int(word) if len(word) <= 18 else 10**18  # never convert a huge literal
            if size == 0:
                raise InputFileError(f"{context}a dimension must be positive", location=location)
            if size > limits.current().dimension:
                shown = word if len(word) <= 18 else f"a {len(word)}-digit number"
                what = f"{context}the dimension {shown} is too large"
                raise limits.exceeded("dimension", what, location=location)
            return sp.Integer(size)
        if not NAME_PATTERN.fullmatch(word):
            message = f"{context}'{word}' is not a dimension: use a positive integer or a name"
            raise InputFileError(message, location=location)
        if word not in self.dimensions:
            self.claim(word, "a dimension", context=context, location=location)
            self.dimensions[word] = dimension_symbol(word)
        return self.dimensions[word]

    def equations(self, texts: Sequence[str]) -> list[Equation]:
        """Parse every equation (syntax errors first), then build them in order."""
        spans = [self.span(self.locations.forward, i) for i in range(len(texts) - 1)]
        spans.append(self.locations.loss or TextSpan(self.source))
        pairs = list(zip(texts, spans, strict=True))
        self.parsed = [parse_equation(text, span=span) for text, span in pairs]
        # what each equation may use, kept up to date in a loop (linear in the equations)
        known = dict(self.givens)
        later = {p.target: p.text for p in reversed(self.parsed)}
        written, self.parsed = self.parsed, []
        for index, (layer, layer_span) in enumerate(zip(written, spans, strict=True)):
            if self.upstream and index == len(written) - 1:
                self.check_upstream(self.upstream)  # before the loss they stand for is built
            scope = Scope(known, self.functions, later, layer.target, frozenset(self.dimensions))
            others = len(self.built) + len(written) - index - 1
            # an equation, or a layer call's steps (derive.layers)
            for parsed, span in layers.expanded(layer, layer_span, scope, equations=others):
                location = span.location(parsed.target_offset)
                meaning = f"defined by '{parsed.text}'"
                context = f"in '{parsed.text}': "
                self.claim(parsed.target, meaning, context=context, location=location)
                equation = self.equation(parsed, span, known, later)
                self.built.append(equation)
                self.parsed.append(parsed)
                known[equation.target.name] = equation.target
                later.pop(parsed.target, None)
        loss = self.built[-1]
        if not loss.target.is_scalar:
            shape = format_shape(loss.target.shape)
            message = f"in '{loss.text}': the loss must be a scalar, not {shape}"
            raise ShapeError(message, location=loss.location)
        return self.built

    def equation(
        self,
        parsed: ParsedEquation,
        span: TextSpan,
        known: Mapping[str, Quantity],
        later: Mapping[str, str],
    ) -> Equation:
        """``parsed`` built over ``known`` (givens and earlier targets); ``later`` maps each
        target defined at or after it to its equation's text (for a used-before-defined error)."""
        scope = Scope(known, self.functions, later, parsed.target, frozenset(self.dimensions))
        rhs = ExpressionBuilder(scope, parsed.text, span).build(parsed.rhs)
        target = quantity(parsed.target, rhs.shape)
        return Equation(target=target, rhs=rhs.expr, text=parsed.text, location=span.start)

    def variant(self, label: str, text: str) -> Equation:
        """The variant's equation, built in the place of the equation it replaces."""
        span = self.span(self.locations.variants, label)
        parsed = parse_equation(text, span=span)
        layers.refuse_in_variant(parsed, label, span)
        location = span.location(parsed.target_offset)
        targets = [eq.target.name for eq in self.built]
        if parsed.target not in targets:
            if parsed.target in self.givens:
                message = (
                    f"variant '{label}': '{parsed.target}' is a given; "
                    "a variant replaces the equation that defines its target"
                )
                raise RedefinitionError(message, location=location)
            message = f"variant '{label}': no equation defines '{parsed.target}' for it to replace"
            raise UnknownSymbolError(message, location=location)
        index = targets.index(parsed.target)
        replaced = self.built[index]
        known = dict(self.givens)
        known.update((eq.target.name, eq.target) for eq in self.built[:index])
        later = {p.target: p.text for p in reversed(self.parsed[index:])}
        equation = self.equation(parsed, span, known, later)
        if equation.target.shape != replaced.target.shape:
            message = (
                f"in '{parsed.text}': variant '{label}' makes '{parsed.target}' "
                f"{format_shape(equation.target.shape)}, but '{replaced.text}' makes it "
                f"{format_shape(replaced.target.shape)}"
            )
            raise ShapeError(message, location=location)
        return equation

    def check_upstream(self, upstream: Mapping[str, str]) -> None:
        """Each upstream gradient is a given of the shape of the quantity it is the gradient of."""
        targets = {eq.target.name: eq.target for eq in self.built}
        for target, gradient in upstream.items():
            location = self.span(self.locations.upstream, target).start
            if target not in targets:
                what = "a given" if target in self.givens else "not computed by 'forward'"
                message = f"upstream: '{target}' is {what}; the gradient is given for an output"
                raise UnknownSymbolError(message, location=location)
            if gradient not in self.givens:
                message = (
                    f"upstream: the gradient '{gradient}' of '{target}' must be a given "
                    f"(declare it under 'given' with the shape of {target})"
                )
                raise UnknownSymbolError(message, location=location)
            wanted, found = targets[target].shape, self.givens[gradient].shape
            if wanted != found:
                message = (
                    f"upstream: '{gradient}' is {format_shape(found)}, but the gradient of "
                    f"'{target}' has its shape, {format_shape(wanted)}"
                )
                raise ShapeError(message, location=location)

    def givens_named(self, names: Sequence[str], role: str) -> list[str]:
        """``names`` checked to be distinct givens (for ``wrt`` and ``onehot``)."""
        if role == "wrt" and not names:
            raise InputFileError("'wrt' is empty: list the givens to differentiate with respect to")
        seen: set[str] = set()
        for index, name in enumerate(names):
            location = self.span(getattr(self.locations, role), index).start
            if name in seen:
                raise InputFileError(f"{role}: '{name}' is listed twice", location=location)
            seen.add(name)
            if name in self.givens:
                continue
            definition = next((eq.text for eq in self.built if eq.target.name == name), None)
            if definition is not None:
                message = f"{role}: '{name}' is computed by '{definition}', not given"
                raise UnsupportedError(message, location=location)
            known = ", ".join(self.givens)
            message = f"{role}: unknown symbol '{name}' (the givens are {known})"
            raise UnknownSymbolError(message, location=location)
        return list(names)

    def onehot(self, names: Sequence[str]) -> list[str]:
        for index, name in enumerate(self.givens_named(names, "onehot")):
            given = self.givens[name]
            if given.kind == "scalar" or given.shape[0] == 1:
                location = self.span(self.locations.onehot, index).start
                shape = format_shape(given.shape)
                message = (
                    f"onehot: '{name}' is {shape}; a one-hot target is a column vector "
                    "or a matrix of one-hot rows"
                )
                raise ShapeError(message, location=location)
        return list(names)
