"""`galileo jupiter …` end to end: install/versions/rollback/args/start/status/stop."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from galileo.cli import _jupiter
from tests.jupiter.jupiter_support import (
    FakeGitHub,
    fake_binary_bytes,
    launched_pids,
    process_gone,
)
from tests.ports import free_port

DEADLINE = 60


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="galileo")
    _jupiter.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def write_config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "galileo.toml"
    path.write_text(f'state_dir = "{tmp_path / "state"}"\n{body}')
    return path


async def galileo(*args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    with trio.fail_after(DEADLINE):
        return await trio.run_process(
            [sys.executable, "-m", "galileo", *args],
            capture_stdout=True,
            capture_stderr=True,
            check=check,
        )


def test_args_prints_the_command_line_with_secrets_redacted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mints = tmp_path / "mints.txt"
    mints.write_text("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v\n")
    config = write_config(
        tmp_path,
        f"""
[jupiter]
source = "path"
path = "/opt/jupiter-swap-api"
[jupiter.launch]
rpc_url = "https://rpc.example.com/?api-key=very-secret-key"
yellowstone_grpc_endpoint = "https://grpc.example.com"
yellowstone_grpc_x_token = "grpc-token-123456"
filter_mints_files = ["{mints}"]
total_thread_count = 4
webserver_thread_count = 2
""",
    )
    args = parse(["jupiter", "args", "--config", str(config)])

    assert args.handler(args) == 0

    out = capsys.readouterr().out
    assert out.startswith("RPC_URL='https://rpc.example.com/***' RUST_LOG=info ")
    assert "YELLOWSTONE_GRPC_X_TOKEN='***' /opt/jupiter-swap-api --market-mode" in out
    assert "very-secret-key" not in out and "grpc-token-123456" not in out
    assert (
        "--filter-markets-with-mints So11111111111111111111111111111111111111112,"
        "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v" in out
    )
    assert "--webserver-thread-count 2" in out


def test_args_reports_bad_thread_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(
        tmp_path,
        """
[jupiter]
source = "path"
path = "/opt/jup"
[jupiter.launch]
total_thread_count = 1
webserver_thread_count = 2
""",
    )
    args = parse(["jupiter", "args", "--config", str(config)])
    code = args.handler(args)
    err = capsys.readouterr().err
    assert code in (1, 2)
    assert "webserver_thread_count" in err


def test_status_without_a_running_instance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, "")
    args = parse(["jupiter", "status", "--config", str(config)])
    assert args.handler(args) == 1
    assert "not running" in capsys.readouterr().out


async def test_install_versions_rollback_through_the_cli(
    tmp_path: Path, github: FakeGitHub
) -> None:
    assert isinstance(github, FakeGitHub)
    github.add("v1.0.0")
    github.add("v1.1.0")
    config = write_config(
        tmp_path,
        f"""
[jupiter]
source = "release"
releases_api_url = "{github.url}/releases"
install_dir = "{tmp_path / "install"}"
""",
    )
    c = ("--config", str(config))

    first = await galileo("jupiter", "install", "--version", "v1.0.0", *c)
    assert b"v1.0.0 active" in first.stdout
    assert b"pin it:" in first.stdout
    await galileo("jupiter", "install", *c)
    listing = await galileo("jupiter", "versions", "--remote", *c)
    lines = listing.stdout.decode().splitlines()
    assert lines[0].startswith("  v1.0.0")
    assert lines[1].startswith("* v1.1.0")
    assert "available:" in lines

    back = await galileo("jupiter", "rollback", *c)
    assert b"v1.0.0 active" in back.stdout
    again = await galileo("jupiter", "rollback", *c, check=False)
    assert again.returncode == 1
    assert b"oldest installed" in again.stderr

    shown = await galileo("jupiter", "args", *c)
    assert str(tmp_path / "install" / "versions" / "v1.0.0").encode() in shown.stdout


async def test_start_status_stop_through_the_cli(tmp_path: Path, control_dir: Path) -> None:
    binary = tmp_path / "jupiter-swap-api"
    binary.write_bytes(fake_binary_bytes("cli"))
    binary.chmod(0o755)
    port = free_port()
    config = write_config(
        tmp_path,
        f"""
[jupiter]
source = "path"
path = "{binary}"
[jupiter.launch]
port = {port}
env = {{ FAKE_JUPITER_DIR = "{control_dir}" }}
[jupiter.process]
health_interval_s = 0.2
stop_grace_s = 2
""",
    )
    c = ("--config", str(config))
    runtime = tmp_path / "state" / "jupiter" / "runtime.json"
    start = await trio.lowlevel.open_process(
        [sys.executable, "-m", "galileo", "jupiter", "start", *c],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(start.wait)  # reap promptly so `stop` sees it gone

            def ready() -> bool:
                try:
                    state: str = json.loads(runtime.read_text())["state"]
                    return state == "ready"
                except (OSError, ValueError):
                    return False

            with trio.fail_after(DEADLINE):
                while not ready():  # noqa: ASYNC110 - written by another process
                    await trio.sleep(0.05)

            status = await galileo("jupiter", "status", *c)
            text = status.stdout.decode()
            assert "state              ready" in text
            assert f"base url           http://127.0.0.1:{port}" in text
            assert "version            path" in text
            raw = json.loads((await galileo("jupiter", "status", "--json", *c)).stdout)
            assert raw["supervisor_pid"] == start.pid

            stopped = await galileo("jupiter", "stop", *c)
            assert b"stopped" in stopped.stdout
        assert start.returncode == 0
    finally:
        if start.returncode is None:
            start.kill()
            await start.wait()

    [child] = launched_pids(control_dir)
    assert process_gone(child)
    assert json.loads(runtime.read_text())["state"] == "stopped"
    after = await galileo("jupiter", "status", *c, check=False)
    assert after.returncode == 1
