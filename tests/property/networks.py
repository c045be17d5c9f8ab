"""Random small networks in derive's file language, with a forward pass of their own.

A network is drawn as a little syntax tree of this module (never derive's parser or
evaluator): every node knows its shape, prints itself as the text a user would write, and
evaluates on an array backend (numpy float64, or torch float64 with autograd). The strategy is
shape-directed, "an expression of shape (r, c) from the quantities so far", and its choices
shrink towards the simplest network: fewer equations, leaves, the newest quantity.

Every value is a 2-D array (a scalar is 1×1); named dimensions get the sizes in ``SIZES``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from hypothesis import strategies as st

Dim = str | int
Shape = tuple[Dim, Dim]
Array = Any  # numpy array or torch tensor, always 2-D

SCALAR: Shape = (1, 1)
SIZES = {"n": 5, "k": 6, "m": 7}  # the named dims: distinct, and distinct from 1..4
FUNCTIONS = ("sigmoid", "tanh", "relu", "softplus", "exp", "log")
FUNCTIONS += ("abs", "sqrt", "sin", "cos", "elu", "silu", "softsign")
FUNCTIONS += ("leaky_relu", "gelu", "gelu_tanh", "hardtanh", "clip", "huber")
EXTREMA = ("max", "min")  # max(a, b) entrywise, or max(x) over the entries
VECTOR_FUNCTIONS = ("sum", "norm", "softmax", "mean", "norm1", "norm2")
MATRIX_FUNCTIONS = ("tr", "diag", "inv", "det", "logdet")
REDUCTIONS = ("sum", "mean", "norm", "norm1", "norm2", "tr", "det", "logdet")  # to a scalar
OPTIONS = ("sum", "mean", "norm", "softmax")  # a second argument is a whole number: an axis, p
MAGNITUDE_LIMIT = 20.0  # a quantity typically larger than this is squashed with tanh
EXP_LIMIT = 3.0  # exp only of arguments typically below this
SIGMOID_LIMIT = 12.0  # a BCE output's logit stays below this, so log(1 - y) is accurate
# Names as a course writes them (derive renders Greek letters and subscripts), by prefix.
FANCY_NAMES = {"h": "h_", "a": "alpha", "c": "gamma", "b": "beta", "W": "Theta", "w": "omega"}
FANCY_NAMES |= {"v": "u_", "x": "x_in", "t": "y_true", "z": "z_out", "y": "y_pred", "p": "p_hat"}


def size(dim: Dim) -> int:
    return dim if isinstance(dim, int) else SIZES[dim]


def is_scalar(shape: Shape) -> bool:
    return shape == SCALAR


# --- the syntax tree ------------------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    name: str
    shape: Shape


@dataclass(frozen=True)
class Num:
    text: str

    @property
    def shape(self) -> Shape:
        return SCALAR


@dataclass(frozen=True)
class Neg:
    operand: Node

    @property
    def shape(self) -> Shape:
        return self.operand.shape


@dataclass(frozen=True)
class Transpose:
    operand: Node

    @property
    def shape(self) -> Shape:
        rows, cols = self.operand.shape
        return (cols, rows)


@dataclass(frozen=True)
class Call:
    function: str
    argument: Node
    more: tuple[Node, ...] = ()  # arguments after the first: leaky_relu(x, 0.2), max(a, b)

    @property
    def shape(self) -> Shape:
        rows, cols = self.argument.shape
        if self.function in ("sum", "mean") and self.more:  # numpy's axis, kept as 2-D
            return (1, cols) if constant(self.more[0]) == 0 else (rows, 1)
        if self.function in REDUCTIONS or (self.function in EXTREMA and not self.more):
            return SCALAR
        if self.function in EXTREMA and is_scalar(self.argument.shape):
            return self.more[0].shape  # max(c, X) spreads the scalar
        if self.function == "diag":  # a vector's diagonal matrix, a square matrix's diagonal
            return (rows, rows) if cols == 1 else (rows, 1)
        return self.argument.shape


@dataclass(frozen=True)
class Op:
    """``left op right``; op is + - * / .* ⊙ ./ ^ .^ or " " (juxtaposition)."""

    op: str
    left: Node
    right: Node

    @property
    def shape(self) -> Shape:
        a, b = self.left.shape, self.right.shape
        if self.op == "^":
            return SCALAR
        if self.op in ("/", ".^"):
            return a
        if self.op in ("+", "-", ".*", "⊙", "./"):
            # numpy's broadcasting: a scalar over every entry, a row over the rows, a column
            # over the columns
            return (a[0] if a[0] != 1 else b[0], a[1] if a[1] != 1 else b[1])
        if is_scalar(a) or is_scalar(b):
            return b if is_scalar(a) else a  # c A scales
        return (a[0], b[1])

    @property
    def is_matrix_product(self) -> bool:
        return self.op in ("*", " ") and not (
            is_scalar(self.left.shape) or is_scalar(self.right.shape)
        )


Node = Ref | Num | Neg | Transpose | Call | Op


def children(node: Node) -> tuple[Node, ...]:
    match node:
        case Neg() | Transpose():
            return (node.operand,)
        case Call():
            return (node.argument, *node.more)
        case Op():
            return (node.left, node.right)
        case _:
            return ()


def walk(node: Node) -> list[Node]:
    """``node`` and every node below it, parents first."""
    found = [node]
    for child in children(node):
        found.extend(walk(child))
    return found


def names_in(node: Node) -> list[str]:
    return [n.name for n in walk(node) if isinstance(n, Ref)]


# --- printing: the text a user would write ----------------------------------------------------

# Precedence as derive's grammar reads it: sums < products < unary minus < ^ < ^T < atoms.
SUM, PRODUCT, SIGNED, POWER, TRANSPOSED, ATOM = range(1, 7)


def level(node: Node) -> int:
    match node:
        case Op(op="+" | "-"):
            return SUM
        case Op(op="^" | ".^"):
            return POWER
        case Op():
            return PRODUCT
        case Neg():
            return SIGNED
        case Transpose():
            return TRANSPOSED
        case _:
            return ATOM


def text(node: Node) -> str:
    match node:
        case Ref():
            return node.name
        case Num():
            return node.text
        case Call():
            inside = ", ".join(text(argument) for argument in (node.argument, *node.more))
            return f"{node.function}({inside})"
        case Neg():
            return "-" + _wrapped(node.operand, SIGNED)
        case Transpose():
            return _wrapped(node.operand, TRANSPOSED) + "^T"
        case Op(op="^"):
            return f"{_wrapped(node.left, TRANSPOSED)}^{text(node.right)}"
        case Op(op=".^"):
            return f"{_wrapped(node.left, TRANSPOSED)} .^ {text(node.right)}"
        case Op(op="+" | "-"):
            return f"{_wrapped(node.left, SUM)} {node.op} {_wrapped(node.right, PRODUCT)}"
        case Op(op=" "):
            left, right = _wrapped(node.left, PRODUCT), _wrapped(node.right, POWER)
            # `a .* b (c + d)` would read `b (` as a product binding tighter than .*
            if right.startswith("(") and not isinstance(node.left, Ref) and _ends_in_name(left):
                left = f"({left})"
            return f"{left} {right}"
        case Op():
            return f"{_wrapped(node.left, PRODUCT)} {node.op} {_wrapped(node.right, SIGNED)}"


def _ends_in_name(written: str) -> bool:
    last = re.search(r"[A-Za-z][A-Za-z0-9_]*$", written)
    return last is not None and not written[: last.start()].endswith("^")


def _wrapped(node: Node, at_least: int) -> str:
    return text(node) if level(node) >= at_least else f"({text(node)})"


# --- the forward pass, on numpy or torch -----------------------------------------------------


@dataclass(frozen=True)
class Backend:
    """Array operations on 2-D arrays; ``functions`` holds every function name of the language."""

    name: str
    number: Callable[[float], Array]
    matmul: Callable[[Array, Array], Array]
    functions: Mapping[str, Callable[..., Array]]  # x, then any arguments after it
    absolute: Callable[[Array], Array]
    generic: Callable[[Array], Array]  # a function declared under 'functions:'


_ERF = np.vectorize(math.erf)
GELU_SCALE = math.sqrt(2.0 / math.pi)


def _numpy_huber(x: Array, delta: Array = 1.0) -> Array:
    size = np.abs(x)
    return np.where(size <= delta, 0.5 * x * x, delta * (size - 0.5 * delta))


def softmax_axis(z: Array, axis: int | None) -> int:
    """A column's entries, a matrix's rows (torch's dim=-1), or the axis written."""
    return axis if axis is not None else 0 if z.shape[1] == 1 else 1


def _numpy_softmax(z: Array, axis: int | None = None) -> Array:
    axis = softmax_axis(z, axis)
    exponentials = np.exp(z - z.max(axis=axis, keepdims=True))
    return exponentials / exponentials.sum(axis=axis, keepdims=True)


def _numpy_diag(x: Array) -> Array:
    return np.diagflat(x) if x.shape[1] == 1 else np.diag(x).reshape(-1, 1)


NUMPY = Backend(
    name="numpy",
    number=lambda value: np.full((1, 1), value),
    matmul=np.matmul,
    functions={
        "sigmoid": lambda x: np.exp(-np.logaddexp(0.0, -x)),
        "tanh": np.tanh,
        "relu": lambda x: np.maximum(x, 0.0),
        "softplus": lambda x: np.logaddexp(0.0, x),
        "exp": np.exp,
        "log": np.log,
        "abs": np.abs,
        "sqrt": np.sqrt,
        "sin": np.sin,
        "cos": np.cos,
        "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))),
        "silu": lambda x: x * np.exp(-np.logaddexp(0.0, -x)),
        "softsign": lambda x: x / (1.0 + np.abs(x)),
        "leaky_relu": lambda x, alpha=0.01: np.where(x > 0, x, alpha * x),
        "gelu": lambda x: x * 0.5 * (1.0 + _ERF(x / math.sqrt(2.0))),
        "gelu_tanh": lambda x: 0.5 * x * (1 + np.tanh(GELU_SCALE * (x + 0.044715 * x**3))),
        "hardtanh": lambda x: np.clip(x, -1.0, 1.0),
        "clip": lambda x, a, b: np.minimum(np.maximum(x, a), b),
        "huber": _numpy_huber,
        "max": lambda a, b=None: np.max(a, keepdims=True) if b is None else np.maximum(a, b),
        "min": lambda a, b=None: np.min(a, keepdims=True) if b is None else np.minimum(a, b),
        "sum": lambda x, axis=None: np.sum(x, axis=axis, keepdims=True),
        "mean": lambda x, axis=None: np.mean(x, axis=axis, keepdims=True),
        "norm": lambda x, p=2: np.sum(np.abs(x) ** p, keepdims=True) ** (1 / p),
        "norm1": lambda x: np.sum(np.abs(x), keepdims=True),
        "norm2": lambda x: np.sqrt(np.sum(x * x, keepdims=True)),
        "softmax": _numpy_softmax,
        "tr": lambda x: np.trace(x).reshape(1, 1),
        "diag": _numpy_diag,
        "inv": np.linalg.inv,
        "det": lambda x: np.linalg.det(x).reshape(1, 1),
        "logdet": lambda x: np.linalg.slogdet(x)[1].reshape(1, 1),
    },
    absolute=np.abs,
    generic=np.sin,
)


def torch_backend() -> Backend | None:
    """The torch backend in float64, or None where torch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    functional = torch.nn.functional

    def huber(x: Array, delta: Array | float = 1.0) -> Array:
        if isinstance(delta, float):
            return functional.huber_loss(x, torch.zeros_like(x), reduction="none", delta=delta)
        size = torch.abs(x)
        return torch.where(size <= delta, 0.5 * x * x, delta * (size - 0.5 * delta))

    def extremum(pick: Callable[..., Array], reduce: Callable[[Array], Array]) -> Callable:
        return lambda a, b=None: reduce(a).reshape(1, 1) if b is None else pick(a, b)

    def reduction(method: str) -> Callable:
        def reduce(x: Array, axis: int | None = None) -> Array:
            if axis is None:
                return getattr(x, method)().reshape(1, 1)
            return getattr(x, method)(dim=axis, keepdim=True)

        return reduce

    def diag(x: Array) -> Array:
        return torch.diag(x[:, 0]) if x.shape[1] == 1 else torch.diagonal(x).reshape(-1, 1)

    return Backend(
        name="torch",
        number=lambda value: torch.full((1, 1), value, dtype=torch.float64),
        matmul=torch.matmul,
        functions={
            "sigmoid": torch.sigmoid,
            "tanh": torch.tanh,
            "relu": torch.relu,
            "softplus": torch.nn.functional.softplus,
            "exp": torch.exp,
            "log": torch.log,
            "abs": torch.abs,
            "sqrt": torch.sqrt,
            "sin": torch.sin,
            "cos": torch.cos,
            "elu": torch.nn.functional.elu,
            "silu": torch.nn.functional.silu,
            "softsign": torch.nn.functional.softsign,
            "leaky_relu": lambda x, alpha=0.01: torch.where(x > 0, x, alpha * x),
            "gelu": functional.gelu,
            "gelu_tanh": lambda x: functional.gelu(x, approximate="tanh"),
            "hardtanh": functional.hardtanh,
            "clip": lambda x, a, b: torch.minimum(torch.maximum(x, a), b),
            "huber": huber,
            "max": extremum(torch.maximum, torch.max),
            "min": extremum(torch.minimum, torch.min),
            "sum": reduction("sum"),
            "mean": reduction("mean"),
            "norm": lambda x, p=2: torch.linalg.vector_norm(x, ord=p).reshape(1, 1),
            "norm1": lambda x: torch.abs(x).sum().reshape(1, 1),
            "norm2": lambda x: torch.sqrt((x * x).sum()).reshape(1, 1),
            "softmax": lambda z, axis=None: torch.softmax(z, dim=softmax_axis(z, axis)),
            "tr": lambda x: torch.trace(x).reshape(1, 1),
            "diag": diag,
            "inv": torch.linalg.inv,
            "det": lambda x: torch.linalg.det(x).reshape(1, 1),
            "logdet": lambda x: torch.logdet(x).reshape(1, 1),
        },
        absolute=torch.abs,
        generic=torch.sin,
    )


def evaluate(node: Node, values: Mapping[str, Array], backend: Backend) -> Array:
    """The value of ``node`` given the value of every name it uses."""
    match node:
        case Ref():
            return values[node.name]
        case Num():
            return backend.number(float(node.text))
        case Neg():
            return -evaluate(node.operand, values, backend)
        case Transpose():
            return evaluate(node.operand, values, backend).T
        case Call():
            argument = evaluate(node.argument, values, backend)
            if node.function in ("norm", "norm1", "norm2") and is_scalar(node.argument.shape):
                return backend.absolute(argument)  # the norm of a scalar is |x|
            if node.function in OPTIONS:  # an axis or a p, a whole number
                more = [int(constant(item)) for item in node.more]
            else:
                more = [evaluate(item, values, backend) for item in node.more]
            return backend.functions.get(node.function, backend.generic)(argument, *more)
        case Op(op="^" | ".^") if is_constant(node.right):
            return evaluate(node.left, values, backend) ** constant(node.right)
        case Op():
            a = evaluate(node.left, values, backend)
            b = evaluate(node.right, values, backend)
            if node.is_matrix_product:
                return backend.matmul(a, b)
            return _ARITHMETIC[node.op](a, b)


_ARITHMETIC: dict[str, Callable[[Array, Array], Array]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "/": lambda a, b: a / b,
    "./": lambda a, b: a / b,
    "^": lambda a, b: a**b,  # a scalar exponent that is not a number
    **{op: (lambda a, b: a * b) for op in ("*", " ", ".*", "⊙")},  # scaling or entrywise
}


def is_constant(node: Node) -> bool:
    return all(isinstance(n, Num | Neg | Op) for n in walk(node))


def constant(node: Node) -> float:
    """The value of an exponent (numbers, minus signs, powers of numbers)."""
    match node:
        case Num():
            return float(node.text)
        case Neg():
            return -constant(node.operand)
        case Op(op="^"):
            return constant(node.left) ** constant(node.right)
    raise ValueError(f"not a constant exponent: {text(node)}")


def _gap(x: Array, larger: bool) -> Array:
    """How far the largest (smallest) entry is from the next: max(x) has a kink at a tie."""
    entries = np.sort(np.asarray(x).reshape(-1))
    if entries.size < 2:
        return np.inf
    return entries[-1] - entries[-2] if larger else entries[1] - entries[0]


# Where each kinked function's derivative jumps, as distances of its arguments from the kinks.
KINKS: dict[str, Callable[..., list[Array]]] = {
    "leaky_relu": lambda x, *_: [x],
    "hardtanh": lambda x: [x - 1, x + 1],
    "clip": lambda x, a, b: [x - a, x - b],
    "huber": lambda x, delta=1.0: [x - delta, x + delta],
    "max": lambda a, b=None: [_gap(a, True)] if b is None else [a - b],
    "min": lambda a, b=None: [_gap(a, False)] if b is None else [a - b],
}


PIECEWISE = (*KINKS, "gelu", "gelu_tanh")

# --- a generated network -------------------------------------------------------------------


@dataclass(frozen=True)
class Given:
    name: str
    shape: Shape
    spec: str  # as written in the file: 'scalar', 'vector n', 'matrix 1 k', 'vector 1'
    role: str = "parameter"  # or "onehot" or "unit" (a BCE target in (0, 1))


@dataclass(frozen=True)
class GeneratedNetwork:
    """A network file and its meaning; ``repr`` is the file, so a shrunk failure reads as one."""

    givens: tuple[Given, ...]
    forward: tuple[tuple[str, Node], ...]
    loss: tuple[str, Node]
    wrt: tuple[str, ...]
    variants: tuple[tuple[str, str, Node], ...] = ()  # (label, target, expression)
    functions: tuple[str, ...] = ()  # declared arbitrary functions, evaluated as sin
    tags: frozenset[str] = frozenset()  # what the generator chose: loss kind, depth
    comment: str = ""  # a first line '# ...' (the kept regressions say what failed)

    @property
    def equations(self) -> tuple[tuple[str, Node], ...]:
        return (*self.forward, self.loss)

    @property
    def shapes(self) -> dict[str, Shape]:
        found = {g.name: g.shape for g in self.givens}
        found.update((name, node.shape) for name, node in self.equations)
        return found

    @property
    def onehot(self) -> tuple[str, ...]:
        return tuple(g.name for g in self.givens if g.role == "onehot")

    @property
    def yaml(self) -> str:
        lines = [self.comment] if self.comment else []
        lines += ["title: generated network", "given:"]
        lines += [f"  {g.name}: {g.spec}" for g in self.givens]
        lines += ["forward:"] + [f"  - {name} = {text(node)}" for name, node in self.forward]
        lines.append(f"loss: {self.loss[0]} = {text(self.loss[1])}")
        lines.append(f"wrt: [{', '.join(self.wrt)}]")
        if self.variants:
            lines.append("variants:")
            lines += [f"  {label}: {name} = {text(node)}" for label, name, node in self.variants]
        if self.functions:
            lines.append(f"functions: [{', '.join(self.functions)}]")
        if self.onehot:
            lines.append(f"onehot: [{', '.join(self.onehot)}]")
        return "\n".join(lines) + "\n"

    def __repr__(self) -> str:
        return "\n" + self.yaml

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """How Hypothesis shows a falsifying example: the network file itself."""
        for line in ["network file:", *self.yaml.splitlines()]:
            printer.text(line)
            printer.break_()

    def with_variant(self, label: str) -> GeneratedNetwork:
        """The network with the equation the variant ``label`` replaces swapped for it."""
        _, target, node = next(v for v in self.variants if v[0] == label)
        swapped = [(name, node if name == target else rhs) for name, rhs in self.equations]
        return replace(self, forward=tuple(swapped[:-1]), loss=swapped[-1], variants=())

    def parts(self) -> dict[str, GeneratedNetwork]:
        """Each part derive solves: main and one per variant."""
        return {"main": self, **{label: self.with_variant(label) for label, _, _ in self.variants}}

    def run(self, givens: Mapping[str, Array], backend: Backend) -> dict[str, Array]:
        """Every quantity's value, equation by equation."""
        values = dict(givens)
        for name, node in self.equations:
            values[name] = evaluate(node, values, backend)
        return values

    def at_kink(self, values: Mapping[str, np.ndarray]) -> bool:
        """Whether relu, norm or another kinked function is evaluated exactly at a kink here
        (torch's convention there is not derive's)."""
        for _, rhs in self.equations:
            for node in walk(rhs):
                if isinstance(node, Call) and node.function in ("relu", "norm", "norm1", "norm2"):
                    argument = np.abs(evaluate(node.argument, values, NUMPY))
                    entrywise = node.function in ("relu", "norm1") or bool(node.more)
                    nearest = argument.min() if entrywise else argument.max()  # |x_i|, ‖x‖
                    if nearest < 1e-9:
                        return True
                elif isinstance(node, Call) and node.function in KINKS:
                    arguments = [evaluate(a, values, NUMPY) for a in (node.argument, *node.more)]
                    distances = KINKS[node.function](*arguments)
                    if min(float(np.abs(d).min()) for d in distances) < 1e-9:
                        return True
        return False

    def depends_on(self) -> set[str]:
        """The givens the loss uses, directly or through earlier equations."""
        used = {self.loss[0]}
        for name, node in reversed(self.equations):
            if name in used:
                used |= set(names_in(node))
        return used & {g.name for g in self.givens}

    def draw_values(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Values for the givens: normal × 0.8, scalars ±[0.2, 0.8], one-hot and (0, 1) targets."""
        values = {}
        for given in self.givens:
            rows, cols = (size(d) for d in given.shape)
            if given.role == "onehot":
                value = np.zeros((rows, cols))
                value[rng.integers(rows), 0] = 1.0
            elif given.role == "unit":
                value = rng.uniform(0.05, 0.95, size=(rows, cols))
            elif is_scalar(given.shape):
                value = np.full((1, 1), rng.uniform(0.2, 0.8) * rng.choice([-1.0, 1.0]))
            else:
                value = rng.normal(size=(rows, cols)) * 0.8
            values[given.name] = value
        return values


# --- the strategy ------------------------------------------------------------------------------


@st.composite
def networks(draw: st.DrawFn) -> GeneratedNetwork:
    """A random network file: 1-6 forward equations, a scalar loss, wrt, sometimes variants."""
    return _Drawing(draw).network()


class _Drawing:
    """The state of one drawn network: its givens and equations so far."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw
        self.givens: dict[str, Given] = {}
        self.forward: list[tuple[str, Node]] = []
        self.magnitudes: dict[str, float] = {}  # how large each quantity typically is
        self.visible: int | None = None  # a variant sees only the equations before it
        self.counts: dict[str, int] = {}
        self.tags: set[str] = set()
        self.fancy = False  # names as in a course: alpha1, Theta1, x_in, y_pred
        self.functions: set[str] = set()  # declared under 'functions:'

    # choices; each shrinks towards its first option
    def weighted(self, options: Sequence[tuple[Any, int]]) -> Any:
        pick = self.draw(st.integers(0, sum(weight for _, weight in options) - 1))
        for option, weight in options:
            if pick < weight:
                return option
            pick -= weight
        raise AssertionError("unreachable")

    def pick(self, count: int) -> int:
        """An index into ``count`` options, newest first and most likely; ``count`` is "new"."""
        weights = [(0, 6), (1, 2)] + [(i, 1) for i in range(2, count)] + [(count, 2)]
        return self.weighted([(i, w) for i, w in weights if i <= count])

    def chance(self, percent: int) -> bool:
        return self.draw(st.integers(0, 99)) >= 100 - percent

    def dim(self, *, not_one: bool = False) -> Dim:
        options = [("n", 4), ("k", 4), ("m", 3), (2, 2), (3, 1), (4, 1), (1, 0 if not_one else 1)]
        return self.weighted(options)

    def number(self) -> Num:
        return Num(self.weighted([("2", 3), ("0.5", 3), ("3", 1), ("0.1", 1), ("1.5", 1)]))

    def fresh(self, prefix: str) -> str:
        self.counts[prefix] = self.counts.get(prefix, 0) + 1
        count = self.counts[prefix]
        written = FANCY_NAMES.get(prefix, prefix) if self.fancy else prefix
        if prefix in ("x", "t", "y", "p", "z", "lambda"):
            return written if count == 1 else f"{written}{count}"
        return f"{written}{count}"

    # quantities
    def computed(self) -> list[tuple[str, Node]]:
        return self.forward if self.visible is None else self.forward[: self.visible]

    def available(self, shape: Shape) -> list[str]:
        """Names of that shape an expression may use: newest computed first, then givens."""
        found = [name for name, node in reversed(self.computed()) if node.shape == shape]
        found += [
            g.name for g in self.givens.values() if g.shape == shape and g.role == "parameter"
        ]
        return found

    def new_given(self, shape: Shape, *, role: str = "parameter", prefix: str = "") -> str:
        rows, cols = shape
        if not prefix:
            if is_scalar(shape):
                prefix = "a"
            elif cols == 1:
                prefix = "v" if self.counts.get("x") else "x"
            else:
                prefix = "w" if rows == 1 else "W"
        name = self.fresh(prefix)
        if is_scalar(shape):
            spec = self.weighted([("scalar", 8), ("vector 1", 1), ("matrix 1 1", 1)])
        elif cols == 1:
            spec = self.weighted([(f"vector {rows}", 8), (f"matrix {rows} 1", 1)])
        elif rows == 1:
            spec = self.weighted([(f"matrix 1 {cols}", 1), (f"row {cols}", 1)])
        else:
            spec = f"matrix {rows} {cols}"
        self.givens[name] = Given(name, shape, spec, role)
        return name

    def leaf(self, shape: Shape, depth: int = 0) -> Node:
        options = self.available(shape)
        index = self.pick(len(options))
        if index < len(options):
            return Ref(options[index], shape)
        if is_scalar(shape) and self.chance(10):
            return self.number()
        return Ref(self.new_given(shape), shape)

    def given_leaf(self, shape: Shape) -> Ref:
        """A given of ``shape`` (at random points it is nowhere zero)."""
        options = [g.name for g in self.givens.values() if g.shape == shape]
        options = [name for name in options if self.givens[name].role == "parameter"]
        index = self.pick(len(options))
        return Ref(options[index] if index < len(options) else self.new_given(shape), shape)

    def norm_of(self, node: Node) -> Call:
        """norm(node), or norm(1 + node) where node may be exactly zero (relu): no kink at 0."""
        return Call("norm", Op("+", Num("1"), node) if self.may_vanish(node) else node)

    def may_vanish(self, node: Node) -> bool:
        """Whether ``node`` can be exactly zero at a random point (relu, or a product with it)."""
        match node:
            case Ref():
                definition = dict(self.forward).get(node.name)
                return definition is not None and self.may_vanish(definition)
            case Num():
                return float(node.text) == 0
            case Call(function="relu"):
                return True
            case Call(function="max" | "min" | "clip"):
                return True  # a tie or a bound, which a relu's zero may meet
            case Call(function="tanh" | "sum" | "norm" | "leaky_relu" | "gelu" | "gelu_tanh"):
                return any(self.may_vanish(child) for child in children(node))
            case Call(function="mean" | "norm1" | "norm2" | "tr" | "diag"):
                return self.may_vanish(node.argument)
            case Call(function="hardtanh") | Neg() | Transpose():
                return any(self.may_vanish(child) for child in children(node))
            case Op(op="+" | "-"):
                return self.may_vanish(node.left) and self.may_vanish(node.right)
            case Op(op="^" | "/" | "./" | ".^"):
                return self.may_vanish(node.left)
            case Op():
                return self.may_vanish(node.left) or self.may_vanish(node.right)
        return False

    def nonscalar_shape(self) -> Shape:
        """A vector or matrix shape, preferably one a quantity already has."""
        shapes = [n.shape for _, n in reversed(self.computed())]
        shapes += [g.shape for g in self.givens.values() if g.role == "parameter"]
        options = list(dict.fromkeys(s for s in shapes if not is_scalar(s)))
        index = self.pick(len(options))
        return options[index] if index < len(options) else (self.dim(not_one=True), 1)

    def define(self, name: str, rhs: Node) -> None:
        if self.magnitude(rhs) > MAGNITUDE_LIMIT:
            rhs = Call("tanh", rhs)
        self.forward.append((name, rhs))
        self.magnitudes[name] = self.magnitude(rhs)

    # the network
    def network(self) -> GeneratedNetwork:
        depth = self.draw(st.integers(1, 6))
        self.tags.add(f"depth {depth}")
        self.fancy = self.chance(15)
        if self.fancy:
            self.tags.add("greek and subscripted names")
        for _ in range(depth):
            self.equation()
        loss = self.loss()
        if not self.candidates(loss):  # a loss of numbers (and one-hot targets) alone
            loss = Op("+", loss, Ref(self.new_given(SCALAR), SCALAR))
        wrt = self.wrt(loss)
        variants = self.variants(loss) if self.chance(20) else ()
        return GeneratedNetwork(
            givens=tuple(self.givens.values()),
            forward=tuple(self.forward),
            loss=("e", loss),
            wrt=wrt,
            variants=variants,
            functions=tuple(sorted(self.functions)),
            tags=frozenset(self.tags),
        )

    def equation(self) -> None:
        templates = [("activation", 3), ("layer", 3), ("general", 4), ("residual", 1)]
        templates.append(("batch", 1))
        template = self.weighted(templates)
        previous = self.output() if self.forward else None
        if template == "activation" and previous is not None:
            rhs = self.activation(previous.shape, 1)
        elif template == "residual" and previous is not None and _is_column(previous.shape):
            # h + f(W h + b), with W square
            self.tags.add("residual block")
            function = self.weighted([("tanh", 2), ("relu", 1), ("sigmoid", 1)])
            rhs = Op("+", previous, Call(function, self.layer(previous.shape, 1, source=previous)))
        elif template == "batch":
            rhs = self.batch((self.dim(not_one=True), self.dim(not_one=True)), 1)
        elif template in ("activation", "layer", "residual"):
            rhs = self.layer((self.dim(), 1), 1)
        else:
            shape = self.weighted(
                [
                    (self.forward[-1][1].shape if self.forward else SCALAR, 6),
                    ((self.dim(), 1), 4),
                    (SCALAR, 2),
                    ((self.dim(not_one=True), self.dim(not_one=True)), 3),
                    ((1, self.dim(not_one=True)), 2),
                ]
            )
            rhs = self.expression(shape, self.draw(st.integers(1, 3)))
        self.define(self.fresh("h"), rhs)

    def expression(self, shape: Shape, depth: int) -> Node:
        """A random expression of ``shape``, at most ``depth`` operations deep."""
        if depth <= 0:
            return self.leaf(shape)
        rows, cols = shape
        activation = 7 if is_scalar(shape) else 5
        kinds = [("leaf", 2), ("activation", activation), ("add", 2), ("subtract", 1)]
        kinds.append(("number_add", 1))
        kinds += [("scale", 2), ("hadamard", 1), ("matmul", 2), ("divide", 1), ("twice", 1)]
        kinds.append(("kinked", 2 if is_scalar(shape) else 1))  # leaky_relu, gelu, clip, …
        if not is_scalar(shape):
            kinds += [("transpose", 1), ("entrywise", 1), ("broadcast", 1)]
        if cols == 1 and rows != 1:
            kinds += [("softmax", 1), ("layer", 2), ("axis", 1), ("diagonal", 1)]
        if rows == 1 and cols != 1:
            kinds += [("axis", 1), ("softmax", 1)]
        if rows != 1 and cols != 1:
            kinds += [("softmax", 1), ("batch", 1)]
        if rows == cols and rows != 1:
            kinds += [("diagonal", 1), ("inverse", 1)]
        if is_scalar(shape):
            kinds += [("sum", 3), ("norm", 2), ("power", 3), ("quadratic", 1), ("layer", 1)]
            kinds += [("extreme", 1), ("reduce", 3)]
        node: Node = getattr(self, self.weighted(kinds))(shape, depth)
        return Call("tanh", node) if self.magnitude(node) > MAGNITUDE_LIMIT else node

    # expression kinds: (shape, depth) -> a node of that shape
    def activation(self, shape: Shape, depth: int) -> Node:
        options = [("tanh", 2), ("sigmoid", 2), ("relu", 2), ("softplus", 2), ("exp", 2)]
        options += [("abs", 1), ("sin", 1), ("cos", 1), ("elu", 1), ("silu", 1), ("softsign", 1)]
        options += [("log", 2), ("sqrt", 1), ("declared", 1)]
        if is_scalar(shape):  # every name alike: scalars are drawn less often than vectors
            options = [(name, 1) for name, _ in options]
        function = self.weighted(options)
        function = self.weighted([(function, 8), ("piecewise", 2)])  # few draws, many names
        if function == "piecewise":
            function = self.draw(st.sampled_from(PIECEWISE))
        if function in ("log", "sqrt"):
            return Call(function, self.positive(shape, depth - 1))
        if function in (*KINKS, "gelu", "gelu_tanh"):
            return self.piecewise(function, shape, depth)
        if function == "declared":  # `functions: [f]`, an arbitrary differentiable function
            function = "f"
            self.functions.add(function)
        argument = self.expression(shape, depth - 1)
        if function == "exp" and self.magnitude(argument) > EXP_LIMIT:
            argument = Call("tanh", argument)  # exp(tanh(u)) stays below e
        return Call(function, argument)

    def piecewise(self, function: str, shape: Shape, depth: int) -> Node:
        """leaky_relu, gelu, hardtanh, clip, huber, or max/min of two operands (one may be a
        scalar); an argument a relu may zero is moved off the kink at 0 first."""
        argument = self.expression(shape, depth - 1)
        if function == "leaky_relu" and self.may_vanish(argument):
            argument = Op("+", Num("1"), argument)
        more: tuple[Node, ...] = ()
        if function == "leaky_relu":
            slope = self.weighted([("default", 2), ("number", 1), ("given", 1)])
            if slope != "default":
                self.tags.add("leaky_relu with a parameter")
                number = Num(self.weighted([("0.2", 1), ("0.1", 1)]))
                more = (number if slope == "number" else self.given_leaf(SCALAR),)
        elif function == "clip":
            low, high = self.weighted([(("0.5", "1"), 1), (("1", "0.5"), 1), (("2", "2"), 1)])
            more = (Neg(Num(low)), Num(high))
        elif function == "huber" and self.chance(50):
            more = (Num(self.weighted([("0.5", 1), ("2", 1)])),)
        elif function in EXTREMA:
            other_shape = SCALAR if not is_scalar(shape) and self.chance(50) else shape
            other: Node = Ref(self.new_given(other_shape), other_shape)  # no tie with it
            if is_scalar(other_shape) and self.chance(30):
                other = self.number()
            if is_scalar(other_shape) and not is_scalar(shape):
                self.tags.add(f"{function} of a scalar and a matrix")
            argument, other = (argument, other) if self.chance(50) else (other, argument)
            more = (other,)
        return Call(function, argument, more)

    def kinked(self, shape: Shape, depth: int) -> Node:
        return self.piecewise(self.draw(st.sampled_from(PIECEWISE)), shape, depth)

    def extreme(self, shape: Shape, depth: int) -> Node:
        """max(x) or min(x), over the entries; a relu's zeros (a tie) get a given added."""
        argument = self.expression(self.nonscalar_shape(), depth - 1)
        if self.may_vanish(argument):
            argument = Op("+", argument, self.given_leaf(argument.shape))
        return Call(self.weighted([("max", 1), ("min", 1)]), argument)

    def positive(self, shape: Shape, depth: int) -> Node:
        """An expression positive by construction, for log: σ(u), 1 + u ⊙ u, softmax(u), …"""
        softmax = 2 if shape[1] == 1 and shape[0] != 1 else 0
        options = [("sigmoid", 3), ("square", 2), ("softplus", 1), ("exp", 1)]
        form = self.weighted([*options, ("softmax", softmax)])
        u = self.expression(shape, depth)
        if form == "square":
            square = Op("^", u, Num("2")) if is_scalar(shape) else Op(".*", u, u)
            return Op("+", Num("1"), square)
        if form == "exp" and self.magnitude(u) > EXP_LIMIT:
            u = Call("tanh", u)
        return Call(form, u)

    def layer(self, shape: Shape, depth: int, *, source: Ref | None = None) -> Node:
        """W h + b: a weight (new, tied to an existing one, or one's transpose) times a vector,
        plus a bias."""
        if source is None:
            inputs = [Ref(n, node.shape) for n, node in reversed(self.computed())]
            inputs += [Ref(g.name, g.shape) for g in self.givens.values() if g.role == "parameter"]
            inputs = [ref for ref in inputs if _is_column(ref.shape)]
            index = self.pick(len(inputs))
            if index < len(inputs):
                source = inputs[index]
            else:
                input_shape = (self.dim(not_one=True), 1)
                source = Ref(self.new_given(input_shape), input_shape)
        rows, cols = shape[0], source.shape[0]
        tied: list[Node] = [Ref(g.name, g.shape) for g in self.givens.values()]
        tied = [ref for ref in tied if ref.shape == (rows, cols)]
        if rows != 1:  # an autoencoder's decoder: Wᵀ h with the encoder's W
            matrices = [Ref(g.name, g.shape) for g in self.givens.values() if g.shape[1] != 1]
            tied += [Transpose(ref) for ref in matrices if ref.shape == (cols, rows)]
        index = self.draw(st.integers(0, len(tied)))
        if index == len(tied):
            tied.append(Ref(self.new_given((rows, cols)), (rows, cols)))
        weight = tied[index]
        product = Op(self.weighted([(" ", 4), ("*", 1)]), weight, source)
        if not self.chance(70):
            return product
        bias = self.new_given(shape, prefix="c" if is_scalar(shape) else "b")
        return Op("+", product, Ref(bias, shape))

    def add(self, shape: Shape, depth: int) -> Node:
        return Op("+", self.expression(shape, depth - 1), self.expression(shape, depth - 1))

    def subtract(self, shape: Shape, depth: int) -> Node:
        left, right = self.expression(shape, depth - 1), self.expression(shape, depth - 1)
        return Op("+" if left == right else "-", left, right)  # never exactly zero

    def number_add(self, shape: Shape, depth: int) -> Node:
        u = self.expression(shape, depth - 1)
        form = self.weighted([("one minus", 2), ("plus number", 1), ("number plus", 1)])
        if form == "one minus":
            return Op("-", Num("1"), u)
        return Op("+", u, self.number()) if form == "plus number" else Op("+", self.number(), u)

    def scale(self, shape: Shape, depth: int) -> Node:
        factor, operand = self.factor(depth), self.expression(shape, depth - 1)
        order = self.weighted([("c x", 4), ("c * x", 2), ("x * c", 1), ("x c", 1)])
        op = "*" if "*" in order else " "
        return Op(op, factor, operand) if order.startswith("c") else Op(op, operand, factor)

    def factor(self, depth: int) -> Node:
        """A scalar that scales: a given, a number, sum() or norm(), a width-1 output, …"""
        kind = self.weighted(
            [("given", 3), ("number", 3), ("sum", 1), ("norm", 1), ("width1", 2), ("any", 1)]
        )
        if kind == "number":
            return self.number()
        if kind == "sum":
            function = self.weighted([("sum", 2), ("mean", 1)])
            return Call(function, self.leaf(self.nonscalar_shape()))
        if kind == "norm":
            return self.any_norm(self.leaf(self.nonscalar_shape()))
        width1 = [name for name, node in reversed(self.computed()) if is_scalar(node.shape)]
        if kind == "width1" and not width1 and self.visible is None:
            # an equation of its own before the one being drawn: z = w h + c
            self.define(self.fresh("z"), self.layer(SCALAR, 1))
            width1 = [self.forward[-1][0]]
        if kind == "width1" and width1:
            return Ref(width1[0], SCALAR)
        if kind == "any":
            return self.expression(SCALAR, depth - 1)
        scalars = [g.name for g in self.givens.values() if g.shape == SCALAR]
        index = self.pick(len(scalars))
        return Ref(scalars[index] if index < len(scalars) else self.new_given(SCALAR), SCALAR)

    def hadamard(self, shape: Shape, depth: int) -> Node:
        op = self.weighted([(".*", 2), ("⊙", 1)])
        return Op(op, self.expression(shape, depth - 1), self.expression(shape, depth - 1))

    def matmul(self, shape: Shape, depth: int) -> Node:
        rows, cols = shape
        if rows != 1 and cols != 1 and self.chance(50):
            inner: Dim = 1  # an outer product, h xᵀ
        else:
            inner = self.dim(not_one=rows == 1 or cols == 1)
        if rows == 1 and self.chance(50):  # a row vector written xᵀ, as in xᵀ W
            left: Node = Transpose(self.expression((inner, 1), depth - 1))
        else:
            left = self.expression((rows, inner), depth - 1)
        right = self.expression((inner, cols), depth - 1)
        return Op(self.weighted([(" ", 3), ("*", 1)]), left, right)

    def transpose(self, shape: Shape, depth: int) -> Node:
        return Transpose(self.expression((shape[1], shape[0]), depth - 1))

    def divide(self, shape: Shape, depth: int) -> Node:
        """Division by a number or by a positive scalar: 1 + u², a norm, 1 + sum(v ⊙ v)."""
        dividend = self.expression(shape, depth - 1)
        form = self.weighted([("number", 3), ("square", 1), ("norm", 1), ("sum", 1)])
        if form == "number":
            divisor: Node = Num(self.weighted([("2", 3), ("4", 1), ("0.5", 1), ("3", 1)]))
        elif form == "square":
            divisor = Op("+", Num("1"), Op("^", self.expression(SCALAR, depth - 1), Num("2")))
        else:
            v = self.given_leaf(self.nonscalar_shape())  # a given is not zero
            divisor = Call("norm", v) if form == "norm" else Op("+", Num("1"), _sum_of_squares(v))
        return Op("/", dividend, divisor)

    def twice(self, shape: Shape, depth: int) -> Node:
        """The same quantity twice in one expression: a + a, tanh(a) + 2 a, a ⊙ a."""
        q = self.leaf(shape)
        form = self.weighted([("a + a", 2), ("f(a) + 2 a", 2), ("a a", 1)])
        if form == "a + a":
            return Op("+", q, q)
        if form == "a a":
            return Op(" " if is_scalar(shape) else ".*", q, q)
        function = self.weighted([("tanh", 2), ("sigmoid", 1), ("exp", 1)])
        inner: Node = Call("tanh", q) if self.magnitude(q) > EXP_LIMIT else q
        applied = Call(function, inner if function == "exp" else q)
        return Op("+", applied, Op(" ", self.number(), q))

    def softmax(self, shape: Shape, depth: int) -> Node:
        """softmax(z) of a column; of a matrix each row, or each column with axis 0."""
        rows, cols = shape
        axis = self.weighted([((), 2), ((Num("0"),), 3 if rows != 1 and cols != 1 else 0)])
        if cols != 1 and self.chance(10):
            axis = (Num("1"),)
        return Call("softmax", self.expression(shape, depth - 1), axis)

    def entrywise(self, shape: Shape, depth: int) -> Node:
        """a ./ (1 + u .* u), a divisor of the same shape at least 1, or a .^ 2, a .^ 3."""
        left = self.expression(shape, depth - 1)
        if self.chance(50):
            u = self.expression(shape, depth - 1)
            return Op("./", left, Op("+", Num("1"), Op(".*", u, u)))
        exponent = self.weighted([("2", 2), ("3", 1)])
        if self.magnitude(left) > (5 if exponent == "2" else 3):
            left = Call("tanh", left)
        return Op(".^", left, Num(exponent))

    def broadcast(self, shape: Shape, depth: int) -> Node:
        """A row across the rows, a column across the columns, or a number or a named scalar
        over every entry (never a scalar expression: derive does not spread that)."""
        rows, cols = shape
        options = [("scalar", 2), ("row", 2 if rows != 1 else 0), ("column", 2 if cols != 1 else 0)]
        form = self.weighted(options)
        operand = self.expression(shape, depth - 1)
        if form == "scalar":
            spread = self.leaf(SCALAR)
        else:
            small = (1, cols) if form == "row" else (rows, 1)
            # a row of one column (a column of one row) is 1×1: a named scalar, as above
            expression = not is_scalar(small) and self.chance(40)
            spread = self.expression(small, depth - 1) if expression else self.leaf(small)
        op = self.weighted([("+", 4), ("-", 1), (".*", 1)])
        return Op(op, operand, spread) if self.chance(70) else Op(op, spread, operand)

    def batch(self, shape: Shape, depth: int) -> Node:
        """X W + b with one example per row and b a row, or W X + b with one per column and
        b a column (or a scalar given), as CS231n and Nielsen write a batch."""
        rows, cols = shape
        inner = self.dim(not_one=True)
        product = Op(" ", self.leaf((rows, inner)), self.leaf((inner, cols)))
        bias_shape = self.weighted([((1, cols), 2), ((rows, 1), 2), (SCALAR, 1)])
        if self.chance(15):
            return product
        bias = self.new_given(bias_shape, prefix="c" if is_scalar(bias_shape) else "b")
        return Op("+", product, Ref(bias, bias_shape))

    def axis(self, shape: Shape, depth: int) -> Node:
        """sum(X, 0) or mean(X, 0), a row of column sums; sum(X, 1), mean(X, 1), a column."""
        rows, cols = shape
        function = self.weighted([("sum", 1), ("mean", 1)])
        if rows == 1:
            argument = self.expression((self.dim(not_one=True), cols), depth - 1)
            return Call(function, argument, (Num("0"),))
        argument = self.expression((rows, self.dim(not_one=True)), depth - 1)
        return Call(function, argument, (Num("1"),))

    def diagonal(self, shape: Shape, depth: int) -> Node:
        """diag(x), a vector's diagonal matrix, or diag(A), a square matrix's diagonal."""
        rows, cols = shape
        if cols == 1:
            return Call("diag", self.expression((rows, rows), depth - 1))
        return Call("diag", self.expression((rows, 1), depth - 1))

    def definite(self, dim: Dim, depth: int) -> Node:
        """Wᵀ W + diag(1 + v .* v): positive definite, every eigenvalue at least 1, so its
        inverse is stable and its determinant positive."""
        inner = self.weighted([(1, 1), (2, 1), (dim, 1)])
        w = self.expression((inner, dim), depth - 1)
        v = self.expression((dim, 1), depth - 1)
        w, v = (Call("tanh", u) if self.magnitude(u) > 1.5 else u for u in (w, v))
        diagonal = Call("diag", Op("+", Num("1"), Op(".*", v, v)))
        return Op("+", Op(" ", Transpose(w), w), diagonal)

    def inverse(self, shape: Shape, depth: int) -> Node:
        return Call("inv", self.definite(shape[0], depth))

    def reduce(self, shape: Shape, depth: int) -> Node:
        """tr(A), det(M) and logdet(M) of a square matrix."""
        form = self.weighted([("tr", 1), ("det", 1), ("logdet", 1)])
        if form == "tr":
            dim = self.dim(not_one=True)
            inside = self.inverse((dim, dim), depth) if self.chance(25) else None
            return Call("tr", inside or self.expression((dim, dim), depth - 1))
        dim = 2 if form == "det" else self.dim(not_one=True)  # det grows as a power of dim
        return Call(form, self.definite(dim, depth))

    def sum(self, shape: Shape, depth: int) -> Node:
        """sum(x), mean(x), or sum(x, 0) of a vector (a scalar)."""
        form = self.weighted([("sum", 2), ("mean", 1), ("axis", 1)])
        if form == "axis":
            argument = self.expression((self.dim(not_one=True), 1), depth - 1)
            return Call("sum", argument, (Num("0"),))
        return Call(form, self.expression(self.nonscalar_shape(), depth - 1))

    def norm(self, shape: Shape, depth: int) -> Node:
        """norm(x), or norm1(x), norm2(x), norm(x, 1) (their argument kept off abs's kink)."""
        argument_shape = SCALAR if self.chance(10) else self.nonscalar_shape()
        return self.any_norm(self.expression(argument_shape, depth - 1))

    def any_norm(self, argument: Node) -> Call:
        form = self.weighted([("norm", 2), ("norm1", 2), ("norm2", 1), ("norm p", 1)])
        if form == "norm":
            return self.norm_of(argument)
        if self.may_vanish(argument):
            argument = Op("+", Num("1"), argument)
        more = (Num("1"),) if form == "norm p" else ()
        return Call("norm" if more else form, argument, more)

    def power(self, shape: Shape, depth: int) -> Node:
        form = self.weighted([("square", 3), ("cube", 1), ("inverse", 3), ("exponent", 2)])
        if form == "exponent":  # σ(u)^a: a positive base, a scalar quantity as the exponent
            u = self.expression(SCALAR, depth - 1)
            if self.magnitude(u) > 3:
                u = Call("tanh", u)
            return Op("^", Call("sigmoid", u), self.given_leaf(SCALAR))
        if form == "inverse":  # x^-1 only of a positive base
            kind = self.weighted([("one plus square", 1), ("sigmoid", 1), ("norm", 1)])
            if kind == "norm":
                base: Node = Call("norm", self.given_leaf(self.nonscalar_shape()))
            else:
                u = self.expression(SCALAR, depth - 1)
                if self.magnitude(u) > 3:
                    u = Call("tanh", u)
                one_plus = Op("+", Num("1"), Op("^", u, Num("2")))
                base = Call("sigmoid", u) if kind == "sigmoid" else one_plus
            return Op("^", base, Neg(Num("1")))
        base = self.expression(SCALAR, depth - 1)
        if self.magnitude(base) > (5 if form == "square" else 3):
            base = Call("tanh", base)
        return Op("^", base, Num("2" if form == "square" else "3"))

    def quadratic(self, shape: Shape, depth: int) -> Node:
        """uᵀu, as in (t - y)ᵀ(t - y), or the bilinear uᵀ W v."""
        u = self.expression((self.dim(not_one=True), 1), depth - 1)
        if self.chance(60):
            return Op(" ", Transpose(u), u)
        v = self.expression((self.dim(not_one=True), 1), depth - 1)
        weight = self.leaf((u.shape[0], v.shape[0]))
        return Op(" ", Op(" ", Transpose(u), weight), v)

    # the loss
    def loss(self) -> Node:
        kinds = [("sum", 2), ("mse", 3), ("mse_sum", 2), ("bce", 2), ("softmax_ce", 2)]
        kind = self.weighted([*kinds, ("general", 2), ("norm", 1)])
        self.tags.add(f"loss {kind}")
        loss: Node = getattr(self, f"loss_{kind}")()
        matrices = [g.name for g in self.givens.values() if g.role == "parameter"]
        matrices = [n for n in matrices if not is_scalar(self.givens[n].shape)]
        if matrices and self.chance(20):
            self.tags.add("l2 term")
            weight = self.draw(st.sampled_from(matrices))
            term = _sum_of_squares(Ref(weight, self.givens[weight].shape))
            if self.chance(50):
                coefficient: Node = Ref(self.fresh("lambda"), SCALAR)
                self.givens[coefficient.name] = Given(coefficient.name, SCALAR, "scalar")
                loss = Op("+", loss, Op("*", coefficient, term))
            else:
                loss = Op("+", loss, Op(" ", Num("0.01"), term))
        return loss

    def output(self, *, scalar: bool = False) -> Ref:
        """The newest quantity; with ``scalar``, a width-1 layer on it if it is not a scalar."""
        name, node = self.forward[-1]
        if scalar and not is_scalar(node.shape):
            self.define(self.fresh("z"), self.layer(SCALAR, 1))
            name, node = self.forward[-1]
        return Ref(name, node.shape)

    def loss_sum(self) -> Node:
        return Call("sum", self.output())

    def loss_norm(self) -> Node:
        return self.norm_of(self.output())

    def loss_mse(self) -> Node:
        y = self.output(scalar=self.chance(30))
        diff = Op("-", Ref(self.new_given(y.shape, prefix="t"), y.shape), y)
        rows, cols = y.shape
        if is_scalar(y.shape):
            return Op("/", Op("^", diff, Num("2")), Num("2"))
        if cols == 1:
            return Op("/", Op(" ", Transpose(diff), diff), Num("2"))
        if rows == 1:
            return Op("/", Op(" ", diff, Transpose(diff)), Num("2"))
        return Op("/", _sum_of_squares(diff), Num("2"))

    def loss_mse_sum(self) -> Node:
        y = self.output()
        return _sum_of_squares(Op("-", Ref(self.new_given(y.shape, prefix="t"), y.shape), y))

    def loss_general(self) -> Node:
        y = self.output()
        loss = self.expression(SCALAR, self.draw(st.integers(1, 2)))
        if y.name in names_in(loss):
            return loss
        return Op("+", loss, y if is_scalar(y.shape) else Call("sum", y))

    def loss_bce(self) -> Node:
        """Binary cross-entropy on a sigmoid output; scalar, or a vector of independent labels."""
        logits = self.output(scalar=self.chance(40))
        if not (is_scalar(logits.shape) or _is_column(logits.shape)):
            self.define(self.fresh("z"), self.layer((self.dim(), 1), 1))
            logits = self.output()
        if self.magnitude(logits) > SIGMOID_LIMIT:
            self.define(self.fresh("z"), Call("tanh", logits))
            logits = self.output()
        if self.chance(25):
            y: Node = Call("sigmoid", logits)
            self.tags.add("bce inline")
        else:
            self.define(self.fresh("y"), Call("sigmoid", logits))
            y = self.output()
        t = Ref(self.new_given(y.shape, role="unit", prefix="t"), y.shape)
        one_minus_t, one_minus_y = Op("-", Num("1"), t), Op("-", Num("1"), y)
        if is_scalar(y.shape):
            self.tags.add("bce scalar")
            first = Op(" ", t, Call("log", y))
            return Neg(Op("+", first, Op(" ", one_minus_t, Call("log", one_minus_y))))
        self.tags.add("bce vector")
        if self.chance(50):
            first = Op(" ", Transpose(t), Call("log", y))
            return Neg(Op("+", first, Op(" ", Transpose(one_minus_t), Call("log", one_minus_y))))
        first = Op(".*", t, Call("log", y))
        return Neg(Call("sum", Op("+", first, Op(".*", one_minus_t, Call("log", one_minus_y)))))

    def loss_softmax_ce(self) -> Node:
        """-tᵀ log(p) with p = softmax(z): its own equation or written inside the loss."""
        z = self.output()
        if not (_is_column(z.shape) and z.shape[0] != 1):
            self.define(self.fresh("z"), self.layer((self.dim(not_one=True), 1), 1))
            z = self.output()
        if self.chance(40):
            self.tags.add("softmax ce inline")
            p: Node = Call("softmax", z)
        else:
            self.define(self.fresh("p"), Call("softmax", z))
            p = self.output()
        onehot = not self.chance(10)
        self.tags.add("softmax ce" if onehot else "softmax ce without onehot")
        role = "onehot" if onehot else "parameter"
        t = Ref(self.new_given(z.shape, role=role, prefix="t"), z.shape)
        return Op(" ", Neg(Transpose(t)), Call("log", p))

    # what to differentiate, and variants
    def candidates(self, loss: Node) -> list[str]:
        """The givens the loss depends on, one-hot targets aside, in the order given."""
        draft = GeneratedNetwork(tuple(self.givens.values()), tuple(self.forward), ("e", loss), ())
        used = draft.depends_on()
        return [g.name for g in self.givens.values() if g.name in used and g.role != "onehot"]

    def wrt(self, loss: Node) -> tuple[str, ...]:
        """A non-empty subset of the givens the loss depends on."""
        candidates = self.candidates(loss)
        chosen = self.draw(st.lists(st.sampled_from(candidates), min_size=1, unique=True))
        return tuple(chosen)

    def variants(self, loss: Node) -> tuple[tuple[str, str, Node], ...]:
        """One or two equations replaced, each built only from what precedes it."""
        equations = [*self.forward, ("e", loss)]
        protected = _feeds_positive_only(equations)
        replaceable = [i for i, (name, _) in enumerate(equations) if name not in protected]
        found = []
        for count in range(self.draw(st.integers(1, 2))):
            if not replaceable:
                break
            index = self.draw(st.sampled_from(replaceable))
            name, original = equations[index]
            self.visible = index
            node = self.expression(original.shape, self.draw(st.integers(1, 2)))
            self.visible = None
            if self.magnitude(node) > max(self.magnitude(original), 1.0):
                node = Call("tanh", node)
            found.append((f"alt{count + 1}", name, node))
        if found:
            self.tags.add("variants")
        return tuple(found)

    def magnitude(self, node: Node) -> float:
        """A rough typical size of ``node``'s entries, to keep exp and σ away from overflow."""
        match node:
            case Ref():
                return self.magnitudes.get(node.name, 1.5)
            case Num():
                return abs(float(node.text))
            case Neg() | Transpose():
                return self.magnitude(node.operand)
            case Call():
                return self._call_magnitude(node)
            case Op(op="^" | ".^"):
                if not is_constant(node.right):
                    return 10.0  # σ(u)^a with |u| <= 3 and |a| < 1
                exponent = constant(node.right)
                return 10.0 if exponent < 0 else self.magnitude(node.left) ** exponent
            case Op():
                a, b = self.magnitude(node.left), self.magnitude(node.right)
                if node.op in ("+", "-"):
                    return a + b
                if node.op in ("/", "./"):
                    return 2 * a
                if node.is_matrix_product:
                    return a * b * math.sqrt(size(node.left.shape[1]))
                return a * b
        raise AssertionError(node)

    def _call_magnitude(self, node: Call) -> float:
        a = self.magnitude(node.argument)
        entries = math.sqrt(size(node.argument.shape[0]) * size(node.argument.shape[1]))
        bounded = {"sigmoid": 1.0, "tanh": 1.0, "softmax": 1.0, "sin": 1.0, "cos": 1.0}
        bounded |= {"softsign": 1.0, "hardtanh": 1.0, "clip": 2.0}
        if node.function in bounded:
            return bounded[node.function]
        if node.function in EXTREMA and node.more:
            return max(a, self.magnitude(node.more[0]))
        if node.function == "huber":
            return 2 * a
        if node.function == "exp":
            return math.exp(min(a, 50.0))
        if node.function == "log":
            inner = node.argument
            return 2 * self.magnitude(inner.argument) + 1 if isinstance(inner, Call) else a
        if node.function in ("sum", "norm", "norm2", "tr"):
            return a * entries
        if node.function == "norm1":
            return a * entries**2
        if node.function == "inv":
            return 1.0  # every eigenvalue of the argument is at least 1
        if node.function in ("det", "logdet"):
            power = max(a, 1.0) ** size(node.argument.shape[0])
            return power if node.function == "det" else math.log(power) + 1
        return a + (0.7 if node.function == "softplus" else 0.0)


def _is_column(shape: Shape) -> bool:
    return shape[1] == 1 and shape[0] != 1


def _positive_power(node: Op) -> bool:
    """Whether base^exponent is safe for any base: a positive number exponent."""
    return is_constant(node.right) and constant(node.right) > 0


def _sum_of_squares(node: Node) -> Node:
    return Call("sum", Op(".*", node, node))


def _feeds_positive_only(equations: Sequence[tuple[str, Node]]) -> set[str]:
    """Names used where only a positive value is safe: inside log(), a divisor, a base^-1."""
    protected: set[str] = set()
    for _, rhs in equations:
        for node in walk(rhs):
            if isinstance(node, Call) and node.function == "log":
                protected |= set(names_in(node.argument))
            elif isinstance(node, Op) and node.op in ("/", "./"):
                protected |= set(names_in(node.right))
            elif isinstance(node, Op) and node.op == "^" and not _positive_power(node):
                protected |= set(names_in(node.left))
    return protected


# --- what a network exercises ----------------------------------------------------------------

# Each construct in the README's expression table (its first column, split into words where a
# cell lists several) -> the feature of ``features`` that exercises it.
README_CONSTRUCTS: dict[str, str] = {
    "+": "sum +",
    "-": "difference -",
    "*": "product *",
    "/": "division by a scalar",
    "A x": "matrix product by juxtaposition",
    "A * x": "matrix product by *",
    "a .* b": "hadamard .*",
    "a ⊙ b": "hadamard ⊙",
    "a^2": "power of a scalar",
    "h .* h": "hadamard .*",
    "A^T": "transpose",
    "(t - y)^T (t - y)": "transposed difference times difference",
    **{function: f"{function} entrywise" for function in FUNCTIONS},
    "sum(x)": "sum()",
    "norm(x)": "norm()",
    "softmax(z)": "softmax()",
    "leaky_relu(x, alpha)": "leaky_relu with a parameter",
    "clip(x, a, b)": "clip entrywise",
    "huber(x, delta)": "huber entrywise",
    **{f"{f}(a, b)": f"{f} of two" for f in EXTREMA},
    **{f"{f}(x)": f"{f}()" for f in EXTREMA},
    "-t^T log(p)": "loss softmax_ce",
    "1 - y": "number added to a vector",
    "a ./ b": "entrywise division ./",
    "a .^ 2": "entrywise power .^",
    **{f"{f}(X, {axis})": f"{f}(X, {axis})" for f in ("sum", "mean") for axis in (0, 1)},
    "mean(X)": "mean()",
    "X W + b": "row across the rows",
    "W X + b": "column across the columns",
    "X w + b": "named scalar over every entry",
    "softmax(Z)": "softmax of a matrix by rows",
    "softmax(Z, 0)": "softmax(Z, 0)",
    "tr(A)": "tr()",
    "diag(x)": "diag of a vector",
    "diag(A)": "diag of a matrix",
    "norm1(x)": "norm1()",
    "norm2(x)": "norm2()",
    "norm(x, 1)": "norm(x, 1)",
    **{f"{f}(M)": f"{f}()" for f in ("inv", "det", "logdet")},
}

# Features beyond the README's table that the brief for this suite asks the generator to cover.
ARCHITECTURE_FEATURES = (
    *(f"{function} of a scalar" for function in FUNCTIONS),
    *(f"{function} of a scalar and a matrix" for function in EXTREMA),
    "scale by a scalar given",
    "scale by a number",
    "scale by sum() or norm()",
    "scale by a width-1 output",
    "row vector times matrix",
    "outer product",
    "power -1",
    "power with a scalar exponent",
    "declared function",
    "negation",
    "skip connection",
    "reused quantity",
    "tied weights",
    "same quantity twice",
    "width-1 layer",
    "transposed weight",
    "residual block",
    "greek and subscripted names",
    "integer dimension",
    "scalar written as vector 1",
    "softmax equation",
    "softmax in the loss",
    "variants",
    "wrt subset",
    *(f"depth {depth}" for depth in range(1, 7)),
    "loss mse",
    "loss mse_sum",
    "bce scalar",
    "bce vector",
    "softmax ce",
    "l2 term",
    "loss sum",
    "loss norm",
)


def features(network: GeneratedNetwork) -> set[str]:
    """Every construct and architecture feature ``network`` exercises."""
    found = set(network.tags)
    givens = {g.name for g in network.givens}
    every = [*network.equations, *((name, node) for _, name, node in network.variants)]
    for _, rhs in every:
        for node in walk(rhs):
            found |= _node_features(node, givens)
    found |= _graph_features(network)
    return found


def _node_features(node: Node, givens: set[str]) -> set[str]:
    found: set[str] = set()
    match node:
        case Neg():
            found.add("negation")
        case Transpose() if not is_scalar(node.shape):
            found.add("transpose")
        case Call():
            scalar = is_scalar(node.argument.shape)
            if node.function in FUNCTIONS:
                found.add(f"{node.function} {'of a scalar' if scalar else 'entrywise'}")
            elif node.function in EXTREMA:
                found.add(f"{node.function} of two" if node.more else f"{node.function}()")
            elif node.function in (*VECTOR_FUNCTIONS, *MATRIX_FUNCTIONS):
                found.add(_reduction_feature(node))
            else:
                found.add("declared function")
        case Op(op="+" | "-"):
            found.add("sum +" if node.op == "+" else "difference -")
            found |= _broadcast_features(node)
            numbers = [isinstance(side, Num) for side in (node.left, node.right)]
            if any(numbers) and not is_scalar(node.shape):
                found.add("number added to a vector")
        case Op(op="^"):
            if not is_constant(node.right):
                found.add("power with a scalar exponent")
            else:
                found.add("power -1" if constant(node.right) < 0 else "power of a scalar")
        case Op(op="/"):
            found.add("division by a scalar")
        case Op(op=".*" | "⊙"):
            found.add(f"hadamard {node.op}")
            found |= _broadcast_features(node)
        case Op(op="./"):
            found.add("entrywise division ./")
            found |= _broadcast_features(node)
        case Op(op=".^"):
            found.add("entrywise power .^")
        case Op():
            found |= _product_features(node, givens)
    return found


def _reduction_feature(node: Call) -> str:
    """sum(X, 0), softmax(Z, 0), norm(x, 1), diag of a vector, … as the README writes them."""
    function, cols = node.function, node.argument.shape[1]
    if function == "softmax" and cols != 1:
        axis = constant(node.more[0]) if node.more else 1
        return "softmax(Z, 0)" if axis == 0 else "softmax of a matrix by rows"
    if function == "diag":
        return "diag of a vector" if cols == 1 else "diag of a matrix"
    if node.more and function in ("sum", "mean"):
        return f"{function}(X, {int(constant(node.more[0]))})"
    if node.more and function == "norm":
        return "norm(x, 1)"
    return f"{function}()"


def _broadcast_features(node: Op) -> set[str]:
    """A row spread across the rows, a column across the columns, a named scalar over all."""
    found: set[str] = set()
    for small, big in ((node.left, node.right), (node.right, node.left)):
        (rows, cols), (big_rows, big_cols) = small.shape, big.shape
        if is_scalar(small.shape) and not is_scalar(big.shape) and isinstance(small, Ref):
            found.add("named scalar over every entry")
        elif rows == 1 and cols != 1 and big_rows != 1:
            found.add("row across the rows")
        elif cols == 1 and rows != 1 and big_cols != 1:
            found.add("column across the columns")
    return found


def _product_features(node: Op, givens: set[str]) -> set[str]:
    found = {"product *"} if node.op == "*" else set()
    if not node.is_matrix_product:
        factor = node.left if is_scalar(node.left.shape) else node.right
        if not is_scalar(node.shape):
            if isinstance(factor, Num):
                found.add("scale by a number")
            elif isinstance(factor, Call) and factor.function in ("sum", "norm"):
                found.add("scale by sum() or norm()")
            elif isinstance(factor, Ref):
                given = factor.name in givens
                found.add("scale by a scalar given" if given else "scale by a width-1 output")
        return found
    found.add("matrix product by *" if node.op == "*" else "matrix product by juxtaposition")
    left, right = node.left, node.right
    if is_scalar(node.shape) and isinstance(left, Transpose) and not isinstance(left.operand, Ref):
        found.add("transposed difference times difference")
    if isinstance(left, Transpose) and left.shape[0] == 1 and right.shape[1] != 1:
        found.add("row vector times matrix")
    if left.shape[1] == 1:
        found.add("outer product")
    weight = left.operand if isinstance(left, Transpose) else None
    if isinstance(weight, Ref) and weight.name in givens and 1 not in weight.shape:
        found.add("transposed weight")
    if left.shape[0] == 1 and isinstance(left, Ref) and left.name in givens and right.shape[1] == 1:
        found.add("width-1 layer")
    return found


def _graph_features(network: GeneratedNetwork) -> set[str]:
    found: set[str] = set()
    position = {name: i for i, (name, _) in enumerate(network.equations)}
    users: dict[str, set[str]] = {}
    for index, (name, rhs) in enumerate(network.equations):
        used = names_in(rhs)
        if len(used) != len(set(used)):
            found.add("same quantity twice")
        for other in set(used):
            users.setdefault(other, set()).add(name)
            if other in position and position[other] <= index - 2:
                found.add("skip connection")
    for given in network.givens:
        matrix = given.shape[0] != 1 and given.shape[1] != 1
        if matrix and len(users.get(given.name, ())) > 1:
            found.add("tied weights")
        if any(isinstance(d, int) and d > 1 for d in given.shape):
            found.add("integer dimension")
        if given.spec in ("vector 1", "matrix 1 1"):
            found.add("scalar written as vector 1")
    if any(len(users.get(name, ())) > 1 for name in position):
        found.add("reused quantity")
    if any(isinstance(rhs, Call) and rhs.function == "softmax" for _, rhs in network.forward):
        found.add("softmax equation")
    if any(isinstance(n, Call) and n.function == "softmax" for n in walk(network.loss[1])):
        found.add("softmax in the loss")
    if len(network.wrt) < len(network.depends_on() - set(network.onehot)):
        found.add("wrt subset")
    return found
