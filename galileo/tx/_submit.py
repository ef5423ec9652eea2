"""The wallet's own small transactions (token-account creation, wrapping, unwrapping): packed
into as few transactions as fit the packet, sent through the RPC with preflight, and waited
for until they reach a commitment. Not the hot path: these run at startup or on command."""

from __future__ import annotations

import base64
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Literal, ParamSpec, TypeVar

import trio
from solders.compute_budget import set_compute_unit_price
from solders.hash import Hash
from solders.instruction import Instruction
from solders.message import MessageV0
from solders.transaction import VersionedTransaction

from galileo.net import JsonRpcClient, RpcError
from galileo.tx._assemble import MAX_COMPUTE_UNIT_LIMIT, PACKET_DATA_SIZE
from galileo.tx._errors import TxError
from galileo.tx._wallet import Wallet

_log = logging.getLogger("galileo.tx")

Commitment = Literal["processed", "confirmed", "finalized"]
_LEVELS = {"processed": 0, "confirmed": 1, "finalized": 2}
RETRY_DEADLINE_S = 30.0
"""How long a read or a send keeps retrying an RPC that fails in transit (5xx, a reset, a
timeout); an answer that is an error is not retried."""
_FIRST_BACKOFF_S = 0.1
_MAX_BACKOFF_S = 2.0
P = ParamSpec("P")
T = TypeVar("T")


class WalletTxError(TxError):
    """A wallet transaction failed on chain, or did not reach its commitment in time."""


def fee_bound(transactions: int, *, lamports_per_signature: int, cu_price: int) -> int:
    """The most ``transactions`` one-signature wallet transactions can cost: the base fee
    plus the priority fee at the largest compute-unit limit (they set no limit of their own)."""
    priority = -(-MAX_COMPUTE_UNIT_LIMIT * cu_price // 1_000_000)
    return transactions * (lamports_per_signature + priority)


def _in_transit(exc: RpcError) -> bool:
    """The call failed on its way (no JSON-RPC answer): trying again may succeed."""
    return exc.code is None


async def with_retries(fn: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """``await fn(*args, **kwargs)``, tried again with a doubling backoff while it fails in
    transit, for up to ``RETRY_DEADLINE_S`` (then the last failure is raised). Only for calls
    that are safe to repeat (reads)."""
    backoff = _FIRST_BACKOFF_S
    deadline = trio.current_time() + RETRY_DEADLINE_S
    while True:
        try:
            return await fn(*args, **kwargs)
        except RpcError as exc:
            if not _in_transit(exc) or trio.current_time() + backoff > deadline:
                raise
            _log.debug("rpc retry", extra={"fields": {"error": str(exc)}})
        await trio.sleep(backoff)
        backoff = min(2 * backoff, _MAX_BACKOFF_S)


async def latest_blockhash(rpc: JsonRpcClient) -> Hash:
    result = await with_retries(rpc.call, "getLatestBlockhash", [{"commitment": "confirmed"}])
    try:
        return Hash.from_string(result["value"]["blockhash"])
    except (KeyError, TypeError, ValueError) as exc:
        raise RpcError("getLatestBlockhash", f"unexpected result: {exc}", status=200) from None


def pack(
    wallet: Wallet,
    groups: Sequence[Sequence[Instruction]],
    blockhash: Hash,
    *,
    cu_price: int = 0,
) -> list[VersionedTransaction]:
    """Signed transactions holding ``groups`` in order, as many groups to a transaction as
    fit ``PACKET_DATA_SIZE`` (a group is never split). Raises :class:`WalletTxError` if one
    group alone does not fit."""
    prefix = [set_compute_unit_price(cu_price)] if cu_price else []
    out: list[VersionedTransaction] = []
    current: list[Instruction] = []
    for group in groups:
        candidate = [*current, *group]
        tx = _signed(wallet, [*prefix, *candidate], blockhash)
        if len(bytes(tx)) <= PACKET_DATA_SIZE:
            current = candidate
            continue
        if not current:
            raise WalletTxError(f"one wallet instruction group exceeds {PACKET_DATA_SIZE} bytes")
        out.append(_signed(wallet, [*prefix, *current], blockhash))
        current = list(group)
        if len(bytes(_signed(wallet, [*prefix, *current], blockhash))) > PACKET_DATA_SIZE:
            raise WalletTxError(f"one wallet instruction group exceeds {PACKET_DATA_SIZE} bytes")
    if current:
        out.append(_signed(wallet, [*prefix, *current], blockhash))
    return out


def _signed(wallet: Wallet, ixs: Sequence[Instruction], blockhash: Hash) -> VersionedTransaction:
    message = MessageV0.try_compile(wallet.pubkey, list(ixs), [], blockhash)
    return VersionedTransaction(message, [wallet.keypair])


async def send_and_confirm(
    rpc: JsonRpcClient,
    transactions: Sequence[VersionedTransaction],
    *,
    what: str,
    commitment: Commitment = "confirmed",
    poll_interval_s: float = 0.5,
    timeout_s: float = 60.0,
) -> list[str]:
    """Send each transaction (preflight on) and wait until every one reaches ``commitment``;
    their signatures. Raises :class:`WalletTxError` (failed, or not confirmed within
    ``timeout_s``), :class:`~galileo.net.RpcError`."""
    signatures: list[str] = []
    for tx in transactions:
        await with_retries(_send, rpc, tx)
        signature = str(tx.signatures[0])
        signatures.append(signature)
        _log.info("wallet transaction sent", extra={"fields": {"what": what, "tx": signature}})
    pending = list(signatures)
    with trio.move_on_after(timeout_s):
        while pending:
            try:
                result = await rpc.call("getSignatureStatuses", [pending])
            except RpcError as exc:  # a status read that failed: read again
                _log.debug("status read failed", extra={"fields": {"error": str(exc)}})
                result = None
            statuses = result.get("value") if isinstance(result, dict) else None
            for signature, status in zip(list(pending), statuses or [], strict=False):
                if not isinstance(status, dict):
                    continue
                if status.get("err") is not None:
                    raise WalletTxError(f"{what}: transaction {signature} failed: {status['err']}")
                if _LEVELS.get(status.get("confirmationStatus") or "", -1) >= _LEVELS[commitment]:
                    pending.remove(signature)
            if pending:
                await trio.sleep(poll_interval_s)
    if pending:
        raise WalletTxError(
            f"{what}: {len(pending)} transaction(s) not {commitment} within {timeout_s:g} s "
            f"({', '.join(pending)}); run it again: it is idempotent"
        )
    return signatures


async def _send(rpc: JsonRpcClient, tx: VersionedTransaction) -> None:
    """Send the signed bytes; sending them again is harmless (one signature lands once), so an
    answer that they landed already counts as sent."""
    encoded = base64.b64encode(bytes(tx)).decode("ascii")
    try:
        await rpc.call("sendTransaction", [encoded, {"encoding": "base64"}])
    except RpcError as exc:
        if exc.code is not None and "already been processed" in f"{exc.message} {exc.data}":
            return
        raise
