"""``galileo pause|resume|stop``: control a running instance without restarting it.

They write or remove files in the state directory (see ``galileo.risk.RiskControl``), resolved
from the configuration like the bot resolves it (relative to the configuration file), so a
command run from any directory reaches the bot that uses that configuration. When a bot runs
there, the command waits for its acknowledgement (``--timeout``) and exits 1 without one.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from galileo.cli._common import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    Subparsers,
    add_config_argument,
    load_or_report,
)
from galileo.risk import ControlAck, RiskControl

ACK_TIMEOUT_S = 5.0
ACK_POLL_S = 0.05


def register(subparsers: Subparsers) -> None:
    pause = subparsers.add_parser(
        "pause",
        help="pause sending of a running instance (kill switch); it keeps quoting",
        description="Create the pause file (risk.kill_switch_file, else <state_dir>/PAUSE). "
        "While it exists no transaction is sent; a running instance notices within 0.25 s. "
        "The pause survives restarts until `galileo resume`. See docs/risk.md.",
    )
    add_config_argument(pause)
    _add_timeout(pause)
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
    _add_timeout(resume)
    resume.set_defaults(handler=_resume)

    stop = subparsers.add_parser(
        "stop",
        help="ask a running instance to stop sending and shut down",
        description="Create <state_dir>/STOP. A running instance stops sending at once, "
        "removes the file and shuts down cleanly (summary written). See docs/risk.md.",
    )
    add_config_argument(stop)
    _add_timeout(stop)
    stop.add_argument("--reason", metavar="TEXT", default="", help="recorded in the file")
    stop.set_defaults(handler=_stop)


def _add_timeout(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout",
        type=float,
        default=ACK_TIMEOUT_S,
        metavar="SECONDS",
        help=f"how long to wait for the running bot's acknowledgement (default {ACK_TIMEOUT_S:g})",
    )


def _await_ack(
    control: RiskControl, pid: int, timeout_s: float, accepted: Callable[[ControlAck], bool]
) -> ControlAck | None:
    """Poll the acknowledgement file until ``accepted`` or ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        ack = control.acknowledgement()
        if ack is not None and ack.pid == pid and accepted(ack):
            return ack
        if time.monotonic() >= deadline or control.running_pid() != pid:
            return None
        time.sleep(ACK_POLL_S)


def _report_ack(command: str, ack: ControlAck | None, pid: int, what: str) -> int:
    if ack is None:
        print(
            f"galileo {command}: the running bot (pid {pid}) did not acknowledge in time; "
            f"check its log and `galileo {command}` again",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    print(f"acknowledged by the running bot (pid {ack.pid}) at {ack.at}: {what}")
    return EXIT_OK


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
    print(f"pause file: {control.pause_file}; undo with `galileo resume`")
    pid = control.running_pid()
    if pid is None:
        print(f"no running bot uses {control.state_dir}: the pause applies when one starts")
        return EXIT_OK
    ack = _await_ack(control, pid, args.timeout, lambda a: a.paused and a.note_id == note.id)
    return _report_ack("pause", ack, pid, "sending is paused")


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
    pid = control.running_pid()
    if pid is None:
        print(f"no running bot uses {control.state_dir}")
        return EXIT_OK
    ack = _await_ack(control, pid, args.timeout, lambda a: not a.paused)
    return _report_ack("resume", ack, pid, "sending resumed (guards may still pause it)")


def _stop(args: argparse.Namespace) -> int:
    control = _control(args)
    if control is None:
        return EXIT_USAGE
    pid = control.running_pid()
    if pid is None:
        print(f"galileo stop: no running bot uses {control.state_dir}", file=sys.stderr)
        return EXIT_FAILURE
    try:
        note = control.request_stop(args.reason)
    except OSError as exc:
        print(f"galileo stop: cannot write {control.stop_file}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    print(f"stop requested: {note.describe()} ({control.stop_file})")
    ack = _await_ack(control, pid, args.timeout, lambda a: a.stopping and a.note_id == note.id)
    return _report_ack("stop", ack, pid, "sending stopped; it drains and shuts down")
