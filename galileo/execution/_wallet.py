"""The wallet's total, read from the chain — or "unknown", never a wrong number.

A run's ``wallet_delta_lamports`` is the difference of two readings; a reading that quietly
took a failed call for "nothing held" (a 5xx on the token balance read as 0) made a 20 SOL
phantom delta. So the SOL balance and the base-token account are read in one
``getMultipleAccounts`` call — one answer, one slot, and an account that does not exist is a
``null`` in a successful answer, never an error — retried on any failure until a deadline,
and without an answer the total is ``None``.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

import trio

from galileo.landers import RpcCaller
from galileo.net import RpcError
from galileo.tx import associated_token_address

_log = logging.getLogger("galileo.execution")

WALLET_READ_DEADLINE_S = 10.0
_FIRST_BACKOFF_S = 0.1
_MAX_BACKOFF_S = 2.0
_CALL_TIMEOUT_S = 3.0
# SPL token account layout: mint (32 bytes), owner (32), amount (u64 little-endian).
_AMOUNT = slice(64, 72)


class _Unreadable(Exception):
    """An answer that is not what ``getMultipleAccounts`` returns (retried)."""


async def read_wallet_total(
    rpc: RpcCaller, owner: str, base_mint: str, *, deadline_s: float = WALLET_READ_DEADLINE_S
) -> int | None:
    """``owner``'s SOL lamports plus its ``base_mint`` associated token account's amount, at
    ``confirmed``; ``None`` when no complete answer came within ``deadline_s`` (retrying with
    a doubling backoff). With a wrapped-SOL base both terms are lamports."""
    ata = str(associated_token_address(owner, base_mint))
    params: list[Any] = [[owner, ata], {"encoding": "base64", "commitment": "confirmed"}]
    backoff = _FIRST_BACKOFF_S
    failures = 0
    last = ""
    with trio.move_on_after(deadline_s):
        while True:
            try:
                result = await rpc.call("getMultipleAccounts", params, timeout_s=_CALL_TIMEOUT_S)
                return _total(result)
            except (RpcError, _Unreadable) as exc:
                failures += 1
                last = str(exc)
            await trio.sleep(backoff)
            backoff = min(2 * backoff, _MAX_BACKOFF_S)
    _log.warning(
        "wallet balance unknown",
        extra={"fields": {"owner": owner, "failures": failures, "last_error": last}},
    )
    return None


def _total(result: Any) -> int:
    value = result.get("value") if isinstance(result, dict) else None
    if not isinstance(value, list) or len(value) != 2:
        raise _Unreadable("getMultipleAccounts: malformed answer")
    wallet, token = value
    return _lamports(wallet) + _token_amount(token)


def _lamports(account: Any) -> int:
    if account is None:  # never funded: holds nothing
        return 0
    lamports = account.get("lamports") if isinstance(account, dict) else None
    if type(lamports) is not int:
        raise _Unreadable("getMultipleAccounts: account without lamports")
    return lamports


def _token_amount(account: Any) -> int:
    if account is None:  # no token account yet: holds nothing
        return 0
    data = account.get("data") if isinstance(account, dict) else None
    try:
        raw = base64.b64decode(data[0], validate=True) if isinstance(data, list) else b""
    except (ValueError, TypeError):
        raw = b""
    if len(raw) < _AMOUNT.stop:
        raise _Unreadable("getMultipleAccounts: not a token account")
    return int.from_bytes(raw[_AMOUNT], "little")
