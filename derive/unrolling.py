"""Unrolling text: one step's equation at step k, and sums over the steps written out.

``h_{t-1}`` at step 2 is ``h_1``; ``sum_t(e_t)`` is ``(e_1 + e_2 + e_3)``. A reference outside
the steps 1..T must be one of the file's givens (the initial state h_0); errors point at the
reference in the file. ``derive.sequences`` reads the section and applies this to each key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

import yaml

from derive.errors import InputFileError, Location, UnknownSymbolError
from derive.parse import TextSpan

if TYPE_CHECKING:
    from derive.load import YamlReader
    from derive.sequences import Recurrence

SUM = "sum_t"  # sum_t(e_t) = e_1 + … + e_T

# A per-step reference: h_t, h_{t}, h_{t-1}, x_{t+1}. The base is as short as possible, so
# y_hat_t is y_hat at step t; `_t` must end the name (W_t2 is a name of its own).
REFERENCE = re.compile(
    r"(?<![A-Za-z0-9_])(?P<base>[A-Za-z][A-Za-z0-9_]*?)"
    r"_(?:t(?![A-Za-z0-9_])|\{(?P<index>[^{}]*)\})"
)
_INDEX = re.compile(r"\s*t\s*(?:(?P<sign>[+-])\s*(?P<shift>[0-9]+))?\s*")
_STEP_INDEX = re.compile(r"(?<![A-Za-z0-9_])t(?![A-Za-z0-9_])")  # x_{i+k} is another index's
_SUM_CALL = re.compile(rf"(?<![A-Za-z0-9_]){SUM}\s*\(")


class Unroller:
    """Rewrites text for one step (``h_{t-1}`` → ``h_1`` at t = 2) or for the whole sequence
    (``sum_t(e_t)`` → ``(e_1 + e_2 + e_3)``), with errors at the offending reference."""

    def __init__(
        self, reader: YamlReader, sequence: Recurrence, top_givens: Mapping[str, object]
    ) -> None:
        self.reader = reader
        self.sequence = sequence
        self.steps = sequence.steps
        self.bases = set(sequence.bases)
        self.top_givens = top_givens

    def givens(self) -> list[tuple[yaml.Node, yaml.Node]]:
        """The per-step givens as YAML pairs, name by name: x_1, x_2, x_3, y_1, …"""
        return [
            (scalar_like(key, f"{base}_{step}"), spec)
            for base, key, spec in self.sequence.given
            for step in range(1, self.steps + 1)
        ]

    def equations(self) -> list[yaml.Node]:
        """Every step's equations, step by step."""
        found: list[yaml.Node] = []
        for step in range(1, self.steps + 1):
            for _, node in self.sequence.forward:
                text = self.at_step(node.value, step, self.reader.span(node))
                found.append(scalar_like(node, text))
        return found

    def names(self, items: list[yaml.Node]) -> list[yaml.Node]:
        """A list of names with each per-step ``y_t`` standing for y_1, …, y_T."""
        found: list[yaml.Node] = []
        for item in items:
            reference = (
                REFERENCE.fullmatch(item.value) if isinstance(item, yaml.ScalarNode) else None
            )
            if reference is None or reference.group("base") not in self.bases:
                found.append(item)
                continue
            assert isinstance(item, yaml.ScalarNode)
            base = reference.group("base")
            found += [scalar_like(item, f"{base}_{step}") for step in range(1, self.steps + 1)]
        return found

    def pairs(self, pairs: list[tuple[yaml.Node, yaml.Node]]) -> list[tuple[yaml.Node, yaml.Node]]:
        """A mapping's pairs with a per-step ``h_t: dh_t`` standing for every step's pair."""
        found: list[tuple[yaml.Node, yaml.Node]] = []
        for key, value in pairs:
            reference = REFERENCE.fullmatch(key.value) if isinstance(key, yaml.ScalarNode) else None
            if reference is None or reference.group("base") not in self.bases:
                found.append((key, self.outside_node(value)))
                continue
            assert isinstance(key, yaml.ScalarNode)
            for step in range(1, self.steps + 1):
                name = self.reference(reference, step, self.reader.span(key), 0)
                if isinstance(value, yaml.ScalarNode) and not is_null(value):
                    text = self.at_step(value.value, step, self.reader.span(value))
                    found.append((scalar_like(key, name), scalar_like(value, text)))
                else:
                    found.append((scalar_like(key, name), value))
        return found

    def at_step(self, text: str, step: int, span: TextSpan, start: int = 0) -> str:
        """``text`` at step ``step``: every per-step reference replaced by its name."""

        def name(found: re.Match[str]) -> str:
            return self.reference(found, step, span, start)

        return REFERENCE.sub(name, text)

    def reference(self, found: re.Match[str], step: int, span: TextSpan, start: int) -> str:
        """The name a per-step reference stands for at ``step``."""
        written, base = found.group(), found.group("base")
        if not _is_step(found):
            return written  # another index's (the indices section expands it)
        location = span.location(start + found.start())
        if base == "sum" and found.group("index") is None:
            message = (
                f"{SUM}(...) sums over all the steps: it stands outside the sequence "
                "(in loss or forward), never in a step equation or another sum_t"
            )
            raise InputFileError(message, location=location)
        shift = self.shift(found, location)
        if base not in self.bases:
            declared = ", ".join(f"{b}_t" for b in self.sequence.bases) or "none"
            message = (
                f"'{written}' is indexed by the step t, but '{base}_t' is not a per-step "
                f"quantity (the sequence declares {declared})"
            )
            raise UnknownSymbolError(message, location=location)
        index = step + shift
        name = f"{base}_{index}"
        if 1 <= index <= self.steps or name in self.top_givens:
            return name
        where = f"'{written}' at step t = {step}"
        if index < 0:
            message = (
                f"{where} is step {index}: the steps are t = 1..{self.steps}, "
                f"and only an initial value such as '{base}_0' can be given before them"
            )
        else:
            message = (
                f"{where} is '{name}', outside the steps t = 1..{self.steps}, "
                f"and '{name}' is not a given"
            )
            if index == 0:
                message += f" (declare the initial value '{name}' under given)"
        raise UnknownSymbolError(message, location=location)

    def shift(self, found: re.Match[str], location: Location) -> int:
        """k of t + k: 0 for h_t, -1 for h_{t-1}."""
        index = found.group("index")
        if index is None:
            return 0
        parts = _INDEX.fullmatch(index)
        if parts is None:
            message = f"'{found.group()}': a step index is t, t-1, t+1, … in braces, not '{index}'"
            raise InputFileError(message, location=location)
        if parts.group("shift") is None:
            return 0
        digits = parts.group("shift")
        shift = int(digits) if len(digits) <= 18 else 10**18  # never convert a huge literal
        return -shift if parts.group("sign") == "-" else shift

    def outside_node(self, node: yaml.Node) -> yaml.Node:
        """An equation outside the sequence with every ``sum_t(...)`` expanded."""
        if not isinstance(node, yaml.ScalarNode) or is_null(node):
            return node
        return scalar_like(node, self.outside(node.value, self.reader.span(node)))

    def outside(self, text: str, span: TextSpan) -> str:
        """``text`` with each ``sum_t(body)`` written out as ``(body at 1 + … + body at T)``;
        a per-step name elsewhere is an error (which step would it be?)."""
        pieces: list[str] = []
        position = 0
        for call in _SUM_CALL.finditer(text):
            if call.start() < position:
                continue  # inside the previous sum, where it is reported as nested
            self.check_unindexed(text, span, position, call.start())
            close = _closing(text, call.end() - 1)
            if close is None:
                message = f"{SUM}( has no closing parenthesis"
                raise InputFileError(message, location=span.location(call.start()))
            body = text[call.end() : close]
            steps = range(1, self.steps + 1)
            terms = [self.at_step(body, step, span, call.end()) for step in steps]
            pieces += [text[position : call.start()], "(", _added(terms), ")"]
            position = close + 1
        self.check_unindexed(text, span, position, len(text))
        return "".join([*pieces, text[position:]])

    def check_unindexed(self, text: str, span: TextSpan, start: int, end: int) -> None:
        """No per-step reference between ``start`` and ``end`` of an equation outside the
        sequence: it names one quantity per step, and the equation is written once."""
        found = next((f for f in REFERENCE.finditer(text, start, end) if _is_step(f)), None)
        if found is None:
            return
        base = found.group("base")
        location = span.location(found.start())
        if base not in self.bases:
            self.reference(found, 1, span, 0)  # its own error: not a per-step quantity
        message = (
            f"'{found.group()}' names one quantity per step; outside the sequence write one step "
            f"('{base}_{self.steps}') or sum over the steps with {SUM}(...)"
        )
        raise InputFileError(message, location=location)


def _is_step(found: re.Match[str]) -> bool:
    """Whether a reference is indexed by the step: h_t, h_{t-1}, but not x_{i+k-1}."""
    index = found.group("index")
    return index is None or _STEP_INDEX.search(index) is not None


def _added(terms: list[str]) -> str:
    """``a + b + c``, with ``a + -b`` written ``a - b`` (the way the course writes the sum;
    + and - bind loosest, so either text is the same sum)."""
    total = terms[0].strip()
    for term in terms[1:]:
        term = term.strip()
        signed = term.startswith(("-", "−"))
        total += f" - {term[1:].lstrip()}" if signed else f" + {term}"
    return total


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


def is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def scalar_like(like: yaml.ScalarNode, value: str) -> yaml.ScalarNode:
    """A scalar holding ``value`` at the position of ``like`` (the reader then locates its
    errors at the start of ``like``, since the text there differs)."""
    if value == like.value:
        return like
    return yaml.ScalarNode(like.tag, value, like.start_mark, like.end_mark, style=like.style)
