"""Index notation written out: one equation's text for given values of its indices.

``Expander.text`` rewrites ``z_i = sum_k(w_k x_{i+k-1}) + b`` at i = 2 as
``z_2 = (w_1 x_2 + w_2 x_3 + w_3 x_4) + b``: a reduction ``sum_k(…)``, ``max_{a,b}(…)`` or
``min_k(…)`` is written out over its indices' ranges, and an entry reference (``x_{i+k-1}``,
``X_{2i-1, 2j}``, ``dout_{ij}``, ``w_k``, ``x_3``) becomes the name of that entry (x_4,
X_3_4). The positions of the original text are kept, so an error points at the reference.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from derive import limits
from derive.errors import InputFileError, Location, UnknownSymbolError
from derive.parse import TextSpan


@dataclass(frozen=True)
class IndexRange:
    """A declared index and its values first..last (``i: 1..4``)."""

    name: str
    first: int
    last: int

    @property
    def values(self) -> range:
        return range(self.first, self.last + 1)

    def __str__(self) -> str:
        return f"{self.name} = {self.first}..{self.last}"


@dataclass(frozen=True)
class Indexed:
    """A quantity written entry by entry: a given vector or matrix split into scalars (its
    entries numbered from 1) or the target of an indexed equation (numbered as its indices)."""

    base: str
    axes: tuple[range, ...]  # the index values of each axis: (range(1, 7),) for x: vector 6
    described: str  # "a vector of 6 entries", "defined for i = 1..4"

    def name(self, values: tuple[int, ...]) -> str:
        """The scalar name of one entry: x_3, X_1_2 (printed x_{3}, X_{1,2})."""
        return "_".join([self.base, *map(str, values)])

    def names(self) -> list[str]:
        """Every entry's name, row by row."""
        return [self.name(values) for values in itertools.product(*self.axes)]

    def first_and_last(self) -> str:
        """x_1..x_6, X_1_1..X_4_4."""
        first = tuple(axis[0] for axis in self.axes)
        last = tuple(axis[-1] for axis in self.axes)
        return f"{self.name(first)}..{self.name(last)}"


def _nested(function: str) -> Callable[[list[str]], str]:
    """max(max(a, b), max(c, d)): a balanced tree of two-argument calls."""

    def combine(terms: list[str]) -> str:
        if len(terms) == 1:
            return terms[0].strip()
        half = len(terms) // 2
        return f"{function}({combine(terms[:half])}, {combine(terms[half:])})"

    return combine


def _added(terms: list[str]) -> str:
    """(a + b + c), with ``a + -b`` written ``a - b``; + and - bind loosest, so either text is
    the same sum."""
    total = terms[0].strip()
    for term in terms[1:]:
        term = term.strip()
        signed = term.startswith(("-", "−"))
        total += f" - {term[1:].lstrip()}" if signed else f" + {term}"
    return f"({total})"


# Reductions over indices: the name before _k( and how its written-out terms combine.
REDUCTIONS: dict[str, Callable[[list[str]], str]] = {
    "sum": _added,  # sum_k(t_k) = (t_1 + t_2 + t_3)
    "max": _nested("max"),  # max_{a,b}(X_{ab}) = max(max(X_11, X_12), max(X_21, X_22))
    "min": _nested("min"),
}
_REDUCTION = re.compile(
    rf"(?<![A-Za-z0-9_])(?P<kind>{'|'.join(REDUCTIONS)})"
    r"_(?:(?P<plain>[A-Za-z])|\{(?P<braced>[^{}]*)\})\s*\("
)
_TOKEN = re.compile(r"\s*(?:(?P<number>[0-9]+)|(?P<name>[A-Za-z])|(?P<symbol>[-+*()]))")
_INDEX_FORM = "an integer expression of the indices such as i+k-1 or 2i-1"


