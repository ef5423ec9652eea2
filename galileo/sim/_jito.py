"""The Jito block-engine face: sendBundle (atomic), sendTransaction, bundle statuses, tip
accounts, and the per-source-IP-per-region rate limit (HTTP 429 with a JSON-RPC error)."""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Callable
from typing import Any

import trio
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from galileo._httpserver import Request, Response
from galileo.sim._chain import BundleRecord, Chain, TxRejected
from galileo.sim._constants import JITO_TIP_ACCOUNTS, MAX_PROCESSING_AGE_SLOTS, SYSTEM_PROGRAM_ID
from galileo.sim._faults import RateLimiter
from galileo.sim._rpc import RpcError, RpcFace, _config, _envelope, decode_wire

_log = logging.getLogger("galileo.sim")

MAX_BUNDLE_TRANSACTIONS = 5
MIN_TIP_LAMPORTS = 1000
_API = "/api/v1/"
_SYSTEM = Pubkey.from_string(SYSTEM_PROGRAM_ID)
_TIPS = frozenset(Pubkey.from_string(t) for t in JITO_TIP_ACCOUNTS)


def bundle_id(signatures: list[str]) -> str:
    """SHA-256 over the transactions' signatures (hex), like the block engine's ids."""
    digest = hashlib.sha256()
    for signature in signatures:
        digest.update(signature.encode())
    return digest.hexdigest()


def region_of(path: str) -> str | None:
    """``/api/v1/bundles`` -> ``""``; ``/ny/api/v1/bundles`` -> ``"ny"``; else ``None``."""
    index = path.find(_API)
    if index < 0:
        return None
    return path[:index].strip("/")


def tip_lamports(tx: VersionedTransaction) -> int:
    """Lamports sent to tip accounts by top-level System transfers."""
    message = tx.message
    keys = list(message.account_keys)
    total = 0
    for ix in message.instructions:
        if ix.program_id_index >= len(keys) or keys[ix.program_id_index] != _SYSTEM:
            continue
        data = bytes(ix.data)
        if len(data) == 12 and data[:4] == b"\x02\x00\x00\x00" and len(ix.accounts) >= 2:
            to = ix.accounts[1]
            if to < len(keys) and keys[to] in _TIPS:
                total += int.from_bytes(data[4:], "little")
    return total


