"""The Jito face and real execution: a circular arbitrage lands and moves balances by exactly
what the quotes imply; slippage; atomicity; statuses; per-IP-per-region rate limits."""

from __future__ import annotations

from pathlib import Path

import trio.testing
from solders.message import MessageV0
from solders.transaction import VersionedTransaction

from galileo.sim import JITO_TIP_ACCOUNTS, WSOL_MINT, World
from galileo.sim._program import system_transfer
from tests.sim.sim_helpers import Api, b64
from tests.sim.sim_schema import (
    STRICT,
    BundleStatuses,
    InflightStatuses,
    JsonRpcErrorEnvelope,
)
from tests.worlds import first_token, quiet_world

AMOUNT = 1_000_000_000
TIP = 10_000


async def test_tip_accounts_are_the_eight_funded_accounts(api: Api, world: World) -> None:
    doc = (await api.jito_raw("getTipAccounts", [])).json()
    assert doc["result"] == list(JITO_TIP_ACCOUNTS)
    for tip in JITO_TIP_ACCOUNTS:
        assert world.chain.balance(tip) > 0


async def test_circular_arbitrage_lands_and_moves_balances_exactly(api: Api, world: World) -> None:
    mint = first_token(world)
    world.dislocate(world.pool(mint, "Raydium"), 300)
    _q0, q1, merged = await api.circular_quote(mint, AMOUNT, TIP)
    gross = int(q1["outAmount"]) - AMOUNT
    assert gross > TIP
    tx, si = await api.arbitrage_tx(merged, TIP)
    before = world.balances()
    doc = await api.send_bundle([tx])
    bundle_id = doc["result"]
    after = world.balances()
    fee = 5000 + si["prioritizationFeeLamports"]
    assert after.wsol - before.wsol == gross
    assert after.lamports - before.lamports == -(fee + TIP)
    assert after.total_sol - before.total_sol == gross - TIP - fee
    assert after.tokens[mint] == before.tokens[mint]  # the middle token nets out
    statuses = STRICT.structure(
        (await api.jito_raw("getBundleStatuses", [[bundle_id]])).json()["result"], BundleStatuses
    )
    (status,) = statuses.value
    assert status is not None and status.transactions == [str(tx.signatures[0])]
    assert status.confirmation_status == status.confirmationStatus == "processed"
    inflight = STRICT.structure(
        (await api.jito_raw("getInflightBundleStatuses", [[bundle_id]])).json()["result"],
        InflightStatuses,
    )
    assert inflight.value[0].status == "Landed"
    rpc_status = (await api.rpc("getSignatureStatuses", [[str(tx.signatures[0])]]))["value"][0]
    assert rpc_status["err"] is None


async def test_the_route_fails_with_slippage_when_the_pool_moved_first(
    api: Api, world: World
) -> None:
    mint = first_token(world)
    world.dislocate(world.pool(mint, "Raydium"), 300)
    _, q1, merged = await api.circular_quote(mint, AMOUNT, TIP)
    # Demand exactly the quoted output, then let another trade move the pools first.
    merged["otherAmountThreshold"] = q1["outAmount"]
    first, _ = await api.arbitrage_tx(merged, TIP, cu_price=1)
    second, si = await api.arbitrage_tx(merged, TIP, cu_price=2)
    swap_index = len(si["computeBudgetInstructions"]) + len(si["setupInstructions"])
    await api.send_bundle([first])
    before = world.balances()
    sent = await api.rpc(
        "sendTransaction",
        [b64(second), {"encoding": "base64", "skipPreflight": True}],
    )
    (status,) = (await api.rpc("getSignatureStatuses", [[sent]]))["value"]
    assert status["err"] == {"InstructionError": [swap_index, {"Custom": 6001}]}
    after = world.balances()
    assert after.tokens == before.tokens
    assert after.lamports < before.lamports  # only the fee was paid; no tip, no swap


async def test_slippage_is_refused_by_preflight_with_jupiter_logs(api: Api, world: World) -> None:
    mint = first_token(world)
    _, _, merged = await api.circular_quote(mint, AMOUNT, TIP)  # no dislocation: a loss
    tx, _ = await api.arbitrage_tx(merged, TIP)
    doc = (await api.rpc_raw("sendTransaction", [b64(tx), {"encoding": "base64"}])).json()
    assert doc["error"]["code"] == -32002
    assert any("0x1771" in line for line in doc["error"]["data"]["logs"])