class Expander:
    """Writes out index notation for the indices declared in one network file."""

    def __init__(
        self,
        indices: Mapping[str, IndexRange],
        indexed: Mapping[str, Indexed],
        names: frozenset[str],
    ) -> None:
        self.indices = indices
        self.indexed = indexed
        self.names = names  # every given and target, to leave a name such as w_j alone
        bases = "|".join(re.escape(base) for base in sorted(indexed, key=len, reverse=True))
        self.reference = re.compile(
            rf"(?<![A-Za-z0-9_])(?P<base>{bases or '(?!)'})"
            r"_(?:\{(?P<braced>[^{}]*)\}|(?P<plain>[A-Za-z]|[0-9]+(?:_[0-9]+)*)(?![A-Za-z0-9_]))"
        )

    def text(self, text: str, values: Mapping[str, int], span: TextSpan, start: int = 0) -> str:
        """``text`` (at ``start`` of ``span``) with the indices in ``values`` put in, its
        reductions written out and its entry references named."""
        pieces: list[str] = []
        position = 0
        for call in _REDUCTION.finditer(text):
            if call.start() < position:
                continue  # inside the previous reduction, which expands it
            pieces.append(
                self.entries(text[position : call.start()], values, span, start + position)
            )
            close = _closing(text, call.end() - 1)
            where = span.location(start + call.start())
            if close is None:
                message = f"'{call.group().rstrip('(')}(' has no closing parenthesis"
                raise InputFileError(message, location=where)
            bound = self.bound(call, values, where)
            body, at = text[call.end() : close], start + call.end()
            terms: list[str] = []
            length = 0
            for assignment in itertools.product(*(index.values for index in bound)):
                inner = dict(values) | {i.name: v for i, v in zip(bound, assignment, strict=True)}
                terms.append(self.text(body, inner, span, at))
                length += len(terms[-1]) + 3
                if length > limits.current().expression_chars:
                    what = f"'{call.group().rstrip('(')}(…)' written out is too long"
                    raise limits.exceeded("expression_chars", what, location=where)
            pieces.append(REDUCTIONS[call.group("kind")](terms))
            position = close + 1
        pieces.append(self.entries(text[position:], values, span, start + position))
        return "".join(pieces)

    def bound(
        self, call: re.Match[str], values: Mapping[str, int], where: Location
    ) -> list[IndexRange]:
        """The indices a reduction runs over (k of sum_k, a and b of max_{a,b})."""
        written = call.group("plain") or call.group("braced")
        names = subscript_parts(written, self.indices)
        found = []
        for name in names:
            if name not in self.indices:
                raise self.unknown(call.group().rstrip("("), name, where)
            if name in values or names.count(name) > 1:
                message = f"'{call.group().rstrip('(')}': {name} is already bound here"
                raise InputFileError(message, location=where)
            found.append(self.indices[name])
        return found

    def entries(self, text: str, values: Mapping[str, int], span: TextSpan, start: int) -> str:
        """``text`` with every entry reference replaced by its entry's name."""

        def name(found: re.Match[str]) -> str:
            return self.entry(found, values, span.location(start + found.start()))

        return self.reference.sub(name, text)

    def entry(self, found: re.Match[str], values: Mapping[str, int], where: Location) -> str:
        """The name of the entry ``x_{i+k-1}`` stands for at ``values``: x_4."""
        written, base = found.group(), found.group("base")
        plain, quantity = found.group("plain"), self.indexed[base]
        if plain is not None and plain.isalpha() and plain not in self.indices:
            if written in self.names:
                return written  # a name of its own (w_j beside the entries w_1, w_2)
            raise self.unknown(written, plain, where)
        parts = (
            plain.split("_")
            if plain is not None
            else subscript_parts(found.group("braced"), self.indices)
        )
        if len(parts) != len(quantity.axes):
            count = "one index" if len(quantity.axes) == 1 else f"{len(quantity.axes)} indices"
            example = f"{base}_{{i,j}}" if len(quantity.axes) == 2 else f"{base}_i"
            message = (
                f"'{written}': {base} is {quantity.described}, so an entry has {count} "
                f"({example}), not {len(parts)}"
            )
            raise InputFileError(message, location=where)
        entry = tuple(self.evaluate(written, part, values, where) for part in parts)
        for value, axis in zip(entry, quantity.axes, strict=True):
            if value not in axis:
                at = ", ".join(f"{name} = {value}" for name, value in values.items())
                message = (
                    f"'{written}'{f' at {at}' if at else ''} is {quantity.name(entry)}, "
                    f"outside {base}, {quantity.described} ({quantity.first_and_last()})"
                )
                raise UnknownSymbolError(message, location=where)
        return quantity.name(entry)

    def evaluate(self, written: str, part: str, values: Mapping[str, int], where: Location) -> int:
        """The value of one index expression (``2i-1``, ``i+k``) at ``values``."""
        tokens = list(_TOKEN.finditer(part))
        if not part.strip() or sum(len(t.group()) for t in tokens) != len(part.rstrip()):
            raise _malformed(written, part, where)
        items = [token.group(token.lastgroup or "") for token in tokens]
        for item in items:
            if item.isalpha() and item not in self.indices:
                raise self.unknown(written, item, where)
            if item.isalpha() and item not in values:
                message = (
                    f"'{written}': the index {item} is not bound here (an index is bound by the "
                    f"target, as in z_{item} = …, or by a reduction such as sum_{item}(…))"
                )
                raise InputFileError(message, location=where)
        if any(item.isdigit() and len(item) > 18 for item in items):
            raise _malformed(written, part, where)
        parser = _Arithmetic(items, values)
        result = parser.sum()
        if result is None or parser.position != len(items):
            raise _malformed(written, part, where)
        return result

    def unknown(self, written: str, name: str, where: Location) -> UnknownSymbolError:
        declared = ", ".join(str(index) for index in self.indices.values())
        message = f"'{written}': '{name}' is not a declared index (indices: {declared})"
        return UnknownSymbolError(message, location=where)


