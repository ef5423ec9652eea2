"""`galileo report` numbers on a hand-made ledger (see the sample_ledger fixture).

The sample: a1 landed (+80 000 realised), a2 landed (realised pending), a3 failed on chain
(−5 500, paid fees), a4 expired, a5 dropped, a6 dry run, a7 in flight, a8 planned.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from galileo.cli import main
from galileo.cli._ledger import parse_duration_s, parse_since_ms
from galileo.ledger import (
    LanderStats,
    Ledger,
    LedgerReport,
    build_report,
    format_lamports,
    format_report,
    open_readonly,
)
from tests.ledger.ledger_helpers import plan

EXPECTED_STATUS = {
    "planned": 1,
    "built": 0,
    "submitted": 1,
    "landed": 2,
    "failed": 1,
    "expired": 1,
    "dropped": 1,
    "dry_run": 1,
}


def _report(
    path: Path,
    *,
    since_ms: int | None = None,
    until_ms: int | None = None,
    summary: Mapping[str, Any] | None = None,
) -> LedgerReport:
    conn = open_readonly(path)
    try:
        return build_report(conn, since_ms=since_ms, until_ms=until_ms, summary=summary)
    finally:
        conn.close()


def test_report_figures_match_the_hand_made_ledger(sample_ledger: Path) -> None:
    report = _report(sample_ledger)
    assert report.attempts == 8
    assert report.by_status == EXPECTED_STATUS
    assert report.dry_run_attempts == 1
    assert report.realised_pnl_lamports == 80_000
    assert (report.realised_known, report.realised_pending) == (1, 1)
    assert report.realised_other_lamports == -5_500
    assert report.expected_pnl_landed_lamports == 150_000
    # Submitted or later and not a dry run: a1, a2, a3, a4, a5, a7.
    assert report.expected_pnl_submitted_lamports == 310_000
    assert report.tip_spend_lamports == 15_000  # tips of the landed ones
    assert report.fee_spend_lamports == 7_000 + 6_000 + 5_500  # everything included on chain
    assert (report.landed, report.finished) == (2, 5)
    assert report.success_rate == pytest.approx(0.4)
    assert report.stages is None


def test_lander_and_endpoint_success_rates(sample_ledger: Path) -> None:
    report = _report(sample_ledger)
    assert report.endpoints == (
        LanderStats(lander="jito", endpoint="ams", submissions=2, accepted=0, rate_limited=1,
                    rejected=1, timeout=0, landed=0),
        LanderStats(lander="jito", endpoint="ny", submissions=4, accepted=3, rate_limited=0,
                    rejected=0, timeout=1, landed=2),
        LanderStats(lander="rpc", endpoint="main", submissions=2, accepted=2, rate_limited=0,
                    rejected=0, timeout=0, landed=1),
    )  # fmt: skip
    assert report.landers == (
        LanderStats(lander="jito", endpoint="*", submissions=6, accepted=3, rate_limited=1,
                    rejected=1, timeout=1, landed=2),
        LanderStats(lander="rpc", endpoint="*", submissions=2, accepted=2, rate_limited=0,
                    rejected=0, timeout=0, landed=1),
    )  # fmt: skip
    jito = report.landers[0]
    # pytest.approx is typed as ApproxBase, which mypy cannot see overlap a float.
    assert (jito.accepted_rate, jito.landed_rate) == (0.5, pytest.approx(1 / 3))  # type: ignore[comparison-overlap]


def test_the_period_filters_on_creation_time(sample_ledger: Path, t0: float) -> None:
    since = int((t0 + 4 * 600) * 1000)  # a5 onwards
    report = _report(sample_ledger, since_ms=since)
    assert report.attempts == 4
    assert report.by_status["landed"] == 0
    assert report.realised_pnl_lamports == 0
    assert [(s.lander, s.submissions) for s in report.landers] == [("jito", 2)]
    until = _report(sample_ledger, until_ms=since)
    assert until.attempts == 4
    assert until.realised_pnl_lamports == 80_000


def test_an_empty_ledger_reports_zeros_and_no_rates(ledger_path: Path) -> None:
    Ledger(ledger_path).close()
    report = _report(ledger_path)
    assert report.attempts == 0
    assert report.success_rate is None
    assert report.realised_pnl_lamports == 0
    assert "(no submissions)" in format_report(report)


def test_stage_latencies_come_from_the_summary(sample_ledger: Path, summary_file: Path) -> None:
    summary = json.loads(summary_file.read_text())
    report = _report(sample_ledger, summary=summary)
    assert report.stages is not None
    quote, send = report.stages
    assert (quote.stage, quote.count, quote.p50, quote.p99, quote.max) == (
        "quote", 10, 0.001, 0.003, 0.004,
    )  # fmt: skip
    assert (send.stage, send.count, send.p50) == ("send", 0, None)


def test_lamports_are_formatted_exactly() -> None:
    assert format_lamports(-1_234_567) == "-1,234,567 (-0.001234567 SOL)"
    assert format_lamports(2**62) == f"{2**62:,} (4611686018.427387904 SOL)"


# -- the command -----------------------------------------------------------------------------


def test_report_json_command(
    sample_ledger: Path, summary_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["report", "--ledger", str(sample_ledger), "--summary", str(summary_file),
                 "--json"])  # fmt: skip
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ledger"] == str(sample_ledger)
    assert data["attempts"] == 8
    assert data["by_status"] == EXPECTED_STATUS
    assert data["pnl"] == {
        "realised_lamports": 80_000,
        "realised_known": 1,
        "realised_pending": 1,
        "realised_other_lamports": -5_500,
        "expected_landed_lamports": 150_000,
        "expected_submitted_lamports": 310_000,
        "tip_spend_lamports": 15_000,
        "fee_spend_lamports": 18_500,
    }
    assert data["success_rate"] == pytest.approx(0.4)
    ny = next(e for e in data["endpoints"] if e["endpoint"] == "ny")
    assert (ny["submissions"], ny["accepted"], ny["landed"], ny["accepted_rate"]) == (
        4, 3, 2, 0.75,
    )  # fmt: skip
    assert data["stages"]["quote"] == {
        "count": 10, "p50": 0.001, "p95": 0.002, "p99": 0.003, "max": 0.004,
    }  # fmt: skip
    assert data["since"] is None


def test_report_text_command(
    sample_ledger: Path, summary_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["report", "--ledger", str(sample_ledger), "--summary", str(summary_file)])
    assert code == 0
    out = capsys.readouterr().out
    assert "attempts: 8 (1 dry run)" in out
    assert "realised (landed):     80,000 (0.000080000 SOL)  [1 known, 1 pending]" in out
    assert "tip spend:             15,000" in out
    assert "fee spend:             18,500" in out
    assert "success rate: 40.0 % (2 landed of 5 finished)" in out
    assert "jito       ny" in out
    assert "quote" in out and "1.000" in out  # p50 in ms


def test_report_finds_the_ledger_through_the_config(
    tmp_path: Path, sample_ledger: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "galileo.toml"
    config.write_text(f'state_dir = "{sample_ledger.parent}"\n')
    assert main(["report", "--config", str(config), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["attempts"] == 8
    assert data["stages"] is None


def test_report_since_and_last(
    sample_ledger: Path, t0: float, capsys: pytest.CaptureFixture[str]
) -> None:
    since = "2026-01-01T00:40:00Z"  # t0 + 40 min = a5
    assert parse_since_ms(since) == int((t0 + 2400) * 1000)
    config = sample_ledger.parent.parent / "galileo.toml"
    config.write_text(f'state_dir = "{sample_ledger.parent}"\n')
    assert main(["report", "-c", str(config), "--since", since, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["attempts"] == 4
    # The sample is from 2026-01-01: nothing in the last hour of the real clock.
    assert main(["report", "-c", str(config), "--last", "1h", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["attempts"] == 0


def test_report_last_counts_recent_attempts(
    ledger_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Ledger(ledger_path) as ledger:  # the real wall clock
        plan(ledger, "now")
    config = ledger_path.parent / "galileo.toml"
    config.write_text(f'state_dir = "{ledger_path.parent}"\n')
    assert main(["report", "-c", str(config), "--last", "15m", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["attempts"] == 1


@pytest.mark.parametrize("argv", [["--last", "an hour"], ["--since", "yesterday"]])
def test_report_bad_periods_exit_2(
    sample_ledger: Path, summary_file: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["report", "--ledger", str(sample_ledger), "--summary", str(summary_file), *argv])
    assert code == 2
    assert "galileo report:" in capsys.readouterr().err


def test_report_since_and_last_are_exclusive(
    sample_ledger: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["report", "--ledger", str(sample_ledger), "--last", "1h", "--since", "2026-01-01"])
    assert info.value.code == 2


def test_report_on_a_missing_ledger_fails_with_exit_1(
    tmp_path: Path, summary_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "none.sqlite3"
    code = main(["report", "--ledger", str(missing), "--summary", str(summary_file)])
    assert code == 1
    assert "no ledger at" in capsys.readouterr().err
    assert not missing.exists()


def test_report_with_an_unreadable_summary_fails_with_exit_1(
    sample_ledger: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["report", "--ledger", str(sample_ledger), "--summary", str(bad)]) == 1
    assert "cannot read summary" in capsys.readouterr().err
    bad.write_text('{"stages": []}')
    assert main(["report", "--ledger", str(sample_ledger), "--summary", str(bad)]) == 1
    assert "no 'stages' object" in capsys.readouterr().err


def test_duration_parsing() -> None:
    assert parse_duration_s("90s") == 90
    assert parse_duration_s("15m") == 900
    assert parse_duration_s("1.5h") == 5400
    assert parse_duration_s("2d") == 172_800
    with pytest.raises(ValueError):
        parse_duration_s("1w")
