"""Wallet preparation against the simulated world: a fresh wallet (SOL only) gets its token
accounts and its wSOL, to the lamport; a second preparation does nothing; the SOL floor is
kept; unwrapping closes the wSOL account; batches of creations fit the packet."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from solders.keypair import Keypair

from galileo._config import SimFaultsConfig
from galileo._errors import ConfigError
from galileo._solana import WSOL_MINT
from galileo.net import JsonRpcClient
from galileo.sim import World
from galileo.tx import (
    PACKET_DATA_SIZE,
    Wallet,
    WalletPlan,
    create_ata_idempotent,
    prepare_wallet,
    unwrap_sol,
    wallet_status,
)
from galileo.tx._submit import fee_bound, pack
from galileo.tx._token_accounts import associated_token_address
from tests.worlds import quiet_world

SOL = 1_000_000_000
TARGET = 2 * SOL
FLOOR = SOL // 10
FEE = 5000  # one signature; these transactions carry no priority fee unless asked


@contextlib.asynccontextmanager
async def fresh(tmp_path: Path, **overrides: object) -> AsyncIterator[tuple[World, JsonRpcClient]]:
    """A world whose wallet holds SOL only (fast slots), and an RPC client to it."""
    settings: dict[str, object] = {
        "wallet_wsol_lamports": 0,
        "wallet_token_accounts": False,
        "slot_ms": 20,
    }
    settings.update(overrides)
    async with quiet_world(tmp_path, **settings) as world:
        rpc = JsonRpcClient(world.rpc_url)
        try:
            yield world, rpc
        finally:
            await rpc.aclose()


@pytest.fixture
async def fresh_world(tmp_path: Path) -> AsyncIterator[tuple[World, JsonRpcClient]]:
    async with fresh(tmp_path) as pair:
        yield pair


def plan(world: World, **overrides: object) -> WalletPlan:
    settings: dict[str, object] = {
        "mints": tuple(world.market.tokens),
        "wrap_target_lamports": TARGET,
        "sol_floor_lamports": FLOOR,
    }
    settings.update(overrides)
    return WalletPlan(**settings)  # type: ignore[arg-type]


def rent(world: World) -> int:
    return int(world.chain.svm.minimum_balance_for_rent_exemption(165))


async def test_a_fresh_wallet_gets_every_token_account_and_its_wsol_to_the_lamport(
    fresh_world: tuple[World, JsonRpcClient],
) -> None:
    world, rpc = fresh_world
    wallet = Wallet(world.wallet)
    before = world.balances()
    assert before.tokens == {} and before.lamports == world.config.wallet_lamports

    prep = await prepare_wallet(rpc, wallet, plan(world), poll_interval_s=0.02)

    mints = set(world.market.tokens)
    assert set(prep.created) == mints and WSOL_MINT in prep.created
    assert prep.wrapped_lamports == TARGET and prep.shortfall_lamports == 0
    after = world.balances()
    assert after.wsol == TARGET == prep.status.wsol_lamports
    assert set(after.tokens) == mints
    assert after.lamports == prep.status.sol_lamports
    # Every lamport accounted for: rent of each account, the wrapped SOL, a fee per
    # transaction (at least two: the creations and the wrap).
    fees = before.lamports - after.lamports - TARGET - len(mints) * rent(world)
    assert fees % FEE == 0 and 2 * FEE <= fees <= (len(mints) + 1) * FEE


async def test_a_second_preparation_creates_and_wraps_nothing(
    fresh_world: tuple[World, JsonRpcClient],
) -> None:
    world, rpc = fresh_world
    wallet = Wallet(world.wallet)
    await prepare_wallet(rpc, wallet, plan(world), poll_interval_s=0.02)
    before = world.balances()

    again = await prepare_wallet(rpc, wallet, plan(world), poll_interval_s=0.02)

    assert again.created == () and again.wrapped_lamports == 0 and not again.changed
    assert set(again.accounts.existing) == set(world.market.tokens)
    assert world.balances() == before  # nothing sent, nothing paid


async def test_the_sol_floor_is_kept_and_the_shortfall_reported(tmp_path: Path) -> None:
    async with fresh(tmp_path, wallet_lamports=SOL) as (world, rpc):
        wallet = Wallet(world.wallet)
        prep = await prepare_wallet(
            rpc, wallet, plan(world, mints=(WSOL_MINT,)), poll_interval_s=0.02
        )
        after = world.balances()
        # The wrap leaves the floor plus the wrap's own fee bound in SOL, less the fee paid.
        bound = fee_bound(1, lamports_per_signature=FEE, cu_price=0)
        assert after.lamports == FLOOR + bound - FEE
        assert after.wsol == prep.wrapped_lamports == SOL - rent(world) - FEE - FLOOR - bound
        assert prep.shortfall_lamports == TARGET - after.wsol > 0


async def test_report_only_sends_nothing(fresh_world: tuple[World, JsonRpcClient]) -> None:
    world, rpc = fresh_world
    before = world.balances()
    prep = await prepare_wallet(
        rpc, Wallet(world.wallet), plan(world, create_accounts=False, wrap=False)
    )
    assert set(prep.accounts.missing) == set(world.market.tokens)
    assert prep.created == () and prep.wrapped_lamports == 0
    assert prep.shortfall_lamports == TARGET
    assert world.balances() == before


async def test_too_many_missing_accounts_is_a_configuration_error(
    fresh_world: tuple[World, JsonRpcClient],
) -> None:
    world, rpc = fresh_world
    with pytest.raises(ConfigError) as caught:
        await prepare_wallet(rpc, Wallet(world.wallet), plan(world, max_new_accounts=2))
    assert caught.value.path == "wallet.max_new_token_accounts"
    assert world.balances().tokens == {}


async def test_unwrap_closes_the_wsol_account_and_returns_every_lamport(
    fresh_world: tuple[World, JsonRpcClient],
) -> None:
    world, rpc = fresh_world
    wallet = Wallet(world.wallet)
    await prepare_wallet(rpc, wallet, plan(world), poll_interval_s=0.02)
    before = world.balances()

    unwrapped = await unwrap_sol(rpc, wallet, poll_interval_s=0.02)

    after = world.balances()
    assert unwrapped == TARGET
    assert WSOL_MINT not in after.tokens
    assert after.lamports == before.lamports + TARGET + rent(world) - FEE
    assert await unwrap_sol(rpc, wallet, poll_interval_s=0.02) is None
    status = await wallet_status(rpc, wallet.pubkey_str, [WSOL_MINT])
    assert status.missing == (WSOL_MINT,) and status.wsol_lamports == 0


def test_creations_are_packed_into_transactions_that_fit_the_packet() -> None:
    from solders.hash import Hash

    wallet = Wallet(Keypair())
    mints = [Keypair().pubkey() for _ in range(40)]
    groups = [[create_ata_idempotent(wallet.pubkey, wallet.pubkey, m)] for m in mints]

    txs = pack(wallet, groups, Hash.default(), cu_price=1000)

    assert len(txs) > 1
    assert all(len(bytes(tx)) <= PACKET_DATA_SIZE for tx in txs)
    created = [
        tx.message.account_keys[ix.accounts[1]]
        for tx in txs
        for ix in tx.message.instructions
        if len(ix.accounts) == 6
    ]
    assert created == [associated_token_address(wallet.pubkey, m) for m in mints]
    # Greedy: every transaction but the last holds as many creations as the first.
    counts = [sum(1 for ix in tx.message.instructions if len(ix.accounts) == 6) for tx in txs]
    assert len(set(counts[:-1])) == 1 and counts[-1] <= counts[0]


@pytest.mark.parametrize("seed", [7, 11])
async def test_preparation_goes_through_an_rpc_failing_a_third_of_its_calls(
    tmp_path: Path, seed: int
) -> None:
    faults = SimFaultsConfig(error_5xx_rate=0.3)
    async with fresh(tmp_path, seed=seed, rpc_faults=faults) as (world, rpc):
        wallet = Wallet(world.wallet)
        prep = await prepare_wallet(rpc, wallet, plan(world), poll_interval_s=0.02)
        assert set(prep.created) == set(world.market.tokens)
        assert world.balances().wsol == TARGET == prep.status.wsol_lamports  # wrapped once
        again = await prepare_wallet(rpc, wallet, plan(world), poll_interval_s=0.02)
        assert not again.changed
        assert world.faults["rpc"].stats.errors_5xx > 0
