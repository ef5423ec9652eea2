"""galileo — a self-hosted Solana arbitrage bot around the Jupiter swap API.

The public surface is small on purpose; everything else lives in private modules.
"""

from __future__ import annotations

from galileo._errors import ConfigError, ConfigErrors, GalileoError
from galileo._fast import backend as fast_backend

__version__ = "0.1.0"

__all__ = ["ConfigError", "ConfigErrors", "GalileoError", "__version__", "fast_backend"]
