"""Issue 10's acceptance, measured: four source IPs against a simulated Jupiter that limits
each IP to R quotes per second without telling galileo (R = 40 and R = 200), a Jupiter crash
in the middle of a run, and an IP that leaves the inventory (and comes back). The figures are
printed (``pytest -s``) and recorded as test properties; benches/bench_multi_ip.py writes
them to benches/results/multi_ip.json."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.pacing_world import IPS, as_json, measure_limit, measure_removal, measure_restart

DURATION_S = 20.0


@pytest.mark.slow
@pytest.mark.acceptance
@pytest.mark.parametrize("limit", [40.0, 200.0])
async def test_each_ip_learns_a_limit_it_is_not_told(
    tmp_path: Path, limit: float, record_property: Callable[[str, object], None]
) -> None:
    figures = await measure_limit(tmp_path, limit, DURATION_S)
    record_property("figures", json.dumps(as_json(figures)))
    print(json.dumps(as_json(figures), indent=2))

    assert figures.share_of_allowed >= 0.9, figures
    assert figures.rate_limited_share_after_warmup <= 0.05, figures
    for ip in figures.ips:
        assert ip.requests_per_s_after_warmup <= limit, ip
        assert 0 < ip.learned_rps <= limit, ip
    assert {ip.ip for ip in figures.ips} == set(IPS)


@pytest.mark.slow
@pytest.mark.acceptance
async def test_quoting_pauses_while_jupiter_restarts_and_resumes_when_ready(
    tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    figures = await measure_restart(tmp_path)
    record_property("figures", json.dumps(as_json(figures)))
    print(json.dumps(as_json(figures), indent=2))

    assert figures.down_s > 1.0  # it was down long enough to have stormed
    assert figures.max_failed_connects_per_ip_per_s <= 5.0, figures
    assert figures.ready_to_first_quote_s <= 2.0, figures


@pytest.mark.slow
@pytest.mark.acceptance
async def test_an_ip_that_leaves_the_inventory_is_cancelled_alone_and_comes_back(
    tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    figures = await measure_removal(tmp_path)
    record_property("figures", json.dumps(as_json(figures)))
    print(json.dumps(as_json(figures), indent=2))

    removed = figures.removed_ip
    assert removed not in figures.crews_after
    assert set(figures.crews_after) == set(IPS) - {removed}
    assert figures.after_per_s[removed] == 0.0, figures
    assert figures.inflight_on_removed_after == 0
    assert figures.kept_rate_ratio >= 0.9, figures  # the others keep their rate
    assert figures.back_per_s > 0, figures  # a new IP starts without a restart
