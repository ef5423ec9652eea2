"""TxBuilder against the simulated world: a built arbitrage lands and moves the wallet by
exactly the quoted profit; the minimum-out guard makes a now-losing trade fail on chain;
the tip is a static-key transfer to a tip account; the two-swap variant lands too."""

from __future__ import annotations

import attrs
import trio
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM
from solders.transaction import VersionedTransaction

from galileo.model import (
    BuiltTx,
    LegQuote,
    Opportunity,
    RouteMode,
    SwapInstructions,
    TxSkip,
    TxSkipReason,
)
from galileo.net import QuoteTransport
from galileo.providers import JupiterClient
from galileo.sim import JITO_TIP_ACCOUNTS, WSOL_MINT
from galileo.tx import PACKET_DATA_SIZE
from tests.tx.tx_helpers import Rig, jito, profitable, rpc, send_bundle
from tests.worlds import first_token, opportunity


async def test_a_built_arbitrage_lands_and_moves_balances_by_exactly_the_quoted_profit(
    rig: Rig,
) -> None:
    world = rig.world
    opp = await profitable(rig.jupiter, rig.config, world)
    built = await rig.builder().build(opp, ip="")
    assert isinstance(built, BuiltTx), built
    assert built.min_out == (
        opp.size
        + opp.base_fee_lamports
        + opp.priority_fee_lamports
        + opp.tip_lamports
        + opp.min_profit_lamports
    )
    assert built.wire_size <= PACKET_DATA_SIZE
    before = world.balances()
    doc = await send_bundle(world, [built.wire])
    assert "result" in doc, doc
    after = world.balances()
    gross = opp.sell.out_amount - opp.size
    fees = built.base_fee_lamports + built.priority_fee_lamports
    assert after.total_sol - before.total_sol == gross - fees - built.tip_lamports
    assert after.total_sol - before.total_sol == built.expected_profit
    assert after.wsol - before.wsol == gross
    assert after.lamports - before.lamports == -(fees + built.tip_lamports)
    assert after.tokens[opp.mint] == before.tokens[opp.mint]
    status = (await rpc(world, "getSignatureStatuses", [[built.signature]]))["result"]["value"][0]
    assert status is not None and status["err"] is None
    inflight = await jito(world, "getInflightBundleStatuses", [[doc["result"]]])
    assert inflight["result"]["value"][0]["status"] == "Landed"