class _Arithmetic:
    """Integer arithmetic of indices: + - * and parentheses, 2i meaning 2 * i."""

    def __init__(self, items: list[str], values: Mapping[str, int]) -> None:
        self.items = items
        self.values = values
        self.position = 0

    def peek(self) -> str | None:
        return self.items[self.position] if self.position < len(self.items) else None

    def sum(self) -> int | None:
        total = self.product()
        while total is not None and self.peek() in ("+", "-"):
            sign = self.items[self.position]
            self.position += 1
            term = self.product()
            if term is None:
                return None
            total = total + term if sign == "+" else total - term
        return total

    def product(self) -> int | None:
        total = self.factor()
        while total is not None:
            following = self.peek()
            if following == "*":
                self.position += 1
            elif following is None or not (following.isalnum() or following == "("):
                break
            factor = self.factor()
            if factor is None:
                return None
            total *= factor
        return total

    def factor(self) -> int | None:
        item = self.peek()
        self.position += 1
        if item is None:
            return None
        if item in ("+", "-"):
            value = self.factor()
            return None if value is None else (value if item == "+" else -value)
        if item.isdigit():
            return int(item)
        if item.isalpha():
            return self.values[item]
        if item == "(":
            value = self.sum()
            if self.peek() != ")":
                return None
            self.position += 1
            return value
        return None


def subscript_parts(written: str, indices: Mapping[str, IndexRange]) -> list[str]:
    """The parts of a subscript: ``i, j`` → [i, j]; ``ij`` → [i, j] when i and j are both
    declared indices (CS231n's dout_{ij}); else the one part."""
    parts = [part.strip() for part in written.split(",")]
    letters = parts[0]
    if len(parts) == 1 and re.fullmatch(r"[A-Za-z]{2,}", letters) and set(letters) <= set(indices):
        return list(letters)
    return parts


def _malformed(written: str, part: str, where: Location) -> InputFileError:
    message = f"'{written}': an index is {_INDEX_FORM}, not '{part.strip()}'"
    return InputFileError(message, location=where)


def _closing(text: str, opening: int) -> int | None:
    """The index of the parenthesis that closes the one at ``opening``."""
    depth = 0
    for index in range(opening, len(text)):
        if text[index] == "(":
            depth += 1
        elif text[index] == ")":
            depth -= 1
            if depth == 0:
                return index
    return None
