"""Time the whole pipeline (parse, backward, verify, LaTeX) on residual chains of growing depth.

Run: python scripts/benchmark.py. Prints depth, seconds per stage and the size of the first
layer's answer, which should grow linearly with depth.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import sympy as sp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from derive.engine import backward  # noqa: E402
from derive.load import parse_network_text  # noqa: E402
from derive.solve import solve  # noqa: E402
from tests.conftest import residual_chain_yaml  # noqa: E402


def main() -> None:
    print(
        f"{'depth':>5} {'parse s':>8} {'backward s':>10} {'solve s':>8} {'latex s':>8} {'answer size':>12}"
    )
    for depth in (10, 25, 50, 100, 200):
        start = time.perf_counter()
        network = parse_network_text(residual_chain_yaml(depth))
        parsed = time.perf_counter()
        result = backward(network)
        backed = time.perf_counter()
        solution = solve(network, points=1)
        solved = time.perf_counter()
        solution.to_latex()
        rendered = time.perf_counter()
        size = len(sp.srepr(result.adjoints["W1"].resolved))
        print(
            f"{depth:>5} {parsed - start:>8.2f} {backed - parsed:>10.2f} "
            f"{solved - backed:>8.2f} {rendered - solved:>8.2f} {size:>12}"
        )


if __name__ == "__main__":
    main()
