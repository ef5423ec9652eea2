"""``galileo doctor``: print the checks of :mod:`galileo._preflight`, exit 1 when one fails."""

from __future__ import annotations

import argparse
import json
from typing import Any

from galileo.cli._common import EXIT_FAILURE, EXIT_OK, Subparsers, add_config_argument


def register(subparsers: Subparsers) -> None:
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


def _doctor(args: argparse.Namespace) -> int:
    from galileo._preflight import run_checks

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
