"""What every command shares: exit codes, the ``--config`` option and loading with a report.

Exit codes: 0 success, 1 failure at run time, 2 bad usage or bad configuration.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TypeAlias

from galileo._config import Config
from galileo._config_load import find_config_path, load_config
from galileo._errors import ConfigErrors

Handler: TypeAlias = Callable[[argparse.Namespace], int]
# What ``register(subparsers)`` receives (a string: argparse's class is not subscriptable at
# run time).
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        "-c",
        metavar="PATH",
        help="TOML configuration (default: $GALILEO_CONFIG, else ./galileo.toml, else the "
        "built-in defaults, which target the simulated world)",
    )


def load_or_report(path: str | None) -> Config | None:
    """Load the configuration, or print every problem (one line each) and return None."""
    try:
        return load_config(path)
    except ConfigErrors as exc:
        source = find_config_path(path) or "configuration"
        for error in exc.errors:
            print(f"{source}: {error}", file=sys.stderr)
        return None
