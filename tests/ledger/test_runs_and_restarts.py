"""The ledger across runs and restarts: a conflicting plan owns nothing, dry-run and live rows
never mix, the send is recorded before it happens, orphans are listed for the next start, the
file is checked and migrated on open, and reports can be scoped to one run."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from galileo.cli import main
from galileo.ledger import (
    SCHEMA_VERSION,
    Ledger,
    LedgerCorruptError,
    LedgerSchemaError,
    LedgerValueError,
    build_report,
    format_report,
    open_readonly,
)
from galileo.ledger._schema import MIGRATIONS
from galileo.model import AttemptStatus, LanderOutcome, LanderResult
from tests.ledger.ledger_helpers import plan

ACCEPTED = LanderResult(lander="jito", endpoint="ny", outcome=LanderOutcome.ACCEPTED)


def sending(ledger: Ledger, oid: str, *, signature: str = "sig-1") -> AttemptStatus:
    return ledger.sending(
        oid,
        signature=signature,
        tip=1_000,
        base_fee=5_000,
        priority_fee=200,
        last_valid_block_height=350_000_150,
    )


# -- one row, one attempt -------------------------------------------------------------------


def test_a_second_plan_of_an_id_is_refused_and_leaves_the_row_alone(ledger: Ledger) -> None:
    assert plan(ledger, "run-1", profit=10, dry_run=True)
    assert not plan(ledger, "run-1", profit=99, dry_run=False)
    attempt = ledger.get("run-1")
    assert attempt is not None
    assert (attempt.dry_run, attempt.expected_profit) == (True, 10)
    assert ledger.count() == 1


def test_a_dry_run_row_can_never_take_a_sent_status(ledger: Ledger) -> None:
    plan(ledger, "dry", dry_run=True)
    writes: list[Callable[[], AttemptStatus]] = [
        lambda: sending(ledger, "dry"),
        lambda: ledger.submitted("dry", results=[ACCEPTED]),
        lambda: ledger.landed("dry", slot=1),
        lambda: ledger.finished("dry", AttemptStatus.EXPIRED),
    ]
    for write in writes:
        with pytest.raises(LedgerValueError, match="dry-run attempt cannot be sent"):
            write()
    assert ledger.finished("dry", AttemptStatus.DRY_RUN, reason="ok") is AttemptStatus.DRY_RUN
    assert ledger.connection.execute("SELECT COUNT(*) FROM lander_results").fetchone()[0] == 0


def test_whether_a_row_is_a_dry_run_is_fixed_when_it_is_planned(ledger: Ledger) -> None:
    plan(ledger, "live")
    with pytest.raises(sqlite3.IntegrityError, match="dry_run of an attempt cannot change"):
        ledger.connection.execute("UPDATE attempts SET dry_run = 1 WHERE opportunity_id = 'live'")


def test_sending_records_the_signature_and_its_last_valid_height_before_the_answers(
    ledger: Ledger,
) -> None:
    plan(ledger, "opp")
    assert sending(ledger, "opp", signature="sig-opp") is AttemptStatus.SUBMITTED
    attempt = ledger.get("opp")
    assert attempt is not None
    assert (attempt.signature, attempt.last_valid_block_height) == ("sig-opp", 350_000_150)
    assert (attempt.tip, attempt.fees, attempt.lander_results) == (1_000, 5_200, ())
    # The landers' answers come after; the facts written before the send stay.
    ledger.submitted("opp", bundle_id="b-1", results=[ACCEPTED])
    attempt = ledger.get("opp")
    assert attempt is not None
    assert (attempt.signature, attempt.bundle_id, attempt.lander_results) == (
        "sig-opp",
        "b-1",
        (ACCEPTED,),
    )


def test_orphans_are_the_attempts_not_finished_oldest_first(ledger: Ledger) -> None:
    plan(ledger, "a-planned")
    plan(ledger, "b-built")
    ledger.built("b-built", tip=1, base_fee=1, priority_fee=1, signature="s-b")
    plan(ledger, "c-sending")
    sending(ledger, "c-sending", signature="s-c")
    plan(ledger, "d-landed")
    sending(ledger, "d-landed", signature="s-d")
    ledger.landed("d-landed", slot=5)
    plan(ledger, "e-dry", dry_run=True)
    ledger.finished("e-dry", AttemptStatus.DRY_RUN)
    orphans = ledger.orphans()
    assert [a.opportunity_id for a in orphans] == ["a-planned", "b-built", "c-sending"]
    assert [a.status for a in orphans] == [
        AttemptStatus.PLANNED,
        AttemptStatus.BUILT,
        AttemptStatus.SUBMITTED,
    ]


# -- the file: versions, migrations, integrity ------------------------------------------------


def _v1_file(path: Path) -> None:
    """A ledger as galileo wrote it before schema version 2 (no user_version stamp)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY NOT NULL,"
        " name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL) STRICT"
    )
    for statement in MIGRATIONS[0].statements:
        conn.execute(statement)
    conn.execute("INSERT INTO schema_migrations VALUES (1, 'attempts and lander results', 0)")
    conn.execute(
        "INSERT INTO attempts (opportunity_id, created_at_ms, updated_at_ms, base_mint,"
        " intermediate_mint, size, expected_profit, dry_run, status, signature)"
        " VALUES ('old', 1, 1, 'So1', 'X', 10, 5, 0, 'submitted', 'sig-old')"
    )
    conn.close()


