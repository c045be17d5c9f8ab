"""derive: step-by-step, numerically checked derivations for deep-learning courses.

net = derive.network(title=..., given={...}, forward=[...], loss="...", wrt=[...])
solution = derive.solve(net)          # or derive.solve(derive.load("net.yaml"))
solution.to_pdf("key.pdf")

The names are imported on first use: ``import derive`` (and so ``derive --help``) does not
load SymPy or NumPy.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from derive.build import build_network as network
    from derive.load import load_network as load
    from derive.model import Network, Solution
    from derive.solve import solve

__all__ = ["Network", "Solution", "load", "network", "solve"]

# Each exported name: the module that defines it and its name there.
_EXPORTS: dict[str, tuple[str, str]] = {
    "Network": ("derive.model", "Network"),
    "Solution": ("derive.model", "Solution"),
    "load": ("derive.load", "load_network"),
    "network": ("derive.build", "build_network"),
    "solve": ("derive.solve", "solve"),
}


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """The package, whose exported names are imported on first use. ``derive.load`` and
    ``derive.solve`` stay the functions when the submodules of the same names are imported
    (the import system binds each submodule on the package; the eager imports this replaces
    rebound the functions after it)."""


def _exported(name: str, module: str, attribute: str) -> property:
    def get(package: types.ModuleType) -> Any:
        return getattr(importlib.import_module(module), attribute)

    def bind(package: types.ModuleType, value: object) -> None:
        if value is not sys.modules.get(f"{__name__}.{name}"):
            raise AttributeError(f"{__name__}.{name} cannot be reassigned")
        # else the import system binding submodule derive.NAME: it stays in sys.modules only

    return property(get, bind, doc=f"{module}.{attribute}")


for _name, (_module, _attribute) in _EXPORTS.items():
    setattr(_Package, _name, _exported(_name, _module, _attribute))
del _name, _module, _attribute
sys.modules[__name__].__class__ = _Package
