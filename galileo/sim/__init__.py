"""The simulated world: a Jupiter-compatible API, a DFlow-compatible swap API, a Solana RPC and
a Jito block engine over a real SVM (LiteSVM), with a seeded market and switchable faults. See
docs/sim.md.

In-process::

    async with galileo.sim.World(seed=7, rpc_port=0, jito_port=0, jupiter_port=0) as world:
        world.jupiter_url, world.dflow_url, world.rpc_url, world.jito_url, world.wallet_path
        world.balances().total_sol

As processes: ``python -m galileo sim`` (all faces) and ``python -m galileo.sim jupiter
--rpc-url URL ...`` (the Jupiter face alone, launched like the real binary).
"""

from __future__ import annotations

from galileo.sim._chain import BundleRecord, SignatureStatus, TxOutcome, TxRejected
from galileo.sim._constants import JITO_TIP_ACCOUNTS, JUPITER_PROGRAM_ID, WSOL_MINT
from galileo.sim._market import Hop, Market, MarketDynamics, Pool, QuoteParams, Route, Token
from galileo.sim._process import add_world_arguments, jupiter_child_env, run_world
from galileo.sim._world import WalletBalances, World

__all__ = [
    "JITO_TIP_ACCOUNTS",
    "JUPITER_PROGRAM_ID",
    "WSOL_MINT",
    "BundleRecord",
    "Hop",
    "Market",
    "MarketDynamics",
    "Pool",
    "QuoteParams",
    "Route",
    "SignatureStatus",
    "Token",
    "TxOutcome",
    "TxRejected",
    "WalletBalances",
    "World",
    "add_world_arguments",
    "jupiter_child_env",
    "run_world",
]
