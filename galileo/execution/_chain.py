"""Reading results back from the chain: a landed transaction's exact balance change
(``getTransaction`` meta) and dry-run simulation (``simulateTransaction``)."""

from __future__ import annotations

import base64
from typing import Any

import attrs
import trio
from solders.transaction import VersionedTransaction

from galileo._solana import WSOL_MINT
from galileo.landers import RpcCaller
from galileo.net import RpcError


@attrs.frozen
class BalanceChange:
    """What one transaction did to the payer: SOL lamports (fee, tip and rent included) and
    the base mint's token amount in the payer's token accounts, plus the fee it paid."""

    slot: int
    sol_lamports: int
    base_token: int
    fee: int
    err: Any

    def realised(self, base_mint: str) -> int:
        """The round trip's result in lamports: SOL change + wrapped-SOL change when the base
        is wrapped SOL (what ``WalletBalances.total_sol`` measures); for another base mint,
        the base token change alone (the SOL fees are then in ``sol_lamports``)."""
        if base_mint == WSOL_MINT:
            return self.sol_lamports + self.base_token
        return self.base_token


@attrs.frozen
class Simulation:
    err: Any
    units_consumed: int | None
    logs: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.err is None


def _token_total(balances: Any, owner: str, mint: str) -> int:
    total = 0
    for item in balances or ():
        if isinstance(item, dict) and item.get("owner") == owner and item.get("mint") == mint:
            total += int(item["uiTokenAmount"]["amount"])
    return total


class ChainReader:
    """``getTransaction`` / ``simulateTransaction`` over a JSON-RPC client."""

    def __init__(
        self,
        rpc: RpcCaller,
        *,
        commitment: str = "confirmed",
        retry_interval_s: float = 0.2,
    ) -> None:
        self.rpc = rpc
        self.commitment = commitment
        self.retry_interval_s = retry_interval_s

    async def balance_change(
        self, signature: str, *, base_mint: str, timeout_s: float
    ) -> BalanceChange | None:
        """The payer's balance change from ``signature``'s transaction meta; waits (polling)
        until the node has it, ``None`` if it did not within ``timeout_s``."""
        config = {
            "encoding": "base64",
            "commitment": self.commitment,
            "maxSupportedTransactionVersion": 0,
        }
        with trio.move_on_after(timeout_s):
            while True:
                try:
                    result = await self.rpc.call("getTransaction", [signature, config])
                except RpcError:
                    result = None
                if isinstance(result, dict) and isinstance(result.get("meta"), dict):
                    return _balance_change(result, base_mint)
                await trio.sleep(self.retry_interval_s)
        return None

    async def simulate(self, wire_base64: str, *, timeout_s: float) -> Simulation:
        """``simulateTransaction`` with signature verification (what a dry run can check)."""
        try:
            result = await self.rpc.call(
                "simulateTransaction",
                [
                    wire_base64,
                    {"encoding": "base64", "sigVerify": True, "commitment": "processed"},
                ],
                timeout_s=timeout_s,
            )
        except RpcError as err:
            return Simulation(err=f"rpc: {err.message}", units_consumed=None, logs=())
        value = result.get("value") if isinstance(result, dict) else None
        if not isinstance(value, dict):
            return Simulation(err="rpc: malformed result", units_consumed=None, logs=())
        units = value.get("unitsConsumed")
        return Simulation(
            err=value.get("err"),
            units_consumed=units if isinstance(units, int) else None,
            logs=tuple(str(line) for line in value.get("logs") or ()),
        )


def _balance_change(result: dict[str, Any], base_mint: str) -> BalanceChange:
    meta = result["meta"]
    encoded = result.get("transaction")
    keys: list[str] = []
    if isinstance(encoded, list) and encoded and isinstance(encoded[0], str):
        tx = VersionedTransaction.from_bytes(base64.b64decode(encoded[0]))
        keys = [str(k) for k in tx.message.account_keys]
    elif isinstance(encoded, dict):
        keys = [str(k) for k in encoded["message"]["accountKeys"]]
    loaded = meta.get("loadedAddresses") or {}
    keys += list(loaded.get("writable") or []) + list(loaded.get("readonly") or [])
    payer = keys[0]  # the fee payer is always the first account
    pre, post = meta["preBalances"], meta["postBalances"]
    return BalanceChange(
        slot=int(result.get("slot") or 0),
        sol_lamports=int(post[0]) - int(pre[0]),
        base_token=_token_total(meta.get("postTokenBalances"), payer, base_mint)
        - _token_total(meta.get("preTokenBalances"), payer, base_mint),
        fee=int(meta.get("fee") or 0),
        err=meta.get("err"),
    )
