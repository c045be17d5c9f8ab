"""derive: step-by-step, numerically checked derivations for deep-learning courses."""

from __future__ import annotations
