"""JSON output: a stable contract for graders and other programs.

Shape (extra keys may be added, required ones are never removed)::

    {"title": str,
     "parts": [{"name": str, "heading": str,
                "answers": {NAME: {"shape": [rows, cols] or [], "latex": str, "sympy": str,
                                   "latex_uses_adjoints": true (only when the substituted
                                   answer is too long to print; "sympy" is always substituted),
                                   "value": "-5/3", "float": -1.666...}},
                "verification": {"points": int, "max_rel_error": float, "ok": bool} or null}]}

``"value"`` and ``"float"`` appear only when the answer is an exact number (Rational, Integer)
or a tuple of them (lists then, e.g. ``["-5/3", "1/3", "1/3", "1"]``).
``"max_rel_error"`` is null if the check produced no finite error (JSON has no NaN or Infinity).

``"sympy"`` is ``sympy.srepr`` of the answer; ``eval`` it with sympy's names plus
``derive.functions.SREPR_NAMESPACE`` to get the expression back. An answer that would have
more than ``TREE_LIMIT`` nodes written out as a tree (a deep chain whose adjoints are shared:
the paths multiply) has ``"substituted": false``: its ``"sympy"`` keeps named adjoints
(``delta_h3``), and the part lists ``"adjoints": [{"name": "delta_h3", "sympy": ...}, ...]``,
each defined in terms of the ones before it (closest to the loss first). Evaluate them in that
order, or substitute them in reverse order, to get the answer over the network's quantities.
"""

from __future__ import annotations

import json
import math
from typing import Any

import sympy as sp

from derive.graph import NodeMap, SharedRepr, tree_size
from derive.model import Answer, Part, Solution, Verification
from derive.printing import tex

TREE_LIMIT = 50_000  # nodes: an answer larger than this as a tree is written with named adjoints


def render_json(solution: Solution) -> str:
    """The solution's answers and checks as indented JSON (see the module docstring)."""
    printer = SharedRepr()  # answers share subexpressions: each is printed once
    parts = [_part(part, printer) for part in solution.parts]
    document = {"title": solution.title, "parts": parts}
    return json.dumps(document, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def _part(part: Part, printer: SharedRepr) -> dict[str, Any]:
    sizes: NodeMap[int] = NodeMap()  # the answers share subexpressions: each sized once
    answers = {name: _answer(answer, printer, sizes) for name, answer in part.answers.items()}
    entry: dict[str, Any] = {
        "name": part.name,
        "heading": part.heading,
        "answers": answers,
        "verification": _verification(part.verification),
    }
    if any(not a.get("substituted", True) for a in answers.values()):
        entry["adjoints"] = [
            {"name": str(symbol), "sympy": printer(definition)}
            for symbol, definition in part.adjoints
        ]
    return entry


def _answer(answer: Answer, printer: SharedRepr, sizes: NodeMap[int]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "shape": [_dim(d) for d in answer.shape],
        "latex": tex(answer.shown),
    }
    large = tree_size(answer.value, limit=TREE_LIMIT, memo=sizes) >= TREE_LIMIT
    if answer.compact is not None and large:
        # written out as a tree the answer would be enormous (paths through shared adjoints
        # multiply); its named-adjoint form with the part's "adjoints" is linear in size
        entry["sympy"] = printer(answer.compact)
        entry["substituted"] = False
    else:
        entry["sympy"] = printer(answer.value)
    if answer.display is not None:  # too long to print: the LaTeX keeps the named adjoints
        entry["latex_uses_adjoints"] = True
    if isinstance(answer.value, sp.Rational):  # Integer is a Rational too
        entry["value"] = str(answer.value)
        entry["float"] = float(answer.value)
    elif _exact_numbers(answer.value):  # a batch of exact numbers: (-5/3, 1/3, 1/3, 1)
        entry["value"] = [str(v) for v in _items(answer.value)]
        entry["float"] = [float(v) for v in _items(answer.value)]
    return entry


def _dim(dim: object) -> int | str:
    """Dims are JSON-ready already; sympy Integers and Symbols slip through as int and str."""
    if isinstance(dim, int | str):
        return dim
    if isinstance(dim, sp.Integer):
        return int(dim)
    return str(dim)


def _verification(check: Verification | None) -> dict[str, Any] | None:
    if check is None:
        return None
    error = float(check.max_rel_error)
    return {
        "points": int(check.points),
        "max_rel_error": error if math.isfinite(error) else None,
        "ok": bool(check.ok),
    }


def _items(value: sp.Basic) -> list[sp.Basic]:
    return list(value)


def _exact_numbers(value: sp.Basic) -> bool:
    """A tuple or explicit matrix whose entries are all exact rationals."""
    if not isinstance(value, sp.Tuple | sp.ImmutableMatrix):
        return False
    return all(isinstance(v, sp.Rational) for v in _items(value))
