"""Helpers of the transaction tests: a profitable opportunity from the world's /quote, RPC
and Jito calls, and the :class:`Rig` a build needs."""

from __future__ import annotations

import base64
import random
from typing import Any

import attrs
import httpx
from prometheus_client import CollectorRegistry

from galileo._config import ExecutionConfig
from galileo.model import Opportunity
from galileo.net import JsonRpcClient
from galileo.obs import Recorder
from galileo.providers import JupiterClient
from galileo.sim import World
from galileo.tx import AltCache, BlockhashRefresher, TxBuilder, TxMetrics, Wallet
from tests.worlds import dislocated_token, opportunity


async def profitable(jupiter: JupiterClient, config: ExecutionConfig, world: World) -> Opportunity:
    """Dislocate one pool of the first token and return the resulting opportunity."""
    found = await opportunity(jupiter, config, dislocated_token(world))
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

    def builder(self, **overrides: Any) -> TxBuilder:
        settings: dict[str, Any] = {
            "wallet": self.wallet,
            "provider": self.jupiter,
            "blockhashes": self.blockhashes,
            "alts": self.alts,
            "recorder": self.recorder,
            "metrics": self.metrics,
            "rng": random.Random(1),
        }
        settings.update(overrides)
        return TxBuilder(self.config, **settings)
