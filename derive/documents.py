"""What the command line solves: a network file, a built-in example, or the default document."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from derive.examples import DEFAULT, EXAMPLES, example_path
from derive.load import load_network
from derive.model import Network, Part, Solution
from derive.problem_set import is_problem_set, load_problem_set
from derive.solve import solve

DEFAULT_TITLE = "Backpropagation through a two-layer sigmoid network (homework Problem 1)"


def solve_file(
    path: str | Path,
    *,
    notation: str | None = None,
    points: int = 3,
    progress: Callable[[str], None] | None = None,
) -> Solution:
    """The solution of the network file or problem set at ``path``."""
    if is_problem_set(path):
        return load_problem_set(path, points=points, progress=progress)
    network = load_network(path)
    return _solve_reporting(network, notation=notation, points=points, progress=progress)


def solve_example(
    name: str,
    *,
    notation: str | None = None,
    points: int = 3,
    progress: Callable[[str], None] | None = None,
) -> Solution:
    """The solution of the built-in example ``name``."""
    network = load_network(example_path(name))
    chosen = notation or EXAMPLES[name].notation
    return _solve_reporting(network, notation=chosen, points=points, progress=progress)


def solve_default(*, points: int = 3, progress: Callable[[str], None] | None = None) -> Solution:
    """The seeds' Problem 1, every quantity a scalar (and the skip variant), then in vector form."""
    parts: list[Part] = []
    for index, name in enumerate(DEFAULT):
        solution = solve_example(name, points=points, progress=progress)
        for part in solution.parts:
            if index > 0:
                part.name = name if part.name == "main" else f"{name}-{part.name}"
                part.heading = f"{solution.title}: {part.heading}"
            parts.append(part)
    return Solution(title=DEFAULT_TITLE, parts=parts)


def _solve_reporting(
    network: Network,
    *,
    notation: str | None,
    points: int,
    progress: Callable[[str], None] | None,
) -> Solution:
    if progress is not None:
        progress(network.title)
    return solve(network, notation=notation, points=points)
