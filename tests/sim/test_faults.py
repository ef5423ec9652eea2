"""Every fault switch, per face."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
import trio.testing

from galileo._config import SimConfig, SimFaultsConfig
from galileo.sim import WSOL_MINT
from galileo.sim._faults import faults_for
from tests.sim.sim_helpers import Api
from tests.worlds import first_token, quiet_world


def always(**kwargs: Any) -> SimFaultsConfig:
    return SimFaultsConfig(**kwargs)


def test_face_keys_override_the_shared_faults() -> None:
    config = SimConfig(
        faults=always(error_5xx_rate=0.5, latency_ms=3.0),
        jito_faults=always(error_5xx_rate=0.1),
    )
    assert faults_for(config, "jito").error_5xx_rate == 0.1
    assert faults_for(config, "jito").latency_ms == 3.0
    assert faults_for(config, "rpc").error_5xx_rate == 0.5


async def test_5xx_on_one_face_leaves_the_others_alone(
    tmp_path: Path, mock_clock: trio.testing.MockClock
) -> None:
    async with (
        quiet_world(tmp_path, jupiter_faults=always(error_5xx_rate=1.0)) as world,
        Api.connect(world) as api,
    ):
        response = await api.get("/program-id-to-label")
        assert response.status_code == 500
        assert (await api.rpc_raw("getSlot")).status_code == 200
        assert world.faults["jupiter"].stats.errors_5xx == 1


async def test_quote_limit_is_per_source_ip(
    tmp_path: Path, mock_clock: trio.testing.MockClock
) -> None:
    async with quiet_world(tmp_path, faults=always(quote_rps_per_ip=1.0)) as world:
        mint = first_token(world)
        params = {"inputMint": WSOL_MINT, "outputMint": mint, "amount": 10**6}
        async with Api.connect(world, "127.0.0.2") as a, Api.connect(world, "127.0.0.3") as b:
            assert (await a.get("/quote", **params)).status_code == 200
            limited = await a.get("/quote", **params)
            assert limited.status_code == 429
            assert set(limited.json()) == {"error", "errorCode"}
            assert (await a.get("/program-id-to-label")).status_code == 200  # /quote only
            assert (await b.get("/quote", **params)).status_code == 200
            mock_clock.jump(1.0)
            assert (await a.get("/quote", **params)).status_code == 200


async def test_malformed_and_truncated_bodies(
    tmp_path: Path, mock_clock: trio.testing.MockClock
) -> None:
    async with (
        quiet_world(tmp_path, rpc_faults=always(malformed_rate=1.0)) as world,
        Api.connect(world) as api,
    ):
        response = await api.rpc_raw("getSlot")
        with pytest.raises(ValueError):
            response.json()
    async with (
        quiet_world(tmp_path, rpc_faults=always(truncated_rate=1.0)) as world,
        Api.connect(world) as api,
    ):
        with pytest.raises(httpx.RemoteProtocolError):
            await api.rpc_raw("getSlot")


async def test_connection_resets(tmp_path: Path, mock_clock: trio.testing.MockClock) -> None:
    async with (
        quiet_world(tmp_path, jito_faults=always(reset_rate=1.0)) as world,
        Api.connect(world) as api,
    ):
        with pytest.raises(httpx.RemoteProtocolError):
            await api.jito_raw("getTipAccounts", [])


async def test_stalls_outlast_the_clients_deadline(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with (
        quiet_world(tmp_path, rpc_faults=always(stall_rate=1.0, stall_ms=60_000)) as world,
        Api.connect(world) as api,
    ):
        with trio.move_on_after(5) as deadline:
            await api.rpc_raw("getSlot")
        assert deadline.cancelled_caught
        assert world.faults["rpc"].stats.stalls == 1


async def test_added_latency_follows_the_clock(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    async with (
        quiet_world(tmp_path, rpc_faults=always(latency_ms=250.0, latency_jitter_ms=50.0)) as world,
        Api.connect(world) as api,
    ):
        started = trio.current_time()
        assert (await api.rpc_raw("getSlot")).status_code == 200
        assert 0.2 <= trio.current_time() - started <= 0.3 + 1e-6


async def test_crash_after_n_requests_stops_the_face(
    tmp_path: Path, mock_clock: trio.testing.MockClock
) -> None:
    async with quiet_world(tmp_path, jupiter_faults=always(crash_after_requests=2)) as world:
        url = world.jupiter_url
        async with Api.connect(world) as api:
            assert (await api.get("/program-id-to-label")).status_code == 200
            assert (await api.get("/program-id-to-label")).status_code == 200
            with pytest.raises(httpx.TransportError):
                await api.get("/program-id-to-label")
        async with httpx.AsyncClient() as fresh:
            with pytest.raises(httpx.ConnectError):
                await fresh.get(url + "/program-id-to-label")
            assert (
                await fresh.post(
                    world.rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": "getSlot"}
                )
            ).status_code == 200


async def test_dropped_bundles_never_land(
    tmp_path: Path, mock_clock: trio.testing.MockClock
) -> None:
    async with (
        quiet_world(tmp_path, jito_faults=always(drop_bundle_rate=1.0)) as world,
        Api.connect(world) as api,
    ):
        from solders.message import MessageV0
        from solders.transaction import VersionedTransaction

        from galileo.sim import JITO_TIP_ACCOUNTS
        from galileo.sim._program import system_transfer

        wallet = world.wallet
        tx = VersionedTransaction(
            MessageV0.try_compile(
                wallet.pubkey(),
                [system_transfer(wallet.pubkey(), JITO_TIP_ACCOUNTS[0], 5000)],
                [],
                await api.blockhash(),
            ),
            [wallet],
        )
        before = world.balances()
        bundle_id = (await api.send_bundle([tx]))["result"]
        assert world.balances() == before
        inflight = (await api.jito_raw("getInflightBundleStatuses", [[bundle_id]])).json()
        assert inflight["result"]["value"][0]["status"] == "Pending"
        mock_clock.jump(world.config.slot_ms / 1000 * 3)  # its slot and the next are over
        inflight = (await api.jito_raw("getInflightBundleStatuses", [[bundle_id]])).json()
        assert inflight["result"]["value"][0]["status"] == "Failed"
