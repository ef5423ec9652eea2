"""The one top-level handler: a failure of any command becomes one line and an exit code.

Handlers report what they expect themselves; whatever escapes them lands here. galileo's own
errors (:class:`~galileo._errors.GalileoError`), operating-system errors (a port taken, a
permission denied) and Ctrl-C before the signal handlers are up print one line each — trio's
exception groups are unwrapped to the errors inside them — and exit with the code of their
class (see :mod:`galileo.cli._common`). Anything else is a bug: it keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import IO

from galileo._errors import ConfigError, ConfigErrors, GalileoError
from galileo.cli._common import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_JUPITER_FAILED,
    EXIT_USAGE,
    Handler,
)


def run_handler(handler: Handler, args: argparse.Namespace, *, err: IO[str] | None = None) -> int:
    """``handler(args)``, with every expected failure turned into lines on ``err`` and an
    exit code."""
    out = sys.stderr if err is None else err
    try:
        return handler(args)
    except BaseException as exc:  # re-raised below unless it is an expected failure
        failures = expected_failures(exc)
        if failures is None:
            raise
        prefix = f"galileo {command_name(args)}"
        for line in failure_lines(failures):
            print(f"{prefix}: {line}", file=out)
        out.flush()
        return exit_code(failures)


def command_name(args: argparse.Namespace) -> str:
    """``run``, ``config check``, ``jupiter start``: the command as typed."""
    words = [getattr(args, "command", None) or ""]
    for name, value in sorted(vars(args).items()):
        if name.endswith("_command") and isinstance(value, str):
            words.append(value)
    return " ".join(w for w in words if w) or "galileo"


def expected_failures(exc: BaseException) -> list[BaseException] | None:
    """The failures inside ``exc`` (an exception group is flattened; the cancellations it
    caused are dropped), or None when one of them is not an expected failure (a bug)."""
    import trio  # here, not at import: `galileo --help` stays fast

    leaves = [e for e in _leaves(exc) if not isinstance(e, trio.Cancelled)]
    if not leaves or not all(_is_expected(e) for e in leaves):
        return None
    return leaves


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _leaves(inner)
    else:
        yield exc


def _is_expected(exc: BaseException) -> bool:
    return isinstance(exc, GalileoError | OSError | KeyboardInterrupt)


def failure_lines(failures: list[BaseException]) -> list[str]:
    """One line per failure (one per problem of a :class:`ConfigErrors`); never a traceback."""
    lines: list[str] = []
    for exc in failures:
        if isinstance(exc, ConfigErrors):
            lines.extend(_one_line(str(e)) for e in exc.errors)
        elif isinstance(exc, KeyboardInterrupt):
            lines.append("interrupted")
        elif isinstance(exc, OSError):
            lines.append(_one_line(_describe_os_error(exc)))
        else:
            lines.append(_one_line(str(exc) or type(exc).__name__))
    return lines


def exit_code(failures: list[BaseException]) -> int:
    """The code of the most specific class among ``failures``: bad configuration (2) before
    Jupiter giving up (3) before an interruption (130) before any other failure (1)."""
    from galileo.jupiter_binary import SupervisorFailed

    if any(isinstance(e, ConfigError | ConfigErrors) for e in failures):
        return EXIT_USAGE
    if any(isinstance(e, SupervisorFailed) for e in failures):
        return EXIT_JUPITER_FAILED
    if any(isinstance(e, KeyboardInterrupt) for e in failures):
        return EXIT_INTERRUPTED
    return EXIT_FAILURE


def _describe_os_error(exc: OSError) -> str:
    what = exc.strerror or str(exc) or type(exc).__name__
    where = exc.filename if exc.filename is not None else ""
    return f"{where}: {what}" if where else what


def _one_line(text: str) -> str:
    """The first line of ``text``, with a note when more lines were dropped (a child's log
    tail, say: the log file has them)."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return text.strip()
    return lines[0] + (" (…)" if len(lines) > 1 else "")
