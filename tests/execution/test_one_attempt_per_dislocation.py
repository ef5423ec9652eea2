"""One attempt per dislocation, one attempt per row: a dislocation found again while its
attempt is in flight is suppressed (and counted), an opportunity id already in the ledger is
a counted duplicate that writes nothing, and the send is in the ledger before it happens."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from galileo.landers import Submission
from galileo.ledger import Attempt
from galileo.model import AttemptStatus, BuiltTx
from galileo.net import HttpxClients
from galileo.obs import read_trace
from galileo.sim import WSOL_MINT
from tests.execution.exec_helpers import exec_rig
from tests.landers.lander_helpers import ArbBuilder, opportunity
from tests.worlds import quiet_world


async def test_a_dislocation_found_again_while_in_flight_is_suppressed_until_its_outcome(
    tmp_path: Path, clients: HttpxClients
) -> None:
    async with quiet_world(tmp_path, slot_ms=20) as world:
        mint = next(m for m in world.market.tokens if m != WSOL_MINT)
        world.dislocate(world.pool(mint, "Raydium"), 300)
        first = await opportunity(world, mint)
        again = await opportunity(world, mint)  # the next sweep: same trade, new id
        half = await opportunity(world, mint, size=first.size // 2)  # another size
        builder = ArbBuilder(world)
        async with exec_rig(world, clients, tmp_path, builder=builder) as rig:
            await rig.run([first, again, half])
            during = {a.opportunity_id for a in await rig.attempts()}
            stats = rig.executor.stats()
            suppressed = rig.registry.get_sample_value("galileo_duplicates_suppressed_total")
            # Its outcome known, the dislocation may be tried again.
            later = attrs.evolve(again, id=again.id + "-later")
            await rig.run([later])
            after = {a.opportunity_id for a in await rig.attempts()}
            events = read_trace(rig.trace_path, again.id)
    assert during == {first.id, half.id}
    assert stats.duplicates_suppressed == 1 and suppressed == 1
    assert events[-1]["event"] == "suppressed" and events[-1]["in_flight"] == first.id
    assert builder.calls == 3 and later.id in after


@pytest.mark.parametrize("earlier_dry_run", [True, False], ids=["dry-run-row", "live-row"])
async def test_an_id_already_in_the_ledger_is_a_duplicate_that_writes_nothing(
    tmp_path: Path, clients: HttpxClients, earlier_dry_run: bool
) -> None:
    async with quiet_world(tmp_path, slot_ms=20) as world:
        mint = next(m for m in world.market.tokens if m != WSOL_MINT)
        world.dislocate(world.pool(mint, "Raydium"), 300)
        opp = await opportunity(world, mint)
        builder = ArbBuilder(world)
        async with exec_rig(world, clients, tmp_path, builder=builder) as rig:
            # Another attempt's row under the same id (say, a dry run of an earlier run).
            await rig.ledger.plan(opp.id, base_mint=WSOL_MINT, intermediate_mint="OTHER",
                                  size=1, expected_profit=7, dry_run=earlier_dry_run)  # fmt: skip
            await rig.run([opp])
            (row,) = await rig.attempts()
            stats = rig.executor.stats()
            duplicates = rig.registry.get_sample_value(
                "galileo_execution_attempts_total", {"result": "duplicate"}
            )
            sent = world.jito.bundles_received
    assert (row.intermediate_mint, row.expected_profit, row.dry_run, row.status) == (
        "OTHER",
        7,
        earlier_dry_run,
        AttemptStatus.PLANNED,
    )
    assert stats.duplicate == 1 and duplicates == 1
    assert builder.calls == 0 and sent == 0


async def test_the_signature_is_in_the_ledger_before_the_first_byte_is_sent(
    tmp_path: Path, clients: HttpxClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with quiet_world(tmp_path, slot_ms=20) as world:
        mint = next(m for m in world.market.tokens if m != WSOL_MINT)
        world.dislocate(world.pool(mint, "Raydium"), 300)
        opp = await opportunity(world, mint)
        async with exec_rig(world, clients, tmp_path, builder=ArbBuilder(world)) as rig:
            seen: list[Attempt | None] = []
            submit = rig.landers.submit

            async def submit_after_looking(built: BuiltTx) -> Submission:
                seen.append(await rig.ledger.get(built.opportunity_id))
                return await submit(built)

            monkeypatch.setattr(rig.landers, "submit", submit_after_looking)
            await rig.run([opp])
            (final,) = await rig.attempts()
    (at_send,) = seen
    assert at_send is not None
    assert at_send.status is AttemptStatus.SUBMITTED
    assert at_send.signature == final.signature is not None
    assert at_send.last_valid_block_height is not None
    assert at_send.lander_results == ()  # the answers come after
    assert final.status is AttemptStatus.LANDED and final.lander_results
