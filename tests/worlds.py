"""The simulated world as the tests use it: a quiet world, its first token, an opportunity
quoted and evaluated like the engine does, and the whole bot's configuration around its
embedded world (``from tests.worlds import ...`` in every area)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import trio

from galileo._config import Config, ExecutionConfig
from galileo._solana import WSOL_MINT
from galileo.engine import Evaluator
from galileo.model import BatchOutcome, Opportunity, QuoteBatch
from galileo.providers import JupiterClient, QuoteOptions
from galileo.sim import World
from tests.ports import free_port

SIZE = 1_000_000_000


PREPARED_WSOL = 20_000_000_000
"""wSOL the wallet of :func:`quiet_world` starts with (beside its SOL)."""


def quiet_world(tmp_path: Path, **overrides: Any) -> World:
    """A world on free ports, its files under ``tmp_path``, with no spontaneous price moves
    and no Jito rate limit: each test moves prices and sets limits on purpose. Its wallet is
    prepared already (every token account, ``PREPARED_WSOL`` of wSOL) unless overridden
    (``wallet_wsol_lamports=0, wallet_token_accounts=False``: SOL only, like a fresh one)."""
    settings: dict[str, Any] = {
        "wallet_wsol_lamports": PREPARED_WSOL,
        "wallet_token_accounts": True,
        "seed": 7,
        "rpc_port": 0,
        "jito_port": 0,
        "jupiter_port": 0,
        "wallet_path": tmp_path / "wallet.json",
        "state_dir": str(tmp_path),
        "jito_rps_per_ip": 0.0,
        "drift_bps_per_s": 0,
        "dislocation_rate_per_s": 0.0,
    }
    settings.update(overrides)
    return World(**settings)


def quiet_config(tmp_path: Path, *, seed: int | None = None, trace: bool = False) -> Config:
    """The default configuration (the embedded simulated world, ``seed`` if given) on free
    ports, with state and log (and with ``trace``, the event trace) under ``tmp_path``."""
    config = Config()
    log = attrs.evolve(config.logging, file=str(tmp_path / "log.jsonl"))
    if trace:
        log = attrs.evolve(log, trace_file=str(tmp_path / "trace.jsonl"))
    sim = attrs.evolve(config.sim, rpc_port=0, jito_port=0)
    if seed is not None:
        sim = attrs.evolve(sim, seed=seed)
    launch = attrs.evolve(config.jupiter.launch, port=free_port())
    return attrs.evolve(
        config,
        state_dir=str(tmp_path / "state"),
        metrics=attrs.evolve(config.metrics, port=0),
        logging=log,
        sim=sim,
        jupiter=attrs.evolve(config.jupiter, launch=launch),
    )


def first_token(world: World) -> str:
    """The first token of the world's market other than wrapped SOL."""
    return next(m for m in world.market.tokens if m != WSOL_MINT)


def dislocated_token(world: World, bps: int = 300) -> str:
    """:func:`first_token` with its Raydium pool pushed ``bps``: a round trip through it pays."""
    mint = first_token(world)
    world.dislocate(world.pool(mint, "Raydium"), bps)
    return mint


async def opportunity(
    jupiter: JupiterClient,
    config: ExecutionConfig,
    mint: str,
    *,
    size: int = SIZE,
    min_profit: int = 0,
    batch_id: int = 1,
) -> Opportunity | BatchOutcome:
    """Quote base → mint → base on the world and evaluate it like the engine does."""
    options = QuoteOptions(slippage_bps=0)
    buy = await jupiter.quote(
        ip="", input_mint=WSOL_MINT, output_mint=mint, amount=size, options=options, leg="buy"
    )
    sell = await jupiter.quote(
        ip="",
        input_mint=mint,
        output_mint=WSOL_MINT,
        amount=buy.out_amount,
        options=options,
        leg="sell",
    )
    batch = QuoteBatch(
        batch_id=batch_id,
        base_mint=WSOL_MINT,
        mint=mint,
        size=size,
        lane=0,
        min_profit_lamports=min_profit,
    )
    evaluator = Evaluator(config, max_quote_age=5.0)
    return evaluator.evaluate(batch, buy, sell, ip="", now=trio.current_time())
