"""``World``: the market, the chain and the four faces in one trio task group."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import attrs
import trio
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from galileo._config import SimConfig
from galileo._httpserver import HttpServer, Response
from galileo._secret import private_dir
from galileo.sim._chain import Chain
from galileo.sim._constants import JITO_TIP_ACCOUNTS, WSOL_MINT, derived_keypair
from galileo.sim._dflow import DflowFace, dflow_faults, rate_limited_response
from galileo.sim._faults import FaultInjector, faults_for, retry_after_headers
from galileo.sim._jito import JitoFace
from galileo.sim._jupiter import JupiterFace, JupiterOptions
from galileo.sim._loopback import ensure_loopback
from galileo.sim._market import Market, MarketDynamics, Pool
from galileo.sim._program import ata
from galileo.sim._rpc import RpcFace

_log = logging.getLogger("galileo.sim")

# Keep-alive connections may idle this long (tests jump the clock by minutes).
IDLE_TIMEOUT_S = 900.0


@attrs.frozen
class WalletBalances:
    """The wallet as the VM sees it: SOL lamports and token amounts (by mint)."""

    lamports: int
    tokens: dict[str, int]

    @property
    def wsol(self) -> int:
        return self.tokens.get(WSOL_MINT, 0)

    @property
    def total_sol(self) -> int:
        """Lamports plus wrapped SOL: what a round trip in SOL changes."""
        return self.lamports + self.wsol


class _LocalChainView:
    """The aggregator faces' view of the chain when they run in the world's process."""

    def __init__(self, world: World) -> None:
        self._world = world

    async def context_slot(self) -> int:
        return self._world.chain.slot

    async def latest_blockhash(self) -> tuple[str, int]:
        chain = self._world.chain
        return str(chain.blockhash()), chain.last_valid_block_height()

    async def missing_accounts(self, pubkeys: Sequence[str]) -> set[str]:
        chain = self._world.chain
        return {k for k in pubkeys if chain.account(k) is None}

    def lookup_tables(self) -> list[str]:
        return [str(self._world.chain.alt_address)]

    def tip_accounts(self) -> Sequence[str]:
        return JITO_TIP_ACCOUNTS


def write_keypair(path: Path, keypair: Keypair) -> None:
    """Solana CLI JSON keypair file (64-byte array), mode 600, in a private directory."""
    private_dir(path.parent)
    data = json.dumps(list(bytes(keypair))).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.chmod(path, 0o600)


class World:
    """The simulated world. Use ``async with World(...) as world`` or start ``world.run`` in a
    nursery (``await nursery.start(world.run)``).

    Ports: ``None`` = the configured default, ``0`` = any free port. ``jupiter_port=None``
    with ``serve_jupiter=False`` serves only the RPC and Jito faces (the Jupiter face then
    runs as its own process: ``python -m galileo.sim jupiter --rpc-url <world.rpc_url>``).
    The DFlow face is always served, on ``sim.dflow_port`` (default: any free port).
    """

    def __init__(
        self,
        config: SimConfig | None = None,
        *,
        seed: int | None = None,
        host: str | None = None,
        rpc_port: int | None = None,
        jito_port: int | None = None,
        jupiter_port: int | None = None,
        serve_jupiter: bool = True,
        allow_circular_arbitrage: bool = True,
        wallet_path: str | os.PathLike[str] | None = None,
        state_dir: str | os.PathLike[str] = ".galileo",
        **overrides: Any,
    ) -> None:
        config = config or SimConfig()
        if seed is not None:
            overrides["seed"] = seed
        if host is not None:
            overrides["host"] = host
        if rpc_port is not None:
            overrides["rpc_port"] = rpc_port
        if jito_port is not None:
            overrides["jito_port"] = jito_port
        self.config = attrs.evolve(config, **overrides) if overrides else config
        cfg = self.config
        ensure_loopback(f"http://{cfg.host}", "sim.host")
        self.seed = cfg.seed
        self.jupiter_port = 18080 if jupiter_port is None else jupiter_port
        self.serve_jupiter = serve_jupiter
        self.allow_circular_arbitrage = allow_circular_arbitrage
        self.wallet = derived_keypair(cfg.seed, "wallet")
        if wallet_path is not None:
            self.wallet_path = Path(wallet_path)
        elif cfg.wallet_path:
            self.wallet_path = Path(cfg.wallet_path)
        else:
            self.wallet_path = Path(state_dir) / "sim-wallet.json"
        self.market = Market.generate(
            seed=cfg.seed, token_count=cfg.token_count, dexes=cfg.dexes, fee_bps=cfg.pool_fee_bps
        )
        self.dynamics = MarketDynamics(
            self.market,
            seed=cfg.seed,
            slot_s=cfg.slot_ms / 1000,
            drift_bps_per_s=cfg.drift_bps_per_s,
            dislocation_rate_per_s=cfg.dislocation_rate_per_s,
            dislocation_bps=cfg.dislocation_bps,
            dislocation_half_life_s=cfg.dislocation_half_life_s,
        )
        self.chain = Chain(
            self.market,
            self.dynamics,
            seed=cfg.seed,
            slot_ms=cfg.slot_ms,
            wallet=self.wallet,
            wallet_lamports=cfg.wallet_lamports,
            wallet_wsol=cfg.wallet_wsol_lamports,
            start_time=0.0,
            wallet_token_accounts=cfg.wallet_token_accounts,
        )
        self._started = False
        self.rpc = RpcFace(self.chain, sync=self.sync, market_cache=self.market_cache)
        jito_faults = faults_for(cfg, "jito")
        self.jito = JitoFace(
            self.chain,
            self.rpc,
            sync=self.sync,
            rps_per_ip=cfg.jito_rps_per_ip,
            drop_rate=jito_faults.drop_bundle_rate,
            seed=cfg.seed,
        )
        self.jupiter = JupiterFace(
            self.market,
            _LocalChainView(self),
            JupiterOptions(allow_circular_arbitrage=allow_circular_arbitrage),
            before_request=self.sync,
        )
        self.dflow = DflowFace(
            self.market,
            _LocalChainView(self),
            venues=cfg.dflow_venues(),
            before_request=self.sync,
        )
        self._scopes: dict[str, trio.CancelScope] = {}
        self.faults: dict[str, FaultInjector] = {}
        self._servers: dict[str, HttpServer] = {}
        self._nursery_cm: Any = None

    # --- lifecycle ------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[World] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve the faces until cancelled; reports ``self`` once every face listens."""
        cfg = self.config
        self.chain.start_time = trio.current_time()
        self._started = True
        write_keypair(self.wallet_path, self.wallet)
        faces: list[tuple[str, Any, int, frozenset[str]]] = [
            ("rpc", self.rpc.handle, cfg.rpc_port, frozenset()),
            ("jito", self.jito.handle, cfg.jito_port, frozenset()),
        ]
        if self.serve_jupiter:
            faces.append(("jupiter", self.jupiter.handle, self.jupiter_port, frozenset({"/quote"})))
        faces.append(("dflow", self.dflow.handle, cfg.dflow_port, frozenset({"/quote"})))
        async with trio.open_nursery() as nursery:
            for name, handler, port, limited in faces:
                scope = trio.CancelScope()
                self._scopes[name] = scope
                injector = FaultInjector(
                    dflow_faults(cfg) if name == "dflow" else faults_for(cfg, name),
                    seed=cfg.seed,
                    face=name,
                    limited_paths=limited,
                    limited_response=_LIMITED_RESPONSES.get(name),
                    on_crash=scope.cancel,
                )
                self.faults[name] = injector
                server = HttpServer(
                    injector.wrap(handler),
                    host=cfg.host,
                    port=port,
                    name=name,
                    idle_timeout=IDLE_TIMEOUT_S,
                )
                self._servers[name] = server
                await nursery.start(self._serve, server, scope)
            _log.info(
                "sim ready",
                extra={
                    "fields": {
                        "jupiter": self.jupiter_url if self.serve_jupiter else None,
                        "dflow": self.dflow_url,
                        "rpc": self.rpc_url,
                        "jito": self.jito_url,
                        "wallet": str(self.wallet_path),
                    }
                },
            )
            task_status.started(self)

    @staticmethod
    async def _serve(
        server: HttpServer,
        scope: trio.CancelScope,
        *,
        task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        with scope:
            async with trio.open_nursery() as inner:
                port = await inner.start(server.run)
                task_status.started(port)
        if scope.cancelled_caught:
            _log.warning("face stopped", extra={"fields": {"face": server.name}})

    async def __aenter__(self) -> World:
        self._nursery_cm = trio.open_nursery()
        nursery = await self._nursery_cm.__aenter__()
        try:
            await nursery.start(self.run)
        except BaseException as exc:
            nursery.cancel_scope.cancel()
            await self._nursery_cm.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        self._nursery = nursery
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        self._nursery.cancel_scope.cancel()
        result: bool | None = await self._nursery_cm.__aexit__(exc_type, exc, tb)
        return result

    # --- urls -----------------------------------------------------------------------------

    def _url(self, name: str) -> str:
        server = self._servers.get(name)
        if server is None:
            raise RuntimeError(f"the {name} face is not serving")
        return server.url

    @property
    def rpc_url(self) -> str:
        return self._url("rpc")

    @property
    def jito_url(self) -> str:
        return self._url("jito")

    @property
    def jupiter_url(self) -> str:
        return self._url("jupiter")

    @property
    def dflow_url(self) -> str:
        return self._url("dflow")

    @property
    def wallet_pubkey(self) -> Pubkey:
        return self.wallet.pubkey()

    # --- state ----------------------------------------------------------------------------

    def sync(self) -> None:
        """Advance the world to the current trio time (slots, blockhashes, prices)."""
        if self._started:
            self.chain.sync(trio.current_time())

    def market_cache(self) -> dict[str, Any]:
        doc = self.market.to_cache()
        doc["addressLookupTables"] = [str(self.chain.alt_address)]
        doc["tipAccounts"] = list(JITO_TIP_ACCOUNTS)
        return doc

    def balances(self, owner: Pubkey | None = None) -> WalletBalances:
        """SOL and token balances of ``owner`` (default: the world's wallet) on the VM."""
        self.sync()
        owner = owner or self.wallet.pubkey()
        tokens = {}
        for mint in self.market.tokens:
            amount = self.chain.token_amount(ata(owner, mint))
            if amount is not None:
                tokens[mint] = amount
        return WalletBalances(self.chain.balance(owner), tokens)

    def pools(self, mint: str | None = None) -> list[Pool]:
        self.sync()
        if mint is None:
            return list(self.market.pools)
        return [p for p in self.market.pools if mint in (p.mint_a, p.mint_b)]

    def pool(self, mint: str, label: str, other: str = WSOL_MINT) -> Pool:
        for pool in self.market.by_pair.get((mint, other), ()):
            if pool.label == label:
                return pool
        raise KeyError(f"no {label} pool for {mint}/{other}")

    def dislocate(self, pool: Pool, bps: float) -> None:
        """Push ``pool``'s price by ``bps`` now (it then decays like any dislocation)."""
        self.sync()
        self.dynamics.dislocate(pool, bps)
        self.chain.write_pool(pool)

    @property
    def slot(self) -> int:
        self.sync()
        return self.chain.slot


def _quote_429(retry_after_ms: int) -> Response:
    return Response.json(
        {"error": "Too many requests", "errorCode": "RATE_LIMITED"},
        status=429,
        headers=retry_after_headers(retry_after_ms),
    )


_LIMITED_RESPONSES = {"jupiter": _quote_429, "dflow": rate_limited_response}
"""The 429 each face's /quote limit answers with, in that API's shape."""
