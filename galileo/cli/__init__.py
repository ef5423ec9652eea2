"""The command-line interface: ``galileo <command>`` / ``python -m galileo <command>``.

One module per command group, each with a ``register(subparsers)`` function; a handler takes
the parsed ``argparse.Namespace`` and returns the exit code (see :mod:`galileo.cli._common`);
what escapes a handler becomes one line and an exit code in :mod:`galileo.cli._failures`.
Handlers import what they run (trio, the app, the domain packages) when they run, so
``galileo --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from galileo.cli import _config, _doctor, _jupiter, _ledger, _risk, _run, _sim, _wallet
from galileo.cli._common import EXIT_USAGE, Handler
from galileo.cli._failures import run_handler

__all__ = ["build_parser", "main"]

# Command groups, in --help order.
_COMMAND_MODULES = (_run, _config, _doctor, _wallet, _jupiter, _sim, _ledger, _risk)


def build_parser() -> argparse.ArgumentParser:
    from galileo import __version__

    parser = argparse.ArgumentParser(
        prog="galileo",
        description="Self-hosted Solana arbitrage bot around the Jupiter swap API. "
        "With no configuration it runs against the embedded simulated world.",
    )
    parser.add_argument("--version", action="version", version=f"galileo {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return run_handler(handler, args)
