"""A tiny parent for the Jupiter process that makes sure it never outlives galileo.

``python -m galileo.jupiter_binary._guard GRACE_S -- exe args…`` forks ``exe`` and waits for it.
Its stdin is a pipe whose write end only galileo holds: when galileo exits for any reason
(including SIGKILL), the pipe reads EOF and the guard stops the child (SIGTERM, GRACE_S,
SIGKILL). The child also gets PR_SET_PDEATHSIG from the guard, which is single-threaded,
so the guard's own death (SIGKILL of the process group) takes the child with it.

Why not PR_SET_PDEATHSIG straight from galileo: trio forks from a worker thread, and the
kernel sends the death signal when that *thread* exits, i.e. seconds after a normal start.

SIGTERM/SIGINT/SIGHUP sent to the guard are forwarded to the child; the guard exits with
the child's status (128 + signal number when it was killed by a signal).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import sys
import time

_PR_SET_PDEATHSIG = 1


def _set_pdeathsig() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the lifeline pipe alone still covers galileo exiting


def _status(code: int) -> int:
    if os.WIFSIGNALED(code):
        return 128 + os.WTERMSIG(code)
    return os.WEXITSTATUS(code)


def main(argv: list[str]) -> int:
    if "--" not in argv or argv.index("--") != 1 or len(argv) < 3:
        sys.stderr.write("usage: python -m galileo.jupiter_binary._guard GRACE_S -- exe [args…]\n")
        return 2
    grace_s = float(argv[0])
    command = argv[2:]
    guard_pid = os.getpid()
    child = os.fork()
    if child == 0:
        _set_pdeathsig()
        if os.getppid() != guard_pid:
            os._exit(1)  # the guard died before prctl took effect
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        try:
            os.execvp(command[0], command)
        except OSError as exc:
            sys.stderr.write(f"galileo guard: cannot exec {command[0]}: {exc}\n")
            os._exit(127)

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)

    # A pidfd turns "the child exited" into a readable fd, so one select() waits for both
    # events without polling (falls back to a short timeout where pidfds do not exist).
    try:
        watch: list[int] = [os.pidfd_open(child)]
        timeout = None
    except (AttributeError, OSError):
        watch, timeout = [], 0.05
    lifeline_open = True
    while True:
        pid, code = os.waitpid(child, os.WNOHANG)
        if pid == child:
            return _status(code)
        if lifeline_open:
            readable, _, _ = select.select([0, *watch], [], [], timeout)
            if 0 in readable and not os.read(0, 4096):
                lifeline_open = False
                forward(signal.SIGTERM, None)
                deadline = time.monotonic() + grace_s
                while time.monotonic() < deadline:
                    pid, code = os.waitpid(child, os.WNOHANG)
                    if pid == child:
                        return _status(code)
                    time.sleep(0.05)
                forward(signal.SIGKILL, None)
        else:
            select.select(watch, [], [], timeout if watch else 0.05)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
