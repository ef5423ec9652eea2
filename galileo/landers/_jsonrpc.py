"""A small JSON-RPC 2.0 client over the per-source-IP httpx clients, with a deadline on every
call. Used by the landing tracker and the executor (statuses, block height, transactions)."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import trio

from galileo._secret import Secret, expand_secrets, redact_text, redact_value
from galileo.landers._models import RpcCallError
from galileo.net import HttpxClients

DEFAULT_TIMEOUT_S = 5.0


class JsonRpcClient:
    """``await rpc.call("getBlockHeight", [])`` → the ``result``; raises ``RpcCallError``.

    ``url`` may carry a token (pass a ``Secret``): it is only revealed to send, and error
    texts are scrubbed of it. ``ip`` is the local source address ("" = let the OS choose).
    """

    def __init__(
        self,
        url: Secret | str,
        *,
        clients: HttpxClients,
        ip: str = "",
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self._url = url if isinstance(url, Secret) else Secret(url)
        self._clients = clients
        self.ip = ip
        self.timeout_s = timeout_s
        self._ids = itertools.count(1)
        self._secrets = expand_secrets([self._url])

    @property
    def label(self) -> str:
        return redact_value(self._url.reveal())

    async def call(self, method: str, params: list[Any], *, timeout_s: float | None = None) -> Any:
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        client = self._clients.get(self.ip)
        response: httpx.Response | None = None
        with trio.move_on_after(self.timeout_s if timeout_s is None else timeout_s):
            try:
                response = await client.post(self._url.reveal(), json=body)
            except httpx.HTTPError as exc:
                raise RpcCallError(method, self._scrub(f"{type(exc).__name__}: {exc}")) from None
        if response is None:
            raise RpcCallError(method, "timeout")
        if response.status_code != 200:
            raise RpcCallError(method, f"HTTP {response.status_code}", status=response.status_code)
        try:
            doc = response.json()
        except ValueError:
            raise RpcCallError(method, "malformed response (not JSON)", status=200) from None
        if not isinstance(doc, dict):
            raise RpcCallError(method, "malformed response (not an object)", status=200)
        error = doc.get("error")
        if error is not None:
            code = error.get("code") if isinstance(error, dict) else None
            message = error.get("message") if isinstance(error, dict) else str(error)
            raise RpcCallError(
                method,
                self._scrub(str(message)),
                code=code if isinstance(code, int) else None,
                status=200,
            )
        if "result" not in doc:
            raise RpcCallError(method, "malformed response (no result)", status=200)
        return doc["result"]

    def _scrub(self, text: str) -> str:
        return redact_text(text, self._secrets)
