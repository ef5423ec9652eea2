"""Multi-leg in a whole run: pairs of venues (buy on DFlow and sell on Jupiter, and the
reverse) quoted over the blind strategy's lanes, each pair's two legs merged into one atomic
transaction; every pair lands trades, the ledger records the pair, and its PnL matches the
chain."""

from __future__ import annotations

import io
from pathlib import Path

import attrs
import pytest

from galileo._app import App, RunOptions
from galileo._config import LegPairConfig, MultiLegConfig, VenueName
from galileo.ledger import Ledger, build_report, default_ledger_path, open_readonly
from galileo.model import AttemptStatus
from tests.worlds import quiet_config

PAIRS: tuple[tuple[VenueName, VenueName], ...] = (("dflow", "jupiter"), ("jupiter", "dflow"))


@pytest.mark.slow
async def test_each_venue_pair_lands_and_the_ledger_matches_the_chain(tmp_path: Path) -> None:
    config = quiet_config(tmp_path, seed=7)
    pairs = [LegPairConfig(buy=buy, sell=sell) for buy, sell in PAIRS]
    config = attrs.evolve(
        config,
        strategy=attrs.evolve(config.strategy, multi_leg=MultiLegConfig(pairs=pairs)),
    )
    summary = await App(config, RunOptions(duration_s=14), out=io.StringIO()).run()

    assert summary["wallet_delta_lamports"] is not None
    assert summary["pnl_lamports"] == summary["wallet_delta_lamports"]
    ledger_path = default_ledger_path(config.state_dir)
    with Ledger(ledger_path) as ledger:
        attempts = ledger.attempts()
    landed = {a.pair for a in attempts if a.status is AttemptStatus.LANDED}
    print(f"landed pairs: {sorted(landed)}; attempts {len(attempts)}")
    assert landed == {f"{buy}>{sell}" for buy, sell in PAIRS}
    connection = open_readonly(ledger_path)
    try:
        report = build_report(connection, run_id=summary["run_id"])
    finally:
        connection.close()
    by_pair = {p.pair: p for p in report.pairs}
    assert sum(p.realised_pnl_lamports for p in by_pair.values()) == summary["pnl_lamports"]
