"""deploy/prometheus: the rule files pass ``promtool check rules``, the Prometheus
configuration ``promtool check config``, and every alert's unit tests in alerts_test.yml
(``promtool test rules``) — each alert is tested firing and silent."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.ops.deploy_files import (
    ALERTS,
    ALERTS_TEST,
    LIMITS,
    OPERATIONS_DOC,
    PROMETHEUS_DIR,
    alert_names,
)

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool is not installed (Debian/Ubuntu: apt-get install prometheus; "
    "`make test` installs it where apt-get and root or password-less sudo are available)",
)
REQUIRED_ALERTS = {
    "GalileoJupiterNotReady",
    "GalileoNoQuotes",
    "GalileoAllIpsCooling",
    "GalileoLandingRateCollapsed",
    "GalileoDailyLossLimitNear",
    "GalileoLossWindowLimitNear",
    "GalileoWalletBelowFloor",
    "GalileoAttemptErrors",
    "GalileoLedgerWritesSlow",
}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *args],
        cwd=PROMETHEUS_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@needs_promtool
def test_promtool_checks_the_rules_and_the_configuration() -> None:
    rules = promtool("check", "rules", ALERTS.name, LIMITS.name)
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert f"SUCCESS: {len(alert_names())} rules found" in rules.stdout
    config = promtool("check", "config", "prometheus.yml")
    assert config.returncode == 0, config.stdout + config.stderr


@needs_promtool
def test_promtool_unit_tests_of_every_alert_pass() -> None:
    result = promtool("test", "rules", ALERTS_TEST.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_is_tested_firing_and_silent_and_has_a_runbook() -> None:
    names = alert_names()
    assert len(names) == len(set(names))
    assert set(names) >= REQUIRED_ALERTS
    fires: set[str] = set()
    silent: set[str] = set()
    for case in re.split(r"^\s*- eval_time:", ALERTS_TEST.read_text(encoding="utf-8"), flags=re.M):
        found = re.search(r"^\s*alertname:\s*(\S+)", case, re.M)
        if found:
            (fires if "exp_labels:" in case else silent).add(found.group(1))
    assert fires == set(names), set(names) ^ fires
    assert silent == set(names), set(names) ^ silent
    # Each alert's runbook annotation names its section of docs/operations.md.
    doc = OPERATIONS_DOC.read_text(encoding="utf-8")
    headings = {line.removeprefix("### ").strip().lower() for line in doc.splitlines()}
    for name in names:
        assert f'runbook: "docs/operations.md#{name.lower()}"' in ALERTS.read_text()
        assert name.lower() in headings, f"docs/operations.md has no '### {name}'"
