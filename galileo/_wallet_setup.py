"""What the wallet must hold before galileo trades, worked out from the configuration, and
the startup step that makes it so (``galileo run``, ``galileo wallet prepare``).

The mints are those the routes need: every base mint, its intermediate mints as the strategy
resolves them (the configured ones, else every token the API lists) and
``wallet.extra_mints``. The wSOL target is ``wallet.wrap_sol_target_lamports``, or by default
the largest trade size of the wrapped-SOL base mint (its jitter included) — what one round
trip spends from the wSOL account. See docs/wallet.md.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

import attrs
import trio

from galileo._config import Config
from galileo._errors import ConfigError, GalileoError
from galileo._solana import WSOL_MINT
from galileo.net import JsonRpcClient
from galileo.strategy import BlindStrategy, needs_token_list, trade_sizes
from galileo.tx import Wallet, WalletPlan, WalletPrep, prepare_wallet, unwrap_sol

_log = logging.getLogger("galileo.wallet")

TOKENS_TIMEOUT_S = 10.0
"""How long the API's token list may take (then only the configured mints are prepared)."""


class TokenLister(Protocol):
    """Where the mints the API routes come from (``JupiterClient.tokens``)."""

    async def tokens(self, *, ip: str = "", deadline: float | None = None) -> list[str]: ...


def wallet_plan(config: Config, available_mints: Sequence[str] = ()) -> WalletPlan:
    """The plan for ``config``; ``available_mints`` (the API's /tokens) stand in for the
    intermediate mints of a base mint that lists none."""
    blind = config.strategy.blind
    mints = [base.mint for base in blind.base_mints]
    try:
        plans = BlindStrategy.from_config(
            blind,
            default_min_profit_lamports=config.risk.min_profit_lamports,
            available_mints=available_mints,
        ).plans
    except ConfigError:  # no base mint has mints yet (the token list was unavailable)
        plans = []
    for plan in plans:
        mints.extend(plan.mints)
    mints.extend(config.wallet.extra_mints)
    wallet, execution = config.wallet, config.execution
    return WalletPlan(
        mints=tuple(dict.fromkeys(mints)),
        create_accounts=execution.create_token_accounts,
        wrap=wallet.wrap_sol,
        wrap_target_lamports=wrap_target(config) if wallet.wrap_sol else 0,
        sol_floor_lamports=wallet.sol_floor_lamports,
        max_new_accounts=wallet.max_new_token_accounts,
        cu_price=execution.compute_unit_price_micro_lamports,
        lamports_per_signature=execution.lamports_per_signature,
    )


def wrap_target(config: Config) -> int:
    """``wallet.wrap_sol_target_lamports``, or the largest wrapped-SOL trade size with its
    jitter (rounded up), capped by ``risk.max_trade_size_lamports``; 0 without such a base."""
    if config.wallet.wrap_sol_target_lamports:
        return config.wallet.wrap_sol_target_lamports
    largest = 0
    for base in config.strategy.blind.base_mints:
        if base.mint != WSOL_MINT:
            continue
        size_range = base.trade_size_range
        top = max(trade_sizes(size_range), default=0)
        largest = max(largest, -(-top * (10_000 + size_range.jitter_bps) // 10_000))
    return min(largest, config.risk.max_trade_size_lamports)


async def api_mints(config: Config, tokens: TokenLister | None, *, ip: str = "") -> list[str]:
    """The API's token list when some base mint lists no intermediate mints (else nothing to
    ask); empty, with a warning, when it cannot be read."""
    if tokens is None or not needs_token_list(config.strategy.blind):
        return []
    try:
        return await tokens.tokens(ip=ip, deadline=trio.current_time() + TOKENS_TIMEOUT_S)
    except (GalileoError, OSError) as exc:
        _log.warning(
            "token list unavailable: preparing the configured mints only",
            extra={"fields": {"error": str(exc)}},
        )
        return []


async def prepare_for_run(
    config: Config,
    rpc: JsonRpcClient,
    wallet: Wallet,
    *,
    tokens: TokenLister | None = None,
    ip: str = "",
    dry_run: bool = False,
) -> WalletPrep:
    """The startup step: the plan for ``config`` carried out on ``wallet`` (a dry run only
    reads and reports: it sends nothing)."""
    plan = wallet_plan(config, await api_mints(config, tokens, ip=ip))
    if dry_run:
        plan = attrs.evolve(plan, create_accounts=False, wrap=False)
    poll_s = config.sim.slot_ms / 1000 if config.sim.enabled else 0.5
    return await prepare_wallet(rpc, wallet, plan, poll_interval_s=poll_s)


async def unwrap_at_exit(
    config: Config, rpc: JsonRpcClient, wallet: Wallet, *, dry_run: bool = False
) -> int | None:
    """With ``wallet.unwrap_on_exit`` (and not a dry run): close the wSOL account; the
    lamports unwrapped. None when not asked, or when it failed (logged: the run is over)."""
    if not config.wallet.unwrap_on_exit or dry_run:
        return None
    try:
        return await unwrap_sol(
            rpc, wallet, cu_price=config.execution.compute_unit_price_micro_lamports
        )
    except GalileoError as exc:
        _log.error("unwrap at exit failed", extra={"fields": {"error": str(exc)}})
        return None
