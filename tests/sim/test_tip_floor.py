"""The Jito face's tip floor: the real endpoint's shape (SOL floats), computed from the tips of
the bundles that actually landed in the world over a recent window of slots."""

from __future__ import annotations

import datetime
from decimal import Decimal

import trio.testing
from solders.message import MessageV0
from solders.transaction import VersionedTransaction

from galileo.sim import JITO_TIP_ACCOUNTS, World
from galileo.sim._faults import RateLimiter
from galileo.sim._jito import MIN_TIP_LAMPORTS, TIP_FLOOR_PATH, TIP_FLOOR_WINDOW_SLOTS
from galileo.sim._program import system_transfer
from tests.sim.sim_helpers import Api

KEYS = {
    "time",
    "landed_tips_25th_percentile",
    "landed_tips_50th_percentile",
    "landed_tips_75th_percentile",
    "landed_tips_95th_percentile",
    "landed_tips_99th_percentile",
    "ema_landed_tips_50th_percentile",
}


async def tip_floor(api: Api) -> dict[str, object]:
    response = await api.client.get(api.world.jito_url + TIP_FLOOR_PATH)
    assert response.status_code == 200, response.text
    doc = response.json()
    assert isinstance(doc, list) and len(doc) == 1
    (entry,) = doc
    assert set(entry) == KEYS
    assert isinstance(entry["time"], str)
    datetime.datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))
    for key in KEYS - {"time"}:
        assert isinstance(entry[key], float), key
    return dict(entry)


def lamports(sol: object) -> int:
    return int(Decimal(str(sol)) * 10**9)


async def land_tip(api: Api, tip: int, *, account: int = 0) -> None:
    wallet = api.world.wallet
    tx = VersionedTransaction(
        MessageV0.try_compile(
            wallet.pubkey(),
            [system_transfer(wallet.pubkey(), JITO_TIP_ACCOUNTS[account], tip)],
            [],
            await api.blockhash(),
        ),
        [wallet],
    )
    bundle_id = (await api.send_bundle([tx]))["result"]
    assert api.world.chain.bundles[bundle_id].state == "Landed"


async def test_the_shape_is_the_real_one_and_the_default_is_the_minimum_tip(api: Api) -> None:
    entry = await tip_floor(api)
    for p in (25, 50, 75, 95, 99):
        assert lamports(entry[f"landed_tips_{p}th_percentile"]) == MIN_TIP_LAMPORTS
    assert lamports(entry["ema_landed_tips_50th_percentile"]) == MIN_TIP_LAMPORTS


async def test_the_floor_follows_the_landed_tips(api: Api, world: World) -> None:
    await land_tip(api, 50_000)
    entry = await tip_floor(api)
    for p in (25, 50, 75, 95, 99):
        assert lamports(entry[f"landed_tips_{p}th_percentile"]) == 50_000
    assert entry["landed_tips_50th_percentile"] == 5e-05
    ema = lamports(entry["ema_landed_tips_50th_percentile"])
    assert MIN_TIP_LAMPORTS < ema < 50_000  # smoothed, moving towards the landed tips

    # Tips of 10k, 20k, …, 100k (plus the 50k above): nearest-rank percentiles over 11 tips.
    for i in range(1, 11):
        await land_tip(api, i * 10_000, account=i % len(JITO_TIP_ACCOUNTS))
    entry = await tip_floor(api)
    tips = sorted([50_000, *(i * 10_000 for i in range(1, 11))])
    expected = {25: tips[2], 50: tips[5], 75: tips[8], 95: tips[10], 99: tips[10]}
    for p, tip in expected.items():
        assert lamports(entry[f"landed_tips_{p}th_percentile"]) == tip, p


async def test_a_bundle_that_did_not_land_does_not_count(api: Api, world: World) -> None:
    wallet = world.wallet
    bh = await api.blockhash()
    tip = system_transfer(wallet.pubkey(), JITO_TIP_ACCOUNTS[0], 70_000)
    tx = VersionedTransaction(MessageV0.try_compile(wallet.pubkey(), [tip], [], bh), [wallet])
    await api.send_bundle([tx])
    await api.send_bundle([tx])  # the same transaction again: not landed (already processed)
    entry = await tip_floor(api)
    assert lamports(entry["landed_tips_50th_percentile"]) == 70_000
    assert len(world.jito.landed_tips) == 1


async def test_old_tips_leave_the_window(
    api: Api, world: World, mock_clock: trio.testing.MockClock
) -> None:
    await land_tip(api, 80_000)
    assert lamports((await tip_floor(api))["landed_tips_50th_percentile"]) == 80_000
    mock_clock.jump(world.config.slot_ms / 1000 * (TIP_FLOOR_WINDOW_SLOTS + 1))
    entry = await tip_floor(api)
    assert lamports(entry["landed_tips_50th_percentile"]) == MIN_TIP_LAMPORTS


async def test_only_get_is_served_and_it_is_not_rate_limited(api: Api, world: World) -> None:
    response = await api.client.post(world.jito_url + TIP_FLOOR_PATH, json={})
    assert response.status_code == 405
    world.jito.limiter = RateLimiter(0.001)
    for _ in range(3):
        assert (await api.client.get(world.jito_url + TIP_FLOOR_PATH)).status_code == 200
