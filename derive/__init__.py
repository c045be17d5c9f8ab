"""derive: step-by-step, numerically checked derivations for deep-learning courses.

net = derive.network(title=..., given={...}, forward=[...], loss="...", wrt=[...])
solution = derive.solve(net)          # or derive.solve(derive.load("net.yaml"))
solution.to_pdf("key.pdf")
"""

from __future__ import annotations

from derive.build import build_network as network
from derive.load import load_network as load
from derive.model import Network, Solution
from derive.solve import solve

__all__ = ["Network", "Solution", "load", "network", "solve"]
