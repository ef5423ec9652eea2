"""The live view: a redrawn screen on a TTY, periodic progress log lines otherwise."""

from __future__ import annotations

import io
import logging

import pytest
import trio

from galileo._liveview import LiveView, progress_fields, render_screen

SNAPSHOT = {
    "version": "0.1.0",
    "state": "running",
    "uptime_s": 12.0,
    "fast_backend": "cython",
    "jupiter": {"state": "ready"},
    "engine": {
        "quotes": 1200,
        "recent_quotes_per_second": 98.5,
        "opportunities": 3,
        "ips": [
            {
                "ip": "127.0.0.2",
                "state": "idle",
                "inflight": 0,
                "requests": 600,
                "rate_limited": 2,
                "timeouts": 0,
            }
        ],
    },
    "execution": {"submitted": 3, "landed": 2, "failed": 1, "pnl_lamports": 123456},
    "stages": {"quote": {"count": 1200, "p50": 0.0012, "p99": 0.0051}},
}


def test_the_screen_shows_rates_ips_stages_and_pnl() -> None:
    screen = render_screen(SNAPSHOT)
    assert "98.5/s" in screen
    assert "127.0.0.2" in screen
    assert "quote" in screen and "1.20" in screen and "5.10" in screen
    assert "123456 lamports" in screen


def test_progress_lines_carry_the_headline_numbers() -> None:
    fields = progress_fields(SNAPSHOT)
    assert fields["quotes"] == 1200
    assert fields["landed"] == 2
    assert fields["pnl_lamports"] == 123456


def test_an_empty_snapshot_still_renders() -> None:
    assert "galileo" in render_screen({})


async def test_without_a_tty_it_logs_progress(
    autojump_clock: trio.abc.Clock, caplog: pytest.LogCaptureFixture
) -> None:
    view = LiveView(lambda: SNAPSHOT, out=io.StringIO(), tty=False, log_interval_s=10)
    logger = logging.getLogger("galileo.live")
    logger.propagate = True
    with caplog.at_level(logging.INFO, logger="galileo.live"):
        with trio.move_on_after(25):
            await view.run()
    assert [r.getMessage() for r in caplog.records].count("progress") == 2


async def test_on_a_tty_it_redraws(autojump_clock: trio.abc.Clock) -> None:
    out = io.StringIO()
    view = LiveView(lambda: SNAPSHOT, out=out, tty=True, refresh_s=1)
    with trio.move_on_after(3.5):
        await view.run()
    assert out.getvalue().count("\x1b[H\x1b[J") == 3