async def test_the_priority_fee_follows_the_api_compute_units_plus_the_margin(rig: Rig) -> None:
    opp = await profitable(rig.jupiter, rig.config, rig.world)
    built = await rig.builder().build(opp, ip="")
    assert isinstance(built, BuiltTx)
    # The world estimates 60k + 40k per hop + 25k per setup instruction (2 hops, 2 ATAs).
    assert built.compute_unit_limit == 190_000 * 11_000 // 10_000
    assert built.priority_fee_lamports == -(-built.compute_unit_limit * 1000 // 1_000_000)
    assert built.priority_fee_lamports <= opp.priority_fee_lamports


async def test_the_minimum_out_guard_makes_a_now_losing_trade_fail_on_chain(rig: Rig) -> None:
    world = rig.world
    opp = await profitable(rig.jupiter, rig.config, world)
    built = await rig.builder().build(opp, ip="")
    assert isinstance(built, BuiltTx)
    # The dislocation closes (someone else took it) before our transaction runs.
    world.dislocate(world.pool(opp.mint, "Raydium"), -300)
    before = world.balances()
    doc = await send_bundle(world, [built.wire])
    bundle_id = doc["result"]
    assert world.balances() == before  # a failing bundle lands nothing, not even the fee
    inflight = await jito(world, "getInflightBundleStatuses", [[bundle_id]])
    assert inflight["result"]["value"][0]["status"] == "Failed"
    # Sent outside a bundle, it fails at the swap with SlippageToleranceExceeded and costs
    # only the fee: no tip, no token movement.
    sent = await rpc(
        world, "sendTransaction", [built.base64, {"encoding": "base64", "skipPreflight": True}]
    )
    assert sent["result"] == built.signature
    status = (await rpc(world, "getSignatureStatuses", [[built.signature]]))["result"]["value"][0]
    assert status["err"]["InstructionError"][1] == {"Custom": 6001}
    after = world.balances()
    assert after.tokens == before.tokens
    assert after.lamports == before.lamports - built.fees_lamports


async def test_the_tip_is_a_transfer_to_a_tip_account_carried_as_a_static_key(rig: Rig) -> None:
    opp = await profitable(rig.jupiter, rig.config, rig.world)
    built = await rig.builder().build(opp, ip="")
    assert isinstance(built, BuiltTx)
    assert built.tip_account in JITO_TIP_ACCOUNTS
    assert built.tip_lamports == opp.tip_lamports >= 1000
    tx = VersionedTransaction.from_bytes(built.wire)
    message = tx.message
    assert isinstance(message, MessageV0)
    static = [str(k) for k in message.account_keys]
    assert message.address_table_lookups  # the route's accounts do go through the table
    transfers = [
        ix
        for ix in message.instructions
        if static[ix.program_id_index] == str(SYSTEM_PROGRAM) and ix.data[:4] == bytes([2, 0, 0, 0])
    ]
    (tip,) = transfers
    assert tip.accounts[1] < len(static)  # an index into the static keys, not a lookup
    assert static[tip.accounts[1]] == built.tip_account
    assert int.from_bytes(tip.data[4:12], "little") == built.tip_lamports


async def test_tip_accounts_are_never_looked_up_even_if_a_table_lists_them(rig: Rig) -> None:
    opp = await profitable(rig.jupiter, rig.config, rig.world)
    builder = rig.builder()
    si = await rig.jupiter.round_trip_instructions(
        ip="",
        buy=opp.buy,
        sell=opp.sell,
        min_out=builder.min_out(opp),
        user_public_key=rig.wallet.pubkey_str,
        deadline=trio.current_time() + 5,
    )
    (address,) = si.address_lookup_table_addresses
    (table,) = await rig.alts.get([address])
    # A table that also lists every tip account: the cache blanks them out.
    listed = [*table.addresses, *(Pubkey.from_string(t) for t in JITO_TIP_ACCOUNTS)]
    poisoned = rig.alts.put(address, listed)
    assert not set(map(str, poisoned.addresses)) & set(JITO_TIP_ACCOUNTS)
    built = builder.assemble(opp, si, [poisoned])
    assert isinstance(built, BuiltTx)
    static = [str(k) for k in VersionedTransaction.from_bytes(built.wire).message.account_keys]
    assert built.tip_account in static


class FloorRecordingJupiter(JupiterClient):
    """The Jupiter provider, noting the on-chain floor of every leg it is asked for."""

    def __init__(self, transport: QuoteTransport) -> None:
        super().__init__(transport)
        self.floors: list[int] = []

    async def leg_instructions(
        self, *, ip: str, quote: LegQuote, min_out: int, user_public_key: str, deadline: float
    ) -> SwapInstructions:
        self.floors.append(min_out)
        return await super().leg_instructions(
            ip=ip, quote=quote, min_out=min_out, user_public_key=user_public_key, deadline=deadline
        )


async def test_the_two_swap_variant_builds_and_lands(rig: Rig) -> None:
    world = rig.world
    opp = await profitable(rig.jupiter, rig.config, world)
    built = await rig.builder(route_mode=RouteMode.TWO_SWAP).build(opp, ip="")
    assert isinstance(built, BuiltTx), built
    assert built.route_mode is RouteMode.TWO_SWAP
    message = VersionedTransaction.from_bytes(built.wire).message
    keys = [str(k) for k in message.account_keys]
    jupiter_calls = [
        ix for ix in message.instructions if keys[ix.program_id_index].startswith("JUP6")
    ]
    assert len(jupiter_calls) == 2
    # The buy leg must return what the sell leg spends; the sell leg the minimum-out.
    recording = FloorRecordingJupiter(rig.jupiter.transport)
    await rig.builder(route_mode=RouteMode.TWO_SWAP, provider=recording).build(opp, ip="")
    assert sorted(recording.floors) == sorted([opp.sell.in_amount, built.min_out])
    before = world.balances()
    doc = await send_bundle(world, [built.wire])
    assert "result" in doc, doc
    after = world.balances()
    assert after.total_sol - before.total_sol == built.expected_profit
    assert after.tokens[opp.mint] == before.tokens[opp.mint]


async def test_the_two_swap_variant_also_fails_on_chain_when_it_would_lose(rig: Rig) -> None:
    world = rig.world
    opp = await profitable(rig.jupiter, rig.config, world)
    built = await rig.builder(route_mode=RouteMode.TWO_SWAP).build(opp, ip="")
    assert isinstance(built, BuiltTx)
    world.dislocate(world.pool(opp.mint, "Raydium"), -300)
    before = world.balances()
    doc = await send_bundle(world, [built.wire])
    inflight = await jito(world, "getInflightBundleStatuses", [[doc["result"]]])
    assert inflight["result"]["value"][0]["status"] == "Failed"
    assert world.balances() == before


async def test_build_records_its_stages_and_metrics(rig: Rig) -> None:
    opp = await profitable(rig.jupiter, rig.config, rig.world)
    built = await rig.builder().build(opp, ip="")
    assert isinstance(built, BuiltTx)
    assert rig.recorder.histogram("build").count == 1
    assert rig.recorder.histogram("sign").count == 1
    assert rig.registry.get_sample_value("galileo_tx_build_seconds_count", {"result": "built"}) == 1
    assert rig.registry.get_sample_value("galileo_tx_size_bytes_count") == 1


async def test_an_unprofitable_minimum_out_is_skipped_before_asking_for_instructions(
    rig: Rig,
) -> None:
    opp = await profitable(rig.jupiter, rig.config, rig.world)
    greedy = attrs.evolve(opp, min_profit_lamports=opp.net_profit + 1)
    skip = await rig.builder().build(greedy, ip="")
    assert isinstance(skip, TxSkip)
    assert skip.reason is TxSkipReason.UNPROFITABLE
    assert skip.opportunity_id == opp.id
    assert rig.registry.get_sample_value("galileo_tx_skips_total", {"reason": "unprofitable"}) == 1


async def test_no_profitable_trade_without_a_dislocation(rig: Rig) -> None:
    found = await opportunity(rig.jupiter, rig.config, first_token(rig.world))
    assert not isinstance(found, Opportunity)
    assert WSOL_MINT in rig.world.market.tokens
