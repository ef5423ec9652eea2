"""Shared test settings. Area fixtures live in each area's own conftest.py."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# CI runs on 2 cores next to other work: keep hypothesis budgets bounded and deadline-free
# (speed is measured in benches/, never asserted here).
settings.register_profile(
    "galileo",
    max_examples=int(os.environ.get("GALILEO_HYPOTHESIS_EXAMPLES", "100")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("galileo")
