"""The Jito block-engine face: sendBundle (atomic), sendTransaction, bundle statuses, tip
accounts, the per-source-IP-per-region rate limit (HTTP 429 with a JSON-RPC error), and the
tip-floor REST endpoint (percentiles of the tips of the bundles that landed in this world)."""

from __future__ import annotations

import datetime
import hashlib
import logging
import random
from collections import deque
from collections.abc import Callable
from typing import Any

import trio
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from galileo._httpserver import Request, Response
from galileo.sim._chain import BundleRecord, Chain, TxRejected
from galileo.sim._constants import JITO_TIP_ACCOUNTS, SYSTEM_PROGRAM_ID
from galileo.sim._faults import RateLimiter
from galileo.sim._rpc import RpcError, RpcFace, _config, _envelope, decode_wire

_log = logging.getLogger("galileo.sim")

MAX_BUNDLE_TRANSACTIONS = 5
MIN_TIP_LAMPORTS = 1000
_API = "/api/v1/"
TIP_FLOOR_PATH = "/api/v1/bundles/tip_floor"
#: Percentiles the tip floor publishes (``landed_tips_<p>th_percentile``).
TIP_FLOOR_PERCENTILES = (25, 50, 75, 95, 99)
#: The tip floor covers the bundles landed in the last this-many slots (~1 minute at 400 ms)…
TIP_FLOOR_WINDOW_SLOTS = 150
#: …and at most this many of them.
TIP_FLOOR_MAX_BUNDLES = 10_000
#: Smoothing of ``ema_landed_tips_50th_percentile``, applied once per landed bundle.
TIP_FLOOR_EMA_ALPHA = 0.1
#: The ``time`` field is this instant plus the world's age on the trio clock (deterministic).
_TIP_FLOOR_EPOCH = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
_LAMPORTS_PER_SOL = 1_000_000_000
_SYSTEM = Pubkey.from_string(SYSTEM_PROGRAM_ID)
_TIPS = frozenset(Pubkey.from_string(t) for t in JITO_TIP_ACCOUNTS)


def bundle_id(signatures: list[str]) -> str:
    """The block engine's bundle id: SHA-256 (hex) of the transactions' base58 signatures
    joined with ``","``."""
    return hashlib.sha256(",".join(signatures).encode()).hexdigest()


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


DROPPED_FAILED_AFTER_SLOTS = 2
"""Slots after which a dropped (pending) bundle reports ``Failed``."""


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
        #: ``(landed slot, tip lamports)`` of every landed bundle, oldest first (bounded).
        self.landed_tips: deque[tuple[int, int]] = deque(maxlen=TIP_FLOOR_MAX_BUNDLES)
        self._ema_p50: float = float(MIN_TIP_LAMPORTS)

    async def handle(self, request: Request) -> Response:
        self._sync()
        if request.path.endswith(TIP_FLOOR_PATH):
            # Real Jito serves this on another host (bundles.jito.wtf): no block-engine limit.
            if request.method != "GET":
                return Response.json({"error": "Method Not Allowed"}, status=405)
            return Response.json(self.tip_floor())
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
            self._record_landed_tip(chain.slot, tip)
        else:
            record.state = "Failed"
            record.err = outcomes[-1].err if outcomes else None
        return bid

    # --- tip floor ------------------------------------------------------------------------

    def _record_landed_tip(self, slot: int, tip: int) -> None:
        self.landed_tips.append((slot, tip))
        p50 = self.tip_floor_lamports()[50]
        self._ema_p50 += TIP_FLOOR_EMA_ALPHA * (p50 - self._ema_p50)

    def tip_floor_lamports(self) -> dict[int, int]:
        """Nearest-rank percentiles (lamports) of the tips of the bundles landed in the last
        ``TIP_FLOOR_WINDOW_SLOTS`` slots; ``MIN_TIP_LAMPORTS`` for each when none landed."""
        oldest = self.chain.slot - TIP_FLOOR_WINDOW_SLOTS
        tips = sorted(tip for slot, tip in self.landed_tips if slot > oldest)
        if not tips:
            return dict.fromkeys(TIP_FLOOR_PERCENTILES, MIN_TIP_LAMPORTS)
        n = len(tips)
        # Nearest rank: the smallest tip with at least p% of the tips at or below it.
        return {p: tips[max(0, -(-p * n // 100) - 1)] for p in TIP_FLOOR_PERCENTILES}

    def tip_floor(self) -> list[dict[str, Any]]:
        """``GET /api/v1/bundles/tip_floor``: the real endpoint's shape, values in SOL."""
        floor = self.tip_floor_lamports()
        age_s = max(0.0, trio.current_time() - self.chain.start_time)
        now = _TIP_FLOOR_EPOCH + datetime.timedelta(seconds=age_s)
        entry: dict[str, Any] = {"time": now.isoformat().replace("+00:00", "Z")}
        for p in TIP_FLOOR_PERCENTILES:
            entry[f"landed_tips_{p}th_percentile"] = floor[p] / _LAMPORTS_PER_SOL
        entry["ema_landed_tips_50th_percentile"] = round(self._ema_p50) / _LAMPORTS_PER_SOL
        return [entry]

    def _state(self, record: BundleRecord) -> str:
        # A dropped bundle lost the auction of the slot it was sent for: once that slot and
        # the next have passed, every region has marked it failed (Jito's "Failed: all regions
        # that received the bundle marked it failed"), long before its blockhash expires.
        if (
            record.state == "Pending"
            and self.chain.slot - record.received_slot > DROPPED_FAILED_AFTER_SLOTS
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
