"""The Solana RPC face over LiteSVM: shapes a standard client parses, real signatures,
blockhash expiry, preflight failures."""

from __future__ import annotations

import base64
from typing import Protocol, TypeVar

import trio.testing
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.rpc.responses import (
    GetAccountInfoResp,
    GetBalanceResp,
    GetLatestBlockhashResp,
    GetMultipleAccountsResp,
    GetSignatureStatusesResp,
    GetSlotResp,
    GetTokenAccountBalanceResp,
    SendTransactionResp,
    SimulateTransactionResp,
)
from solders.transaction import VersionedTransaction

from galileo.sim import JITO_TIP_ACCOUNTS, WSOL_MINT, World
from galileo.sim._program import ata, system_transfer
from tests.sim.sim_helpers import Api, b64
from tests.worlds import first_token


async def raw(api: Api, method: str, params: list[object]) -> str:
    return (await api.rpc_raw(method, params)).text


class RpcResponse(Protocol):
    """A solders response type: ``from_json`` gives it, or the RPC error the body held."""

    @staticmethod
    def from_json(raw: str) -> object: ...


R = TypeVar("R", bound=RpcResponse)


def parsed(kind: type[R], text: str) -> R:
    """``kind.from_json(text)``, which must be a ``kind`` and not an RPC error."""
    value = kind.from_json(text)
    assert isinstance(value, kind), value
    return value


def transfer_tx(world: World, blockhash: Hash, lamports: int = 1234) -> VersionedTransaction:
    wallet = world.wallet
    ix = system_transfer(wallet.pubkey(), JITO_TIP_ACCOUNTS[0], lamports)
    message = MessageV0.try_compile(wallet.pubkey(), [ix], [], blockhash)
    return VersionedTransaction(message, [wallet])


async def test_a_standard_client_parses_every_read(api: Api, world: World) -> None:
    wallet = str(world.wallet_pubkey)
    wsol = str(ata(world.wallet_pubkey, WSOL_MINT))
    blockhash = parsed(GetLatestBlockhashResp, await raw(api, "getLatestBlockhash", []))
    assert blockhash.value.last_valid_block_height == world.slot + 150
    balance = parsed(GetBalanceResp, await raw(api, "getBalance", [wallet]))
    assert balance.value == world.config.wallet_lamports
    info = parsed(
        GetAccountInfoResp, await raw(api, "getAccountInfo", [wsol, {"encoding": "base64"}])
    )
    assert info.value is not None and str(info.value.owner).startswith("Tokenkeg")
    many = parsed(
        GetMultipleAccountsResp,
        await raw(api, "getMultipleAccounts", [[wallet, str(Keypair().pubkey())]]),
    )
    assert many.value[0] is not None and many.value[1] is None
    token = parsed(GetTokenAccountBalanceResp, await raw(api, "getTokenAccountBalance", [wsol]))
    assert int(token.value.amount) == world.config.wallet_wsol_lamports
    assert token.value.decimals == 9
    slot = parsed(GetSlotResp, await raw(api, "getSlot", []))
    assert slot.value == world.slot


async def test_lookup_table_account_is_readable(api: Api, world: World) -> None:
    (table,) = await api.lookup_tables([str(world.chain.alt_address)])
    assert world.market.pools[0].vault_a in {str(a) for a in table.addresses}


async def test_slots_and_blockhashes_advance_with_time(
    api: Api, world: World, mock_clock: trio.testing.MockClock
) -> None:
    first_slot = await api.rpc("getSlot")
    first_hash = await api.blockhash()
    mock_clock.jump(world.config.slot_ms / 1000 * 3)
    assert await api.rpc("getSlot") == first_slot + 3
    assert await api.blockhash() != first_hash


async def test_send_transaction_lands_and_reports_its_status(api: Api, world: World) -> None:
    before = world.balances().lamports
    tx = transfer_tx(world, await api.blockhash())
    sent = parsed(
        SendTransactionResp, await raw(api, "sendTransaction", [b64(tx), {"encoding": "base64"}])
    )
    assert sent.value == tx.signatures[0]
    assert world.balances().lamports == before - 1234 - 5000
    statuses = parsed(
        GetSignatureStatusesResp,
        await raw(api, "getSignatureStatuses", [[str(tx.signatures[0]), str(Keypair().pubkey())]]),
    )
    landed, unknown = statuses.value
    assert landed is not None and landed.err is None and unknown is None


