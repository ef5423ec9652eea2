"""Command-line behaviour: exit codes, one line per problem, no tracebacks."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from galileo.cli import main
from tests.keys import write_keypair
from tests.ports import free_port

REPO = Path(__file__).parents[2]


def free_ports_env() -> dict[str, str]:
    """Point every configured port at a currently free one, so the checks don't depend on
    what else runs on this machine."""
    return {
        "GALILEO_METRICS__PORT": str(free_port()),
        "GALILEO_SIM__RPC_PORT": str(free_port()),
        "GALILEO_SIM__JITO_PORT": str(free_port()),
        "GALILEO_JUPITER__LAUNCH__PORT": str(free_port()),
    }


def galileo(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("GALILEO_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "galileo", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[metrics]\nport = "9000"\n', "metrics.port: expected an integer"),
        ("[metrics]\nprot = 9000\n", "metrics.prot: unknown key (did you mean 'port'?)"),
        (
            "[[strategy.blind.base_mints]]\n[strategy.blind.base_mints.trade_size_range]\n"
            "min = 5000\nmax = 2000\n",
            "strategy.blind.base_mints[0].trade_size_range: min 5000 > max 2000",
        ),
    ],
    ids=["wrong-type", "unknown-key", "bad-range"],
)
def test_config_check_names_the_key_and_exits_2(tmp_path: Path, toml: str, expected: str) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(toml)
    result = galileo("config", "check", str(bad), cwd=tmp_path)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert all(line.startswith(f"{bad}: ") for line in result.stderr.splitlines())


def test_config_check_accepts_a_valid_file(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text("[metrics]\nport = 9100\n")
    # The file only: whether this machine's ports are free is tests/foundation/test_bad_configs.
    assert main(["config", "check", "--no-host-checks", str(good)]) == 0


def test_config_init_writes_an_example_that_checks_and_will_not_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "galileo.toml"
    assert main(["config", "init", str(target)]) == 0
    assert main(["config", "check", "--no-host-checks", str(target)]) == 0
    assert main(["config", "init", str(target)]) == 2
    assert main(["config", "init", str(target), "--force"]) == 0


def test_config_show_redacts_secrets(tmp_path: Path) -> None:
    token = "abcdef0123456789"
    result = galileo(
        "config",
        "show",
        cwd=tmp_path,
        env={"GALILEO_EXECUTION__RPC_URL": f"https://rpc.example.com/{token}"},
    )
    assert result.returncode == 0
    assert token not in result.stdout
    assert 'rpc_url = "https://rpc.example.com/***"' in result.stdout


def test_config_show_redacts_the_tip_floor_url_and_the_jito_endpoints(tmp_path: Path) -> None:
    token = "abcdef0123456789"
    config = tmp_path / "galileo.toml"
    config.write_text(
        f'[execution.tip]\nfloor_url = "https://tips.example.com/floor?key={token}"\n'
        f'[landers.jito]\nendpoints = ["https://ny.jito.example.com/api/v1/bundles?uuid={token}"]\n'
    )
    result = galileo("config", "show", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert token not in result.stdout
    assert 'floor_url = "https://tips.example.com/***"' in result.stdout
    assert 'endpoints = ["https://ny.jito.example.com/***"]' in result.stdout


def test_config_show_masks_the_jupiter_environment_values_but_public_names(
    tmp_path: Path,
) -> None:
    config = tmp_path / "galileo.toml"
    config.write_text(
        '[jupiter.launch.env]\nJUPITER_LICENSE_KEY = "PLANTEDENVVALUE789"\nRUST_LOG = "debug"\n'
    )
    result = galileo("config", "show", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "PLANTEDENVVALUE789" not in result.stdout
    assert 'JUPITER_LICENSE_KEY = "***"' in result.stdout
    assert 'RUST_LOG = "debug"' in result.stdout


def test_doctor_passes_on_defaults_and_reports_the_backend(tmp_path: Path) -> None:
    result = galileo("doctor", "--json", cwd=tmp_path, env=free_ports_env())
    checks = {c["name"]: c for c in json.loads(result.stdout)}
    assert result.returncode == 0, result.stdout
    assert checks["fast backend"]["detail"].split()[0] in ("cython", "python")


def test_doctor_fails_on_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = galileo(
            "doctor", cwd=tmp_path, env={**free_ports_env(), "GALILEO_METRICS__PORT": str(port)}
        )
    assert result.returncode == 1
    assert f"127.0.0.1:{port} is in use" in result.stdout


def test_doctor_fails_on_a_world_readable_keypair(tmp_path: Path) -> None:
    key = write_keypair(tmp_path / "id.json", mode=0o644)
    env = {"GALILEO_WALLET__KEYPAIR_PATH": str(key), **free_ports_env()}
    result = galileo("doctor", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert "chmod 600" in result.stdout
    key.chmod(0o600)
    assert galileo("doctor", cwd=tmp_path, env=env).returncode == 0


def test_doctor_fails_on_an_invalid_config(tmp_path: Path) -> None:
    (tmp_path / "galileo.toml").write_text("[metrics]\nport = -1\n")
    result = galileo("doctor", cwd=tmp_path)
    assert result.returncode == 1
    assert "metrics.port: -1 is below the minimum 0" in result.stdout


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: galileo" in capsys.readouterr().err


def test_help_lists_every_command() -> None:
    result = galileo("--help", cwd=REPO)
    assert result.returncode == 0
    for command in ("config", "doctor"):
        assert command in result.stdout
