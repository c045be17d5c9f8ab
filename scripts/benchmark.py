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

from derive.engine import backward
from derive.load import parse_network_text
from derive.solve import solve
from tests.conftest import residual_chain_yaml


def main() -> None:
    header = ("depth", "parse s", "backward s", "solve s", "latex s", "answer size")
    print(" ".join(f"{h:>11}" for h in header))
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
        times = (parsed - start, backed - parsed, solved - backed, rendered - solved)
        print(f"{depth:>11} " + " ".join(f"{t:>11.2f}" for t in times) + f" {size:>11}")


if __name__ == "__main__":
    main()