async def test_a_bad_signature_is_refused(api: Api, world: World) -> None:
    tx = transfer_tx(world, await api.blockhash())
    forged = VersionedTransaction.populate(tx.message, [Keypair().sign_message(b"x")])
    doc = (await api.rpc_raw("sendTransaction", [b64(forged), {"encoding": "base64"}])).json()
    assert doc["error"]["code"] == -32003


async def test_an_expired_blockhash_fails_preflight(
    api: Api, world: World, mock_clock: trio.testing.MockClock
) -> None:
    old = await api.blockhash()
    mock_clock.jump(world.config.slot_ms / 1000 * 151)
    tx = transfer_tx(world, old)
    doc = (await api.rpc_raw("sendTransaction", [b64(tx), {"encoding": "base64"}])).json()
    assert doc["error"]["code"] == -32002
    assert doc["error"]["data"]["err"] == "BlockhashNotFound"
    valid = await api.rpc("isBlockhashValid", [str(old)])
    assert valid["value"] is False


async def test_failed_preflight_returns_logs_and_skip_preflight_lands_failed(
    api: Api, world: World
) -> None:
    wallet = world.wallet
    mint = first_token(world)
    # Move more tokens than the wallet holds: the token program refuses (custom error 1).
    from galileo.sim._program import token_transfer

    ix = token_transfer(
        str(ata(wallet.pubkey(), mint)), world.market.pools[0].vault_a, str(wallet.pubkey()), 10
    )
    message = MessageV0.try_compile(wallet.pubkey(), [ix], [], await api.blockhash())
    tx = VersionedTransaction(message, [wallet])
    doc = (await api.rpc_raw("sendTransaction", [b64(tx), {"encoding": "base64"}])).json()
    assert doc["error"]["code"] == -32002
    assert doc["error"]["data"]["logs"]
    simulated = parsed(
        SimulateTransactionResp,
        await raw(api, "simulateTransaction", [b64(tx), {"encoding": "base64"}]),
    )
    assert simulated.value.err is not None
    before = world.balances().lamports
    await api.rpc("sendTransaction", [b64(tx), {"encoding": "base64", "skipPreflight": True}])
    assert world.balances().lamports == before - 5000  # landed failed, fee paid
    (status,) = (await api.rpc("getSignatureStatuses", [[str(tx.signatures[0])]]))["value"]
    assert status["err"] == {"InstructionError": [0, {"Custom": 1}]}


async def test_base58_is_the_default_encoding(api: Api, world: World) -> None:
    from galileo.sim._rpc import b58encode

    tx = transfer_tx(world, await api.blockhash(), 999)
    assert await api.rpc("sendTransaction", [b58encode(bytes(tx))]) == str(tx.signatures[0])
    assert base64.b64decode(b64(tx)) == bytes(tx)


async def test_unknown_method_is_method_not_found(api: Api) -> None:
    doc = (await api.rpc_raw("getEverything", [])).json()
    assert doc["error"]["code"] == -32601


async def test_a_swap_from_the_swap_endpoint_wraps_and_unwraps_sol_for_real(
    api: Api, world: World
) -> None:
    mint = first_token(world)
    amount = 200_000_000
    quote = await api.quote(WSOL_MINT, mint, amount, slippageBps=50)
    body = {"userPublicKey": str(world.wallet_pubkey), "quoteResponse": quote}
    swap = (await api.post("/swap", body)).json()
    unsigned = VersionedTransaction.from_bytes(base64.b64decode(swap["swapTransaction"]))
    tx = VersionedTransaction(unsigned.message, [world.wallet])
    before = world.balances()
    await api.rpc("sendTransaction", [b64(tx), {"encoding": "base64"}])
    after = world.balances()
    assert after.tokens[mint] - before.tokens[mint] == int(quote["outAmount"])
    # wrapAndUnwrapSol (the default) closes the wSOL account: its balance and rent come back.
    assert WSOL_MINT not in after.tokens
    rent = world.chain.svm.minimum_balance_for_rent_exemption(165)
    fee = 5000 + swap["prioritizationFeeLamports"]
    assert after.lamports - before.total_sol == -amount - fee + rent
