"""What the command line solves: a network file, a problem set, or a built-in example."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from derive import bounded
from derive.bounded import GaveUpError
from derive.cache import Cache
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
    cache: bool = False,
) -> Solution:
    """The solution of the network file or problem set at ``path``; a problem set's problems
    solved side by side under bounds, and with ``cache`` read from and kept in the user's cache
    of solved problems (``derive.cache``)."""
    if is_problem_set(path):
        chosen = Cache.default() if cache else None
        return load_problem_set(path, points=points, progress=progress, cache=chosen)
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
    cache: bool = False,
) -> Solution:
    """The solution of the built-in example ``name`` (see ``derive examples``)."""
    path = example_path(name)
    chosen = notation or EXAMPLES[name].notation
    return solve_file(path, notation=chosen, points=points, progress=progress, cache=cache)


def solve_default(
    *, points: int = 3, progress: Callable[[str], None] | None = None, cache: bool = False
) -> Solution:
    """What `derive solve` writes with no FILE: the key to both seed documents."""
    return solve_example(DEFAULT, points=points, progress=progress, cache=cache)
