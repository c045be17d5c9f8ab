"""Hypothesis profiles for the property tests, chosen with HYPOTHESIS_PROFILE (default ci).

ci: 300 networks, derandomized so every CI run tests the same ones; no shrinking (it re-solves
a failing network hundreds of times, up to five minutes per failure: CI reports the network as
drawn) and no targeting (it steers towards the slowest networks). fuzz: 5,000 (``make fuzz``)
and dev: 50 shrink a failure to a minimal network file and steer towards slow networks. No
deadline: solving takes a variable fraction of a second, and the random-network test asserts
its own time limit.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, Phase, settings
from hypothesis.database import DirectoryBasedExampleDatabase

# Kept outside the repository: failing examples found while fuzzing are replayed first next time.
_DATABASE = DirectoryBasedExampleDatabase(Path(tempfile.gettempdir()) / "derive-hypothesis")
_SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large]

settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=_SLOW,
    print_blob=True,
)
settings.register_profile(
    "fuzz",
    max_examples=5000,
    deadline=None,
    database=_DATABASE,
    suppress_health_check=_SLOW,
    print_blob=True,
)
settings.register_profile(
    "dev",
    max_examples=50,
    deadline=None,
    database=_DATABASE,
    suppress_health_check=_SLOW,
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
