"""Shared helpers of the landers and execution tests: signed transactions for the simulated
world (a plain tip transfer, a real circular arbitrage), BuiltTx values around them and
opportunities evaluated from the world's own quotes."""

from __future__ import annotations

import base64
import itertools
from typing import Any

import attrs
import httpx
from solders.address_lookup_table_account import AddressLookupTable, AddressLookupTableAccount
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from galileo._config import ExecutionConfig, LandersConfig, TipConfig
from galileo.model import BuiltTx, Opportunity, RouteMode, TxSkip
from galileo.net import FastTransport
from galileo.providers import JupiterClient, Quote, circular_quote
from galileo.sim import JITO_TIP_ACCOUNTS, World
from galileo.sim._program import instruction_from_json, system_transfer
from tests import worlds

AMOUNT = 1_000_000_000
TIP = 10_000
_ids = itertools.count(1)


def landers_config(**jito: Any) -> LandersConfig:
    """Jito only, generous rate and deadlines unless overridden."""
    base = LandersConfig()
    jito_cfg = attrs.evolve(
        base.jito,
        **{"requests_per_second": 100.0, "queue_timeout_ms": 500, **jito},
    )
    return attrs.evolve(base, jito=jito_cfg, send_deadline_ms=5000, landing_timeout_s=30.0)


def stub_built(
    tx: VersionedTransaction,
    *,
    last_valid_block_height: int,
    opportunity_id: str | None = None,
    tip: int = TIP,
    priority_fee: int = 0,
    cu_limit: int = 0,
    min_out: int = 0,
    size: int = 0,
) -> BuiltTx:
    """A :class:`~galileo.model.BuiltTx` around a transaction signed outside galileo.tx."""
    wire = bytes(tx)
    return BuiltTx(
        opportunity_id=opportunity_id or f"opp-{next(_ids)}",
        wire=wire,
        base64=base64.b64encode(wire).decode(),
        signature=str(tx.signatures[0]),
        blockhash=str(tx.message.recent_blockhash),
        last_valid_block_height=last_valid_block_height,
        route_mode=RouteMode.MERGED,
        size=size,
        expected_out=min_out,
        min_out=min_out,
        tip_lamports=tip,
        tip_account=JITO_TIP_ACCOUNTS[3],
        base_fee_lamports=ExecutionConfig().lamports_per_signature,  # one signature
        priority_fee_lamports=priority_fee,
        compute_unit_limit=cu_limit,
        compute_unit_price_micro_lamports=0,
    )


def tip_transfer(world: World, lamports: int = TIP, *, slot: int | None = None) -> BuiltTx:
    """A signed transfer wallet → tip account (a valid one-transaction bundle). ``slot``:
    sign with that slot's blockhash (an old one expires)."""
    chain = world.chain
    world.sync()
    bh_slot = chain.slot if slot is None else slot
    bh = chain.blockhash(bh_slot)
    wallet = world.wallet
    ix = system_transfer(wallet.pubkey(), JITO_TIP_ACCOUNTS[3], lamports)
    message = MessageV0.try_compile(wallet.pubkey(), [ix], [], bh)
    tx = VersionedTransaction(message, [wallet])
    return stub_built(tx, last_valid_block_height=chain.last_valid_block_height(bh_slot))


async def _lookup_tables(
    client: httpx.AsyncClient, world: World, addresses: list[str]
) -> list[AddressLookupTableAccount]:
    tables = []
    for address in addresses:
        body = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "getAccountInfo",
            "params": [address, {"encoding": "base64"}],
        }
        info = (await client.post(world.rpc_url, json=body)).json()["result"]
        table = AddressLookupTable.deserialize(base64.b64decode(info["value"]["data"][0]))
        tables.append(AddressLookupTableAccount(Pubkey.from_string(address), table.addresses))
    return tables


async def opportunity(
    world: World, mint: str, *, size: int = AMOUNT, tip: int = TIP
) -> Opportunity:
    """The world's round trip base → mint → base quoted and evaluated like the engine does
    (:func:`tests.worlds.opportunity`: the Evaluator's fees, here with a static ``tip``). The
    round trip must pay: dislocate a pool first."""
    config = ExecutionConfig(tip=TipConfig(policy="static", static_lamports=tip))
    transport = FastTransport(world.jupiter_url)
    try:
        found = await worlds.opportunity(
            JupiterClient(transport), config, mint, size=size, batch_id=next(_ids)
        )
    finally:
        await transport.aclose()
    assert isinstance(found, Opportunity), f"{mint}: {found} (dislocate a pool first)"
    return found


@attrs.define
class ArbBuilder:
    """Stand-in for galileo.tx.TxBuilder: the bots' recipe against the world (merged circular
    quote, /swap-instructions, compute budget + setup + swap + tip, v0 with the world's
    lookup table, signed by the world's wallet). ``min_out_extra`` raises the minimum out
    (a positive value makes the swap fail with slippage on chain)."""

    world: World
    min_out_extra: int = 0
    blockhash_slot: int | None = None
    skip: TxSkip | None = None
    fail_ids: set[str] = attrs.field(factory=set)
    calls: int = 0

    async def build(self, opportunity: Opportunity, *, ip: str) -> BuiltTx | TxSkip:
        self.calls += 1
        if self.skip is not None:
            return self.skip
        return await self.build_tx(opportunity)

    async def build_tx(self, opportunity: Opportunity) -> BuiltTx:
        """The signed transaction (never a skip): for tests that submit it themselves."""
        world = self.world
        extra = self.min_out_extra or (10**9 if opportunity.id in self.fail_ids else 0)
        min_out = opportunity.size + opportunity.tip_lamports + extra
        assert isinstance(opportunity.buy, Quote) and isinstance(opportunity.sell, Quote)
        merged = circular_quote(opportunity.buy, opportunity.sell, min_out)
        signer: Keypair = world.wallet
        body = {
            "userPublicKey": str(signer.pubkey()),
            "quoteResponse": merged,
            "wrapAndUnwrapSol": False,
            "useSharedAccounts": False,
            "skipUserAccountsRpcCalls": True,
            "computeUnitPriceMicroLamports": 1000,
            "dynamicComputeUnitLimit": True,
        }
        async with httpx.AsyncClient(trust_env=False) as client:
            response = await client.post(world.jupiter_url + "/swap-instructions", json=body)
            assert response.status_code == 200, response.text
            si = response.json()
            tables = await _lookup_tables(client, world, si["addressLookupTableAddresses"])
        ixs = [
            instruction_from_json(i)
            for i in [*si["computeBudgetInstructions"], *si["setupInstructions"]]
        ]
        ixs.append(instruction_from_json(si["swapInstruction"]))
        ixs.append(system_transfer(signer.pubkey(), JITO_TIP_ACCOUNTS[3], opportunity.tip_lamports))
        chain = world.chain
        world.sync()
        bh_slot = chain.slot if self.blockhash_slot is None else self.blockhash_slot
        message = MessageV0.try_compile(signer.pubkey(), ixs, tables, chain.blockhash(bh_slot))
        tx = VersionedTransaction(message, [signer])
        return stub_built(
            tx,
            last_valid_block_height=chain.last_valid_block_height(bh_slot),
            opportunity_id=opportunity.id,
            tip=opportunity.tip_lamports,
            priority_fee=si["prioritizationFeeLamports"],
            cu_limit=si["computeUnitLimit"],
            min_out=min_out,
            size=opportunity.size,
        )


def blockhash_of(world: World) -> Hash:
    world.sync()
    return world.chain.blockhash()
