"""Multi-IP pacing and cooldowns (issue 10), measured against the simulated world and written
to benches/results/multi_ip.json — the figures quoted in docs/networking/multi-ip.md:

    .venv/bin/python -m pytest benches/bench_multi_ip.py -p no:cacheprovider -s \
        -o python_files='bench_*.py'

Per-IP limit R = 40 and R = 200 over 20 s, four loopback source IPs; then a Jupiter crash
mid-run with the engine gated on the supervisor's readiness (as ``galileo run`` wires it) and,
for comparison, without the gate (cooldowns alone). See tests/e2e/pacing_world.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.pacing_world import as_json, measure_limit, measure_restart

RESULTS = Path(__file__).parent / "results" / "multi_ip.json"


async def test_multi_ip_pacing_figures(tmp_path: Path) -> None:
    results: dict[str, Any] = {}
    for limit in (40.0, 200.0):
        figures = await measure_limit(tmp_path / f"r{limit:g}", limit, 20.0)
        results[f"limit_{limit:g}_rps"] = as_json(figures)
    for gated in (True, False):
        restart = await measure_restart(tmp_path / f"restart-{gated}", gated=gated)
        results["restart_gated" if gated else "restart_ungated"] = as_json(restart)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))
