"""Download progress: a one-line bar on a terminal, periodic log lines otherwise."""

from __future__ import annotations

import logging
import sys
from typing import Protocol, TextIO

import trio

_log = logging.getLogger("galileo.jupiter")


class Progress(Protocol):
    """Receives download progress. ``total`` is None when the server does not say."""

    def start(self, name: str, done: int, total: int | None) -> None: ...
    def update(self, done: int) -> None: ...
    def finish(self) -> None: ...


def _mb(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB"


class TextProgress:
    """Writes ``name  12.3 MB / 45.6 MB  27%`` over itself on a TTY (``stream``, default
    stderr); when the stream is not a TTY, logs a ``download progress`` line every
    ``log_every_s`` seconds instead, so journald / files are not flooded with bars.
    """

    def __init__(self, stream: TextIO | None = None, *, log_every_s: float = 5.0) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._tty = self._stream.isatty()
        self._log_every_s = log_every_s
        self._name = ""
        self._total: int | None = None
        self._done = 0
        self._last_emit = -1e18

    def start(self, name: str, done: int, total: int | None) -> None:
        self._name, self._done, self._total = name, done, total
        self._last_emit = -1e18
        if not self._tty:
            _log.info(
                "download started",
                extra={"fields": {"asset": name, "resume_from": done, "total": total}},
            )
        self._emit(force=True)

    def update(self, done: int) -> None:
        self._done = done
        self._emit(force=False)

    def finish(self) -> None:
        self._emit(force=True)
        if self._tty:
            self._stream.write("\n")
            self._stream.flush()
        else:
            _log.info("download finished", extra={"fields": {"asset": self._name}})

    def _emit(self, *, force: bool) -> None:
        now = trio.current_time()
        interval = 0.1 if self._tty else self._log_every_s
        if not force and now - self._last_emit < interval:
            return
        self._last_emit = now
        if self._total:
            pct = min(100, self._done * 100 // self._total)
            text = f"{_mb(self._done)} / {_mb(self._total)}  {pct:3d}%"
        else:
            text = _mb(self._done)
        if self._tty:
            width = 30
            filled = width * self._done // self._total if self._total else 0
            bar = "#" * filled + "-" * (width - filled)
            self._stream.write(f"\r{self._name}  [{bar}]  {text}")
            self._stream.flush()
        elif not force:
            _log.info("download progress", extra={"fields": {"asset": self._name, "done": text}})


class NoProgress:
    """Progress sink that shows nothing."""

    def start(self, name: str, done: int, total: int | None) -> None:
        pass

    def update(self, done: int) -> None:
        pass

    def finish(self) -> None:
        pass
