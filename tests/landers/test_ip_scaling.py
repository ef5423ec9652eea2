"""Acceptance of issue 10, item 4: a Jito endpoint's budget is per source IP, so 4 IPs send at
least 3× as many bundles as 1 IP in the same time.

Honest on purpose: the simulated world's real Jito face and its real limiter (1 request per
second per source IP and region, like Jito's default), real loopback source IPs, the real
trio clock. Both lander sets are fed the same offered load at the same time — far more signed
transactions than 4 IPs can carry, so sending is saturated for both — and what the block
engine accepted is counted. The figures are printed (``-rP``) and written to
``benches/results/landers_ip_scaling.json``::

    .venv/bin/pytest -q -p no:cacheprovider -rP tests/landers/test_ip_scaling.py
"""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest
import trio
from prometheus_client import CollectorRegistry

from galileo.landers import Landers, Submission
from galileo.model import BuiltTx
from galileo.net import HttpxClients, IpHashRing
from galileo.sim import World
from tests.landers.lander_helpers import TIP, landers_config, tip_transfer
from tests.worlds import quiet_world

JITO_RPS_PER_IP = 1.0
WINDOW_S = 8.0
OFFERED_PER_S = 25.0  # > 6x what 4 IPs at 1/s can carry: both lander sets are saturated
ONE_IP = ["127.0.0.2"]
FOUR_IPS = ["127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"]
RESULTS = Path(__file__).parents[2] / "benches" / "results" / "landers_ip_scaling.json"


@attrs.define
class Tally:
    offered: int = 0
    sent: int = 0  # left this machine (any answer)
    accepted: int = 0
    dropped: int = 0  # no IP had a token in time / every IP cooling down
    rate_limited: int = 0  # a real 429 from the world's limiter
    by_ip: dict[str, int] = attrs.field(factory=dict)  # accepted sends per source IP

    def add(self, submission: Submission) -> None:
        self.offered += 1
        for r in submission.results:
            if r.dropped:
                self.dropped += 1
                continue
            self.sent += 1
            self.rate_limited += r.result.outcome.value == "rate_limited"
            if r.accepted and r.ip is not None:
                self.accepted += 1
                self.by_ip[r.ip] = self.by_ip.get(r.ip, 0) + 1


def _signed(world: World, count: int, first_tip: int) -> list[BuiltTx]:
    """``count`` distinct signed tip transfers (distinct tips: distinct signatures)."""
    return [tip_transfer(world, first_tip + i) for i in range(count)]


def _submissions(registry: CollectorRegistry, result: str) -> float:
    return sum(
        s.value
        for metric in registry.collect()
        if metric.name == "galileo_lander_submissions"
        for s in metric.samples
        if s.name.endswith("_total") and s.labels["result"] == result
    )


async def _offer(landers: Landers, txs: list[BuiltTx], start: float, tally: Tally) -> None:
    """Submit ``txs`` at ``OFFERED_PER_S`` from ``start`` on, each without waiting for the
    previous one (like the executor's concurrent attempts)."""

    async def one(built: BuiltTx) -> None:
        tally.add(await landers.submit(built))

    async with trio.open_nursery() as nursery:
        for i, built in enumerate(txs):
            await trio.sleep_until(start + i / OFFERED_PER_S)
            nursery.start_soon(one, built)


@pytest.mark.slow
@pytest.mark.acceptance
async def test_four_source_ips_send_at_least_three_times_as_many_jito_bundles_as_one(
    tmp_path: Path, clients: HttpxClients
) -> None:
    count = int(WINDOW_S * OFFERED_PER_S)
    config = landers_config(requests_per_second=JITO_RPS_PER_IP, queue_timeout_ms=500)
    async with quiet_world(tmp_path, jito_rps_per_ip=JITO_RPS_PER_IP) as world:
        registry_one, registry_four = CollectorRegistry(), CollectorRegistry()
        one = Landers(
            config,
            clients=clients,
            hashring=IpHashRing(ONE_IP),
            registry=registry_one,
            jito_urls=[world.jito_url],
        )
        four = Landers(
            config,
            clients=clients,
            hashring=IpHashRing(FOUR_IPS),
            registry=registry_four,
            jito_urls=[world.jito_url],
        )
        # Signed up front, so signing does not pace the offered load.
        txs_one = _signed(world, count, TIP)
        txs_four = _signed(world, count, TIP + count)
        tally_one, tally_four = Tally(), Tally()
        start = trio.current_time() + 0.1
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_offer, one, txs_one, start, tally_one)
            nursery.start_soon(_offer, four, txs_four, start, tally_four)
        elapsed = trio.current_time() - start
        received = world.jito.bundles_received

    ratio = tally_four.accepted / max(1, tally_one.accepted)
    figures = {
        "jito_rps_per_ip": JITO_RPS_PER_IP,
        "window_s": WINDOW_S,
        "elapsed_s": round(elapsed, 3),
        "offered_per_s": OFFERED_PER_S,
        "one_ip": attrs.asdict(tally_one),
        "four_ips": attrs.asdict(tally_four),
        "accepted_ratio": round(ratio, 3),
    }
    print(
        f"\nJito sends accepted in {elapsed:.1f} s at {JITO_RPS_PER_IP:g}/s per IP: "
        f"1 IP {tally_one.accepted}, 4 IPs {tally_four.accepted} ({ratio:.2f}x); "
        f"dropped locally {tally_one.dropped} / {tally_four.dropped}, "
        f"429s {tally_one.rate_limited} / {tally_four.rate_limited}, of {count} offered each"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")

    assert tally_one.offered == tally_four.offered == count
    assert tally_one.dropped > 0 and tally_four.dropped > 0  # both saturated
    assert tally_four.accepted >= 3 * tally_one.accepted
    assert set(tally_four.by_ip) == set(FOUR_IPS)  # every IP carried its share
    assert received == tally_one.accepted + tally_four.accepted  # what the engine took
    # A send dropped here is counted as what it is, never as a Jito 429.
    for registry, tally in ((registry_one, tally_one), (registry_four, tally_four)):
        assert _submissions(registry, "busy") + _submissions(registry, "no_ip") == tally.dropped
        assert _submissions(registry, "rate_limited") == tally.rate_limited
