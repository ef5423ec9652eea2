"""The acceptance of the whole bot: ``galileo run`` against the simulated world lands
arbitrage, and the ledger's PnL equals the wallet's balance change read from the chain, to
the lamport, for several seeds."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from galileo._app import App, RunOptions
from galileo.ledger import Ledger, default_ledger_path
from galileo.model import AttemptStatus
from tests.worlds import quiet_config


@pytest.mark.slow
@pytest.mark.parametrize("seed", [7, 11])
async def test_a_bounded_run_lands_arbitrage_and_the_ledger_matches_the_chain(
    tmp_path: Path, seed: int
) -> None:
    config = quiet_config(tmp_path, seed=seed, trace=True)
    summary = await App(config, RunOptions(duration_s=12), out=io.StringIO()).run()

    assert summary["landed"] >= 1, summary["execution"]
    assert summary["wallet_delta_lamports"] is not None
    assert summary["pnl_lamports"] == summary["wallet_delta_lamports"]
    assert summary["pnl_lamports"] > 0

    ledger = Ledger(default_ledger_path(config.state_dir))
    try:
        attempts = ledger.attempts()
    finally:
        ledger.close()
    assert all(a.status.terminal for a in attempts), [a.status for a in attempts]
    landed = [a for a in attempts if a.status is AttemptStatus.LANDED]
    assert len(landed) == summary["landed"]
    assert all(isinstance(a.realised_lamports, int) for a in landed)
    assert (tmp_path / "trace.jsonl").read_text().count('"event"') > len(attempts)


@pytest.mark.slow
async def test_a_dry_run_signs_but_never_sends(tmp_path: Path) -> None:
    config = quiet_config(tmp_path, seed=7, trace=True)
    summary = await App(config, RunOptions(duration_s=6, dry_run=True), out=io.StringIO()).run()

    assert summary["submitted"] == 0
    assert summary["dry_run"] >= 1
    assert summary["wallet_delta_lamports"] == 0
    assert summary["pnl_lamports"] == 0


@pytest.mark.slow
async def test_runs_sharing_a_state_directory_each_reconcile_and_never_share_a_row(
    tmp_path: Path,
) -> None:
    # A dry run, then two live runs (the second with another seed), in one state directory.
    dry = quiet_config(tmp_path, seed=11)
    await App(dry, RunOptions(duration_s=3, dry_run=True), out=io.StringIO()).run()
    summaries = []
    for seed in (11, 29):
        config = quiet_config(tmp_path, seed=seed)
        summaries.append(await App(config, RunOptions(duration_s=6), out=io.StringIO()).run())

    for summary in summaries:
        assert summary["wallet_delta_lamports"] is not None
        assert summary["pnl_lamports"] == summary["wallet_delta_lamports"], summary["run_id"]
    assert summaries[0]["run_id"] != summaries[1]["run_id"]
    ledger = Ledger(default_ledger_path(dry.state_dir))
    try:
        attempts = ledger.attempts()
    finally:
        ledger.close()
    # Every attempt belongs to exactly one run: ids carry the run id, and a dry-run row is
    # never also a sent one.
    run_ids = [s["run_id"] for s in summaries]
    assert all(a.opportunity_id.count("-") >= 2 for a in attempts)
    assert all(not (a.dry_run and a.status is AttemptStatus.LANDED) for a in attempts), [
        (a.opportunity_id, a.status) for a in attempts if a.dry_run
    ]
    live = [a for a in attempts if not a.dry_run]
    assert {a.opportunity_id.rsplit("-", 1)[0] for a in live} <= set(run_ids)
