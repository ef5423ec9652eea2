"""``galileo config {check,show,init,docs}`` and ``galileo doctor``."""

from __future__ import annotations

import argparse
import json
import socket
import sys
from pathlib import Path
from typing import Any

from galileo._cli import EXIT_FAILURE, EXIT_OK, EXIT_USAGE
from galileo._config import Config
from galileo._config_load import (
    find_config_path,
    load_config,
    render_example,
    render_reference_markdown,
    render_toml,
)
from galileo._errors import ConfigErrors


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


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    config = subparsers.add_parser(
        "config",
        help="check, show or create a configuration file",
        description="Check, show or create the TOML configuration. Errors name the key path "
        "and exit with status 2.",
    )
    actions = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)

    check = actions.add_parser("check", help="validate a configuration (exit 2 when invalid)")
    check.add_argument("path", nargs="?", help="file to check (default: as for `run`)")
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

    doctor = subparsers.add_parser(
        "doctor",
        help="check that this machine and configuration can run galileo",
        description="Checks the Python version, the active _fast backend (cython or python), "
        "the configuration, that the configured ports are free and the keypair file's "
        "permissions. Exits 1 when anything would block a run.",
    )
    add_config_argument(doctor)
    doctor.add_argument("--json", action="store_true", help="machine-readable output")
    doctor.set_defaults(handler=_doctor)


def _check(args: argparse.Namespace) -> int:
    config = load_or_report(args.path)
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


# --- doctor -----------------------------------------------------------------------------------


def _doctor(args: argparse.Namespace) -> int:
    from galileo._doctor import run_checks

    checks = run_checks(args.config)
    if args.json:
        payload: list[dict[str, Any]] = [c.as_dict() for c in checks]
        print(json.dumps(payload, indent=2))
    else:
        for c in checks:
            print(f"{c.level.upper():<4}  {c.name:<26} {c.detail}")
    failed = [c for c in checks if c.level == "fail"]
    if not args.json:
        verdict = "ready to run" if not failed else f"{len(failed)} problem(s) block a run"
        print(f"\ngalileo doctor: {verdict}")
    return EXIT_FAILURE if failed else EXIT_OK


def port_is_free(host: str, port: int) -> bool:
    """Whether ``host:port`` can be bound right now (port 0 is always free)."""
    if port == 0:
        return True
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Like the servers themselves (trio sets SO_REUSEADDR): a port whose old connections
        # sit in TIME_WAIT is free; one somebody listens on is not.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True
