"""Built-in examples: network files shipped with derive, solvable with no input at all."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from derive.errors import InputFileError


@dataclass(frozen=True)
class Example:
    name: str
    filename: str
    description: str
    notation: str | None = None


EXAMPLES: dict[str, Example] = {
    e.name: e
    for e in (
        Example("seeds", "seeds.yaml", "the problem set of both seed documents (the default)"),
        Example(
            "seed-problem-1",
            "seed_problem1.yaml",
            "homework Problem 1, scalar form, with the skip variant",
        ),
        Example("two-layer", "two_layer.yaml", "homework Problem 1 in vector form (W1 is k×n)"),
        Example(
            "midterm", "midterm.yaml", "y_pred = C σ(A x + b) + d per entry, σ arbitrary", "index"
        ),
        Example("tanh", "tanh.yaml", "a tanh layer, squared error without the 1/2"),
        Example("relu", "relu.yaml", "a ReLU layer with a linear read-out"),
        Example("softplus", "softplus.yaml", "a softplus layer"),
        Example("bce", "bce.yaml", "sigmoid output with binary cross-entropy (δ_z = y − t)"),
        Example(
            "softmax", "softmax_ce.yaml", "softmax with cross-entropy, one-hot t (δ_z = p − t)"
        ),
        Example("three-layer-skip", "three_layer_skip.yaml", "three layers with a skip connection"),
        Example("vector-output", "vector_output.yaml", "vector output with (t − y)ᵀ(t − y)/2"),
    )
}

COURSE_FOLDER = "course"


def _course_examples() -> list[Example]:
    """Public course problems in their course's notation: ``course/NAME.yaml``, named NAME with
    dashes, described by the file's first line, a comment (``# CS231n two-layer net ...``)."""
    from importlib import resources

    folder = resources.files("derive.examples") / COURSE_FOLDER
    found = []
    for item in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if not item.name.endswith(".yaml"):
            continue
        first = item.read_text(encoding="utf-8").split("\n", 1)[0]
        description = first.lstrip("#").strip() if first.startswith("#") else item.name
        name = item.name.removesuffix(".yaml").replace("_", "-")
        found.append(Example(name, f"{COURSE_FOLDER}/{item.name}", description))
    return found


EXAMPLES.update((example.name, example) for example in _course_examples())

# What `derive solve` with no FILE solves: every problem of both seed documents.
DEFAULT = "seeds"


def example_path(name: str) -> Path:
    """The file of the built-in example ``name``."""
    if name not in EXAMPLES:
        known = ", ".join(EXAMPLES)
        raise InputFileError(f"no built-in example '{name}'; known examples: {known}")
    from importlib import resources

    traversable = resources.files("derive.examples").joinpath(*EXAMPLES[name].filename.split("/"))
    return Path(str(traversable))
