"""Startup token accounts (checked, created idempotently when asked) and the lookup-table
cache (fetched once, shared by concurrent users, refreshed on demand)."""

from __future__ import annotations

import base64

import pytest
import trio
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from galileo.sim import WSOL_MINT
from galileo.sim._program import ata as sim_ata
from galileo.sim._program import system_transfer
from galileo.tx import (
    AltCache,
    AltUnavailable,
    TokenAccounts,
    Wallet,
    associated_token_address,
)
from tests.tx.tx_helpers import Rig, rpc


def test_the_ata_derivation_matches_the_worlds() -> None:
    owner, mint = Keypair().pubkey(), Keypair().pubkey()
    assert associated_token_address(owner, mint) == sim_ata(owner, mint)


async def test_the_worlds_wallet_has_every_token_account_already(rig: Rig) -> None:
    mints = list(rig.world.market.tokens)
    report = await TokenAccounts.prepare(rig.rpc, rig.wallet, [*mints, WSOL_MINT])
    assert report.ready
    assert set(report.existing) == set(mints)
    assert report.created == report.missing == ()
    assert report.accounts[WSOL_MINT] == str(sim_ata(rig.wallet.pubkey, WSOL_MINT))


async def test_missing_accounts_are_reported_then_created_when_asked(rig: Rig) -> None:
    world = rig.world
    fresh = Keypair()
    payer = world.wallet
    fund = VersionedTransaction(
        MessageV0.try_compile(
            payer.pubkey(),
            [system_transfer(payer.pubkey(), fresh.pubkey(), 1_000_000_000)],
            [],
            world.chain.blockhash(),
        ),
        [payer],
    )
    sent = await rpc(
        world, "sendTransaction", [base64.b64encode(bytes(fund)).decode(), {"encoding": "base64"}]
    )
    assert "result" in sent, sent
    wallet = Wallet(fresh)
    mints = [m for m in world.market.tokens][:3]
    unknown = str(Pubkey.new_unique())
    report = await TokenAccounts.prepare(rig.rpc, wallet, [*mints, unknown])
    assert set(report.missing) == set(mints)
    assert report.unknown_mints == (unknown,)
    assert not report.ready

    created = await TokenAccounts.prepare(
        rig.rpc, wallet, mints, create=True, commitment="processed"
    )
    assert set(created.created) == set(mints)
    assert created.ready
    for mint in mints:
        assert world.chain.token_amount(created.accounts[mint]) == 0


async def test_a_lookup_table_is_fetched_once(rig: Rig) -> None:
    address = str(rig.world.chain.alt_address)
    cache = AltCache(rig.rpc)
    assert cache.cached([address]) is None
    (first,) = await cache.get([address])
    (again,) = await cache.get([address])
    assert again is first
    assert cache.fetches == 1
    assert cache.cached([address]) == [first]
    assert [str(a) for a in first.addresses[:3]] == [
        str(a) for a in rig.world.chain.lookup_table_addresses()[:3]
    ]


async def test_concurrent_users_of_a_new_table_share_one_fetch(rig: Rig) -> None:
    address = str(rig.world.chain.alt_address)
    cache = AltCache(rig.rpc)
    results: list[object] = []

    async def use() -> None:
        results.append((await cache.get([address]))[0])

    async with trio.open_nursery() as nursery:
        for _ in range(5):
            nursery.start_soon(use)
    assert cache.fetches == 1
    assert len(results) == 5 and all(r is results[0] for r in results)


async def test_refresh_fetches_again(rig: Rig) -> None:
    address = str(rig.world.chain.alt_address)
    cache = AltCache(rig.rpc)
    await cache.get([address])
    await cache.refresh([address])
    assert cache.fetches == 2


async def test_an_account_that_is_not_a_lookup_table_is_unavailable(rig: Rig) -> None:
    cache = AltCache(rig.rpc)
    with pytest.raises(AltUnavailable, match="not a lookup table"):
        await cache.get([rig.wallet.pubkey_str])
    with pytest.raises(AltUnavailable, match="not found"):
        await cache.get([str(Pubkey.new_unique())])
    assert len(cache) == 0
