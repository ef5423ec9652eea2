"""Typed RPC reads of the transaction area over the shared :class:`galileo.net.JsonRpcClient`:
``getMultipleAccounts`` decoded to :class:`AccountData`."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from galileo.net import JsonRpcClient, RpcError

MAX_ACCOUNTS_PER_CALL = 100


class AccountData:
    """One account as read over RPC."""

    __slots__ = ("data", "lamports", "owner")

    def __init__(self, owner: str, lamports: int, data: bytes) -> None:
        self.owner = owner
        self.lamports = lamports
        self.data = data


async def get_multiple_accounts(
    rpc: JsonRpcClient, addresses: Sequence[str], *, timeout_s: float | None = None
) -> list[AccountData | None]:
    """``getMultipleAccounts`` (base64, ≤ 100 per call): data + owner, or None per address.
    Raises :class:`galileo.net.RpcError`."""
    out: list[AccountData | None] = []
    for start in range(0, len(addresses), MAX_ACCOUNTS_PER_CALL):
        chunk = list(addresses[start : start + MAX_ACCOUNTS_PER_CALL])
        result = await rpc.call(
            "getMultipleAccounts",
            [chunk, {"encoding": "base64", "commitment": "confirmed"}],
            timeout_s=timeout_s,
        )
        values = result.get("value") if isinstance(result, dict) else None
        if not isinstance(values, list) or len(values) != len(chunk):
            raise RpcError("getMultipleAccounts", "unexpected result shape", status=200)
        out.extend(_account(v) for v in values)
    return out


def _account(value: Any) -> AccountData | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise RpcError("getMultipleAccounts", "account is not an object", status=200)
    raw = value.get("data")
    if not (isinstance(raw, list) and raw and isinstance(raw[0], str)):
        raise RpcError("getMultipleAccounts", "account data is not base64", status=200)
    try:
        data = base64.b64decode(raw[0], validate=True)
    except ValueError:
        raise RpcError("getMultipleAccounts", "account data is not base64", status=200) from None
    return AccountData(str(value.get("owner", "")), int(value.get("lamports", 0)), data)