def test_a_version_1_file_is_migrated_on_open_and_keeps_its_rows(ledger_path: Path) -> None:
    _v1_file(ledger_path)
    with pytest.raises(LedgerSchemaError, match="schema version 1"):
        open_readonly(ledger_path)  # a reader never migrates
    with Ledger(ledger_path) as ledger:
        conn = ledger.connection
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        versions = conn.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()
        assert versions == [(v,) for v in range(1, SCHEMA_VERSION + 1)]
        (old,) = ledger.orphans()
        assert (old.opportunity_id, old.signature, old.last_valid_block_height) == (
            "old",
            "sig-old",
            None,
        )
    open_readonly(ledger_path).close()


def test_a_file_stamped_by_a_newer_galileo_is_refused(ledger_path: Path) -> None:
    with Ledger(ledger_path) as ledger:
        ledger.connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(LedgerSchemaError, match="newer"):
        Ledger(ledger_path)


def test_a_damaged_file_is_refused_on_open_and_nothing_is_written(ledger_path: Path) -> None:
    with Ledger(ledger_path, synchronous="normal") as ledger:
        for i in range(300):
            plan(ledger, f"opp-{i:04d}", intermediate="X" * 40)
    # Scribble over b-tree page headers (what a torn write or a bad disk leaves).
    with ledger_path.open("r+b") as file:
        for page in (3, 5, 8):
            file.seek(4096 * page + 8)
            file.write(b"\xff" * 16)
    damaged = ledger_path.read_bytes()
    with pytest.raises(LedgerCorruptError, match="the ledger file is damaged"):
        Ledger(ledger_path)
    assert ledger_path.read_bytes() == damaged


# -- reports per run ----------------------------------------------------------------------------


def test_a_report_can_cover_one_run(ledger_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = "20260101T000000Z-aaaa", "20260101T010000Z-bbbb"
    with Ledger(ledger_path) as ledger:
        for run, profits in ((first, (10, 20)), (second, (300,))):
            for batch, profit in enumerate(profits):
                oid = f"{run}-{batch}"
                plan(ledger, oid, profit=profit)
                sending(ledger, oid, signature=f"sig-{oid}")
                ledger.landed(oid, slot=batch, realised_lamports=profit)
        plan(ledger, "20260101T000000Z-aaaab-0")  # another run whose id merely starts alike
    conn = open_readonly(ledger_path)
    try:
        one = build_report(conn, run_id=first)
        other = build_report(conn, run_id=second)
    finally:
        conn.close()
    assert (one.attempts, one.realised_pnl_lamports) == (2, 30)
    assert (other.attempts, other.realised_pnl_lamports) == (1, 300)
    assert one.to_json()["run"] == first
    assert format_report(one).splitlines()[0] == f"ledger report: run {first}"

    assert main(["report", "--ledger", str(ledger_path), "--run", second, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["run"], data["attempts"], data["pnl"]["realised_lamports"]) == (second, 1, 300)
    with pytest.raises(SystemExit) as refused:  # one period at a time
        main(["report", "--ledger", str(ledger_path), "--run", "x", "--last", "1h"])
    assert refused.value.code == 2
