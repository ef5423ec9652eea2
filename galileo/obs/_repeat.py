"""Rate-limited warnings: the same warning repeated in a burst is logged a few times, then
counted, and the next one that gets through says how many were held back.

A malformed answer at 5 % of 1 000 quotes/s is 50 identical warnings a second (the issue
measured 535 KB of log in 35 s): each is counted in metrics anyway, so the log keeps
``REPEAT_BURST`` of each per ``REPEAT_WINDOW_S`` and the count of the rest.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

import attrs

REPEAT_BURST = 5
"""Warnings with the same logger and message logged per window..."""
REPEAT_WINDOW_S = 10.0
"""... of this many seconds; the rest are counted, not written."""
_DECISION = "_galileo_repeat_decision"


@attrs.define
class _Window:
    started: float
    logged: int = 0
    held_back: int = 0


class RepeatFilter(logging.Filter):
    """A handler filter; one instance may serve several handlers (the decision is made once
    per record). Only WARNING records are limited: errors always get through."""

    def __init__(
        self,
        *,
        burst: int = REPEAT_BURST,
        window_s: float = REPEAT_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._burst = burst
        self._window_s = window_s
        self._clock = clock
        self._windows: dict[tuple[str, str], _Window] = {}

    @property
    def held_back(self) -> int:
        """Warnings counted and not written, in the current windows."""
        return sum(w.held_back for w in self._windows.values())

    def filter(self, record: logging.LogRecord) -> bool:
        decided = getattr(record, _DECISION, None)
        if decided is not None:
            return bool(decided)
        keep = self._decide(record)
        setattr(record, _DECISION, keep)
        return keep

    def _decide(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.WARNING:
            return True
        key = (record.name, str(record.msg))
        now = self._clock()
        window = self._windows.get(key)
        if window is None or now - window.started >= self._window_s:
            held = window.held_back if window is not None else 0
            window = self._windows[key] = _Window(started=now)
            if held:
                _note_held_back(record, held)
        if window.logged >= self._burst:
            window.held_back += 1
            return False
        window.logged += 1
        return True


def _note_held_back(record: logging.LogRecord, count: int) -> None:
    fields = getattr(record, "fields", None)
    merged = dict(fields) if isinstance(fields, Mapping) else {}
    merged["repeats_held_back"] = count
    record.fields = merged
