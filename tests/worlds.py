"""The simulated world as the tests use it (importable from every test directory: pytest's
``pythonpath`` includes tests/)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio

from galileo._config import ExecutionConfig
from galileo._solana import WSOL_MINT
from galileo.engine import Evaluator
from galileo.model import BatchOutcome, Opportunity, QuoteBatch
from galileo.providers import JupiterClient, QuoteOptions
from galileo.sim import World

SIZE = 1_000_000_000


def quiet_world(tmp_path: Path, **overrides: Any) -> World:
    """A world on free ports, its files under ``tmp_path``, with no spontaneous price moves
    and no Jito rate limit: each test moves prices and sets limits on purpose."""
    settings: dict[str, Any] = {
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
