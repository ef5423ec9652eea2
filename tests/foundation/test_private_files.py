"""Files that other users of the host must not read — the ledger's PnL, logs, the event trace,
runtime and control files — are created owner-only (0600) in owner-only directories (0700),
whatever the umask; files an older galileo left readable are narrowed when opened again."""

from __future__ import annotations

import io
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from galileo._config import LoggingConfig
from galileo._secret import private_dir, private_opener, touch_private, write_private_text
from galileo.jupiter_binary._childlog import ChildLog
from galileo.jupiter_binary._runtime import write_runtime
from galileo.ledger import Ledger
from galileo.obs import EventTrace, configure_logging, reset_logging
from galileo.risk import RiskControl


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def wide_umask() -> Iterator[None]:
    """The most permissive umask: the modes must not depend on it."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def test_private_dir_creates_every_missing_level_0700_and_leaves_existing_ones(
    tmp_path: Path,
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)

    created = private_dir(shared / "a" / "b")

    assert mode(shared) == 0o755  # not galileo's to narrow (a shared /var/log, say)
    assert mode(shared / "a") == mode(created) == 0o700
    private_dir(shared, narrow=True)
    assert mode(shared) == 0o700


def test_private_files_are_created_0600_and_old_readable_ones_narrowed(tmp_path: Path) -> None:
    old = tmp_path / "old.log"
    old.write_text("from an older galileo\n")
    old.chmod(0o644)

    with open(old, "a", encoding="utf-8", opener=private_opener) as file:
        file.write("appended\n")
    write_private_text(tmp_path / "state" / "runtime.json", "{}\n")
    touch_private(tmp_path / "db" / "ledger.sqlite3")

    assert old.read_text() == "from an older galileo\nappended\n"
    assert mode(old) == 0o600
    assert mode(tmp_path / "state" / "runtime.json") == 0o600
    assert mode(tmp_path / "state") == 0o700
    assert mode(tmp_path / "db" / "ledger.sqlite3") == 0o600
    assert not list((tmp_path / "state").glob(".*.tmp"))  # the atomic write cleaned up


def test_the_log_file_and_the_event_trace_are_private(tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "galileo.jsonl"
    configure_logging(LoggingConfig(file=str(log_file)), stream=io.StringIO())
    try:
        logging.getLogger("galileo.test").warning("landed", extra={"fields": {"pnl": 5}})
    finally:
        reset_logging()
    with EventTrace(tmp_path / "trace" / "trace.jsonl") as trace:
        trace.emit("op-1", "landed", profit_lamports=5)

    for file in (log_file, tmp_path / "trace" / "trace.jsonl"):
        assert file.read_text()
        assert mode(file) == 0o600
        assert mode(file.parent) == 0o700


def test_the_ledger_and_its_sqlite_side_files_are_private(tmp_path: Path) -> None:
    with Ledger(tmp_path / "state" / "ledger.sqlite3") as ledger:
        ledger.attempts()
        files = sorted((tmp_path / "state").iterdir())
        assert [f.name for f in files][:1] == ["ledger.sqlite3"]
        assert {f.name for f in files} <= {
            "ledger.sqlite3",
            "ledger.sqlite3-wal",
            "ledger.sqlite3-shm",
            "ledger.sqlite3-journal",
        }
        assert all(mode(f) == 0o600 for f in files), {f.name: oct(mode(f)) for f in files}
    assert mode(tmp_path / "state") == 0o700


def test_jupiter_runtime_file_and_child_log_are_private(tmp_path: Path) -> None:
    write_runtime(tmp_path / "state" / "jupiter" / "runtime.json", {"pid": 1})
    log = ChildLog(tmp_path / "state" / "logs" / "jupiter.log", max_bytes=64, backups=1)
    for i in range(10):
        log.feed(f"line {i} {'x' * 20}\n".encode())  # rotates
    log.close()

    assert mode(tmp_path / "state" / "jupiter" / "runtime.json") == 0o600
    for file in (tmp_path / "state" / "logs").iterdir():
        assert mode(file) == 0o600, file.name
    assert mode(tmp_path / "state" / "logs") == 0o700


def test_the_instance_and_control_files_are_private_and_the_state_dir_narrowed(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o755)  # as an older galileo left it
    control = RiskControl.for_state_dir(state)

    control.announce(os.getpid())
    control.pause("maintenance")
    control.request_stop("done")

    assert mode(state) == 0o700
    for name in ("INSTANCE.json", "PAUSE", "STOP"):
        assert mode(state / name) == 0o600, name
