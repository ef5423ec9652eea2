"""The acceptance of "secrets on the host": a whole ``galileo run`` with secrets planted in the
Jupiter launch configuration — an x-token in the Yellowstone endpoint URL and as the x-token,
an API key in a secondary RPC URL, a ``jupiter.launch.env`` value — and a Jupiter child that
echoes all of them to its output. None of them may appear anywhere another local user, a log
shipper or a screenshot could see it: ``ps``, ``/status``, ``/metrics``, the logs, the event
trace, the ledger, the runtime files, ``jupiter.log`` and ``galileo jupiter args``. And the
files are owner-only."""

from __future__ import annotations

import io
import os
import shutil
import stat
import sys
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
import trio

from galileo._app import App, RunOptions
from galileo._config import Config
from galileo._secret import Secret
from tests.worlds import quiet_config

X_TOKEN = "PLANTEDSECRET123"
RPC_KEY = "PLANTEDRPCKEY456"
ENV_VALUE = "PLANTEDENVVALUE789"
PLANTED = (X_TOKEN, RPC_KEY, ENV_VALUE)

YELLOWSTONE = f"https://grpc.example.com:10000/?x-token={X_TOKEN}"
SECONDARY_RPC = f"https://rpc.example.com/?api-key={RPC_KEY}"


def echoing_jupiter(tmp_path: Path) -> Path:
    """The simulated jupiter-swap-api behind a wrapper that first prints the secrets it was
    given, as a chatty binary might: the child really receives them (through its
    environment), and ``jupiter.log`` must still not show them."""
    script = tmp_path / "bin" / "jupiter-swap-api"
    script.parent.mkdir()
    script.write_text(
        "#!/bin/sh\n"
        'echo "planted: endpoint=$YELLOWSTONE_GRPC_ENDPOINT token=$YELLOWSTONE_GRPC_X_TOKEN '
        'secondary=$SECONDARY_RPC_URLS license=$JUPITER_LICENSE_KEY"\n'
        f'exec "{sys.executable}" -m galileo.sim jupiter "$@"\n'
    )
    script.chmod(0o755)
    return script


def planted_config(tmp_path: Path, executable: Path) -> Config:
    config = quiet_config(tmp_path, seed=7, trace=True)
    launch = attrs.evolve(
        config.jupiter.launch,
        secondary_rpc_urls=[Secret(SECONDARY_RPC)],
        yellowstone_grpc_endpoint=Secret(YELLOWSTONE),
        yellowstone_grpc_x_token=Secret(X_TOKEN),
        env={"JUPITER_LICENSE_KEY": ENV_VALUE},
    )
    jupiter = attrs.evolve(config.jupiter, source="path", path=str(executable), launch=launch)
    return attrs.evolve(config, jupiter=jupiter)


def planted_toml(tmp_path: Path, executable: Path) -> Path:
    path = tmp_path / "galileo.toml"
    path.write_text(
        f'state_dir = "{tmp_path / "cli-state"}"\n'
        "[jupiter]\n"
        'source = "path"\n'
        f'path = "{executable}"\n'
        "[jupiter.launch]\n"
        f'secondary_rpc_urls = ["{SECONDARY_RPC}"]\n'
        f'yellowstone_grpc_endpoint = "{YELLOWSTONE}"\n'
        f'yellowstone_grpc_x_token = "{X_TOKEN}"\n'
        f'env = {{ JUPITER_LICENSE_KEY = "{ENV_VALUE}" }}\n'
    )
    return path


async def command_lines() -> str:
    """What ``ps`` shows every local user: each process's command line."""
    if shutil.which("ps"):
        result = await trio.run_process(["ps", "-eww", "-o", "pid=,args="], capture_stdout=True)
        return result.stdout.decode(errors="replace")
    return proc_command_lines()


def proc_command_lines() -> str:
    """``ps`` without ps: what it reads."""
    lines = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            lines.append(cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue  # gone meanwhile
    return "\n".join(lines)


async def galileo_cli(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GALILEO_")}
    result = await trio.run_process(
        [sys.executable, "-m", "galileo", *args],
        capture_stdout=True,
        capture_stderr=True,
        env=env,
    )
    return (result.stdout + result.stderr).decode(errors="replace")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.slow
async def test_planted_secrets_appear_in_no_channel_and_state_files_are_private(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    executable = echoing_jupiter(tmp_path)
    config = planted_config(tmp_path, executable)
    state = Path(config.state_dir)
    out = io.StringIO()
    app = App(config, RunOptions(duration_s=8), out=out)
    channels: dict[str, str] = {}
    modes: dict[str, int] = {}
    summary: dict[str, Any] = {}

    async def run() -> None:
        summary.update(await app.run())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run)
        with trio.fail_after(60):
            await app.running.wait()
        await trio.sleep(2)  # some quoting, so the trace and the ledger have content
        assert app.supervisor is not None and app.supervisor.pid is not None
        channels["ps (every process)"] = await command_lines()
        async with httpx.AsyncClient(base_url=app.metrics.url, trust_env=False) as client:
            channels["/status"] = (await client.get("/status")).text
            channels["/metrics"] = (await client.get("/metrics")).text
        channels["runtime.json (running)"] = (state / "jupiter" / "runtime.json").read_text()
        channels["INSTANCE.json"] = (state / "INSTANCE.json").read_text()
        modes["INSTANCE.json"] = mode(state / "INSTANCE.json")

    jupiter_log = state / "logs" / "jupiter.log"
    files = {
        "runtime.json (stopped)": state / "jupiter" / "runtime.json",
        "jupiter.log": jupiter_log,
        "log file": Path(config.logging.file),
        "event trace": Path(config.logging.trace_file),
        "ledger": state / "ledger.sqlite3",
    }
    for name, path in files.items():
        channels[name] = path.read_bytes().decode("latin-1")
        modes[name] = mode(path)
    captured = capfd.readouterr()
    channels["stderr (console log)"] = captured.err
    channels["stdout + summary"] = captured.out + out.getvalue()
    toml = planted_toml(tmp_path, executable)
    channels["galileo jupiter args"] = await galileo_cli("jupiter", "args", "--config", str(toml))
    channels["galileo jupiter args --json"] = await galileo_cli(
        "jupiter", "args", "--json", "--config", str(toml)
    )

    counts = {name: sum(text.count(s) for s in PLANTED) for name, text in channels.items()}
    print("\nplanted secret occurrences per channel:")
    for name, count in counts.items():
        print(f"  {name:<28} {count}")
    assert counts == dict.fromkeys(channels, 0)

    # The secrets did reach the child — through its environment — and it printed them.
    assert (
        "planted: endpoint=https://grpc.example.com:10000/*** token=*** "
        "secondary=https://rpc.example.com/*** license=***" in channels["jupiter.log"]
    )
    # Each channel shows the very places a secret would be: the child's command line, the
    # command in /status and in the runtime file, the launch env in `galileo jupiter args`.
    assert "-m galileo.sim jupiter --rpc-url http://127.0.0.1:" in channels["ps (every process)"]
    for name in ("/status", "runtime.json (running)", "galileo jupiter args"):
        assert "YELLOWSTONE_GRPC_X_TOKEN='***'" in channels[name], name
        assert "JUPITER_LICENSE_KEY='***'" in channels[name], name
    assert summary["quotes_total"] > 0
    # Owner-only, whatever the umask: files 0600, directories 0700.
    assert modes == dict.fromkeys(modes, 0o600)
    for directory in (state, state / "logs", state / "jupiter"):
        assert mode(directory) == 0o700, directory
