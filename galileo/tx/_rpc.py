"""A minimal Solana JSON-RPC client over httpx for the transaction area (blockhashes,
lookup tables, token accounts). Every call has a deadline."""

from __future__ import annotations

import base64
import itertools
from collections.abc import Sequence
from typing import Any

import httpx
import trio

from galileo.tx._errors import RpcError, RpcTimeout

DEFAULT_TIMEOUT_S = 2.0


class SolanaRpc:
    """JSON-RPC 2.0 over one ``httpx.AsyncClient`` (pass one bound to a source IP, e.g. from
    :class:`galileo.net.HttpxClients`, or let it make its own; close it with :meth:`aclose`).

    ``url`` is a secret in the config (it may carry an API token): it is never logged.
    """

    def __init__(
        self,
        url: str,
        *,
        client: httpx.AsyncClient | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self._url = url
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(trust_env=False)
        self._timeout = timeout_s
        self._ids = itertools.count(1)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def call(
        self, method: str, params: Sequence[Any] = (), *, timeout_s: float | None = None
    ) -> Any:
        """One call; returns ``result`` or raises :class:`RpcError` / :class:`RpcTimeout`."""
        (result,) = await self.batch([(method, params)], timeout_s=timeout_s)
        return result

    async def batch(
        self, calls: Sequence[tuple[str, Sequence[Any]]], *, timeout_s: float | None = None
    ) -> list[Any]:
        """Several calls in one JSON-RPC batch request; results in order. The first error in
        the batch is raised."""
        ids = [next(self._ids) for _ in calls]
        body: Any = [
            {"jsonrpc": "2.0", "id": i, "method": m, "params": list(p)}
            for i, (m, p) in zip(ids, calls, strict=True)
        ]
        single = len(calls) == 1
        if single:
            body = body[0]
        what = ",".join(m for m, _ in calls)
        try:
            with trio.fail_after(self._timeout if timeout_s is None else timeout_s):
                response = await self._client.post(self._url, json=body)
        except trio.TooSlowError:
            raise RpcTimeout(what, "timed out") from None
        except httpx.HTTPError as exc:
            raise RpcError(what, f"transport: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise RpcError(what, f"HTTP {response.status_code}", status=response.status_code)
        try:
            doc = response.json()
        except ValueError:
            raise RpcError(what, "response is not JSON", status=200) from None
        docs = [doc] if single else doc
        if not isinstance(docs, list) or not all(isinstance(d, dict) for d in docs):
            raise RpcError(what, "unexpected response shape", status=200)
        by_id = {d.get("id"): d for d in docs}
        results = []
        for call_id, (method, _) in zip(ids, calls, strict=True):
            entry = by_id.get(call_id)
            if entry is None and single and len(docs) == 1:
                entry = docs[0]  # an error envelope may carry id null
            if entry is None:
                raise RpcError(method, "no answer in the batch", status=200)
            error = entry.get("error")
            if error is not None:
                code = error.get("code", 0) if isinstance(error, dict) else 0
                message = error.get("message", "") if isinstance(error, dict) else str(error)
                data = error.get("data") if isinstance(error, dict) else None
                raise RpcError(method, str(message), code=int(code), status=200, data=data)
            if "result" not in entry:
                raise RpcError(method, "no result", status=200)
            results.append(entry["result"])
        return results

    # -- typed helpers ---------------------------------------------------------------------

    async def get_multiple_accounts(
        self, addresses: Sequence[str], *, timeout_s: float | None = None
    ) -> list[AccountData | None]:
        """``getMultipleAccounts`` (base64, ≤ 100 per call): data + owner, or None."""
        out: list[AccountData | None] = []
        for start in range(0, len(addresses), 100):
            chunk = list(addresses[start : start + 100])
            result = await self.call(
                "getMultipleAccounts",
                [chunk, {"encoding": "base64", "commitment": "confirmed"}],
                timeout_s=timeout_s,
            )
            values = result.get("value") if isinstance(result, dict) else None
            if not isinstance(values, list) or len(values) != len(chunk):
                raise RpcError("getMultipleAccounts", "unexpected result shape", status=200)
            out.extend(_account(v) for v in values)
        return out


class AccountData:
    """One account as read over RPC."""

    __slots__ = ("data", "lamports", "owner")

    def __init__(self, owner: str, lamports: int, data: bytes) -> None:
        self.owner = owner
        self.lamports = lamports
        self.data = data


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
