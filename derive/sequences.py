"""Sequences: one declared step of a recurrence, unrolled for T steps before the network is built.

A network file's ``sequence:`` section declares the per-step givens and the equations of one
step t, writing a quantity of step t as ``h_t`` and of an earlier step as ``h_{t-1}``::

    sequence:
      steps: 3                       # t = 1..3
      given: {x_t: vector D}         # x_1, x_2, x_3
      forward:
        - h_t = tanh(W h_{t-1} + U x_t + b)

Unrolling is textual: step k of an equation is its text with t replaced by k
(``h_2 = tanh(W h_1 + U x_2 + b)``), so the builder, the engine and the printers see an
ordinary network of named quantities h_1, h_2, h_3. A name outside the steps 1..T (the
initial state h_0) must be a given. Outside the section ``sum_t(...)`` is the sum over the
steps (``L = sum_t(e_t)`` is e_1 + e_2 + e_3) and a list item ``y_t`` (onehot, wrt) stands
for every step's. The reverse pass then adds a shared weight's contributions from every step,
which is backpropagation through time. The unrolled equations keep the YAML positions of the
step equations, so an error in h_2's equation points at the line of h_t's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import yaml

from derive import limits
from derive.errors import InputFileError, RedefinitionError
from derive.unrolling import REFERENCE, Unroller, is_null

if TYPE_CHECKING:
    from derive.load import YamlReader

Entries = dict[str, tuple[yaml.ScalarNode, yaml.Node]]

SECTION_KEYS = ("steps", "given", "forward")

_TARGET = re.compile(r"\s*(?P<name>[^=]*?)\s*=")

_STEP_EQUATION = "a list of step equations, e.g. '- h_t = tanh(W h_{t-1} + U x_t + b)'"
_STEP_GIVEN = "a mapping from each per-step name to its shape, e.g. 'x_t: vector D'"


@dataclass(frozen=True)
class Recurrence:
    """A ``sequence:`` section as read: the number of steps, the per-step givens (base name,
    key node, shape node) and the step equations (target's base name, equation node)."""

    steps: int
    steps_node: yaml.Node
    given: list[tuple[str, yaml.ScalarNode, yaml.Node]]
    forward: list[tuple[str, yaml.ScalarNode]]

    @property
    def bases(self) -> list[str]:
        """Every per-step name's base, in the order declared: x, y, h, p, e."""
        return [base for base, *_ in self.given] + [base for base, _ in self.forward]


def unrolled(reader: YamlReader, entries: Entries) -> Entries:
    """A network file's entries with its ``sequence:`` section unrolled into the others: the
    per-step givens join ``given``, every step's equations come first in ``forward``, and
    ``sum_t(...)`` and ``y_t`` list items are expanded in loss, forward, variants, onehot, wrt;
    an upstream gradient ``h_t: dh_t`` pairs every step's (h_1: dh_1, …)."""
    sequence_key, section = entries["sequence"]
    sequence = read_section(reader, section)
    result = {key: value for key, value in entries.items() if key != "sequence"}
    given = result.get("given", (sequence_key, None))[1]
    top_givens = _top_givens(reader, given)
    unroller = Unroller(reader, sequence, top_givens)
    _check_clashes(reader, sequence, top_givens)
    _check_sizes(reader, sequence, entries, len(top_givens))

    if isinstance(given, yaml.MappingNode):
        given_key = result["given"][0]
        result["given"] = (given_key, _mapping(given, given.value + unroller.givens()))
    forward_key, top = result.get("forward", (sequence_key, None))
    if top is None or is_null(top):
        top = yaml.SequenceNode("tag:yaml.org,2002:seq", [], section.start_mark, section.end_mark)
    if isinstance(top, yaml.SequenceNode):
        items = unroller.equations() + [unroller.outside_node(item) for item in top.value]
        result["forward"] = (forward_key, _sequence(top, items))
    loss_key, loss = result.get("loss", (sequence_key, None))
    if isinstance(loss, yaml.ScalarNode):
        result["loss"] = (loss_key, unroller.outside_node(loss))
    variants_key, variants = result.get("variants", (sequence_key, None))
    if isinstance(variants, yaml.MappingNode):
        pairs = [(label, unroller.outside_node(value)) for label, value in variants.value]
        result["variants"] = (variants_key, _mapping(variants, pairs))
    upstream_key, upstream = result.get("upstream", (sequence_key, None))
    if isinstance(upstream, yaml.MappingNode):
        result["upstream"] = (upstream_key, _mapping(upstream, unroller.pairs(upstream.value)))
    for role in ("wrt", "onehot"):
        role_key, names = result.get(role, (sequence_key, None))
        if isinstance(names, yaml.SequenceNode):
            result[role] = (role_key, _sequence(names, unroller.names(names.value)))
    return result


def read_section(reader: YamlReader, node: yaml.Node) -> Recurrence:
    """The ``sequence:`` mapping read and checked: its keys, steps, per-step names."""
    expected = "a mapping with the keys steps, given, forward"
    entries = reader.mapping(node, "'sequence'", expected)
    for key, (key_node, _) in entries.items():
        if key not in SECTION_KEYS:
            message = f"unknown key '{key}' in 'sequence' (it has {', '.join(SECTION_KEYS)})"
            raise InputFileError(message, location=reader.location(key_node))
    if "steps" not in entries:
        message = "'sequence' needs 'steps', the number of steps T (t = 1..T)"
        raise InputFileError(message, location=reader.location(node))
    steps_node = entries["steps"][1]
    given_node = entries.get("given", (None, None))[1]
    forward_node = entries.get("forward", (None, None))[1]
    return Recurrence(
        _steps(reader, steps_node),
        steps_node,
        _step_givens(reader, given_node),
        _step_equations(reader, forward_node),
    )


def _step_givens(
    reader: YamlReader, node: yaml.Node | None
) -> list[tuple[str, yaml.ScalarNode, yaml.Node]]:
    """Each per-step given's base name (x for x_t), name node and shape node."""
    if node is None or is_null(node):
        return []
    found = []
    for name, (name_node, spec) in reader.mapping(node, "'sequence: given'", _STEP_GIVEN).items():
        reader.string(spec, f"'sequence: given: {name}'", "'scalar', 'vector n' or 'matrix k n'")
        found.append((_per_step(reader, name, name_node), name_node, spec))
    return found


def _step_equations(
    reader: YamlReader, node: yaml.Node | None
) -> list[tuple[str, yaml.ScalarNode]]:
    """Each step equation's target base name (h for h_t = …) and its node."""
    if node is None or is_null(node):
        return []
    if not isinstance(node, yaml.SequenceNode):
        raise reader.wrong("'sequence: forward'", node, _STEP_EQUATION)
    found = []
    for item in node.value:
        text, _ = reader.string(item, "each item of 'sequence: forward'", "an equation")
        assert isinstance(item, yaml.ScalarNode)
        found.append((_step_target(reader, text, item), item))
    return found


def _steps(reader: YamlReader, node: yaml.Node) -> int:
    """The number of steps: a whole number from 1 to the equations limit."""
    value = reader.scalar(node) if isinstance(node, yaml.ScalarNode) else None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise reader.wrong("'sequence: steps'", node, "a positive whole number (t = 1..steps)")
    if value > limits.current().equations:  # every step is at least one equation
        what = f"a sequence of {value} steps"
        raise limits.exceeded("equations", what, location=reader.location(node))
    return value


def _per_step(reader: YamlReader, name: str, node: yaml.ScalarNode) -> str:
    """The base of a per-step name written ``x_t``, or an error saying how to write it."""
    found = REFERENCE.fullmatch(name)
    if not found or (found.group("index") is not None and found.group("index").strip() != "t"):
        message = f"sequence: a per-step given is named for step t, e.g. 'x_t', not '{name}'"
        raise InputFileError(message, location=reader.location(node))
    return found.group("base")


def _step_target(reader: YamlReader, text: str, node: yaml.ScalarNode) -> str:
    """The base of the quantity a step equation defines (h for ``h_t = …``)."""
    found = _TARGET.match(text)
    span = reader.span(node)
    if found is None:
        message = f"in '{text}': a step equation reads 'name_t = expression'"
        raise InputFileError(message, location=span.start)
    target = found.group("name")
    reference = REFERENCE.fullmatch(target)
    if reference is None or (reference.group("index") or "t").strip() != "t":
        message = (
            f"in '{text}': a step equation defines one quantity per step, named for step t "
            f"(e.g. 'h_t = …'), not '{target}'"
        )
        raise InputFileError(message, location=span.location(found.start("name")))
    return reference.group("base")


def _top_givens(reader: YamlReader, given: yaml.Node | None) -> dict[str, yaml.ScalarNode]:
    """The file's own givens by name; one named for step t belongs under 'sequence: given'."""
    if not isinstance(given, yaml.MappingNode):
        return {}
    found = {}
    for key, _ in given.value:
        if not isinstance(key, yaml.ScalarNode):
            continue  # the reader reports it
        reference = REFERENCE.fullmatch(key.value)
        if reference is not None:
            message = (
                f"given: '{key.value}' is named for step t; a per-step given belongs under "
                "'sequence: given' (it becomes one given per step)"
            )
            raise InputFileError(message, location=reader.location(key))
        found[key.value] = key
    return found


def _check_clashes(
    reader: YamlReader, sequence: Recurrence, top_givens: Mapping[str, yaml.ScalarNode]
) -> None:
    """No per-step name's step is also one of the file's givens (h_t would redefine h_2)."""
    declared: list[tuple[str, yaml.ScalarNode, str]] = [
        (base, key, f"the per-step given '{key.value}'") for base, key, _ in sequence.given
    ]
    declared += [(base, node, f"'{base}_t'") for base, node in sequence.forward]
    for base, node, what in declared:
        for step in range(1, sequence.steps + 1):
            name = f"{base}_{step}"
            if name in top_givens:
                line = top_givens[name].start_mark.line + 1
                names = _names(base, sequence.steps)
                message = (
                    f"sequence: {what} is {names} for t = 1..{sequence.steps}, "
                    f"but '{name}' is already a given (line {line})"
                )
                raise RedefinitionError(message, location=reader.location(node))


def _check_sizes(
    reader: YamlReader, sequence: Recurrence, entries: Entries, top_givens: int
) -> None:
    """Unrolling multiplies equations and givens by the steps: both stay within their limits."""
    steps, location = sequence.steps, reader.location(sequence.steps_node)
    forward = entries.get("forward", (None, None))[1]
    others = len(forward.value) if isinstance(forward, yaml.SequenceNode) else 0
    equations = steps * len(sequence.forward) + others + 1
    if equations > limits.current().equations:
        what = (
            f"sequence: {steps} steps of {len(sequence.forward)} equations make "
            f"{_count(equations)} equations"
        )
        raise limits.exceeded("equations", what, location=location)
    givens = steps * len(sequence.given) + top_givens
    if givens > limits.current().yaml_items:
        what = (
            f"sequence: {steps} steps of {len(sequence.given)} per-step givens make "
            f"{_count(givens)} givens"
        )
        raise limits.exceeded("yaml_items", what, location=location)


def _names(base: str, steps: int) -> str:
    """h_1, h_2, h_3 (or h_1, …, h_T for many steps)."""
    if steps <= 3:
        return ", ".join(f"{base}_{step}" for step in range(1, steps + 1))
    return f"{base}_1, …, {base}_{steps}"


def _count(number: int) -> str:
    return f"{number:,}".replace(",", " ")


def _sequence(like: yaml.SequenceNode, items: list[yaml.Node]) -> yaml.SequenceNode:
    return yaml.SequenceNode(like.tag, items, like.start_mark, like.end_mark)


def _mapping(like: yaml.MappingNode, pairs: list[tuple[yaml.Node, yaml.Node]]) -> yaml.MappingNode:
    return yaml.MappingNode(like.tag, pairs, like.start_mark, like.end_mark)
