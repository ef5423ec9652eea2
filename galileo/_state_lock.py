"""One galileo process per state directory: an OS lock held for the process's lifetime.

Two ``galileo run`` on one state directory would write one ledger, each taking the other's
in-flight attempts for orphans, and share one wallet, kill switch and ``INSTANCE.json``. So
``galileo run`` takes ``fcntl.flock(LOCK_EX | LOCK_NB)`` on ``<state_dir>/galileo.lock``
before it touches anything, and holds it until it exits. The kernel drops the lock with the
process however it ends (``kill -9`` included): there is no stale lock to clean up. The file
holds the holder's pid, only so the second process can say who holds it.

The file is never deleted: a process deleting it while another waits on the open file would
let a third lock a new file of the same name.
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

from galileo._errors import GalileoError
from galileo._secret import private_dir

LOCK_FILE_NAME = "galileo.lock"


class StateDirBusy(GalileoError):
    """Another process holds the state directory's lock (``pid`` when it could be read)."""

    def __init__(self, state_dir: Path, pid: int | None) -> None:
        holder = f"galileo process {pid}" if pid is not None else "another galileo process"
        super().__init__(
            f"state directory {state_dir} is in use by {holder} "
            f"(lock {state_dir / LOCK_FILE_NAME}); stop it or use another state_dir"
        )
        self.state_dir = state_dir
        self.pid = pid


class StateDirLock:
    """The lock of one state directory, held by this process until :meth:`release`."""

    def __init__(self, state_dir: Path, fd: int) -> None:
        self.state_dir = state_dir
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, state_dir: str | os.PathLike[str]) -> StateDirLock:
        """Take the lock (creating the directory), or raise :class:`StateDirBusy` at once."""
        directory = Path(state_dir)
        private_dir(directory)
        fd = os.open(directory / LOCK_FILE_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            pid = _read_pid(fd)
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise StateDirBusy(directory, pid) from None
            raise
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        return cls(directory, fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Let the next process in (idempotent). The pid is left in the file: a reader
        checks the lock, not the file."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor drops the flock

    def __enter__(self) -> StateDirLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __del__(self) -> None:
        # A lock object dropped without release() (an error between acquire and the code
        # that releases it) must not keep the directory locked for the process's lifetime.
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
