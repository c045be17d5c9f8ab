"""The names a least-squares problem is written in: A, x, b by default, or the course's own.

Ng's CS229 writes ½‖Xθ − y‖² + (λ/2)‖θ‖²; a problem set chooses ``matrix: X``, ``unknown:
theta``, ``target: y``, ``half: true`` and, optionally, ``dims: [m, n]``. Every name is
checked: a name, distinct from the others and from what the derivation names itself (the
SVD's U, Σ, V, the singular values σ_i, λ, the indices i, j, k, I and f).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from derive.functions import ACTIVATIONS, VECTOR_FUNCTIONS
from derive.names import GREEK
from derive.problems import ProblemSpec
from derive.problems.field_values import field_error
from derive.shapes import NAME_PATTERN

FIELDS: dict[str, str] = {
    "matrix": "the name of the data matrix (default A)",
    "unknown": "the name of the unknown vector (default x; theta prints as θ)",
    "target": "the name of the target vector (default b)",
    "half": "true for ½‖Ax − b‖² + (λ/2)‖x‖² (CS229); the minimiser is the same",
    "dims": "the names of the dimensions [rows, columns] of the matrix (default [m, n])",
}

# names the derivation itself uses -> what they stand for (a chosen name may not be one)
RESERVED: dict[str, str] = {
    "U": "the SVD's U",
    "Sigma": "the SVD's Σ",
    "V": "the SVD's V",
    "sigma": "the singular values σ_i",
    "lambda": "the ridge weight λ",
    "lamda": "the ridge weight λ",
    "I": "the identity I",
    "i": "an index of the SVD sum",
    "j": "an index of the SVD sum",
    "k": "an index of the SVD sum",
    "f": "the objective f",
    "gradient": "the gradient's answer",
    **{name: "a function" for name in (*ACTIVATIONS, *VECTOR_FUNCTIONS)},
}


@dataclass(frozen=True)
class Notation:
    """The chosen names and whether the objective carries the ½ (CS229's convention)."""

    matrix: str = "A"
    unknown: str = "x"
    target: str = "b"
    rows: str = "m"
    cols: str = "n"
    half: bool = False


def read_notation(spec: ProblemSpec, *, weight: str | None = None) -> Notation:
    """The fields' names, each checked; ``weight`` is the ridge weight's name, if a symbol."""
    defaults = Notation()
    chosen: dict[str, str] = {}  # shown field -> name
    for field in ("matrix", "unknown", "target"):
        chosen[f"'{field}'"] = _name(spec, field, spec.fields.get(field, getattr(defaults, field)))
    dims = spec.fields.get("dims", [defaults.rows, defaults.cols])
    if not isinstance(dims, list) or len(dims) != 2:
        shown = f"{len(dims)} entries" if isinstance(dims, list) else repr(dims)
        raise field_error(spec, f"'dims' must be two names [rows, columns], not {shown}")
    for position, value in zip(("rows", "columns"), dims, strict=True):
        chosen[f"'dims' ({position})"] = _name(spec, "dims", value, what=f"'dims' ({position})")
    taken: dict[str, str] = {}
    for field, name in chosen.items():
        if name in taken:
            raise field_error(
                spec, f"{field} names {name}, as {taken[name]} does; each must differ"
            )
        if name in RESERVED or (weight is not None and name == weight):
            meaning = RESERVED.get(name, "the ridge weight ('regularization')")
            raise field_error(
                spec, f"{field} names {name}, which is {meaning} in the derivation; choose another"
            )
        taken[name] = field
    half = spec.fields.get("half", False)
    if not isinstance(half, bool):
        raise field_error(spec, f"'half' must be true or false, not {half!r}")
    rows, cols = (chosen["'dims' (rows)"], chosen["'dims' (columns)"])
    return Notation(
        chosen["'matrix'"], chosen["'unknown'"], chosen["'target'"], rows, cols, half=half
    )


def _name(spec: ProblemSpec, field: str, value: object, *, what: str | None = None) -> str:
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
        example = {"matrix": "X", "unknown": "theta", "target": "y", "dims": "m"}[field]
        raise field_error(
            spec, f"{what or repr(field)} must be a name such as {example}, not {value!r}"
        )
    return value


def plain(name: str) -> str:
    """A name in running text: a Greek letter as its glyph (theta → θ), any other as written."""
    if name in GREEK and name not in ("lamda", "Lamda"):
        letter = name.removeprefix("var")
        case = "CAPITAL" if letter[0].isupper() else "SMALL"
        spelled = letter.upper().replace("LAMBDA", "LAMDA")
        return unicodedata.lookup(f"GREEK {case} LETTER {spelled}")
    return name
