"""The world's processes: ``jupiter`` (the Jupiter face launched like the real binary, reading
the market from the world's RPC) and ``world`` (every face in one process)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

import attrs
import cattrs
import trio

from galileo._config import Config, SimConfig, SimFaultsConfig
from galileo._errors import ConfigError
from galileo.sim._constants import JITO_TIP_ACCOUNTS
from galileo.sim._loopback import ensure_loopback
from galileo.sim._world import World

_log = logging.getLogger("galileo.sim")

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
RPC_TIMEOUT_S = 5.0


# --- the Jupiter face as its own process -----------------------------------------------------


def _env_default(name: str, default: Any = None) -> Any:
    return os.environ.get(name, default)


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes")


def jupiter_parser() -> argparse.ArgumentParser:
    """The real ``jupiter-swap-api`` flags (unknown flags are an error, exit code 2)."""
    p = argparse.ArgumentParser(
        prog="python -m galileo.sim jupiter",
        description="Simulated jupiter-swap-api: same flags, market from the world's RPC.",
        allow_abbrev=False,
    )
    p.add_argument("--rpc-url", default=_env_default("RPC_URL"))
    p.add_argument("--secondary-rpc-urls", nargs="+", default=_split_env("SECONDARY_RPC_URLS"))
    p.add_argument("--market-cache", default=_env_default("MARKET_CACHE"))
    p.add_argument(
        "--market-mode",
        choices=("europa", "remote", "file"),
        default=_env_default("MARKET_MODE", "europa"),
    )
    # galileo passes these (secrets) through the environment, as the real binary reads them.
    p.add_argument(
        "-e", "--yellowstone-grpc-endpoint", default=_env_default("YELLOWSTONE_GRPC_ENDPOINT")
    )
    p.add_argument(
        "-x", "--yellowstone-grpc-x-token", default=_env_default("YELLOWSTONE_GRPC_X_TOKEN")
    )
    p.add_argument("--yellowstone-grpc-enable-ping", action="store_true")
    p.add_argument(
        "--yellowstone-grpc-compression-encoding", choices=("none", "gzip", "zstd"), default="gzip"
    )
    for name in (
        "connect-timeout-ms", "buffer-size", "http2-adaptive-window",
        "http2-keep-alive-interval-ms", "initial-connection-window-size",
        "initial-stream-window-size", "keep-alive-timeout-ms", "keep-alive-while-idle",
        "tcp-keepalive-ms", "tcp-nodelay", "timeout-ms",
    ):  # fmt: skip
        p.add_argument(f"--yellowstone-grpc-setting-{name}")
    p.add_argument(
        "--snapshot-poll-interval-ms",
        type=int,
        default=int(_env_default("SNAPSHOT_POLL_INTERVAL_MS", "200")),
    )
    p.add_argument("--enable-external-amm-loading", action="store_true")
    p.add_argument("--disable-swap-cache-loading", action="store_true")
    p.add_argument(
        "--allow-circular-arbitrage",
        action="store_true",
        default=_env_flag("ALLOW_CIRCULAR_ARBITRAGE"),
    )
    p.add_argument("--sentry-dsn")
    p.add_argument("--dex-program-ids", nargs="+", default=[])
    p.add_argument("--exclude-dex-program-ids", nargs="+", default=[])
    p.add_argument(
        "--filter-markets-with-mints",
        nargs="+",
        default=_split_env("FILTER_MARKETS_WITH_MINTS"),
    )
    p.add_argument("-H", "--host", default=_env_default("HOST", "0.0.0.0"))
    p.add_argument("-p", "--port", type=int, default=int(_env_default("PORT", "8080")))
    p.add_argument("--metrics-port", type=int)
    p.add_argument("-s", "--expose-quote-and-simulate", action="store_true")
    p.add_argument("--enable-deprecated-indexed-route-maps", action="store_true")
    p.add_argument("--enable-diagnostic", action="store_true")
    p.add_argument("--enable-add-market", action="store_true")
    p.add_argument("--enable-tokens", action="store_true", default=_env_flag("ENABLE_TOKENS"))
    p.add_argument("--enable-markets", action="store_true")
    p.add_argument("--enable-new-dexes", action="store_true")
    p.add_argument("--environment", default="production")
    p.add_argument("--total-thread-count", type=int)
    p.add_argument("--webserver-thread-count", type=int)
    p.add_argument("--update-thread-count", type=int)
    p.add_argument("--loki-url")
    p.add_argument("--loki-username")
    p.add_argument("--loki-password")
    p.add_argument("--loki-custom-labels")
    p.add_argument("--rtse-url")
    p.add_argument("--geyser-streaming-chunk-count", type=int)
    # Simulation-only knobs (not flags of the real binary).
    p.add_argument(
        "--sim-startup-delay-s",
        type=float,
        default=float(_env_default("GALILEO_SIM_STARTUP_DELAY_S", "0")),
        help="Seconds to wait before listening (the real binary needs minutes).",
    )
    p.add_argument(
        "--sim-faults",
        default=_env_default("GALILEO_SIM_FAULTS", ""),
        help="JSON object of sim.faults keys for this face (e.g. '{\"error_5xx_rate\": 0.1}').",
    )
    p.add_argument("--sim-seed", type=int, default=int(_env_default("GALILEO_SIM_SEED", "7")))
    return p


def _split_env(name: str) -> list[str]:
    value = os.environ.get(name, "")
    return [v for v in value.replace(",", " ").split() if v]


def _split_list(values: Sequence[str]) -> list[str]:
    """clap-style list flags: ``A,B`` or ``A B`` (or both)."""
    out: list[str] = []
    for value in values:
        out += [v for v in value.split(",") if v.strip()]
    return [v.strip() for v in out]


def run_jupiter(argv: Sequence[str]) -> int:
    args = jupiter_parser().parse_args(argv)
    if not args.rpc_url:
        print("error: --rpc-url (or RPC_URL) is required", file=sys.stderr)
        return EXIT_USAGE
    try:
        faults = (
            cattrs.structure(json.loads(args.sim_faults), SimFaultsConfig)
            if (args.sim_faults)
            else SimFaultsConfig()
        )
        ensure_loopback(args.rpc_url, "--rpc-url")
        cache = args.market_cache or args.rpc_url.rstrip("/") + "/sim/markets"
        if cache.startswith(("http://", "https://")):
            ensure_loopback(cache, "--market-cache")
    except (ConfigError, ValueError, cattrs.BaseValidationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    _configure_logging()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    result: int = trio.run(_jupiter_main, args, cache, faults)
    return result


async def _jupiter_main(args: argparse.Namespace, cache: str, faults: SimFaultsConfig) -> int:
    import httpx

    from galileo._httpserver import HttpServer
    from galileo.sim._faults import FaultInjector
    from galileo.sim._jupiter import JupiterFace, JupiterOptions
    from galileo.sim._market import Market
    from galileo.sim._remote import RemoteChain

    _log.info(
        "starting", extra={"fields": {"rpc_url": "<redacted>", "market_mode": args.market_mode}}
    )
    if args.sim_startup_delay_s > 0:
        await trio.sleep(args.sim_startup_delay_s)
    async with httpx.AsyncClient(timeout=RPC_TIMEOUT_S, trust_env=False) as client:
        try:
            with trio.fail_after(RPC_TIMEOUT_S * 2):
                if cache.startswith(("http://", "https://")):
                    response = await client.get(cache)
                    response.raise_for_status()
                    doc = response.json()
                else:
                    doc = json.loads(await trio.Path(cache).read_text())
        except (OSError, ValueError, httpx.HTTPError, trio.TooSlowError) as exc:
            print(f"error: could not load the market cache {cache}: {exc}", file=sys.stderr)
            return EXIT_FAILURE
        market = Market.from_cache(doc)
        loaded = len(market.pools)
        mints = _split_list(args.filter_markets_with_mints)
        if mints:
            market = market.filtered(mints)
        include = set(_split_list(args.dex_program_ids))
        exclude = set(_split_list(args.exclude_dex_program_ids))
        if include or exclude:
            pools = [
                p
                for p in market.pools
                if (not include or p.program_id in include) and p.program_id not in exclude
            ]
            market = Market(
                list(market.tokens.values()), pools, intermediate=market.intermediate_mints
            )
        print(f"Loaded {loaded} markets, kept {len(market.pools)} after filters", flush=True)
        chain = RemoteChain(args.rpc_url, client, market, doc)
        await chain.refresh()
        face = JupiterFace(
            market,
            chain,
            JupiterOptions(
                allow_circular_arbitrage=args.allow_circular_arbitrage,
                enable_tokens=args.enable_tokens,
            ),
        )
        scope = trio.CancelScope()
        injector = FaultInjector(
            faults,
            seed=args.sim_seed,
            face="jupiter",
            limited_paths={"/quote"},
            on_crash=scope.cancel,
        )
        server = HttpServer(
            injector.wrap(face.handle), host=args.host, port=args.port, name="jupiter"
        )
        with scope:
            async with trio.open_nursery() as nursery:
                await nursery.start(chain.poll, args.snapshot_poll_interval_ms / 1000)
                await nursery.start(server.run)
                if args.metrics_port:
                    await nursery.start(
                        _metrics_server, args.host, args.metrics_port, face, injector
                    )
                print(f"Server listening on http://{args.host}:{server.port}", flush=True)
                nursery.start_soon(_cancel_on_signal, nursery.cancel_scope)
        if injector.stats.crashed:
            print("error: crashed (sim fault crash_after_requests)", file=sys.stderr, flush=True)
            return EXIT_FAILURE
    return EXIT_OK


async def _metrics_server(
    host: str,
    port: int,
    face: Any,
    injector: Any,
    *,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    from galileo._httpserver import HttpServer, Request, Response

    async def handle(request: Request) -> Response:
        lines = [
            "# TYPE galileo_sim_jupiter_quotes_total counter",
            f"galileo_sim_jupiter_quotes_total {face.quotes_served}",
            "# TYPE galileo_sim_jupiter_requests_total counter",
        ]
        for ip, stats in sorted(injector.stats.by_ip.items()):
            for result, count in (("served", stats.served), ("rate_limited", stats.rate_limited)):
                lines.append(
                    f'galileo_sim_jupiter_requests_total{{ip="{ip}",result="{result}"}} {count}'
                )
        body = "\n".join(lines) + "\n"
        return Response.text(body, content_type="text/plain; version=0.0.4")

    await HttpServer(handle, host=host, port=port, name="jupiter-metrics").run(
        task_status=task_status
    )


# --- the whole world as one process ----------------------------------------------------------


def add_world_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, help="World seed (default: sim.seed).")
    p.add_argument("--config", help="galileo TOML config (default: built-in defaults).")
    p.add_argument("--jupiter-port", type=int, help="Jupiter face port (0 = any free).")
    p.add_argument("--rpc-port", type=int, help="Solana RPC face port (0 = any free).")
    p.add_argument("--jito-port", type=int, help="Jito face port (0 = any free).")
    p.add_argument(
        "--dflow-port", type=int, help="DFlow face port (0 = any free; default: sim.dflow_port)."
    )
    p.add_argument("--wallet-path", help="Where to write the wallet keypair.")
    p.add_argument(
        "--no-jupiter",
        action="store_true",
        help="Serve only RPC + Jito (run the Jupiter face as its own process).",
    )


def load_galileo_config(path: str | None) -> Config:
    try:
        from galileo._config_load import load_config
    except ImportError:
        if path:
            raise ConfigError("--config", "config loading is not available yet") from None
        return Config()
    config: Config = load_config(path)
    return config


def run_world(args: argparse.Namespace) -> int:
    try:
        config = load_galileo_config(args.config)
    except Exception as exc:  # a config error of any kind is a usage error
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    sim: SimConfig = config.sim
    if args.dflow_port is not None:
        sim = attrs.evolve(sim, dflow_port=args.dflow_port)
    try:
        ensure_loopback(f"http://{sim.host}", "sim.host")
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from galileo.obs import configure_logging

    # The world is a galileo command: same log formats and secret scrubbing as `run`.
    configure_logging(config.logging, secrets=config.secrets())
    jupiter_port = (
        args.jupiter_port if args.jupiter_port is not None else config.jupiter.launch.port
    )
    wallet_path = (
        args.wallet_path or sim.wallet_path or os.path.join(config.state_dir, "sim-wallet.json")
    )
    try:
        trio.run(
            _world_main,
            sim,
            args.seed,
            args.rpc_port,
            args.jito_port,
            jupiter_port,
            not args.no_jupiter,
            wallet_path,
        )
    except (OSError, BaseExceptionGroup) as exc:
        if isinstance(exc, BaseExceptionGroup) and exc.subgroup(OSError) is None:
            raise
        print(f"error: could not serve the world: {exc!r}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


async def _world_main(
    sim: SimConfig,
    seed: int | None,
    rpc_port: int | None,
    jito_port: int | None,
    jupiter_port: int,
    serve_jupiter: bool,
    wallet_path: str,
) -> None:
    world = World(
        sim,
        seed=seed,
        rpc_port=rpc_port,
        jito_port=jito_port,
        jupiter_port=jupiter_port,
        serve_jupiter=serve_jupiter,
        wallet_path=wallet_path,
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(world.run)
        if serve_jupiter:
            print(f"jupiter  {world.jupiter_url}", flush=True)
        print(f"dflow    {world.dflow_url}", flush=True)
        print(f"rpc      {world.rpc_url}", flush=True)
        print(f"jito     {world.jito_url}", flush=True)
        print(f"wallet   {world.wallet_path}  ({world.wallet_pubkey})", flush=True)
        print(f"tips     {', '.join(JITO_TIP_ACCOUNTS[:2])}, …", flush=True)
        print("ready (Ctrl-C to stop)", flush=True)
        nursery.start_soon(_cancel_on_signal, nursery.cancel_scope)
    print("stopped", flush=True)


async def _cancel_on_signal(scope: trio.CancelScope) -> None:
    """Ctrl-C / SIGTERM: stop serving cleanly (exit code 0)."""
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            _log.info("stopping", extra={"fields": {"signal": signal.Signals(signum).name}})
            scope.cancel()
            return


def _configure_logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")


def jupiter_child_env(config: SimConfig) -> dict[str, str]:
    """Environment for ``python -m galileo.sim jupiter`` carrying what the real binary's flags
    cannot: the startup delay, the Jupiter face's faults and the seed of its fault draws."""
    from galileo.sim._faults import faults_for

    faults = cattrs.unstructure(faults_for(config, "jupiter"))
    return {
        "GALILEO_SIM_STARTUP_DELAY_S": repr(config.startup_delay_s),
        "GALILEO_SIM_FAULTS": json.dumps(faults, separators=(",", ":")),
        "GALILEO_SIM_SEED": str(config.seed),
    }
