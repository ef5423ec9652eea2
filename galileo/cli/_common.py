"""What every command shares: exit codes, the ``--config`` option and loading with a report.

Exit codes (docs/cli.md): 0 success (a run stopped by a signal, ``--duration`` or ``galileo
stop`` included), 1 failure at run time, 2 bad usage or a configuration that cannot run
(the file, or this machine: a missing file, a port in use, an open keypair), 3 Jupiter could
not be kept running (restart budget spent; the run drained and wrote its summary), 130
interrupted before the signal handlers were up.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TypeAlias

from galileo._config import Config
from galileo._config_load import find_config_path, load_config
from galileo._errors import ConfigError, ConfigErrors

Handler: TypeAlias = Callable[[argparse.Namespace], int]
# What ``register(subparsers)`` receives (a string: argparse's class is not subscriptable at
# run time).
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_JUPITER_FAILED = 3
EXIT_INTERRUPTED = 130


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        "-c",
        metavar="PATH",
        help="TOML configuration (default: $GALILEO_CONFIG, else ./galileo.toml, else the "
        "built-in defaults, which target the simulated world)",
    )


def load_or_report(path: str | None, *, host_checks: bool = False) -> Config | None:
    """Load the configuration, or print every problem (one line each) and return None.

    ``host_checks``: also check it against this machine (files, ports, keypair, source IPs;
    :func:`galileo._preflight.host_problems`) — what must hold before a run starts.
    """
    try:
        config = load_config(path)
    except ConfigErrors as exc:
        _report(path, exc.errors)
        return None
    if host_checks:
        from galileo._preflight import host_problems

        problems = host_problems(config)
        if problems:
            _report(path, problems)
            return None
    return config


def _report(path: str | None, errors: list[ConfigError]) -> None:
    source = find_config_path(path) or "configuration"
    for error in errors:
        print(f"{source}: {error}", file=sys.stderr)
