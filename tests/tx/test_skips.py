"""Every way a build can be refused comes back as a typed TxSkip (and is counted)."""

from __future__ import annotations

import attrs
import trio
from solders.hash import Hash
from solders.pubkey import Pubkey

from galileo.model import (
    AccountMeta,
    BuiltTx,
    Instruction,
    Opportunity,
    SwapInstructions,
    TxSkip,
    TxSkipReason,
)
from galileo.net import FastTransport, JsonRpcClient
from galileo.providers import JupiterClient, Quote
from galileo.tx import AltCache, BlockhashSource, BlockhashStale
from tests.ports import free_port
from tests.tx.tx_helpers import Rig, profitable


def skipped(result: BuiltTx | TxSkip, reason: TxSkipReason) -> TxSkip:
    assert isinstance(result, TxSkip), result
    assert result.reason is reason, result
    return result


async def merged_instructions(rig: Rig, min_out: int, opp: Opportunity) -> SwapInstructions:
    return await rig.jupiter.round_trip_instructions(
        ip="",
        buy=opp.buy,
        sell=opp.sell,
        min_out=min_out,
        user_public_key=rig.wallet.pubkey_str,
        deadline=trio.current_time() + 5,
    )


async def test_a_transaction_over_1232_bytes_is_skipped_as_too_large(rig: Rig) -> None:
    opp = await profitable(rig.jupiter, rig.config, rig.world)
    builder = rig.builder()
    si = await merged_instructions(rig, builder.min_out(opp), opp)
    tables = await rig.alts.get(si.address_lookup_table_addresses)
    # A route touching 40 accounts that no lookup table holds: 40 × 32 bytes of keys.
    extra = tuple(AccountMeta(str(Pubkey.new_unique()), False, True) for _ in range(40))
    swap = si.swap_instruction
    bloated = attrs.evolve(si, swap_instruction=attrs.evolve(swap, accounts=swap.accounts + extra))
    skip = skipped(builder.assemble(opp, bloated, tables), TxSkipReason.TOO_LARGE)
    assert "> 1232" in skip.detail
    assert rig.registry.get_sample_value("galileo_tx_skips_total", {"reason": "too_large"}) == 1


async def test_the_same_route_fits_with_its_lookup_table_and_not_without(rig: Rig) -> None:
    opp = await profitable(rig.jupiter, rig.config, rig.world)
    builder = rig.builder()
    si = await merged_instructions(rig, builder.min_out(opp), opp)
    tables = await rig.alts.get(si.address_lookup_table_addresses)
    with_table = builder.assemble(opp, si, tables)
    without = builder.assemble(opp, si, [])
    assert isinstance(with_table, BuiltTx)
    if isinstance(without, BuiltTx):
        assert without.wire_size > with_table.wire_size
    else:
        assert without.reason is TxSkipReason.TOO_LARGE


async def test_a_stale_blockhash_skips_before_any_instructions_are_fetched(
    rig: Rig, mock_clock: trio.testing.MockClock
) -> None:
    opp = await profitable(rig.jupiter, rig.config, rig.world)
    mock_clock.jump(rig.blockhashes.max_age_s + 1)  # no refresh since
    opp = attrs.evolve(opp)
    skip = skipped(await rig.builder().build(opp, ip=""), TxSkipReason.BLOCKHASH_STALE)
    assert "refresh" in skip.detail


async def test_an_unknown_market_is_a_no_route_skip(rig: Rig) -> None:
    opp = await profitable(rig.jupiter, rig.config, rig.world)
    assert isinstance(opp.buy, Quote)  # the Jupiter provider's leg, with its raw body
    raw = opp.buy.raw.replace(
        opp.buy.route_plan[0].swap_info.amm_key.encode(), str(Pubkey.new_unique()).encode()
    )
    bogus = attrs.evolve(opp, buy=attrs.evolve(opp.buy, raw=raw))
    skipped(await rig.builder().build(bogus, ip=""), TxSkipReason.NO_ROUTE)


