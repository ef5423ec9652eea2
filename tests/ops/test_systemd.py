"""deploy/systemd: the unit passes ``systemd-analyze verify`` and ``security``, runs galileo as
an unprivileged user confined to its state directory, and its restart policy follows
galileo's exit codes (docs/cli.md) instead of fighting its Jupiter supervision."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from galileo._config import Config
from galileo._config_load import load_config
from galileo.cli._common import EXIT_JUPITER_FAILED, EXIT_USAGE
from tests.ops.deploy_files import DEPLOY, UNIT, unit_settings

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_systemd_analyze = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None,
    reason="systemd-analyze is not installed (Debian/Ubuntu: the systemd package)",
)
INSTALLED_PYTHON = "/opt/galileo/.venv/bin/python"
"""The interpreter the unit runs (the README's `make build` in /opt/galileo)."""
STATE_DIR = "/var/lib/galileo"
MAX_EXPOSURE = 2.5
"""``systemd-analyze security`` exposure (0 = locked down, 10 = unprotected); 1.9 today."""


def settings() -> dict[str, list[str]]:
    return unit_settings(UNIT.read_text(encoding="utf-8"))["Service"]


def one(key: str) -> str:
    values = settings()[key]
    assert len(values) == 1, f"{key} is set {len(values)} times"
    return values[0]


def local_copy(tmp_path: Path) -> Path:
    """The unit with its ExecStart interpreter replaced by this test's Python: verify checks
    that the binary exists, and /opt/galileo is not installed here."""
    text = UNIT.read_text(encoding="utf-8")
    assert f"ExecStart={INSTALLED_PYTHON} " in text
    copy = tmp_path / "galileo.service"
    copy.write_text(text.replace(f"ExecStart={INSTALLED_PYTHON} ", f"ExecStart={sys.executable} "))
    return copy


@needs_systemd_analyze
def test_the_unit_verifies_without_a_warning(tmp_path: Path) -> None:
    assert SYSTEMD_ANALYZE is not None
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", "--man=no", str(local_copy(tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # An unknown key or a bad value is only a warning ("…, ignoring") with exit status 0.
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


@needs_systemd_analyze
def test_the_unit_is_hardened_by_systemd_analyze_security(tmp_path: Path) -> None:
    assert SYSTEMD_ANALYZE is not None
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "security", "--offline=true", "--no-pager", str(local_copy(tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    exposure = r"Overall exposure level for galileo\.service: (\d+(?:\.\d+)?)"
    found = re.search(exposure, result.stdout)
    assert found, result.stdout[-2000:]
    assert float(found.group(1)) <= MAX_EXPOSURE, result.stdout


def test_the_unit_runs_galileo_unprivileged_in_its_state_directory() -> None:
    service = settings()
    assert one("ExecStart") == (
        f"{INSTALLED_PYTHON} -m galileo run --config /etc/galileo/galileo.toml"
    )
    assert one("User") == "galileo"
    assert one("StateDirectory") == "galileo"
    assert one("WorkingDirectory") == STATE_DIR
    assert one("ReadWritePaths") == STATE_DIR  # the state directory, nothing else
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
        "CapabilityBoundingSet": "",
    }.items():
        assert one(key) == value, key
    families = one("RestrictAddressFamilies").split()
    assert {"AF_INET", "AF_INET6"} <= set(families)
    assert "AF_PACKET" not in families
    assert int(one("LimitNOFILE")) >= 65536
    # The managed Jupiter install (~/.cache by default) must land in the writable directory.
    assert f"XDG_CACHE_HOME={STATE_DIR}/cache" in service["Environment"]


def test_restarts_follow_galileo_exit_codes() -> None:
    assert one("Restart") == "on-failure"  # exit 0 is a stop someone asked for
    prevented = {int(code) for code in one("RestartPreventExitStatus").split()}
    # 2: the configuration cannot run; 3: Jupiter's own restart budget is spent.
    assert prevented == {EXIT_USAGE, EXIT_JUPITER_FAILED}
    assert one("RestartSec").removesuffix("s").isdigit()
    unit = unit_settings(UNIT.read_text(encoding="utf-8"))["Unit"]
    assert unit["StartLimitBurst"] and unit["StartLimitIntervalSec"]


def test_stopping_leaves_galileo_time_to_drain_and_stop_jupiter() -> None:
    # SIGTERM to galileo alone: it drains, then stops its Jupiter child in order.
    assert one("KillMode") == "mixed"
    assert one("KillSignal") == "SIGTERM"
    defaults = Config()
    drain_s = defaults.landers.landing_timeout_s + 15.0  # pipeline.DRAIN_GRACE_S
    needed = drain_s + defaults.jupiter.process.stop_grace_s
    assert float(one("TimeoutStopSec").removesuffix("s")) > needed


def test_the_shipped_configuration_uses_the_state_directory() -> None:
    path = DEPLOY / "systemd" / "galileo.toml"
    config = load_config(path, env={})
    assert config.state_dir == STATE_DIR
    assert config.metrics.enabled
    assert config.metrics.summary_json.startswith(STATE_DIR + "/")
    sysusers = (DEPLOY / "systemd" / "galileo.sysusers.conf").read_text(encoding="utf-8")
    assert re.search(rf"^u galileo - .* {STATE_DIR} /usr/sbin/nologin$", sysusers, re.M)
