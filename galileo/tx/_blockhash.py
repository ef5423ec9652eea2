"""The shared recent blockhash: one refresher task per process, read by every builder.

A blockhash is valid until the chain's block height passes its ``lastValidBlockHeight``
(about 150 blocks, ~60 s). The refresher fetches the latest blockhash together with the
current block height, and :meth:`BlockhashRefresher.current` estimates the block height now
from the trio clock (``slot_time_s`` per block). It refuses — raises
:class:`~galileo.tx.BlockhashStale` — when fewer than ``min_remaining_blocks`` are left, or
when the last successful fetch is older than ``max_age_s``, so nothing is ever signed with
an expired blockhash even if the RPC stops answering.
"""

from __future__ import annotations

import logging
from typing import Any

import attrs
import trio
from solders.hash import Hash

from galileo.net import JsonRpcClient, RpcError
from galileo.obs import Recorder
from galileo.tx._errors import BlockhashStale

_log = logging.getLogger("galileo.tx")


@attrs.frozen
class BlockhashInfo:
    """One fetched blockhash. ``block_height`` is the chain's height when it was fetched,
    ``fetched_at`` the trio clock then."""

    blockhash: Hash
    last_valid_block_height: int
    block_height: int
    context_slot: int
    fetched_at: float

    def estimated_height(self, now: float, slot_time_s: float) -> int:
        return self.block_height + max(0, int((now - self.fetched_at) / slot_time_s))


class BlockhashRefresher:
    """Keeps the latest blockhash fresh (``run`` in a nursery) and hands it out safely.

    ``rpc``: a :class:`galileo.net.JsonRpcClient` or an RPC URL. ``interval_s``: time
    between refreshes (``execution.blockhash_refresh_ms``). ``min_remaining_blocks``: refuse
    a blockhash that expires within this many blocks (a transaction needs time to land).
    """

    def __init__(
        self,
        rpc: JsonRpcClient | str,
        *,
        interval_s: float = 0.4,
        slot_time_s: float = 0.4,
        min_remaining_blocks: int = 20,
        max_age_s: float = 20.0,
        timeout_s: float = 2.0,
        recorder: Recorder | None = None,
    ) -> None:
        self._rpc = JsonRpcClient(rpc) if isinstance(rpc, str) else rpc
        self._owns_rpc = isinstance(rpc, str)
        self.interval_s = interval_s
        self.slot_time_s = slot_time_s
        self.min_remaining_blocks = min_remaining_blocks
        self.max_age_s = max_age_s
        self._timeout = timeout_s
        self._recorder = recorder if recorder is not None else Recorder()
        self._latest: BlockhashInfo | None = None
        self._fresh = trio.Event()
        self._refreshed = trio.Event()
        self.refreshes = 0
        self.failures = 0

    @property
    def latest(self) -> BlockhashInfo | None:
        """The last fetched blockhash, without any freshness check."""
        return self._latest

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Refresh every ``interval_s``; ready (``task_status.started()``) after the first
        successful fetch. Failures are logged and retried at the same pace."""
        started = False
        try:
            while True:
                ok = await self.refresh_once()
                if ok and not started:
                    started = True
                    task_status.started()
                await trio.sleep(self.interval_s)
        finally:
            if self._owns_rpc:
                with trio.CancelScope(shield=True):
                    await self._rpc.aclose()

    async def refresh_once(self) -> bool:
        """Fetch once; True if a blockhash was stored."""
        started = trio.current_time()
        try:
            blockhash_result, height = await self._rpc.batch(
                [
                    ("getLatestBlockhash", [{"commitment": "confirmed"}]),
                    ("getBlockHeight", [{"commitment": "confirmed"}]),
                ],
                timeout_s=self._timeout,
            )
            info = _parse(blockhash_result, height, fetched_at=trio.current_time())
        except RpcError as exc:
            self.failures += 1
            _log.warning(
                "blockhash refresh failed",
                extra={"fields": {"error": str(exc), "code": exc.code, "status": exc.status}},
            )
            return False
        self._recorder.observe("blockhash", trio.current_time() - started)
        latest = self._latest
        # A lagging RPC node may answer with an older blockhash: never go backwards.
        if latest is None or info.last_valid_block_height >= latest.last_valid_block_height:
            self._latest = info
        self.refreshes += 1
        self._fresh.set()
        self._refreshed.set()
        self._refreshed = trio.Event()
        return True

    def current(self) -> tuple[Hash, int]:
        """``(blockhash, last_valid_block_height)`` safe to sign with now, or raise
        :class:`BlockhashStale`."""
        info = self.current_info()
        return info.blockhash, info.last_valid_block_height

    def current_info(self) -> BlockhashInfo:
        info = self._latest
        if info is None:
            raise BlockhashStale("no blockhash fetched yet")
        now = trio.current_time()
        age = now - info.fetched_at
        if age > self.max_age_s:
            raise BlockhashStale(f"last successful refresh {age:.1f}s ago (> {self.max_age_s}s)")
        remaining = info.last_valid_block_height - info.estimated_height(now, self.slot_time_s)
        if remaining < self.min_remaining_blocks:
            raise BlockhashStale(
                f"blockhash expires in ~{remaining} blocks (< {self.min_remaining_blocks})"
            )
        return info

    async def wait_ready(self) -> None:
        """Wait until the first blockhash has been fetched."""
        await self._fresh.wait()

    async def wait_for_refresh(self, *, after: int) -> None:
        """Wait until more than ``after`` successful refreshes have happened (compare with
        :attr:`refreshes`)."""
        while self.refreshes <= after:
            await self._refreshed.wait()


def _parse(result: Any, height: Any, *, fetched_at: float) -> BlockhashInfo:
    try:
        value = result["value"]
        blockhash = Hash.from_string(value["blockhash"])
        last_valid = int(value["lastValidBlockHeight"])
        slot = int(result.get("context", {}).get("slot", 0))
        block_height = int(height)
    except (KeyError, TypeError, ValueError) as exc:
        raise RpcError(
            "getLatestBlockhash", f"unexpected result shape: {exc}", status=200
        ) from None
    return BlockhashInfo(blockhash, last_valid, block_height, slot, fetched_at)
