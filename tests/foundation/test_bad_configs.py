"""Every configuration that cannot run is refused — by ``config check`` and by ``galileo run``
before anything starts — with one line naming the key, exit status 2, no traceback and no
hang: bad files, URLs by scheme, integers by the range of the field that uses them, numbers
that are not finite, duplicates, formats, files that must exist, a keypair others can read,
ports that must be free, source IPs that cannot be bound."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from string import Template

import attrs
import pytest

from galileo.cli import main
from tests.keys import write_keypair
from tests.ports import free_port

WSOL = "So11111111111111111111111111111111111111112"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
U64_PLUS_1 = 2**64
TOKEN = "tok3nSECRET0123456789"


@attrs.frozen
class Bad:
    """A configuration that cannot run and the key (or, for a file that is no configuration
    at all, the words) its one line of refusal names."""

    id: str
    names: str
    toml: str = ""
    raw: bytes | None = None  # the file's bytes, when it is not text
    env: dict[str, str] = attrs.field(factory=dict)
    secret: str = ""  # a credential in the bad value, which must not be echoed

    @property
    def is_key(self) -> bool:
        return " " not in self.names


BAD_CONFIGS = [
    # -- the file itself
    Bad("empty-file", "is empty", raw=b""),
    Bad("only-comments", "sets no key", "# nothing here yet\n"),
    Bad("binary-file", "not UTF-8", raw=b"\x89PNG\r\n\x1a\n\x00\xff\xfe"),
    Bad("invalid-toml", "invalid TOML", "[metrics\nport = 1\n"),
    Bad("wrong-type", "metrics.port", '[metrics]\nport = "9000"\n'),
    Bad("unknown-key", "metrics.prot", "[metrics]\nprot = 9000\n"),
    # -- URLs by scheme
    Bad("jupiter-url-without-scheme", "jupiter.url", '[jupiter]\nurl = "127.0.0.1:18080"\n'),
    Bad(
        "ftp-rpc-url",
        "jupiter.launch.rpc_url",
        f'[jupiter.launch]\nrpc_url = "ftp://rpc.example.com/{TOKEN}"\n',
        secret=TOKEN,
    ),
    Bad(
        "ftp-execution-rpc-url",
        "execution.rpc_url",
        f'[execution]\nrpc_url = "ftp://rpc.example.com/?api-key={TOKEN}"\n',
        secret=TOKEN,
    ),
    Bad(
        "jito-endpoint-not-a-url",
        "landers.jito.endpoints[0]",
        '[landers.jito]\nendpoints = ["ny.mainnet.block-engine.jito.wtf"]\n',
    ),
    Bad(
        "tip-floor-url-not-http",
        "execution.tip.floor_url",
        f'[execution.tip]\nfloor_url = "ws://bundles.jito.wtf/tip?key={TOKEN}"\n',
        secret=TOKEN,
    ),
    Bad(
        "rpc-lander-url-without-host",
        "landers.rpc.endpoints[0]",
        '[landers.rpc]\nenabled = true\nendpoints = ["https:///v1"]\n',
    ),
    Bad(
        "releases-api-file-url",
        "jupiter.releases_api_url",
        '[jupiter]\nreleases_api_url = "file:///etc/passwd"\n',
    ),
    # -- integers by the range of the field that uses them
    Bad(
        "trade-size-above-u64",
        "risk.max_trade_size_lamports",
        f"[risk]\nmax_trade_size_lamports = {U64_PLUS_1}\n",
    ),
    Bad("sim-wallet-above-u64", "sim.wallet_lamports", f"[sim]\nwallet_lamports = {U64_PLUS_1}\n"),
    Bad(
        "size-beyond-the-profit-kernel",
        "strategy.blind.base_mints[0].trade_size_range.max",
        "[[strategy.blind.base_mints]]\n[strategy.blind.base_mints.trade_size_range]\n"
        f"max = {2**62 + 1}\n",
    ),
    Bad(
        "compute-units-beyond-a-transaction",
        "execution.compute_unit_limit_estimate",
        "[execution]\ncompute_unit_limit_estimate = 1400001\n",
    ),
    Bad(
        "fees-beyond-the-profit-kernel",
        "execution.compute_unit_price_micro_lamports",
        f"[execution]\ncompute_unit_price_micro_lamports = {2**64 - 1}\n",
    ),
    Bad("port-above-65535", "metrics.port", "[metrics]\nport = 70000\n"),
    Bad(
        "a-million-workers-per-ip",
        "network.workers_per_ip",
        "[network]\nworkers_per_ip = 1000000\n",
    ),
    Bad("negative-tip", "execution.tip.static_lamports", "[execution.tip]\nstatic_lamports = -1\n"),
    # -- numbers that are not finite
    Bad("nan-window", "risk.loss_window_s", "[risk]\nloss_window_s = nan\n"),
    Bad(
        "infinite-timeout",
        "jupiter.process.startup_timeout_s",
        "[jupiter.process]\nstartup_timeout_s = inf\n",
    ),
    # -- duplicates
    Bad(
        "duplicate-manual-ips",
        "network.manual_ips[1]",
        '[network]\nmanual_ips = ["127.0.0.1", "127.0.0.1"]\n',
    ),
    Bad(
        "duplicate-sim-source-ips",
        "sim.source_ips[1]",
        '[sim]\nsource_ips = ["127.0.0.2", "127.0.0.2"]\n',
    ),
    Bad(
        "duplicate-jito-endpoints",
        "landers.jito.endpoints[1]",
        '[landers.jito]\nendpoints = ["https://ny.jito.example", "https://ny.jito.example"]\n',
    ),
    Bad(
        "duplicate-base-mints",
        "strategy.blind.base_mints[1].mint",
        f'[[strategy.blind.base_mints]]\nmint = "{WSOL}"\n'
        f'[[strategy.blind.base_mints]]\nmint = "{WSOL}"\n',
    ),
    Bad(
        "duplicate-intermediate-mints",
        "strategy.blind.base_mints[0].intermediate_mints[1]",
        f'[[strategy.blind.base_mints]]\nintermediate_mints = ["{USDC}", "{USDC}"]\n',
    ),
    # -- formats
    Bad(
        "trial-quote-mint-abc",
        "jupiter.process.trial_quote.output_mint",
        '[jupiter.process.trial_quote]\noutput_mint = "abc"\n',
    ),
    Bad("non-loopback-sim-host", "sim.host", '[sim]\nhost = "0.0.0.0"\n'),
    Bad("manual-ip-not-an-ip", "network.manual_ips[0]", '[network]\nmanual_ips = ["eth0"]\n'),
    Bad("jupiter-host-not-an-ip", "jupiter.launch.host", '[jupiter.launch]\nhost = "999.1.1.1"\n'),
    Bad("child-env-name", "jupiter.launch.env.A=B", '[jupiter.launch.env]\n"A=B" = "1"\n'),
    # -- this machine: files that must exist, the keypair, ports, source IPs, paths
    Bad("missing-wallet", "wallet.keypair_path", '[wallet]\nkeypair_path = "$tmp/nope.json"\n'),
    Bad("open-keypair", "wallet.keypair_path", '[wallet]\nkeypair_path = "$tmp/open.json"\n'),
    Bad("not-a-keypair", "wallet.keypair_path", '[wallet]\nkeypair_path = "$tmp/notes.json"\n'),
    Bad("metrics-port-in-use", "metrics.port", env={"GALILEO_METRICS__PORT": "$busy"}),
    Bad(
        "jupiter-port-in-use", "jupiter.launch.port", env={"GALILEO_JUPITER__LAUNCH__PORT": "$busy"}
    ),
    Bad(
        "missing-intermediate-mints-file",
        "strategy.blind.base_mints[0].intermediate_mints_file",
        '[[strategy.blind.base_mints]]\nintermediate_mints_file = "$tmp/mints.txt"\n',
    ),
    Bad(
        "empty-intermediate-mints-file",
        "strategy.blind.base_mints[0].intermediate_mints_file",
        '[[strategy.blind.base_mints]]\nintermediate_mints_file = "$tmp/empty.txt"\n',
    ),
    Bad(
        "missing-jupiter-executable",
        "jupiter.path",
        '[jupiter]\nsource = "path"\npath = "$tmp/jupiter-swap-api"\n',
    ),
    Bad(
        "unbindable-source-ip",
        "network.manual_ips[0]",
        '[network]\nmanual_ips = ["192.0.2.1"]\n',  # TEST-NET-1: on no interface
    ),
    Bad("state-dir-is-a-file", "state_dir", 'state_dir = "$tmp/notes.json"\n'),
]

RUN_SUBSET = [
    "binary-file",
    "ftp-rpc-url",
    "sim-wallet-above-u64",
    "trial-quote-mint-abc",
    "open-keypair",
    "jupiter-port-in-use",
]
"""The failure classes, once each, through a real ``python -m galileo run``."""


@attrs.frozen
class Setup:
    """Where a case's configuration lives and what it runs with."""

    path: Path
    env: dict[str, str]


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        yield int(busy.getsockname()[1])


