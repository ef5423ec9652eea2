"""The ledger stores one row per attempt, by idempotent upserts, with exact 64-bit amounts."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from galileo.ledger import (
    INT64_MAX,
    INT64_MIN,
    SCHEMA_VERSION,
    Ledger,
    LedgerSchemaError,
    LedgerValueError,
    UnknownAttemptError,
    default_ledger_path,
    open_readonly,
)
from galileo.model import AttemptStatus, LanderOutcome, LanderResult
from tests.ledger.ledger_helpers import WallClock, plan

JITO_NY = LanderResult(lander="jito", endpoint="ny", outcome=LanderOutcome.ACCEPTED)
JITO_AMS = LanderResult(
    lander="jito", endpoint="amsterdam", outcome=LanderOutcome.RATE_LIMITED, reason="429"
)


def test_an_attempt_round_trips_through_every_stage(
    ledger: Ledger, wall_clock: WallClock, t0: float
) -> None:
    assert plan(ledger, "opp-1", size=2_000_000_000, profit=75_000)
    wall_clock.advance(0.5)
    assert ledger.built("opp-1", tip=10_000, base_fee=5_000, priority_fee=1_400, signature="sig1")
    assert (
        ledger.submitted("opp-1", bundle_id="bundle-1", results=[JITO_NY, JITO_AMS])
        is AttemptStatus.SUBMITTED
    )
    wall_clock.advance(1.0)
    assert ledger.landed("opp-1", slot=123_456) is AttemptStatus.LANDED
    ledger.realised("opp-1", 58_600)

    attempt = ledger.get("opp-1")
    assert attempt is not None
    assert attempt.created_at_ms == int(t0 * 1000)
    assert attempt.updated_at_ms == int((t0 + 1.5) * 1000)
    assert (attempt.size, attempt.expected_profit) == (2_000_000_000, 75_000)
    assert (attempt.tip, attempt.base_fee, attempt.priority_fee, attempt.fees) == (
        10_000,
        5_000,
        1_400,
        6_400,
    )
    assert (attempt.signature, attempt.bundle_id, attempt.landed_slot) == (
        "sig1",
        "bundle-1",
        123_456,
    )
    assert attempt.status is AttemptStatus.LANDED
    assert attempt.realised_lamports == 58_600
    assert attempt.dry_run is False
    assert attempt.failure_reason is None
    assert set(attempt.lander_results) == {JITO_NY, JITO_AMS}


def test_planning_twice_keeps_the_first_facts_and_one_row(ledger: Ledger) -> None:
    assert plan(ledger, "opp-1", profit=10)
    ledger.built("opp-1", tip=1, base_fee=2, priority_fee=3)
    assert not plan(ledger, "opp-1", profit=999)
    attempt = ledger.get("opp-1")
    assert attempt is not None
    assert attempt.expected_profit == 10
    assert attempt.status is AttemptStatus.BUILT
    assert ledger.count() == 1


def test_replaying_the_whole_sequence_changes_nothing(ledger: Ledger) -> None:
    def sequence() -> None:
        plan(ledger, "opp-1")
        ledger.built("opp-1", tip=1, base_fee=2, priority_fee=3)
        ledger.submitted("opp-1", signature="s", results=[JITO_NY])
        ledger.landed("opp-1", slot=9)
        ledger.realised("opp-1", -7)

    sequence()
    first = ledger.get("opp-1")
    sequence()
    assert ledger.get("opp-1") == first
    assert ledger.count() == 1


def test_status_never_moves_backwards(ledger: Ledger) -> None:
    plan(ledger, "opp-1")
    ledger.submitted("opp-1")
    assert ledger.update("opp-1", status=AttemptStatus.BUILT) is AttemptStatus.SUBMITTED
    assert ledger.update("opp-1", status=AttemptStatus.PLANNED) is AttemptStatus.SUBMITTED


def test_the_first_terminal_status_wins_except_that_landed_overrides(ledger: Ledger) -> None:
    plan(ledger, "opp-1")
    ledger.finished("opp-1", AttemptStatus.EXPIRED, reason="not seen in 60 s")
    assert ledger.finished("opp-1", AttemptStatus.FAILED) is AttemptStatus.EXPIRED
    # The chain said it landed after the tracker gave up: the chain wins.
    assert ledger.landed("opp-1", slot=5) is AttemptStatus.LANDED
    assert ledger.finished("opp-1", AttemptStatus.DROPPED) is AttemptStatus.LANDED


def test_a_failed_on_chain_attempt_keeps_its_slot_reason_and_cost(ledger: Ledger) -> None:
    plan(ledger, "opp-1")
    ledger.finished(
        "opp-1",
        AttemptStatus.FAILED,
        reason="slippage: min out not met",
        landed_slot=77,
        realised_lamports=-6_400,
    )
    attempt = ledger.get("opp-1")
    assert attempt is not None
    assert (attempt.status, attempt.failure_reason, attempt.landed_slot) == (
        AttemptStatus.FAILED,
        "slippage: min out not met",
        77,
    )
    assert attempt.realised_lamports == -6_400


def test_finished_refuses_landed_and_non_terminal_statuses(ledger: Ledger) -> None:
    plan(ledger, "opp-1")
    for status in (AttemptStatus.LANDED, AttemptStatus.SUBMITTED):
        with pytest.raises(LedgerValueError):
            ledger.finished("opp-1", status)


def test_updates_of_an_unknown_opportunity_are_refused(ledger: Ledger) -> None:
    with pytest.raises(UnknownAttemptError, match="opp-x"):
        ledger.landed("opp-x", slot=1)
    with pytest.raises(UnknownAttemptError):
        ledger.submitted("opp-x", results=[JITO_NY])
    with pytest.raises(UnknownAttemptError):
        ledger.lander_result("opp-x", JITO_NY)
    assert ledger.count() == 0


def test_a_lander_endpoint_result_is_replaced_not_duplicated(ledger: Ledger) -> None:
    plan(ledger, "opp-1")
    ledger.lander_result("opp-1", JITO_AMS)
    retry = LanderResult(lander="jito", endpoint="amsterdam", outcome=LanderOutcome.ACCEPTED)
    ledger.lander_result("opp-1", retry)
    ledger.submitted("opp-1", results=[JITO_NY])
    attempt = ledger.get("opp-1")
    assert attempt is not None
    assert sorted(attempt.lander_results, key=lambda r: r.endpoint) == [retry, JITO_NY]


def test_a_dry_run_is_recorded_as_such(ledger: Ledger) -> None:
    plan(ledger, "opp-1", dry_run=True)
    ledger.built("opp-1", tip=1, base_fee=2, priority_fee=3)
    ledger.finished("opp-1", AttemptStatus.DRY_RUN)
    attempt = ledger.get("opp-1")
    assert attempt is not None
    assert (attempt.dry_run, attempt.status) == (True, AttemptStatus.DRY_RUN)


# -- 64-bit integers -------------------------------------------------------------------------


def test_the_int64_extremes_are_stored_exactly(ledger: Ledger) -> None:
    plan(ledger, "max", size=INT64_MAX, profit=INT64_MAX)
    plan(ledger, "min", size=1, profit=INT64_MIN)
    ledger.realised("max", INT64_MAX)
    ledger.realised("min", INT64_MIN)
    high, low = ledger.get("max"), ledger.get("min")
    assert high is not None and low is not None
    assert (high.size, high.expected_profit, high.realised_lamports) == (INT64_MAX,) * 3
    assert (low.expected_profit, low.realised_lamports) == (INT64_MIN, INT64_MIN)


@pytest.mark.parametrize("value", [INT64_MAX + 1, INT64_MIN - 1, 10**30])
def test_amounts_outside_int64_are_refused_with_the_field_name(ledger: Ledger, value: int) -> None:
    with pytest.raises(LedgerValueError, match="expected_profit") as info:
        plan(ledger, "opp-1", profit=value)
    assert info.value.field == "expected_profit"
    assert ledger.count() == 0
    plan(ledger, "opp-1")
    with pytest.raises(LedgerValueError, match="realised_lamports"):
        ledger.realised("opp-1", value)
    with pytest.raises(LedgerValueError, match="tip"):
        ledger.built("opp-1", tip=value, base_fee=0, priority_fee=0)
    attempt = ledger.get("opp-1")
    assert attempt is not None
    assert (attempt.status, attempt.tip, attempt.realised_lamports) == (
        AttemptStatus.PLANNED,
        None,
        None,
    )


@pytest.mark.parametrize("value", [1.0, 1.5, True, "100", None])
def test_non_int_amounts_are_refused(ledger: Ledger, value: object) -> None:
    with pytest.raises(LedgerValueError, match="size"):
        plan(ledger, "opp-1", size=value)  # type: ignore[arg-type]


def test_the_table_itself_refuses_a_float_amount(ledger: Ledger) -> None:
    plan(ledger, "opp-1")
    with pytest.raises(sqlite3.Error):
        ledger.connection.execute("UPDATE attempts SET tip = 1.5 WHERE opportunity_id = 'opp-1'")


@given(
    profit=st.integers(min_value=INT64_MIN, max_value=INT64_MAX),
    realised=st.integers(min_value=INT64_MIN, max_value=INT64_MAX),
)
def test_any_int64_amount_round_trips(
    tmp_path_factory: pytest.TempPathFactory, profit: int, realised: int
) -> None:
    path = tmp_path_factory.getbasetemp() / "round-trip.sqlite3"  # shared: ids are unique
    oid = uuid.uuid4().hex
    with Ledger(path, synchronous="normal") as ledger:
        ledger.plan(oid, base_mint="So1", intermediate_mint="X", size=1, expected_profit=profit)
        ledger.realised(oid, realised)
        attempt = ledger.get(oid)
    assert attempt is not None
    assert (attempt.expected_profit, attempt.realised_lamports) == (profit, realised)


# -- file, schema, durability settings --------------------------------------------------------


def test_the_file_is_wal_with_a_recorded_schema_version(ledger: Ledger, ledger_path: Path) -> None:
    conn = ledger.connection
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    versions = conn.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()
    assert versions == [(v,) for v in range(1, SCHEMA_VERSION + 1)]
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert ledger.integrity_check() == "ok"
    assert ledger_path.is_file()


def test_normal_synchronous_mode_can_be_chosen(ledger_path: Path) -> None:
    with Ledger(ledger_path, synchronous="normal") as ledger:
        assert ledger.connection.execute("PRAGMA synchronous").fetchone()[0] == 1


def test_reopening_keeps_rows_and_does_not_migrate_again(ledger_path: Path) -> None:
    with Ledger(ledger_path) as ledger:
        plan(ledger, "opp-1")
    with Ledger(ledger_path) as ledger:
        assert ledger.count() == 1
        rows = ledger.connection.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()
        assert rows[0] == SCHEMA_VERSION


def test_a_ledger_from_a_newer_galileo_is_refused(ledger_path: Path) -> None:
    with Ledger(ledger_path) as ledger:
        ledger.connection.execute(
            "INSERT INTO schema_migrations VALUES (?, 'future', 0)", (SCHEMA_VERSION + 1,)
        )
    with pytest.raises(LedgerSchemaError, match="newer"):
        Ledger(ledger_path)
    with pytest.raises(LedgerSchemaError):
        open_readonly(ledger_path)


def test_reading_a_missing_ledger_does_not_create_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.sqlite3"
    with pytest.raises(FileNotFoundError):
        open_readonly(missing)
    assert not missing.exists()


def test_the_default_path_is_in_the_state_dir(tmp_path: Path) -> None:
    assert default_ledger_path(tmp_path) == tmp_path / "ledger.sqlite3"


def test_a_read_only_connection_sees_committed_rows_while_the_writer_is_open(
    ledger: Ledger, ledger_path: Path
) -> None:
    plan(ledger, "opp-1")
    reader = open_readonly(ledger_path)
    try:
        assert reader.execute("SELECT COUNT(*) FROM attempts").fetchone()[0] == 1
        with pytest.raises(sqlite3.OperationalError):
            reader.execute("DELETE FROM attempts")
    finally:
        reader.close()
