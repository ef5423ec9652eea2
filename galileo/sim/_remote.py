"""The Jupiter face's view of the chain when it runs as its own process: pool reserves come
from the world's RPC (vault token balances via getMultipleAccounts), polled like the real
binary's poll mode."""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import trio

from galileo._errors import GalileoError
from galileo.sim._constants import JITO_TIP_ACCOUNTS
from galileo.sim._market import Market

_log = logging.getLogger("galileo.sim")

RPC_DEADLINE_S = 5.0
BATCH = 100


class RemoteRpcError(GalileoError):
    """The world's RPC answered with an error or not at all."""


class RemoteChain:
    def __init__(
        self, rpc_url: str, client: httpx.AsyncClient, market: Market, cache: Mapping[str, Any]
    ) -> None:
        self.rpc_url = rpc_url
        self.client = client
        self.market = market
        self.slot = 0
        self._tables = [str(a) for a in cache.get("addressLookupTables", [])]
        self._tips = [str(a) for a in cache.get("tipAccounts", JITO_TIP_ACCOUNTS)]
        self._request_id = 0

    async def call(self, method: str, params: list[Any]) -> Any:
        self._request_id += 1
        body = {"jsonrpc": "2.0", "id": self._request_id, "method": method, "params": params}
        try:
            with trio.fail_after(RPC_DEADLINE_S):
                response = await self.client.post(self.rpc_url, json=body)
            doc = response.json()
        except (httpx.HTTPError, ValueError, trio.TooSlowError) as exc:
            raise RemoteRpcError(f"{method}: {exc!r}") from exc
        if "error" in doc:
            raise RemoteRpcError(f"{method}: {doc['error']}")
        return doc["result"]

    async def _accounts(self, keys: Sequence[str]) -> tuple[int, list[Any]]:
        values: list[Any] = []
        slot = self.slot
        for start in range(0, len(keys), BATCH):
            result = await self.call(
                "getMultipleAccounts",
                [list(keys[start : start + BATCH]), {"encoding": "base64"}],
            )
            slot = max(slot, int(result["context"]["slot"]))
            values += result["value"]
        return slot, values

    async def refresh(self) -> None:
        """Re-read every vault balance (token amount = bytes 64..72 of the account)."""
        vaults: list[str] = []
        for pool in self.market.pools:
            vaults += [pool.vault_a, pool.vault_b]
        slot, values = await self._accounts(vaults)
        amounts: dict[str, int] = {}
        for key, value in zip(vaults, values, strict=True):
            if value is None:
                continue
            data = base64.b64decode(value["data"][0])
            amounts[key] = int.from_bytes(data[64:72], "little")
        for pool in self.market.pools:
            pool.reserve_a = amounts.get(pool.vault_a, 0)
            pool.reserve_b = amounts.get(pool.vault_b, 0)
        self.slot = slot

    async def poll(
        self, interval_s: float, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        task_status.started()
        while True:
            await trio.sleep(interval_s)
            try:
                await self.refresh()
            except RemoteRpcError as exc:
                _log.warning("reserve poll failed", extra={"fields": {"error": str(exc)}})

    # --- ChainView ------------------------------------------------------------------------

    async def context_slot(self) -> int:
        return self.slot

    async def latest_blockhash(self) -> tuple[str, int]:
        result = await self.call("getLatestBlockhash", [{"commitment": "confirmed"}])
        value = result["value"]
        return str(value["blockhash"]), int(value["lastValidBlockHeight"])

    async def missing_accounts(self, pubkeys: Sequence[str]) -> set[str]:
        _, values = await self._accounts(list(pubkeys))
        return {k for k, v in zip(pubkeys, values, strict=True) if v is None}

    def lookup_tables(self) -> list[str]:
        return list(self._tables)

    def tip_accounts(self) -> Sequence[str]:
        return self._tips