def prepare(case: Bad, tmp_path: Path, busy: int) -> Setup:
    """The case's file in ``tmp_path``, next to the files it points at, and an environment on
    free ports (so only the case's own problem can be found)."""
    write_keypair(tmp_path / "open.json", mode=0o644)
    (tmp_path / "notes.json").write_text("my wallet is in the safe\n")
    (tmp_path / "empty.txt").write_text("")
    values = {"tmp": str(tmp_path), "busy": str(busy)}
    path = tmp_path / "galileo.toml"
    if case.raw is not None:
        path.write_bytes(case.raw)
    else:
        path.write_text(Template(case.toml).substitute(values) or "[metrics]\nenabled = true\n")
    ports = {
        "metrics.port": "0",
        "sim.rpc_port": "0",
        "sim.jito_port": "0",
        "jupiter.launch.port": str(free_port()),
    }
    env = {
        "GALILEO_" + key.upper().replace(".", "__"): port
        for key, port in ports.items()
        if not sets(case.toml, key)  # the variable would win over the file's bad value
    }
    env.update({k: Template(v).substitute(values) for k, v in case.env.items()})
    return Setup(path, env)


def sets(toml: str, key: str) -> bool:
    """Whether the TOML text sets the dotted ``key``."""
    try:
        node: object = tomllib.loads(toml)
    except tomllib.TOMLDecodeError:
        return False
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def assert_refused(case: Bad, setup: Setup, code: int, stderr: str) -> None:
    lines = stderr.splitlines()
    assert code == 2, stderr
    assert "Traceback" not in stderr
    assert len(lines) == 1, stderr
    expected = f"{setup.path}: {case.names}: " if case.is_key else case.names
    assert lines[0].startswith(f"{setup.path}: ")
    assert expected in lines[0]
    if case.secret:
        assert case.secret not in stderr


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("GALILEO_"):
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.mark.parametrize("case", BAD_CONFIGS, ids=[c.id for c in BAD_CONFIGS])
def test_config_check_refuses_it_in_one_line_naming_the_key(
    case: Bad,
    tmp_path: Path,
    busy_port: int,
    environment: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    setup = prepare(case, tmp_path, busy_port)
    for name, value in setup.env.items():
        environment.setenv(name, value)
    code = main(["config", "check", str(setup.path)])
    assert_refused(case, setup, code, capsys.readouterr().err)


@pytest.mark.parametrize("case", BAD_CONFIGS, ids=[c.id for c in BAD_CONFIGS])
def test_galileo_run_refuses_it_before_starting_anything(
    case: Bad,
    tmp_path: Path,
    busy_port: int,
    environment: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    setup = prepare(case, tmp_path, busy_port)
    for name, value in setup.env.items():
        environment.setenv(name, value)
    # --duration bounds the run should a case ever be accepted: a failure, never a hang.
    code = main(["run", "--config", str(setup.path), "--duration", "0.1"])
    captured = capsys.readouterr()
    assert_refused(case, setup, code, captured.err)
    assert captured.out == ""  # nothing ran: no summary
    assert not (tmp_path / ".galileo").exists()


def test_a_configuration_that_can_run_passes_with_the_machine_checks(
    tmp_path: Path,
    busy_port: int,
    environment: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    good = Bad("good", "", '[wallet]\nkeypair_path = "$tmp/id.json"\n')
    write_keypair(tmp_path / "id.json")
    setup = prepare(good, tmp_path, busy_port)
    for name, value in setup.env.items():
        environment.setenv(name, value)
    assert main(["config", "check", str(setup.path)]) == 0
    assert capsys.readouterr().out == f"{setup.path}: ok\n"


def test_no_host_checks_checks_the_file_only(
    tmp_path: Path,
    busy_port: int,
    environment: pytest.MonkeyPatch,
) -> None:
    """For a file meant for another machine: its keypair and ports are that machine's."""
    case = next(c for c in BAD_CONFIGS if c.id == "missing-wallet")
    setup = prepare(case, tmp_path, busy_port)
    environment.setenv("GALILEO_METRICS__PORT", str(busy_port))
    assert main(["config", "check", "--no-host-checks", str(setup.path)]) == 0


def test_the_table_covers_thirty_bad_configurations_of_every_class() -> None:
    assert len(BAD_CONFIGS) >= 30
    assert len({c.id for c in BAD_CONFIGS}) == len(BAD_CONFIGS)
    assert set(RUN_SUBSET) <= {c.id for c in BAD_CONFIGS}


@pytest.mark.slow
def test_the_process_exits_2_with_one_line_for_each_class(tmp_path: Path, busy_port: int) -> None:
    """``python -m galileo run`` itself: the exit status, stderr and time of a real process,
    for one case of each class (started together: the machine has two cores)."""
    cases = [c for c in BAD_CONFIGS if c.id in RUN_SUBSET]
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("GALILEO_")}
    started = time.monotonic()
    running = []
    for case in cases:
        directory = tmp_path / case.id
        directory.mkdir()
        setup = prepare(case, directory, busy_port)
        process = subprocess.Popen(
            [sys.executable, "-m", "galileo", "run", "-c", str(setup.path), "--duration", "1"],
            cwd=directory,
            env={**base_env, **setup.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        running.append((case, setup, process))
    for case, setup, process in running:
        try:
            stdout, stderr = process.communicate(timeout=60)
        finally:
            process.kill()
        assert_refused(case, setup, process.returncode, stderr)
        assert stdout == ""
    elapsed = time.monotonic() - started
    print(f"{len(cases)} bad configurations refused by `galileo run` in {elapsed:.1f} s")
