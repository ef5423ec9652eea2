"""The per-opportunity event trace: one JSON object per line, keyed by opportunity id.

``trace.emit(opportunity_id, "quoted", ip=..., out_amount=1234)`` appends
``{"ts": "...Z", "id": "...", "event": "quoted", "ip": "...", "out_amount": 1234}``. Every
line is written with a single ``write`` and flushed to the OS at once, so a crash of the
process loses at most a line being written (``read_trace`` skips a torn last line). Ints stay
ints — amounts are never turned into floats. ``EventTrace(None)`` (or ``""``) is a no-op sink,
so callers never branch on whether tracing is on.

The write is a small blocking append to the page cache (microseconds); it is done on the trio
thread on purpose — galileo uses no I/O threads — and is not fsynced (a machine crash may lose
the tail; a process crash does not).

Rotation: with ``max_bytes`` (> 0) the file is rotated before a line would take it past that
size — ``trace.jsonl`` becomes ``trace.jsonl.1``, older ones shift up to ``backups`` and the
oldest is deleted — so the trace never holds more than ``max_bytes × (backups + 1)`` on disk.
A line is never split across files.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from galileo._errors import GalileoError
from galileo._secret import Secret, private_dir, private_opener, redact_text
from galileo.obs._redact import expand_secrets, scrub

_RESERVED = frozenset({"ts", "id", "event"})


class TraceFormatError(GalileoError):
    """A trace file has a malformed line that is not a torn last line."""

    def __init__(self, path: str, line_number: int, reason: str) -> None:
        super().__init__(f"{path}:{line_number}: {reason}")
        self.path = path
        self.line_number = line_number
        self.reason = reason


class EventTrace:
    """Append-only JSONL sink (see module docstring). ``clock`` gives POSIX seconds."""

    def __init__(
        self,
        path: str | os.PathLike[str] | None,
        *,
        secrets: Sequence[Secret | str] = (),
        clock: Callable[[], float] = time.time,
        max_bytes: int = 0,
        backups: int = 0,
    ) -> None:
        self._secrets = expand_secrets(secrets)
        self._clock = clock
        self._max_bytes = max_bytes
        self._backups = backups
        self._size = 0
        self._file: IO[str] | None = None
        self.path: Path | None = None
        if path is not None and str(path) != "":
            self.path = Path(path)
            private_dir(self.path.parent)
            # Owner-only: the trace carries amounts, profits and the wallet's activity.
            self._open()

    def _open(self) -> None:
        assert self.path is not None
        self._file = open(self.path, "a", encoding="utf-8", opener=private_opener)  # noqa: SIM115
        self._size = self._file.tell()

    def _rotate(self) -> None:
        """``trace.jsonl`` → ``.1`` → … → ``.<backups>`` (the oldest dropped); a new file."""
        assert self.path is not None and self._file is not None
        self._file.close()
        if self._backups <= 0:
            self.path.unlink(missing_ok=True)
        else:
            for n in range(self._backups - 1, 0, -1):
                older = self.path.with_name(f"{self.path.name}.{n}")
                if older.exists():
                    older.replace(self.path.with_name(f"{self.path.name}.{n + 1}"))
            self.path.replace(self.path.with_name(f"{self.path.name}.1"))
        self._open()

    @property
    def enabled(self) -> bool:
        return self._file is not None

    def emit(self, id: str, event: str, /, **fields: Any) -> None:
        """Append one event for opportunity ``id`` (no-op when tracing is off)."""
        file = self._file
        if file is None:
            return
        if _RESERVED.intersection(fields):
            raise ValueError(f"trace fields may not be named {sorted(_RESERVED & set(fields))}")
        record: dict[str, Any] = {
            "ts": datetime.fromtimestamp(self._clock(), UTC).isoformat(timespec="microseconds"),
            "id": id,
            "event": event,
        }
        record.update(fields)
        line = json.dumps(scrub(record, self._secrets), ensure_ascii=False, separators=(",", ":"))
        if self._secrets:
            line = redact_text(line, self._secrets)
        data = line + "\n"
        size = len(data.encode("utf-8")) if not data.isascii() else len(data)
        if self._max_bytes and self._size and self._size + size > self._max_bytes:
            self._rotate()
            file = self._file
            assert file is not None
        file.write(data)
        file.flush()
        self._size += size

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> EventTrace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def iter_trace(path: str | os.PathLike[str], id: str | None = None) -> Iterator[dict[str, Any]]:
    """The events of a trace file in order (of one opportunity if ``id``).

    A torn last line (a crash mid-write: no trailing newline, not valid JSON) is skipped; any
    other malformed line is a ``TraceFormatError``.
    """
    with open(path, encoding="utf-8") as file:
        previous: str | None = None
        number = 0
        for line in file:
            if previous is not None:
                record = _parse(path, number, previous, last=False)
                if record is not None and (id is None or record.get("id") == id):
                    yield record
            previous = line
            number += 1
        if previous is not None:
            record = _parse(path, number, previous, last=True)
            if record is not None and (id is None or record.get("id") == id):
                yield record


def read_trace(path: str | os.PathLike[str], id: str | None = None) -> list[dict[str, Any]]:
    """``list(iter_trace(path, id))``: the events to replay, oldest first."""
    return list(iter_trace(path, id))


def _parse(
    path: str | os.PathLike[str], number: int, line: str, *, last: bool
) -> dict[str, Any] | None:
    if not line.strip():
        return None
    try:
        record = json.loads(line)
    except ValueError as exc:
        if last and not line.endswith("\n"):
            return None  # torn by a crash mid-write
        raise TraceFormatError(str(path), number, f"not JSON ({exc})") from exc
    if not isinstance(record, dict) or "id" not in record or "event" not in record:
        raise TraceFormatError(str(path), number, "not a trace event object")
    return record
