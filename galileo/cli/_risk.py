"""``galileo pause|resume|stop``: control a running instance without restarting it.

They write or remove files in the state directory (see ``galileo.risk.RiskControl``); a running
instance notices within 0.25 s. They work whether or not an instance is running.
"""

from __future__ import annotations

import argparse
import sys

from galileo.cli._common import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    Subparsers,
    add_config_argument,
    load_or_report,
)
from galileo.risk import RiskControl


def register(subparsers: Subparsers) -> None:
    pause = subparsers.add_parser(
        "pause",
        help="pause sending of a running instance (kill switch); it keeps quoting",
        description="Create the pause file (risk.kill_switch_file, else <state_dir>/PAUSE). "
        "While it exists no transaction is sent; a running instance notices within 0.25 s. "
        "The pause survives restarts until `galileo resume`. See docs/risk.md.",
    )
    add_config_argument(pause)
    pause.add_argument("--reason", metavar="TEXT", default="", help="recorded in the file")
    pause.add_argument(
        "--show", action="store_true", help="only print whether sending is paused (exit 0)"
    )
    pause.set_defaults(handler=_pause)

    resume = subparsers.add_parser(
        "resume",
        help="resume sending after `galileo pause`",
        description="Remove the pause file. Guard pauses (loss limit, failure streak) are not "
        "affected: they end on their own. See docs/risk.md.",
    )
    add_config_argument(resume)
    resume.set_defaults(handler=_resume)

    stop = subparsers.add_parser(
        "stop",
        help="ask a running instance to stop sending and shut down",
        description="Create <state_dir>/STOP. A running instance stops sending at once, "
        "removes the file and shuts down cleanly (summary written). See docs/risk.md.",
    )
    add_config_argument(stop)
    stop.add_argument("--reason", metavar="TEXT", default="", help="recorded in the file")
    stop.set_defaults(handler=_stop)


def _control(args: argparse.Namespace) -> RiskControl | None:
    config = load_or_report(args.config)
    if config is None:
        return None
    return RiskControl.for_state_dir(config.state_dir, config.risk.kill_switch_file)


def _pause(args: argparse.Namespace) -> int:
    control = _control(args)
    if control is None:
        return EXIT_USAGE
    before = control.pause_note()
    if args.show:
        if before is None:
            print(f"sending is not paused ({control.pause_file} does not exist)")
        else:
            print(f"sending is paused: {before.describe()} ({control.pause_file})")
        return EXIT_OK
    try:
        note = control.pause(args.reason)
    except OSError as exc:
        print(f"galileo pause: cannot write {control.pause_file}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    if before is not None:
        print(f"already paused ({before.describe()}); note replaced")
    print(f"paused: {note.describe()}")
    print("a running instance stops sending within 0.25 s; undo with `galileo resume`")
    print(f"pause file: {control.pause_file}")
    return EXIT_OK


def _resume(args: argparse.Namespace) -> int:
    control = _control(args)
    if control is None:
        return EXIT_USAGE
    try:
        note = control.resume()
    except OSError as exc:
        print(f"galileo resume: cannot remove {control.pause_file}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    if note is None:
        print(f"not paused ({control.pause_file} does not exist)")
    else:
        print(f"resumed (was paused: {note.describe()})")
    return EXIT_OK


def _stop(args: argparse.Namespace) -> int:
    control = _control(args)
    if control is None:
        return EXIT_USAGE
    try:
        note = control.request_stop(args.reason)
    except OSError as exc:
        print(f"galileo stop: cannot write {control.stop_file}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    print(f"stop requested: {note.describe()}")
    print(f"a running instance stops sending within 0.25 s and shuts down ({control.stop_file})")
    return EXIT_OK
