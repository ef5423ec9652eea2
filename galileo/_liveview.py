"""What a person watching ``galileo run`` sees while it runs.

On a TTY: a small screen redrawn every second (quotes/s, per-IP state, stage P50/P99,
opportunities, landed, PnL). Otherwise: one structured log line every ``log_interval_s``, so
journald / container logs show progress without a flood.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping
from typing import IO, Any

import trio

_log = logging.getLogger("galileo.live")

Snapshot = Callable[[], Mapping[str, Any]]

_CLEAR = "\x1b[H\x1b[J"


class LiveView:
    """Renders ``snapshot()`` (the document ``App.status`` returns) periodically."""

    def __init__(
        self,
        snapshot: Snapshot,
        *,
        out: IO[str] | None = None,
        tty: bool | None = None,
        refresh_s: float = 1.0,
        log_interval_s: float = 10.0,
    ) -> None:
        self._snapshot = snapshot
        self._out = sys.stderr if out is None else out
        self._tty = self._out.isatty() if tty is None else tty
        self._refresh_s = refresh_s
        self._log_interval_s = log_interval_s

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        interval = self._refresh_s if self._tty else self._log_interval_s
        while True:
            await trio.sleep(interval)
            snapshot = self._snapshot()
            if self._tty:
                self._out.write(_CLEAR + render_screen(snapshot) + "\n")
                self._out.flush()
            else:
                _log.info("progress", extra={"fields": progress_fields(snapshot)})


def progress_fields(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """The few numbers worth a periodic log line."""
    engine = snapshot.get("engine") or {}
    execution = snapshot.get("execution") or {}
    return {
        "uptime_s": snapshot.get("uptime_s"),
        "state": snapshot.get("state"),
        "quotes": engine.get("quotes"),
        "quotes_per_s": engine.get("recent_quotes_per_second"),
        "opportunities": engine.get("opportunities"),
        "submitted": execution.get("submitted"),
        "landed": execution.get("landed"),
        "pnl_lamports": execution.get("pnl_lamports"),
    }


def render_screen(snapshot: Mapping[str, Any]) -> str:
    """The TTY screen: one block per concern, widths fixed so numbers don't jump around."""
    engine = snapshot.get("engine") or {}
    execution = snapshot.get("execution") or {}
    jupiter = snapshot.get("jupiter") or {}
    lines = [
        f"galileo {snapshot.get('version', '')}  [{snapshot.get('state', '?')}]  "
        f"up {snapshot.get('uptime_s', 0):.0f}s  core={snapshot.get('fast_backend', '?')}  "
        f"jupiter={jupiter.get('state', '-')}",
        "",
        f"quotes {engine.get('quotes', 0):>9}   "
        f"{engine.get('recent_quotes_per_second', 0.0):>8.1f}/s   "
        f"opportunities {engine.get('opportunities', 0):>6}",
        f"submitted {execution.get('submitted', 0):>6}   "
        f"landed {execution.get('landed', 0):>6}   "
        f"failed {execution.get('failed', 0):>6}   "
        f"PnL {execution.get('pnl_lamports', 0):>14} lamports",
        "",
    ]
    ips = engine.get("ips") or []
    if ips:
        lines.append(
            f"{'ip':<16}{'state':<16}{'inflight':>9}{'requests':>10}{'429':>6}{'timeouts':>9}"
        )
        for ip in ips:
            lines.append(
                f"{ip.get('ip', ''):<16}{ip.get('state', ''):<16}{ip.get('inflight', 0):>9}"
                f"{ip.get('requests', 0):>10}{ip.get('rate_limited', 0):>6}"
                f"{ip.get('timeouts', 0):>9}"
            )
        lines.append("")
    stages = snapshot.get("stages") or {}
    if stages:
        lines.append(f"{'stage':<16}{'count':>9}{'p50 ms':>10}{'p99 ms':>10}")
        for name, total in stages.items():
            lines.append(
                f"{name:<16}{total.get('count', 0):>9}"
                f"{format_ms(total.get('p50')):>10}{format_ms(total.get('p99')):>10}"
            )
    return "\n".join(lines)


def format_ms(seconds: float | None) -> str:
    """Seconds shown as milliseconds with two decimals; ``-`` when there is no value."""
    return "-" if seconds is None else f"{seconds * 1000:.2f}"