async def test_an_unreachable_api_is_an_instructions_failed_skip(rig: Rig) -> None:
    opp = await profitable(rig.jupiter, rig.config, rig.world)
    transport = FastTransport(f"http://127.0.0.1:{free_port()}")  # nobody listens there
    try:
        builder = rig.builder(provider=JupiterClient(transport))
        skip = skipped(await builder.build(opp, ip=""), TxSkipReason.INSTRUCTIONS_FAILED)
    finally:
        await transport.aclose()
    assert skip.detail


async def test_an_api_compute_estimate_above_the_covered_fee_is_skipped(rig: Rig) -> None:
    opp = await profitable(rig.jupiter, rig.config, rig.world)
    # The evaluation priced 1 lamport of priority fee: 1000 CUs at 1000 µlamports.
    cheap = attrs.evolve(opp, priority_fee_lamports=1)
    skip = skipped(await rig.builder().build(cheap, ip=""), TxSkipReason.FEES_EXCEED_ESTIMATE)
    assert "covered" in skip.detail


async def test_the_margin_shrinks_to_the_covered_fee_before_skipping(rig: Rig) -> None:
    opp = await profitable(rig.jupiter, rig.config, rig.world)
    # Covers 200,000 CUs: more than the API's 190,000 but less than 190,000 + 10 %.
    tight = attrs.evolve(opp, priority_fee_lamports=200)
    built = await rig.builder().build(tight, ip="")
    assert isinstance(built, BuiltTx), built
    assert built.compute_unit_limit == 200_000
    assert built.priority_fee_lamports == 200


async def test_a_lookup_table_that_cannot_be_read_is_an_alt_unavailable_skip(rig: Rig) -> None:
    opp = await profitable(rig.jupiter, rig.config, rig.world)
    dead = JsonRpcClient(f"http://127.0.0.1:{free_port()}")
    try:
        builder = rig.builder(alts=AltCache(dead))
        skipped(await builder.build(opp, ip=""), TxSkipReason.ALT_UNAVAILABLE)
    finally:
        await dead.aclose()


async def test_malformed_instruction_data_is_skipped(rig: Rig) -> None:
    opp = await profitable(rig.jupiter, rig.config, rig.world)
    builder = rig.builder()
    si = await merged_instructions(rig, builder.min_out(opp), opp)
    broken = attrs.evolve(
        si, swap_instruction=Instruction(si.swap_instruction.program_id, (), "%%")
    )
    skipped(builder.assemble(opp, broken, []), TxSkipReason.MALFORMED_INSTRUCTIONS)


class ExpiresMidBuild:
    """Fresh when the build starts, stale by the time it would sign."""

    def __init__(self, inner: BlockhashSource) -> None:
        self.inner = inner
        self.calls = 0

    def current(self) -> tuple[Hash, int]:
        self.calls += 1
        if self.calls > 1:
            raise BlockhashStale("blockhash expires in ~3 blocks (< 20)")
        return self.inner.current()


async def test_a_blockhash_that_goes_stale_during_the_build_is_never_signed_with(
    rig: Rig,
) -> None:
    opp = await profitable(rig.jupiter, rig.config, rig.world)
    source = ExpiresMidBuild(rig.blockhashes)
    skip = skipped(
        await rig.builder(blockhashes=source).build(opp, ip=""), TxSkipReason.BLOCKHASH_STALE
    )
    assert source.calls == 2
    assert "expires" in skip.detail
    assert rig.recorder.histogram("sign").count == 0


async def test_tip_accounts_are_spread_at_random(rig: Rig) -> None:
    opp = await profitable(rig.jupiter, rig.config, rig.world)
    builder = rig.builder()
    si = await merged_instructions(rig, builder.min_out(opp), opp)
    tables = await rig.alts.get(si.address_lookup_table_addresses)
    chosen = set()
    for _ in range(40):
        built = builder.assemble(opp, si, tables)
        assert isinstance(built, BuiltTx)
        chosen.add(built.tip_account)
    assert len(chosen) >= 4
