"""The one JSON-RPC 2.0 client (Solana RPC, landing statuses, chain reads) over httpx, with a
deadline on every call and error texts scrubbed of the URL's secrets."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import trio

from galileo._errors import GalileoError
from galileo._secret import Secret, expand_secrets, redact_text, redact_value
from galileo.net._httpx_clients import HttpxClients

DEFAULT_TIMEOUT_S = 5.0


class RpcError(GalileoError):
    """A JSON-RPC call failed: an error envelope (``code`` the JSON-RPC error code, ``data``
    its data) or a transport / HTTP / shape problem (``code`` None, ``status`` the HTTP
    status if there was a response). ``message`` is already scrubbed of secrets."""

    def __init__(
        self,
        method: str,
        message: str,
        *,
        code: int | None = None,
        status: int | None = None,
        data: Any = None,
    ) -> None:
        super().__init__(f"{method}: {message}")
        self.method = method
        self.message = message
        self.code = code
        self.status = status
        self.data = data


class RpcTimeout(RpcError):
    """The call did not answer before its deadline."""


class JsonRpcClient:
    """``await rpc.call("getBlockHeight", [])`` → the ``result``; ``await rpc.batch([...])``
    → the results in order. Raises :class:`RpcError` (:class:`RpcTimeout` past the deadline).

    ``url`` may carry a token (pass a ``Secret``): it is only revealed to send, error texts
    are scrubbed of it and :attr:`label` is its redacted form. ``client``: the
    ``httpx.AsyncClient`` to send on (e.g. one bound to a source IP: see :meth:`on_ip`);
    without one the client makes (lazily) and owns its own, closed by :meth:`aclose`.
    ``headers``: sent with every request (e.g. an auth header; also a secret: scrubbed).
    """

    def __init__(
        self,
        url: Secret | str,
        *,
        client: httpx.AsyncClient | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._url = url if isinstance(url, Secret) else Secret(url)
        self._client = client
        self._owns_client = client is None
        self.timeout_s = timeout_s
        self._headers = dict(headers or {})
        self._ids = itertools.count(1)
        self._secrets = expand_secrets([self._url, *self._headers.values()])

    @classmethod
    def on_ip(
        cls,
        url: Secret | str,
        *,
        clients: HttpxClients,
        ip: str = "",
        timeout_s: float = DEFAULT_TIMEOUT_S,
        headers: Mapping[str, str] | None = None,
    ) -> JsonRpcClient:
        """A client sending from source ``ip`` ("" = let the OS choose) on ``clients``' shared
        ``httpx.AsyncClient`` for it (owned by ``clients``, not closed by :meth:`aclose`)."""
        return cls(url, client=clients.get(ip), timeout_s=timeout_s, headers=headers)

    @property
    def label(self) -> str:
        """The URL in a form safe to log."""
        return redact_value(self._url.reveal())

    async def aclose(self) -> None:
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    async def call(
        self, method: str, params: Sequence[Any] = (), *, timeout_s: float | None = None
    ) -> Any:
        """One call: its ``result``."""
        (result,) = await self.batch([(method, params)], timeout_s=timeout_s)
        return result

    async def batch(
        self, calls: Sequence[tuple[str, Sequence[Any]]], *, timeout_s: float | None = None
    ) -> list[Any]:
        """Several calls in one JSON-RPC batch request (one plain request for one call);
        results in order. The first error in the batch is raised."""
        ids = [next(self._ids) for _ in calls]
        body: Any = [
            {"jsonrpc": "2.0", "id": i, "method": m, "params": list(p)}
            for i, (m, p) in zip(ids, calls, strict=True)
        ]
        single = len(calls) == 1
        if single:
            body = body[0]
        what = ",".join(m for m, _ in calls)
        if self._client is None:
            self._client = httpx.AsyncClient(trust_env=False)
        try:
            with trio.fail_after(self.timeout_s if timeout_s is None else timeout_s):
                response = await self._client.post(
                    self._url.reveal(), json=body, headers=self._headers
                )
        except trio.TooSlowError:
            raise RpcTimeout(what, "timeout") from None
        except httpx.HTTPError as exc:
            detail = self._scrub(f"{type(exc).__name__}: {exc}")
            raise RpcError(what, f"transport: {detail}") from None
        if response.status_code != 200:
            raise RpcError(what, f"HTTP {response.status_code}", status=response.status_code)
        try:
            doc = response.json()
        except ValueError:
            raise RpcError(what, "malformed response (not JSON)", status=200) from None
        docs = [doc] if single else doc
        if not isinstance(docs, list) or not all(isinstance(d, dict) for d in docs):
            raise RpcError(what, "malformed response (unexpected shape)", status=200)
        by_id = {d.get("id"): d for d in docs}
        results = []
        for call_id, (method, _) in zip(ids, calls, strict=True):
            entry = by_id.get(call_id)
            if entry is None and single and len(docs) == 1:
                entry = docs[0]  # an error envelope may carry id null
            if entry is None:
                raise RpcError(method, "malformed response (no answer in the batch)", status=200)
            error = entry.get("error")
            if error is not None:
                code = error.get("code") if isinstance(error, dict) else None
                message = error.get("message", "") if isinstance(error, dict) else error
                data = error.get("data") if isinstance(error, dict) else None
                raise RpcError(
                    method,
                    self._scrub(str(message)),
                    code=code if isinstance(code, int) else None,
                    status=200,
                    data=data,
                )
            if "result" not in entry:
                raise RpcError(method, "malformed response (no result)", status=200)
            results.append(entry["result"])
        return results

    def _scrub(self, text: str) -> str:
        return redact_text(text, self._secrets)
