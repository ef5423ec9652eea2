"""The simulated world as the tests use it (importable from every test directory: pytest's
``pythonpath`` includes tests/)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from galileo.sim import World


def quiet_world(tmp_path: Path, **overrides: Any) -> World:
    """A world on free ports, its files under ``tmp_path``, with no spontaneous price moves
    and no Jito rate limit: each test moves prices and sets limits on purpose."""
    settings: dict[str, Any] = {
        "seed": 7,
        "rpc_port": 0,
        "jito_port": 0,
        "jupiter_port": 0,
        "wallet_path": tmp_path / "wallet.json",
        "state_dir": str(tmp_path),
        "jito_rps_per_ip": 0.0,
        "drift_bps_per_s": 0,
        "dislocation_rate_per_s": 0.0,
    }
    settings.update(overrides)
    return World(**settings)
