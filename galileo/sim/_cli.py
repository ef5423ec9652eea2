"""``galileo sim``: serve the simulated world (Jupiter, Solana RPC and Jito faces)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from galileo.sim._process import add_world_arguments

    parser = subparsers.add_parser(
        "sim",
        help="serve the simulated world (Jupiter, Solana RPC, Jito) on loopback",
        description="Serve the simulated world: a Jupiter-compatible API, a Solana RPC and a "
        "Jito block engine over LiteSVM, with a funded wallet. Ctrl-C stops it.",
    )
    add_world_arguments(parser)
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    from galileo.sim._process import run_world

    return run_world(args)
