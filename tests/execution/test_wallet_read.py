"""The wallet's total is read exactly through RPC faults, or is unknown: a failed read is never
taken for an empty account (the 20 SOL phantom delta of issue 11), and the summary then says
"unknown" instead of printing a delta."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio
from solders.keypair import Keypair

from galileo._config import SimFaultsConfig
from galileo._run_report import RunSummary, format_summary
from galileo.execution import ExecutorStats, read_wallet_total
from galileo.net import HttpxClients, JsonRpcClient
from galileo.sim import WSOL_MINT
from tests.worlds import quiet_world


async def test_the_total_is_sol_plus_the_wrapped_sol_account(
    tmp_path: Path, clients: HttpxClients
) -> None:
    async with quiet_world(tmp_path) as world:
        rpc = JsonRpcClient.on_ip(world.rpc_url, clients=clients)
        total = await read_wallet_total(rpc, str(world.wallet.pubkey()), WSOL_MINT)
        balances = world.balances()
    assert balances.wsol > 0 and balances.lamports > 0
    assert total == balances.total_sol


async def test_an_account_that_does_not_exist_holds_nothing(
    tmp_path: Path, clients: HttpxClients
) -> None:
    async with quiet_world(tmp_path) as world:
        rpc = JsonRpcClient.on_ip(world.rpc_url, clients=clients)
        stranger = str(Keypair().pubkey())
        assert await read_wallet_total(rpc, stranger, WSOL_MINT) == 0


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_server_errors_are_retried_until_the_exact_total(
    tmp_path: Path, clients: HttpxClients, seed: int
) -> None:
    faults = SimFaultsConfig(error_5xx_rate=0.5, malformed_rate=0.1)
    async with quiet_world(tmp_path, seed=seed, rpc_faults=faults) as world:
        rpc = JsonRpcClient.on_ip(world.rpc_url, clients=clients)
        readings = [
            await read_wallet_total(rpc, str(world.wallet.pubkey()), WSOL_MINT) for _ in range(5)
        ]
        expected = world.balances().total_sol
        injected = world.faults["rpc"].stats.errors_5xx
    assert readings == [expected] * 5
    assert injected > 0  # some reads needed more than one request


async def test_a_wallet_that_cannot_be_read_is_unknown_not_zero(
    tmp_path: Path, clients: HttpxClients
) -> None:
    async with quiet_world(tmp_path, rpc_faults=SimFaultsConfig(error_5xx_rate=1.0)) as world:
        rpc = JsonRpcClient.on_ip(world.rpc_url, clients=clients)
        start = trio.current_time()
        total = await read_wallet_total(rpc, str(world.wallet.pubkey()), WSOL_MINT, deadline_s=1.0)
        elapsed = trio.current_time() - start
    assert total is None
    assert 1.0 <= elapsed < 3.0


def _summary(wallet_start: int | None, wallet_end: int | None) -> dict[str, Any]:
    stats = ExecutorStats(
        received=3, skipped={}, build_skipped={}, built=1, dry_run=0, blocked=0, submitted=1,
        not_sent=0, duplicate=0, landed=1, failed=0, expired=0, errors=0, inflight=0,
        pnl_lamports=0, tip_spend_lamports=0, fee_spend_lamports=0, realised_unknown=0,
        duplicates_suppressed=2, reconciled={"expired": 4},
    )  # fmt: skip
    return RunSummary(
        run_id="r", version="v", fast_backend="python", started_at=0.0, duration_s=1.0,
        stop_reason="duration elapsed", engine=None, execution=stats, ledger=None, stages={},
        wallet_start=wallet_start, wallet_end=wallet_end,
    ).to_json()  # fmt: skip


def test_the_summary_says_unknown_instead_of_a_delta_it_does_not_have() -> None:
    unknown = _summary(20_000_000_000, None)
    assert unknown["wallet_delta_lamports"] is None
    text = format_summary(unknown)
    assert "wallet delta unknown (a wallet balance could not be read)" in text
    assert "MISMATCH" not in text
    assert "suppressed 2 re-found dislocations already in flight" in text
    assert "reconciled at startup (left in flight by an earlier process): expired 4" in text
    assert (unknown["duplicates_suppressed"], unknown["reconciled"]) == (2, {"expired": 4})

    known = _summary(100, 90)
    assert known["wallet_delta_lamports"] == -10
    assert "wallet delta -10 lamports (chain)  ← MISMATCH" in format_summary(known)
