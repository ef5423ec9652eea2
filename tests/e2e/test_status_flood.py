"""A flood of the status server does not slow quoting: 8 local clients requesting /metrics,
then /status, as fast as they are answered, take a few percent of the event loop at most
(the figures over many rounds, and the server as it was for comparison, are in
benches/bench_status_flood.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.status_flood import measure


@pytest.mark.slow
@pytest.mark.acceptance
async def test_a_status_server_flood_takes_under_5_percent_of_the_loop(tmp_path: Path) -> None:
    figures = await measure(tmp_path, rounds=1)

    for flood in figures.floods:
        print(
            f"\n{flood.path} flood: quotes/s {flood.quotes_per_s_flooded} vs "
            f"{flood.quotes_per_s_quiet} quiet (ratio {flood.ratio}), status server "
            f"{flood.server_loop_share:.1%} of the loop, {flood.answers_per_s} answers/s"
        )
        # CPU time, not quote counts: the machine's noise does not move it.
        assert flood.server_loop_share < 0.05, flood
        assert flood.answers_per_s > 0  # slowed down, still answering
        assert flood.quotes_per_s_flooded > 0
