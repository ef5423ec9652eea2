"""``galileo config {check,show,init,docs}``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from galileo._config_load import (
    find_config_path,
    render_example,
    render_reference_markdown,
    render_toml,
)
from galileo.cli._common import EXIT_OK, EXIT_USAGE, Subparsers, load_or_report


def register(subparsers: Subparsers) -> None:
    config = subparsers.add_parser(
        "config",
        help="check, show or create a configuration file",
        description="Check, show or create the TOML configuration. Errors name the key path "
        "and exit with status 2.",
    )
    actions = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)

    check = actions.add_parser(
        "check",
        help="validate a configuration (exit 2 when it cannot run)",
        description="Check a configuration like `galileo run` does before it starts: the "
        "file (types, ranges, URLs, duplicates, …) and this machine (files that must exist, "
        "the keypair's permissions, ports that must be free, source IPs). One line per "
        "problem, each naming its key; exit 2 when there is one.",
    )
    check.add_argument("path", nargs="?", help="file to check (default: as for `run`)")
    check.add_argument(
        "--no-host-checks",
        action="store_true",
        help="check the file only, not this machine (for a file meant for another host)",
    )
    check.set_defaults(handler=_check)

    show = actions.add_parser("show", help="print the effective configuration, secrets redacted")
    show.add_argument("path", nargs="?", help="file to load (default: as for `run`)")
    show.set_defaults(handler=_show)

    init = actions.add_parser("init", help="write a commented example with every key")
    init.add_argument("path", help="where to write it (refuses to overwrite without --force)")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(handler=_init)

    docs = actions.add_parser("docs", help="print the configuration reference (Markdown)")
    docs.set_defaults(handler=_docs)


def _check(args: argparse.Namespace) -> int:
    config = load_or_report(args.path, host_checks=not args.no_host_checks)
    if config is None:
        return EXIT_USAGE
    source = find_config_path(args.path) or "built-in defaults"
    print(f"{source}: ok")
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    config = load_or_report(args.path)
    if config is None:
        return EXIT_USAGE
    source = find_config_path(args.path) or "built-in defaults"
    sys.stdout.write(f"# effective configuration ({source} + environment), secrets redacted\n")
    sys.stdout.write(render_toml(config, redact=True))
    return EXIT_OK


def _init(args: argparse.Namespace) -> int:
    target = Path(args.path)
    if target.exists() and not args.force:
        print(f"{target} exists; pass --force to overwrite it", file=sys.stderr)
        return EXIT_USAGE
    target.write_text(render_example(), encoding="utf-8")
    print(f"wrote {target}")
    return EXIT_OK


def _docs(_args: argparse.Namespace) -> int:
    sys.stdout.write(render_reference_markdown())
    return EXIT_OK
