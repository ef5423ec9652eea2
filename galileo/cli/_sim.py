"""``galileo sim``: serve the simulated world (Jupiter, DFlow, Solana RPC and Jito faces)."""

from __future__ import annotations

import argparse

from galileo.cli._common import Subparsers


def register(subparsers: Subparsers) -> None:
    from galileo.sim import add_world_arguments

    parser = subparsers.add_parser(
        "sim",
        help="serve the simulated world (Jupiter, DFlow, Solana RPC, Jito) on loopback",
        description="Serve the simulated world: a Jupiter-compatible API, a DFlow-compatible "
        "swap API, a Solana RPC and a Jito block engine over LiteSVM, with a funded wallet. "
        "Ctrl-C stops it.",
    )
    add_world_arguments(parser)
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    from galileo.sim import run_world

    return run_world(args)
