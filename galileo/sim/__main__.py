"""``python -m galileo.sim jupiter [real binary flags]`` | ``python -m galileo.sim world [...]``."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str]) -> int:
    if argv and argv[0] == "jupiter":
        from galileo.sim._process import run_jupiter

        return run_jupiter(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m galileo.sim")
    sub = parser.add_subparsers(dest="command", metavar="{jupiter,world}")
    sub.add_parser("jupiter", help="The Jupiter face alone, with the real binary's flags.")
    world = sub.add_parser("world", help="Every face of the world in this process.")
    from galileo.sim._process import add_world_arguments, run_world

    add_world_arguments(world)
    args = parser.parse_args(argv)
    if args.command != "world":
        parser.print_help(sys.stderr)
        return 2
    return run_world(args)


raise SystemExit(main(sys.argv[1:]))
