"""The /quote limit as galileo's pacing sees it: a precise ``retry-after-ms`` next to the
whole-second ``Retry-After``, and per-source-IP counters of requests and 429s."""

from __future__ import annotations

from pathlib import Path

import trio
import trio.testing

from galileo._config import SimFaultsConfig
from galileo.sim import WSOL_MINT
from tests.sim.sim_helpers import Api
from tests.worlds import first_token, quiet_world


async def test_a_429_says_when_to_come_back_and_each_ip_is_counted(
    tmp_path: Path, mock_clock: trio.testing.MockClock
) -> None:
    faults = SimFaultsConfig(quote_rps_per_ip=4.0)
    async with quiet_world(tmp_path, jupiter_faults=faults) as world:
        params = {"inputMint": WSOL_MINT, "outputMint": first_token(world), "amount": 10**6}
        async with Api.connect(world, "127.0.0.2") as a, Api.connect(world, "127.0.0.3") as b:
            statuses = [(await a.get("/quote", **params)).status_code for _ in range(5)]
            limited = await a.get("/quote", **params)
            assert (await b.get("/quote", **params)).status_code == 200
    assert statuses == [200, 200, 200, 200, 429]  # a burst of R, then the limit
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "1"  # HTTP's whole seconds, at least 1
    assert 0 < int(limited.headers["retry-after-ms"]) <= 250  # one token at 4/s
    by_ip = world.faults["jupiter"].stats.by_ip
    assert (by_ip["127.0.0.2"].requests, by_ip["127.0.0.2"].rate_limited) == (6, 2)
    assert by_ip["127.0.0.2"].served == 4
    assert (by_ip["127.0.0.3"].requests, by_ip["127.0.0.3"].rate_limited) == (1, 0)
