"""getTransaction: the balance changes of a landed transaction, in the standard Solana shape,
so a bot can reconcile its ledger with the chain per transaction."""

from __future__ import annotations

import base64
from typing import Any

from solders.transaction import VersionedTransaction

from galileo.sim import WSOL_MINT, World
from tests.sim.sim_helpers import Api, b64
from tests.worlds import first_token

AMOUNT = 1_000_000_000
TIP = 10_000
CONFIG = {"encoding": "base64", "maxSupportedTransactionVersion": 0}


def _token_amount(balances: list[dict[str, Any]], owner: str, mint: str) -> int:
    return sum(
        int(b["uiTokenAmount"]["amount"])
        for b in balances
        if b["owner"] == owner and b["mint"] == mint
    )


async def test_a_landed_bundle_reports_exactly_the_wallet_balance_change(
    api: Api, world: World
) -> None:
    mint = first_token(world)
    world.dislocate(world.pool(mint, "Raydium"), 300)
    _q0, _q1, merged = await api.circular_quote(mint, AMOUNT, TIP)
    tx, si = await api.arbitrage_tx(merged, TIP)
    before = world.balances()
    await api.send_bundle([tx])
    after = world.balances()
    signature = str(tx.signatures[0])

    result = await api.rpc("getTransaction", [signature, CONFIG])

    assert result["slot"] == world.slot
    assert result["version"] == 0
    meta = result["meta"]
    assert meta["err"] is None and meta["status"] == {"Ok": None}
    assert meta["fee"] == 5000 + si["prioritizationFeeLamports"]
    wallet = str(world.wallet.pubkey())
    sol = meta["postBalances"][0] - meta["preBalances"][0]
    wsol = _token_amount(meta["postTokenBalances"], wallet, WSOL_MINT) - _token_amount(
        meta["preTokenBalances"], wallet, WSOL_MINT
    )
    assert sol == after.lamports - before.lamports == -(meta["fee"] + TIP)
    assert sol + wsol == after.total_sol - before.total_sol
    raw = base64.b64decode(result["transaction"][0])
    assert VersionedTransaction.from_bytes(raw).signatures[0] == tx.signatures[0]
    assert len(meta["preBalances"]) == len(tx.message.account_keys) + len(
        meta["loadedAddresses"]["writable"]
    ) + len(meta["loadedAddresses"]["readonly"])


async def test_unknown_signatures_and_rolled_back_bundles_are_null(api: Api, world: World) -> None:
    mint = first_token(world)
    _q0, _q1, merged = await api.circular_quote(mint, AMOUNT, TIP)
    # Ask for far more than the round trip returns: the swap fails and the bundle rolls back.
    merged = dict(merged, outAmount=str(AMOUNT * 2), otherAmountThreshold=str(AMOUNT * 2))
    tx, _si = await api.arbitrage_tx(merged, TIP)
    await api.send_bundle([tx])
    assert await api.rpc("getTransaction", [str(tx.signatures[0]), CONFIG]) is None
    assert await api.rpc("getTransaction", ["1" * 64, CONFIG]) is None


async def test_a_transaction_that_failed_on_chain_reports_its_fee(api: Api, world: World) -> None:
    mint = first_token(world)
    _q0, _q1, merged = await api.circular_quote(mint, AMOUNT, TIP)
    merged = dict(merged, outAmount=str(AMOUNT * 2), otherAmountThreshold=str(AMOUNT * 2))
    tx, _si = await api.arbitrage_tx(merged, TIP)
    before = world.balances()
    await api.rpc("sendTransaction", [b64(tx), {"encoding": "base64", "skipPreflight": True}])
    after = world.balances()

    result = await api.rpc("getTransaction", [str(tx.signatures[0]), CONFIG])

    meta = result["meta"]
    assert meta["err"]["InstructionError"][1] == {"Custom": 6001}  # SlippageToleranceExceeded
    assert meta["postBalances"][0] - meta["preBalances"][0] == after.lamports - before.lamports
    assert after.lamports - before.lamports == -meta["fee"] < 0
    assert after.wsol == before.wsol


async def test_v0_needs_max_supported_transaction_version_and_json_is_the_default(
    api: Api, world: World
) -> None:
    mint = first_token(world)
    world.dislocate(world.pool(mint, "Raydium"), 300)
    _q0, _q1, merged = await api.circular_quote(mint, AMOUNT, TIP)
    tx, _si = await api.arbitrage_tx(merged, TIP)
    await api.send_bundle([tx])
    signature = str(tx.signatures[0])

    doc = (await api.rpc_raw("getTransaction", [signature])).json()
    assert doc["error"]["code"] == -32015

    result = await api.rpc("getTransaction", [signature, {"maxSupportedTransactionVersion": 0}])
    message = result["transaction"]["message"]
    assert result["transaction"]["signatures"] == [signature]
    assert message["accountKeys"][0] == str(world.wallet.pubkey())
    assert message["recentBlockhash"] == str(tx.message.recent_blockhash)
    assert message["addressTableLookups"]
