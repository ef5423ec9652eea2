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
from galileo.model import LeaseKind, LeaseResult
from galileo.net._allocator import IpAllocator, NoIpAvailable
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

    @property
    def lease_result(self) -> LeaseResult:
        """What the failure says about the source IP it was sent from (its cooldown class):
        an error envelope or a refused request is not the IP's fault."""
        if self.status == 429:
            return LeaseResult.RATE_LIMITED
        if self.status is not None and self.status >= 500:
            return LeaseResult.SERVER_ERROR
        if self.status is not None:
            return LeaseResult.ERROR
        return LeaseResult.TIMEOUT if isinstance(self, RpcTimeout) else LeaseResult.CONNECT_ERROR


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
    :meth:`leased`: every call takes an ``rpc`` lease of a shared allocator and leaves from
    the leased IP (counted per IP, cooled down per IP on 429 / 5xx / timeouts).
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
        self._leases: tuple[IpAllocator, HttpxClients] | None = None
        self._upstream = f"rpc:{self.label}"

    @classmethod
    def leased(
        cls,
        url: Secret | str,
        *,
        clients: HttpxClients,
        leases: IpAllocator,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        headers: Mapping[str, str] | None = None,
    ) -> JsonRpcClient:
        """A client whose every call runs under an ``rpc`` lease of ``leases`` (upstream
        ``rpc:<label>``), sent from the leased IP on ``clients``' client for it. RPC calls are
        not paced (the endpoint's limit is not learned); they outrank quotes for a slot."""
        rpc = cls(url, client=clients.get(""), timeout_s=timeout_s, headers=headers)
        rpc._owns_client = False
        rpc._leases = (leases, clients)
        return rpc

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
        timeout = self.timeout_s if timeout_s is None else timeout_s
        if self._leases is None:
            if self._client is None:
                self._client = httpx.AsyncClient(trust_env=False)
            response = await self._post(self._client, body, what, timeout_s=timeout)
            return self._parse(calls, ids, single, response)
        leases, clients = self._leases
        deadline = trio.current_time() + timeout
        try:
            async with leases.acquire(LeaseKind.RPC, deadline, upstream=self._upstream) as lease:
                lease.sending()
                try:
                    response = await self._post(
                        clients.get(lease.ip), body, what, timeout_s=timeout
                    )
                    results = self._parse(calls, ids, single, response)
                except RpcError as err:
                    lease.mark(err.lease_result)
                    raise
                lease.mark(LeaseResult.SUCCESS)
                return results
        except NoIpAvailable as exc:
            raise RpcTimeout(what, f"no source IP: {exc}") from None

    async def _post(
        self, client: httpx.AsyncClient, body: Any, what: str, *, timeout_s: float
    ) -> httpx.Response:
        try:
            with trio.fail_after(timeout_s):
                return await client.post(self._url.reveal(), json=body, headers=self._headers)
        except trio.TooSlowError:
            raise RpcTimeout(what, "timeout") from None
        except httpx.HTTPError as exc:
            detail = self._scrub(f"{type(exc).__name__}: {exc}")
            raise RpcError(what, f"transport: {detail}") from None

    def _parse(
        self,
        calls: Sequence[tuple[str, Sequence[Any]]],
        ids: list[int],
        single: bool,
        response: httpx.Response,
    ) -> list[Any]:
        what = ",".join(m for m, _ in calls)
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