async def test_a_bundle_is_atomic(api: Api, world: World) -> None:
    mint = first_token(world)
    wallet = world.wallet
    tip_ix = system_transfer(wallet.pubkey(), JITO_TIP_ACCOUNTS[1], TIP)
    good = VersionedTransaction(
        MessageV0.try_compile(wallet.pubkey(), [tip_ix], [], await api.blockhash()), [wallet]
    )
    _, _, losing = await api.circular_quote(mint, AMOUNT, TIP)  # min out > what it returns
    bad, _ = await api.arbitrage_tx(losing, TIP)
    before = world.balances()
    tip_before = world.chain.balance(JITO_TIP_ACCOUNTS[1])
    bundle_id = (await api.send_bundle([good, bad]))["result"]
    assert world.balances() == before
    assert world.chain.balance(JITO_TIP_ACCOUNTS[1]) == tip_before
    statuses = (await api.jito_raw("getBundleStatuses", [[bundle_id]])).json()["result"]
    assert statuses["value"] == [None]
    inflight = (await api.jito_raw("getInflightBundleStatuses", [[bundle_id]])).json()["result"]
    assert inflight["value"][0]["status"] == "Failed"
    rpc = (await api.rpc("getSignatureStatuses", [[str(good.signatures[0])]]))["value"]
    assert rpc == [None]


async def test_bundles_are_limited_to_five_transactions_and_need_a_tip(
    api: Api, world: World
) -> None:
    wallet = world.wallet
    bh = await api.blockhash()
    txs = [
        VersionedTransaction(
            MessageV0.try_compile(
                wallet.pubkey(),
                [system_transfer(wallet.pubkey(), JITO_TIP_ACCOUNTS[0], 1000 + i)],
                [],
                bh,
            ),
            [wallet],
        )
        for i in range(6)
    ]
    doc = await api.send_bundle(txs)
    assert doc["error"]["code"] == -32602
    untipped = VersionedTransaction(
        MessageV0.try_compile(
            wallet.pubkey(), [system_transfer(wallet.pubkey(), wallet.pubkey(), 1)], [], bh
        ),
        [wallet],
    )
    assert "error" in await api.send_bundle([untipped])
    assert "result" in await api.send_bundle(txs[:5])


async def test_rate_limit_is_per_source_ip_and_per_region(
    tmp_path: Path, mock_clock: trio.testing.MockClock
) -> None:
    async with (
        quiet_world(tmp_path, jito_rps_per_ip=1.0) as world,
        Api.connect(world, "127.0.0.2") as a,
        Api.connect(world, "127.0.0.3") as b,
    ):
        assert (await a.jito_raw("getTipAccounts", [])).status_code == 200
        limited = await a.jito_raw("getTipAccounts", [])
        assert limited.status_code == 429
        envelope = STRICT.structure(limited.json(), JsonRpcErrorEnvelope)
        assert envelope.error.code == -32097
        # Another source IP, and another region of the same IP, have their own budget.
        assert (await b.jito_raw("getTipAccounts", [])).status_code == 200
        other_region = await a.jito_raw("getTipAccounts", [], "/ny/api/v1/bundles")
        assert other_region.status_code == 200
        assert (await b.jito_raw("getTipAccounts", [])).status_code == 429
        mock_clock.jump(1.0)
        assert (await a.jito_raw("getTipAccounts", [])).status_code == 200


async def test_send_transaction_bundle_only_returns_the_bundle_id(api: Api, world: World) -> None:
    wallet = world.wallet
    tx = VersionedTransaction(
        MessageV0.try_compile(
            wallet.pubkey(),
            [system_transfer(wallet.pubkey(), JITO_TIP_ACCOUNTS[2], 2000)],
            [],
            await api.blockhash(),
        ),
        [wallet],
    )
    response = await api.jito_raw(
        "sendTransaction",
        [b64(tx), {"encoding": "base64"}],
        "/api/v1/transactions",
        bundleOnly="true",
    )
    assert response.json()["result"] == str(tx.signatures[0])
    bundle_id = response.headers["x-bundle-id"]
    statuses = (await api.jito_raw("getBundleStatuses", [[bundle_id]])).json()["result"]
    assert statuses["value"][0]["bundle_id"] == bundle_id
    assert WSOL_MINT in world.market.tokens


async def test_a_bundle_with_an_unacceptable_transaction_is_invalid_and_lands_nothing(
    api: Api, world: World
) -> None:
    from solders.keypair import Keypair

    wallet = world.wallet
    good = VersionedTransaction(
        MessageV0.try_compile(
            wallet.pubkey(),
            [system_transfer(wallet.pubkey(), JITO_TIP_ACCOUNTS[4], TIP)],
            [],
            await api.blockhash(),
        ),
        [wallet],
    )
    _, _, merged = await api.circular_quote(first_token(world), AMOUNT, TIP)
    # A swap signed by someone else: the world cannot execute it (only its wallet can).
    stranger, _ = await api.arbitrage_tx(merged, TIP, signer=Keypair())
    before = world.balances()
    bundle_id = (await api.send_bundle([good, stranger]))["result"]
    assert world.balances() == before
    inflight = (await api.jito_raw("getInflightBundleStatuses", [[bundle_id]])).json()
    assert inflight["result"]["value"][0]["status"] == "Invalid"
    assert (await api.rpc("getSignatureStatuses", [[str(good.signatures[0])]]))["value"] == [None]
