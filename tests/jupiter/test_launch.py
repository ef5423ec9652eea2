"""Launch command: every flag, validation, secret redaction, the merged market filter."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import attrs
import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

from galileo._config import Config, JupiterConfig, LaunchConfig, SimConfig
from galileo._httpserver import HttpServer, Request, Response
from galileo._secret import Secret
from galileo._solana import WSOL_MINT
from galileo.jupiter_binary import (
    LaunchError,
    MintFilterError,
    base_url_of,
    build_launch_command,
    executable_for,
    resolve_filter_mints,
)
from galileo.jupiter_binary._childlog import ChildLog
from galileo.jupiter_binary._launch import source_env

USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
BONK = "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263"
JUP = "JUPyiwrYJFskUPiHa7hkeR8VUtAeFoSYbKedZNsDvCN"
RAY = "4k3Dyjzvzp8eMZWUXbBCjEvwSkkk59S5iCNLY3QrkX6R"
RPC = "https://rpc.example.com/?api-key=sekret-rpc-key"
RPC2 = "https://rpc2.example.com/token-abcdef"
GRPC = "https://grpc.example.com:443/grpc-path-token"
XTOKEN = "x-token-0123456789"


def full_launch() -> LaunchConfig:
    return LaunchConfig(
        rpc_url=Secret(RPC),
        secondary_rpc_urls=[Secret(RPC2)],
        market_cache="https://cache.jup.ag/markets?v=4",
        market_mode="europa",
        yellowstone_grpc_endpoint=Secret(GRPC),
        yellowstone_grpc_x_token=Secret(XTOKEN),
        yellowstone_grpc_enable_ping=True,
        yellowstone_grpc_compression_encoding="zstd",
        snapshot_poll_interval_ms=250,
        allow_circular_arbitrage=True,
        dex_program_ids=["prog1", "prog2"],
        exclude_dex_program_ids=["prog3"],
        host="127.0.0.1",
        port=18123,
        metrics_port=18124,
        expose_quote_and_simulate=True,
        enable_new_dexes=True,
        enable_add_market=True,
        enable_tokens=True,
        total_thread_count=8,
        webserver_thread_count=4,
        update_thread_count=2,
        extra_args=["--enable-diagnostic"],
        env={"EXTRA_ENV": "1"},
    )


def pairs(argv: tuple[str, ...]) -> dict[str, str | None]:
    """--flag value / --switch → {flag: value | None}."""
    found: dict[str, str | None] = {}
    i = 0
    while i < len(argv):
        if argv[i].startswith("--"):
            if i + 1 < len(argv) and not argv[i + 1].startswith("--"):
                found[argv[i]] = argv[i + 1]
                i += 2
                continue
            found[argv[i]] = None
        i += 1
    return found


def test_every_flag_of_the_reference_table_is_generated() -> None:
    command = build_launch_command(
        full_launch(), executable=["/opt/jupiter-swap-api"], filter_mints=[WSOL_MINT, USDC]
    )

    assert command.argv[0] == "/opt/jupiter-swap-api"
    assert pairs(command.argv) == {
        "--market-cache": "https://cache.jup.ag/markets?v=4",
        "--market-mode": "europa",
        "--yellowstone-grpc-enable-ping": None,
        "--yellowstone-grpc-compression-encoding": "zstd",
        "--snapshot-poll-interval-ms": "250",
        "--allow-circular-arbitrage": None,
        "--dex-program-ids": "prog1,prog2",
        "--exclude-dex-program-ids": "prog3",
        "--filter-markets-with-mints": f"{WSOL_MINT},{USDC}",
        "--host": "127.0.0.1",
        "--port": "18123",
        "--metrics-port": "18124",
        "--expose-quote-and-simulate": None,
        "--enable-new-dexes": None,
        "--enable-add-market": None,
        "--enable-tokens": None,
        "--total-thread-count": "8",
        "--webserver-thread-count": "4",
        "--update-thread-count": "2",
        "--enable-diagnostic": None,
    }
    assert command.argv[-1] == "--enable-diagnostic"  # extra_args come last, verbatim
    # The secret flags travel as the environment variables the binary reads them from.
    assert command.env == {
        "RUST_LOG": "info",
        "RPC_URL": RPC,
        "SECONDARY_RPC_URLS": RPC2,
        "YELLOWSTONE_GRPC_ENDPOINT": GRPC,
        "YELLOWSTONE_GRPC_X_TOKEN": XTOKEN,
        "EXTRA_ENV": "1",
    }


def test_defaults_leave_out_what_the_binary_decides() -> None:
    command = build_launch_command(
        LaunchConfig(), executable=["jup"], default_rpc_url="http://127.0.0.1:18899"
    )
    flags = pairs(command.argv)

    assert flags["--rpc-url"] == "http://127.0.0.1:18899"
    assert flags["--host"] == "127.0.0.1"  # loopback, not the binary's 0.0.0.0
    assert flags["--market-mode"] == "remote"
    for absent in (
        "--yellowstone-grpc-endpoint",
        "--yellowstone-grpc-compression-encoding",
        "--snapshot-poll-interval-ms",
        "--metrics-port",
        "--total-thread-count",
        "--webserver-thread-count",
        "--filter-markets-with-mints",
        "--secondary-rpc-urls",
        "--market-cache",
    ):
        assert absent not in flags


def test_an_explicit_rpc_url_wins_over_the_default() -> None:
    command = build_launch_command(
        LaunchConfig(rpc_url=Secret(RPC)), executable=["jup"], default_rpc_url="http://sim"
    )
    assert command.env["RPC_URL"] == RPC
    assert "--rpc-url" not in command.argv


def test_webserver_threads_above_total_threads_are_refused() -> None:
    launch = LaunchConfig(total_thread_count=2, webserver_thread_count=3)
    with pytest.raises(LaunchError, match="webserver_thread_count: 3 > total_thread_count 2"):
        build_launch_command(launch, executable=["jup"], default_rpc_url="http://x")


def test_a_missing_rpc_url_is_refused() -> None:
    with pytest.raises(LaunchError, match=r"jupiter\.launch\.rpc_url: required"):
        build_launch_command(LaunchConfig(), executable=["jup"])


def test_display_redacts_every_secret() -> None:
    command = build_launch_command(full_launch(), executable=["jup"])
    shown = command.display()

    for secret in (RPC, RPC2, GRPC, XTOKEN, "sekret-rpc-key", "token-abcdef", "grpc-path-token"):
        assert secret not in shown
    assert "RPC_URL='https://rpc.example.com/***'" in shown
    assert "YELLOWSTONE_GRPC_X_TOKEN='***'" in shown
    assert "--host 127.0.0.1" in shown


@pytest.mark.parametrize("secrets_in_env", [True, False])
def test_secrets_never_go_on_the_command_line(secrets_in_env: bool) -> None:
    # ``ps`` shows every local user the command line; the environment is the owner's alone.
    # The old ``secrets_in_env = false`` no longer puts them back on it.
    command = build_launch_command(full_launch(), executable=["jup"], secrets_in_env=secrets_in_env)

    argv = " ".join(command.argv)
    for secret in (RPC, RPC2, GRPC, XTOKEN):
        assert secret not in argv
    assert command.redacted_env()["RPC_URL"] == "https://rpc.example.com/***"
    assert command.redacted_env()["YELLOWSTONE_GRPC_X_TOKEN"] == "***"


def test_launch_env_values_are_shown_masked_except_the_log_level() -> None:
    launch = LaunchConfig(
        rpc_url=Secret(RPC),
        env={"API_KEY": "launch-env-api-key", "RUST_LOG": "jupiter=debug", "SHORT": "ab"},
    )
    command = build_launch_command(launch, executable=["jup"])

    assert command.env["API_KEY"] == "launch-env-api-key"  # the child gets the real value
    shown = command.redacted_env()
    assert shown["API_KEY"] == "***"
    assert shown["SHORT"] == "***"
    assert shown["RUST_LOG"] == "jupiter=debug"
    assert "launch-env-api-key" not in command.display()


def test_the_child_log_masks_the_secrets_of_its_command(tmp_path: Path) -> None:
    launch = attrs.evolve(full_launch(), env={"API_KEY": "launch-env-api-key"})
    command = build_launch_command(launch, executable=["jup"])
    log = ChildLog(tmp_path / "jupiter.log", max_bytes=1 << 20, backups=1)
    log.set_secrets(command.secrets)

    log.feed(b"connecting to https://grpc.example.com:443/grpc-path-token\n")
    log.feed(b"x-token x-token-0123456789 key launch-env-api-key rpc sekret-rpc-key\n")
    log.close()

    text = (tmp_path / "jupiter.log").read_text()
    for secret in ("grpc-path-token", XTOKEN, "launch-env-api-key", "sekret-rpc-key"):
        assert secret not in text
    assert "https://grpc.example.com:443/***" in text


def test_base_url_uses_loopback_for_a_wildcard_host() -> None:
    assert base_url_of(LaunchConfig(host="0.0.0.0", port=8080)) == "http://127.0.0.1:8080"
    assert base_url_of(LaunchConfig(host="127.0.0.5", port=1)) == "http://127.0.0.5:1"


def test_every_source_uses_the_same_flags(tmp_path: Path) -> None:
    sim = Config(sim=SimConfig(rpc_port=18899))
    path = Config(jupiter=JupiterConfig(source="path", path="/opt/jup"))
    sim_exe, sim_version = executable_for(sim)
    path_exe, path_version = executable_for(path)
    assert path_version == "path"

    assert sim_exe == [sys.executable, "-m", "galileo.sim", "jupiter"]
    assert sim_version == "sim"
    assert path_exe == ["/opt/jup"]
    launch = LaunchConfig(rpc_url=Secret(RPC))
    a = build_launch_command(launch, executable=sim_exe)
    b = build_launch_command(launch, executable=path_exe)
    assert a.argv[len(sim_exe) :] == b.argv[1:]


# --- market filter -------------------------------------------------------------------------


async def test_filter_merges_inline_file_and_url_deduplicated_with_base_mints_first(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    async def handler(request: Request) -> Response:
        if request.path == "/mints":
            return Response.json([BONK, {"address": JUP}, "not-a-mint", USDC])
        return Response.json({"error": "nope"}, status=404)

    server = HttpServer(handler)
    await nursery.start(server.run)
    mints_file = tmp_path / "mints.txt"
    mints_file.write_text(f"# comment\n{USDC}\n\n{RAY}  # raydium\nbad line\n")
    launch = LaunchConfig(
        filter_markets_with_mints=[USDC, WSOL_MINT],
        filter_mints_files=[str(mints_file)],
        filter_mints_urls=[f"{server.url}/mints"],
    )

    mints = await resolve_filter_mints(launch, base_mints=[WSOL_MINT])

    assert mints == [WSOL_MINT, USDC, RAY, BONK, JUP]


async def test_filter_is_capped_but_always_keeps_the_base_mints() -> None:
    launch = LaunchConfig(filter_markets_with_mints=[USDC, BONK, JUP, RAY], max_filter_mints=3)

    assert await resolve_filter_mints(launch, base_mints=[WSOL_MINT]) == [WSOL_MINT, USDC, BONK]
    # Base mints are never cut, even when they alone exceed the cap.
    tiny = LaunchConfig(filter_markets_with_mints=[JUP], max_filter_mints=1)
    assert await resolve_filter_mints(tiny, base_mints=[WSOL_MINT, USDC]) == [WSOL_MINT, USDC]


async def test_no_supplied_mints_means_no_filter() -> None:
    assert await resolve_filter_mints(LaunchConfig(), base_mints=[WSOL_MINT]) == []


async def test_a_malformed_inline_mint_is_a_config_error() -> None:
    launch = LaunchConfig(filter_markets_with_mints=[USDC, "0OIl"])
    with pytest.raises(LaunchError, match=r"filter_markets_with_mints\[1\]"):
        await resolve_filter_mints(launch, base_mints=[WSOL_MINT])


async def test_unreadable_suppliers_raise_mint_filter_errors(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    async def handler(request: Request) -> Response:
        return Response.json({"error": "down"}, status=503)

    server = HttpServer(handler)
    await nursery.start(server.run)
    with pytest.raises(MintFilterError, match="No such file"):
        await resolve_filter_mints(
            LaunchConfig(filter_mints_files=[str(tmp_path / "missing.txt")]), base_mints=[]
        )
    with pytest.raises(MintFilterError, match="HTTP 503") as caught:
        await resolve_filter_mints(
            LaunchConfig(filter_mints_urls=[f"{server.url}/m?token=secret-in-url"]),
            base_mints=[],
        )
    assert "secret-in-url" not in str(caught.value)


_mint = st.sampled_from([WSOL_MINT, USDC, BONK, JUP, RAY])


@given(
    inline=st.lists(_mint, max_size=8),
    base=st.lists(_mint, min_size=1, max_size=3),
    cap=st.integers(min_value=1, max_value=6),
)
def test_filter_properties(inline: list[str], base: list[str], cap: int) -> None:
    launch = LaunchConfig(filter_markets_with_mints=inline, max_filter_mints=cap)
    mints = trio.run(lambda: resolve_filter_mints(launch, base_mints=base))
    if not inline:
        assert mints == []
        return
    unique_base = list(dict.fromkeys(base))
    assert mints[: len(unique_base)] == unique_base
    assert len(mints) == len(set(mints))
    assert len(mints) <= max(cap, len(unique_base))
    assert set(mints) <= set(inline) | set(base)


def test_the_sim_source_gets_its_world_settings_through_the_environment() -> None:
    sim = Config(sim=SimConfig(seed=42, startup_delay_s=1.5))
    env = source_env(sim)
    assert env["GALILEO_SIM_SEED"] == "42"
    assert env["GALILEO_SIM_STARTUP_DELAY_S"] == "1.5"
    assert json.loads(env["GALILEO_SIM_FAULTS"])["error_5xx_rate"] == 0.0
    assert source_env(Config(jupiter=JupiterConfig(source="path", path="/x"))) == {}

    launch = LaunchConfig(env={"GALILEO_SIM_SEED": "1"})
    command = build_launch_command(
        launch, executable=["jup"], default_rpc_url="http://127.0.0.1:1", extra_env=env
    )
    assert command.env["GALILEO_SIM_SEED"] == "1"  # the operator's launch.env wins
    assert "--rpc-url http://127.0.0.1:1 " in command.display()  # the sim RPC is no secret


def test_child_log_rotates_redacts_and_keeps_a_tail(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "jupiter.log"
    log = ChildLog(path, max_bytes=1024, backups=2, secrets=["hunter2-secret"])
    log.feed(b"token hunter2-secret here\npartial ")
    log.feed(b"line\n")
    for i in range(100):
        log.feed(f"line {i:03d} {'x' * 40}\n".encode())
    log.feed(b"again hunter2-secret\n")
    log.close()

    assert sorted(p.name for p in path.parent.iterdir()) == [
        "jupiter.log",
        "jupiter.log.1",
        "jupiter.log.2",
    ]
    everything = "".join(p.read_text() for p in path.parent.iterdir())
    assert "hunter2-secret" not in everything
    assert all(p.stat().st_size <= 1024 for p in path.parent.iterdir())
    assert list(log.tail)[-2].startswith("line 099")
    assert path.read_text().endswith("again ***\n")
    small = ChildLog(tmp_path / "small.log", max_bytes=4096, backups=0)
    small.feed(b"half ")
    small.feed(b"and half\nunterminated")
    small.close()
    assert (tmp_path / "small.log").read_text() == "half and half\nunterminated\n"