class JitoFace:
    """JSON-RPC over ``/[<region>/]api/v1/...``. ``drop_rate`` is the dropped-bundle fault."""

    def __init__(
        self,
        chain: Chain,
        rpc: RpcFace,
        *,
        sync: Callable[[], None],
        rps_per_ip: float,
        drop_rate: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.chain = chain
        self.rpc = rpc
        self._sync = sync
        self.limiter = RateLimiter(rps_per_ip)
        self.drop_rate = drop_rate
        self.rng = random.Random(f"galileo-sim-jito:{seed}")
        self.bundles_received = 0

    async def handle(self, request: Request) -> Response:
        self._sync()
        region = region_of(request.path)
        if region is None:
            return Response.json({"error": "Not Found"}, status=404)
        if request.method != "POST":
            return Response.json({"error": "Method Not Allowed"}, status=405)
        key = (request.client_host, str(request.local_port), region)
        if not self.limiter.allow(key, trio.current_time()):
            return Response.json(
                _envelope(
                    None,
                    error={
                        "code": -32097,
                        "message": "Network congested. Endpoint is globally rate limited.",
                        "data": None,
                    },
                ),
                status=429,
            )
        try:
            doc = request.json()
        except ValueError:
            return Response.json(_envelope(None, error={"code": -32700, "message": "Parse error"}))
        if not isinstance(doc, dict) or not isinstance(doc.get("method"), str):
            return Response.json(
                _envelope(None, error={"code": -32600, "message": "Invalid request"})
            )
        request_id = doc.get("id")
        params = doc.get("params", [])
        if not isinstance(params, list):
            params = []
        headers: list[tuple[str, str]] = []
        try:
            result = self._dispatch(doc["method"], params, request, headers)
        except RpcError as err:
            return Response.json(_envelope(request_id, error=err.payload()))
        return Response.json(_envelope(request_id, result=result), headers=tuple(headers))

    def _dispatch(
        self, method: str, params: list[Any], request: Request, headers: list[tuple[str, str]]
    ) -> Any:
        if method == "getTipAccounts":
            return list(JITO_TIP_ACCOUNTS)
        if method == "sendBundle":
            return self.send_bundle(params)
        if method == "sendTransaction":
            if not params:
                raise RpcError(-32602, "Invalid params: missing transaction")
            raw = decode_wire(params[0], _config(params, 1).get("encoding", "base58"))
            if request.query.get("bundleOnly", "").lower() == "true":
                bid = self._submit_bundle([raw])
                headers.append(("x-bundle-id", bid))
                return str(VersionedTransaction.from_bytes(raw).signatures[0])
            return self.rpc.submit(raw, skip_preflight=True)
        if method == "getBundleStatuses":
            return self.get_bundle_statuses(params)
        if method == "getInflightBundleStatuses":
            return self.get_inflight_bundle_statuses(params)
        raise RpcError(-32601, "Method not found")

    def send_bundle(self, params: list[Any]) -> str:
        if not params or not isinstance(params[0], list) or not params[0]:
            raise RpcError(-32602, "Bundle must contain at least one transaction")
        if len(params[0]) > MAX_BUNDLE_TRANSACTIONS:
            raise RpcError(-32602, "Bundle exceeds the maximum of 5 transactions")
        encoding = _config(params, 1).get("encoding", "base58")
        raws = [decode_wire(item, encoding) for item in params[0]]
        return self._submit_bundle(raws)

    def _submit_bundle(self, raws: list[bytes]) -> str:
        try:
            txs = [VersionedTransaction.from_bytes(raw) for raw in raws]
        except ValueError as exc:
            raise RpcError(-32602, f"invalid transaction: {exc}") from exc
        signatures = [str(tx.signatures[0]) for tx in txs]
        tip = sum(tip_lamports(tx) for tx in txs)
        if tip < MIN_TIP_LAMPORTS:
            raise RpcError(
                -32602,
                "Bundle must write-lock at least one tip account and tip at least "
                f"{MIN_TIP_LAMPORTS} lamports",
            )
        bid = bundle_id(signatures)
        self.bundles_received += 1
        chain = self.chain
        record = BundleRecord(bid, tuple(signatures), chain.slot, "Pending")
        chain.bundles[bid] = record
        if self.rng.random() < self.drop_rate:
            _log.info("bundle dropped", extra={"fields": {"bundle_id": bid}})
            return bid
        try:
            outcomes, landed = chain.execute_bundle(raws)
        except TxRejected as err:
            record.state = "Invalid"
            record.err = err.reason
            return bid
        if landed:
            record.state = "Landed"
            record.landed_slot = chain.slot
        else:
            record.state = "Failed"
            record.err = outcomes[-1].err if outcomes else None
        return bid

    def _state(self, record: BundleRecord) -> str:
        # A dropped bundle is pending until its transactions could no longer land.
        if (
            record.state == "Pending"
            and self.chain.slot - record.received_slot > MAX_PROCESSING_AGE_SLOTS
        ):
            return "Failed"
        return record.state

    def get_bundle_statuses(self, params: list[Any]) -> dict[str, Any]:
        ids = _ids(params)
        values: list[Any] = []
        for bid in ids:
            record = self.chain.bundles.get(bid)
            if record is None or record.state != "Landed" or record.landed_slot is None:
                values.append(None)
                continue
            confirmation, _ = self.chain.confirmation(record.landed_slot)
            values.append(
                {
                    "bundle_id": bid,
                    "transactions": list(record.signatures),
                    "slot": record.landed_slot,
                    "confirmation_status": confirmation,
                    "confirmationStatus": confirmation,
                    "err": {"Ok": None},
                }
            )
        return {"context": {"slot": self.chain.slot}, "value": values}

    def get_inflight_bundle_statuses(self, params: list[Any]) -> dict[str, Any]:
        ids = _ids(params)
        values: list[Any] = []
        for bid in ids:
            record = self.chain.bundles.get(bid)
            if record is None:
                values.append({"bundle_id": bid, "status": "Invalid", "landed_slot": None})
                continue
            values.append(
                {"bundle_id": bid, "status": self._state(record), "landed_slot": record.landed_slot}
            )
        return {"context": {"slot": self.chain.slot}, "value": values}


def _ids(params: list[Any]) -> list[str]:
    if not params or not isinstance(params[0], list):
        raise RpcError(-32602, "Invalid params: expected a list of bundle ids")
    if len(params[0]) > 5:
        raise RpcError(-32602, "Too many bundle ids; max 5")
    return [str(b) for b in params[0]]
