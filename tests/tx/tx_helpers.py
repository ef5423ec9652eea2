"""Helpers: real opportunities from the world's /quote, and sending to its Jito face."""

from __future__ import annotations

import base64
import random
from typing import Any

import attrs
import httpx
from prometheus_client import CollectorRegistry
from worlds import SIZE, opportunity

from galileo._config import ExecutionConfig
from galileo.model import Opportunity
from galileo.net import JsonRpcClient
from galileo.obs import Recorder
from galileo.providers import JupiterClient
from galileo.sim import WSOL_MINT, World
from galileo.tx import AltCache, BlockhashRefresher, TxBuilder, TxMetrics, Wallet

__all__ = ["SIZE", "opportunity"]


def first_token(world: World) -> str:
    return next(m for m in world.market.tokens if m != WSOL_MINT)


async def profitable(jupiter: JupiterClient, config: ExecutionConfig, world: World) -> Opportunity:
    """Dislocate one pool of the first token and return the resulting opportunity."""
    mint = first_token(world)
    world.dislocate(world.pool(mint, "Raydium"), 300)
    found = await opportunity(jupiter, config, mint)
    assert isinstance(found, Opportunity), found
    return found


async def jito(world: World, method: str, params: list[Any], path: str = "/api/v1/bundles") -> Any:
    async with httpx.AsyncClient(trust_env=False) as client:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        response = await client.post(world.jito_url + path, json=body)
    return response.json()


async def send_bundle(world: World, wires: list[bytes]) -> Any:
    encoded = [base64.b64encode(w).decode() for w in wires]
    return await jito(world, "sendBundle", [encoded, {"encoding": "base64"}])


async def rpc(world: World, method: str, params: list[Any]) -> Any:
    async with httpx.AsyncClient(trust_env=False) as client:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        return (await client.post(world.rpc_url, json=body)).json()


@attrs.define
class Rig:
    """Everything a build needs, wired against one world."""

    world: World
    rpc: JsonRpcClient
    jupiter: JupiterClient
    wallet: Wallet
    blockhashes: BlockhashRefresher
    alts: AltCache
    registry: CollectorRegistry
    recorder: Recorder
    metrics: TxMetrics
    config: ExecutionConfig

    def builder(self, **overrides: object) -> TxBuilder:
        settings: dict[str, object] = {
            "wallet": self.wallet,
            "provider": self.jupiter,
            "blockhashes": self.blockhashes,
            "alts": self.alts,
            "recorder": self.recorder,
            "metrics": self.metrics,
            "rng": random.Random(1),
        }
        settings.update(overrides)
        return TxBuilder(self.config, **settings)  # type: ignore[arg-type]
