"""Ledger write latency: FULL vs NORMAL, sync vs the trio wrapper, against raw sqlite3.

Baseline: a bare ``INSERT`` into a WAL table with ``synchronous=NORMAL`` through the sqlite3
module (what any SQLite write costs here). Each round makes ``OPS`` writes (one ``plan`` and
one ``built`` per attempt ⇒ OPS/2 attempts); divide by ``OPS`` for per-write figures.

    .venv/bin/python -m pytest benches/bench_ledger_write.py -p no:cacheprovider -s \
        --benchmark-json=benches/results/bench_ledger_write.json

The last test prints median µs per write and the ratio to the baseline (docs/ledger.md).
"""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import trio

from galileo.ledger import AsyncLedger, Ledger

OPS = 100
_results: dict[str, float] = {}
_ids = itertools.count()


def _record(name: str, benchmark: Any) -> None:
    if benchmark.stats is not None:  # None under --benchmark-disable: the call ran once
        _results[name] = benchmark.stats.stats.median / OPS * 1e6  # µs per write


def _writes(ledger: Ledger) -> None:
    for _ in range(OPS // 2):
        oid = f"o{next(_ids)}"
        ledger.plan(oid, base_mint="So1", intermediate_mint="X", size=1, expected_profit=1)
        ledger.built(oid, tip=1, base_fee=2, priority_fee=3)


@pytest.mark.benchmark(group="ledger-write")
def test_baseline_raw_sqlite_insert(benchmark: Any, tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "raw.sqlite3", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY, v INTEGER)")

    def run() -> None:
        for _ in range(OPS):
            conn.execute("INSERT INTO t VALUES (?, ?)", (f"r{next(_ids)}", 1))

    benchmark.pedantic(run, rounds=10, iterations=1)
    _record("raw sqlite3 INSERT, NORMAL", benchmark)


@pytest.mark.benchmark(group="ledger-write")
@pytest.mark.parametrize("synchronous", ["normal", "full"])
def test_ledger_sync(benchmark: Any, tmp_path: Path, synchronous: Any) -> None:
    with Ledger(tmp_path / "l.sqlite3", synchronous=synchronous) as ledger:
        benchmark.pedantic(_writes, args=(ledger,), rounds=10, iterations=1)
    _record(f"Ledger, {synchronous.upper()}", benchmark)


@pytest.mark.benchmark(group="ledger-write")
@pytest.mark.parametrize("synchronous", ["normal", "full"])
def test_async_ledger(benchmark: Any, tmp_path: Path, synchronous: Any) -> None:
    aledger = AsyncLedger(Ledger(tmp_path / "l.sqlite3", synchronous=synchronous))

    async def writes() -> None:
        for _ in range(OPS // 2):
            oid = f"o{next(_ids)}"
            await aledger.plan(
                oid, base_mint="So1", intermediate_mint="X", size=1, expected_profit=1
            )
            await aledger.built(oid, tip=1, base_fee=2, priority_fee=3)

    benchmark.pedantic(lambda: trio.run(writes), rounds=10, iterations=1)
    aledger.ledger.close()
    _record(f"AsyncLedger, {synchronous.upper()}", benchmark)


def test_print_summary() -> None:
    base = _results.get("raw sqlite3 INSERT, NORMAL")
    print()
    for name, micros in _results.items():
        ratio = f"{micros / base:5.1f}x" if base else ""
        print(f"{name:<32} {micros:9.1f} µs/write {ratio}")
