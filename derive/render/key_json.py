"""The JSON key of one variant: what a grader needs to grade it without the problem file.

Schema, version 1 (``"derive_key": 1``; a change that breaks a reader raises the version)::

    {"derive_key": 1,
     "title": str,
     "source": "seeds.yaml",                       # the problem file's name
     "variant": {"index": 1, "seed": int, "values": {"lr": "0.3", "mt-3.a": "7"}},
     "problem": str,        # the variant's whole file (YAML), drawn values in place
     "parts": [{"id": "main.W2" | "mt-3.mean" | "hw-1-skip.W2",
                "shape": [] | [rows, cols],        # ints or dimension names
                "answer": {"sympy": srepr, "latex": str},
                "givens": {name: shape},           # the quantities an answer may use
                "dims": {name: int}}]}             # sizes for the symbolic dimensions

A part's id is ``<part>.<answer>``: the network's part (``main`` or a variant's name) in a
network file, the problem's id in a problem set (a network problem's variant: ``hw-1-skip``).
``"sympy"`` is ``sympy.srepr`` of the checked answer; evaluate it with sympy's names plus
``derive.functions.SREPR_NAMESPACE``. ``"dims"`` are the sizes derive's own numeric check
uses, distinct so that a missing transpose cannot hide.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import sympy as sp
import yaml

from derive.graph import SharedRepr
from derive.load import YamlReader, parse_network_text
from derive.model import Network, Quantity, Solution, as_dim
from derive.printing import tex
from derive.verify import SIZES, concrete_dims

VERSION = 1


def render_key_json(
    solution: Solution,
    *,
    source: str,
    problem: str,
    index: int,
    seed: int,
    values: Mapping[str, str],
    is_problem_set: bool,
) -> str:
    """The JSON key of a solved variant whose file text is ``problem``."""
    networks = _networks(problem, is_problem_set)
    printer = SharedRepr()
    dummies: dict[str, str] = {}
    parts = []
    for part in solution.parts:
        network = networks.get(part.name)
        for name, answer in part.answers.items():
            if network is not None:
                givens = {n: _shape(q) for n, q in network.givens.items()}
                dims = {str(s): size for s, size in concrete_dims(network).items()}
            else:
                givens, dims = _free_quantities(answer.value)
            parts.append(
                {
                    "id": f"{part.name}.{name}",
                    "shape": [_dim(d) for d in answer.shape],
                    "answer": {
                        "sympy": _numbered(printer(answer.value), dummies),
                        "latex": tex(answer.shown),
                    },
                    "givens": givens,
                    "dims": dims,
                }
            )
    document = {
        "derive_key": VERSION,
        "title": solution.title,
        "source": source,
        "variant": {"index": index, "seed": seed, "values": dict(values)},
        "problem": problem,
        "parts": parts,
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


_DUMMY = re.compile(r"dummy_index=([0-9]+)")


def _numbered(srepr: str, numbering: dict[str, str]) -> str:
    """``srepr`` with sympy's Dummy indices (a per-process counter: different on every run)
    numbered 1, 2, … in order of first appearance in the document."""
    return _DUMMY.sub(
        lambda found: (
            "dummy_index=" + numbering.setdefault(found.group(1), str(len(numbering) + 1))
        ),
        srepr,
    )


def _networks(problem: str, is_problem_set: bool) -> dict[str, Network]:
    """The network behind each network part of the variant, by part name (its givens)."""
    if not is_problem_set:
        network = parse_network_text(problem)
        return {name: network for name in ["main", *network.variants]}
    reader = YamlReader(problem, "<variant>")
    found: dict[str, Network] = {}
    root = reader.compose()
    problems = reader.mapping(root, "a problem set", "a mapping")["problems"][1]
    assert isinstance(problems, yaml.SequenceNode)
    for node in problems.value:
        entries = reader.mapping(node, "a problem", "a mapping")
        kind = entries["kind"][1]
        if not (isinstance(kind, yaml.ScalarNode) and kind.value == "network"):
            continue
        identifier = str(entries["id"][1].value)
        network = reader.network(entries["network"][1])  # written inline in every variant
        found[identifier] = network
        for variant in network.variants:
            found[f"{identifier}-{variant}"] = network
    return found


def _free_quantities(value: sp.Basic) -> tuple[dict[str, Any], dict[str, int]]:
    """Givens and dims of an answer that is not a network's: its free symbols and matrices."""
    quantities = sorted(
        (s for s in value.free_symbols if isinstance(s, sp.Symbol | sp.MatrixSymbol)),
        key=lambda s: str(s),
    )
    givens: dict[str, Any] = {}
    symbols: set[sp.Basic] = set()
    for quantity in quantities:
        if isinstance(quantity, sp.MatrixSymbol):
            givens[str(quantity)] = [_dim(d) for d in quantity.shape]
            for dim in quantity.shape:
                symbols |= as_dim(dim).free_symbols
        else:
            givens[str(quantity)] = []
    ordered = sorted(symbols, key=lambda s: str(s))  # sized as derive.verify.concrete_dims does
    dims = {str(s): SIZES[i % len(SIZES)] + i // len(SIZES) for i, s in enumerate(ordered)}
    return givens, dims


def _shape(quantity: Quantity) -> list[int | str]:
    return [] if quantity.is_scalar else [_dim(d) for d in quantity.shape]


def _dim(dim: object) -> int | str:
    if isinstance(dim, int):
        return dim
    if isinstance(dim, sp.Integer):
        return int(dim)
    return str(dim)
