"""What the command line solves: a network file, a problem set, or a built-in example."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from derive import bounded
from derive.bounded import GaveUpError
from derive.errors import Location
from derive.examples import DEFAULT, EXAMPLES, example_path
from derive.load import load_network
from derive.model import Solution
from derive.problem_set import is_problem_set, load_problem_set
from derive.solve import solve


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
    if progress is not None:
        progress(network.title)
    try:
        return bounded.run(lambda: solve(network, notation=notation, points=points), what="")
    except GaveUpError as error:
        raise error.at(Location(str(path))) from None


def solve_example(
    name: str,
    *,
    notation: str | None = None,
    points: int = 3,
    progress: Callable[[str], None] | None = None,
) -> Solution:
    """The solution of the built-in example ``name`` (see ``derive examples``)."""
    path = example_path(name)
    chosen = notation or EXAMPLES[name].notation
    return solve_file(path, notation=chosen, points=points, progress=progress)


def solve_default(*, points: int = 3, progress: Callable[[str], None] | None = None) -> Solution:
    """What `derive solve` writes with no FILE: the key to both seed documents."""
    return solve_example(DEFAULT, points=points, progress=progress)
