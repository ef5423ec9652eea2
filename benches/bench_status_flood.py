"""Quoting under a /metrics and /status flood from 8 local clients (issue 12, item 5), with
the protected status server and, for comparison, the server as it was; written to
benches/results/status_flood.json — the figures quoted in docs/security.md:

    .venv/bin/python -m pytest benches/bench_status_flood.py -p no:cacheprovider -s \
        -o python_files='bench_*.py'

See tests/e2e/status_flood.py for the windows and how each flood is compared with the
baselines around it. The criterion: a flood changes quotes/s by less than 5 % (ratio > 0.95).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.status_flood import as_json, measure

RESULTS = Path(__file__).parent / "results" / "status_flood.json"


async def test_status_flood_figures(tmp_path: Path) -> None:
    results: dict[str, Any] = {
        "protected": as_json(await measure(tmp_path / "protected", protected=True)),
        "unprotected": as_json(await measure(tmp_path / "unprotected", protected=False)),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))
