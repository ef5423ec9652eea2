"""The one JSON-RPC 2.0 client (Solana RPC, landing statuses, chain reads) over httpx, with a
deadline on every call, failover across a primary and fallback endpoints, and error texts
scrubbed of the URLs' secrets.

Failover: a call goes to the first *healthy* endpoint in the configured order. A failure that
says the endpoint, not the request, is at fault — no answer in time, a transport error, HTTP
429 or 5xx — marks it down (1 s, doubling per consecutive failure up to 30 s) and the call
moves on to the next endpoint within the same deadline; each attempt gets an equal share of
what is left of it. A JSON-RPC error envelope or a malformed answer is the answer: no
failover. When every endpoint is down the one that comes back first is tried anyway.
Counted in ``galileo_rpc_requests_total{method,endpoint,result}`` and
``galileo_rpc_failovers_total{endpoint}``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import httpx
import trio
from prometheus_client import CollectorRegistry, Counter

from galileo._errors import GalileoError
from galileo._secret import Secret, expand_secrets, redact_text, redact_value
from galileo.model import LeaseKind, LeaseResult
from galileo.net._allocator import IpAllocator, NoIpAvailable
from galileo.net._httpx_clients import HttpxClients

DEFAULT_TIMEOUT_S = 5.0
DOWN_INITIAL_S = 1.0
"""An endpoint that failed is skipped this long, doubling per consecutive failure..."""
DOWN_MAX_S = 30.0
"""... up to this."""


class RpcMetrics:
    """``galileo_rpc_requests_total{method,endpoint,result}`` (result: ``ok``,
    ``rpc_error`` — an error envelope —, ``timeout``, ``transport``, ``http_429``,
    ``http_5xx``, ``http_other``, ``malformed``) and ``galileo_rpc_failovers_total{endpoint}``
    (calls that moved on from ``endpoint`` to the next one)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "galileo_rpc_requests_total",
            "JSON-RPC requests by method, endpoint (redacted) and result.",
            ["method", "endpoint", "result"],
            registry=registry,
        )
        self.failovers = Counter(
            "galileo_rpc_failovers_total",
            "Calls that failed on an endpoint and moved on to the next one.",
            ["endpoint"],
            registry=registry,
        )


_DETACHED_METRICS: RpcMetrics | None = None


def _detached_metrics() -> RpcMetrics:
    global _DETACHED_METRICS  # noqa: PLW0603 - one registry for every unregistered client
    if _DETACHED_METRICS is None:
        _DETACHED_METRICS = RpcMetrics(CollectorRegistry())
    return _DETACHED_METRICS


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


def _result_label(err: RpcError) -> str:
    if isinstance(err, RpcTimeout):
        return "timeout"
    if err.status is None:
        return "transport"
    if err.status == 429:
        return "http_429"
    if err.status >= 500:
        return "http_5xx"
    if err.status != 200:
        return "http_other"
    return "rpc_error" if err.code is not None or "malformed" not in err.message else "malformed"


def _endpoint_at_fault(err: RpcError) -> bool:
    """Does ``err`` say the endpoint (not the request) failed — worth another endpoint?"""
    return err.status is None or err.status == 429 or err.status >= 500


@attrs.define(eq=False)
class _Endpoint:
    url: Secret
    label: str
    upstream: str
    failures: int = 0
    down_until: float = float("-inf")

    def failed(self, now: float) -> None:
        self.failures += 1
        self.down_until = now + min(DOWN_MAX_S, DOWN_INITIAL_S * 2 ** (self.failures - 1))

    def answered(self) -> None:
        self.failures = 0
        self.down_until = float("-inf")


class JsonRpcClient:
    """``await rpc.call("getBlockHeight", [])`` → the ``result``; ``await rpc.batch([...])``
    → the results in order. Raises :class:`RpcError` (:class:`RpcTimeout` past the deadline).

    ``url`` may carry a token (pass a ``Secret``): it is only revealed to send, error texts
    are scrubbed of it and :attr:`label` is its redacted form. ``client``: the
    ``httpx.AsyncClient`` to send on (e.g. one bound to a source IP: see :meth:`on_ip`);
    without one the client makes (lazily) and owns its own, closed by :meth:`aclose`.
    ``headers``: sent with every request (e.g. an auth header; also a secret: scrubbed).
    ``fallbacks``: endpoints tried in order when ``url`` fails (see the module doc).
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
        fallbacks: Sequence[Secret | str] = (),
        metrics: RpcMetrics | None = None,
    ) -> None:
        self._url = url if isinstance(url, Secret) else Secret(url)
        self._client = client
        self._owns_client = client is None
        self.timeout_s = timeout_s
        self._headers = dict(headers or {})
        self._ids = itertools.count(1)
        urls = [self._url, *(u if isinstance(u, Secret) else Secret(u) for u in fallbacks)]
        self._secrets = expand_secrets([*urls, *self._headers.values()])
        self._endpoints: list[_Endpoint] = []
        for u in urls:
            if any(e.url.reveal() == u.reveal() for e in self._endpoints):
                continue
            label = redact_value(u.reveal())
            self._endpoints.append(_Endpoint(u, label, f"rpc:{label}"))
        self._metrics = metrics if metrics is not None else _detached_metrics()
        self._leases: tuple[IpAllocator, HttpxClients] | None = None

    @classmethod
    def leased(
        cls,
        url: Secret | str,
        *,
        clients: HttpxClients,
        leases: IpAllocator,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        headers: Mapping[str, str] | None = None,
        fallbacks: Sequence[Secret | str] = (),
        metrics: RpcMetrics | None = None,
    ) -> JsonRpcClient:
        """A client whose every call runs under an ``rpc`` lease of ``leases`` (upstream
        ``rpc:<endpoint label>``), sent from the leased IP on ``clients``' client for it. RPC
        calls are not paced (the endpoint's limit is not learned); they outrank quotes for a
        slot."""
        rpc = cls(
            url,
            client=clients.get(""),
            timeout_s=timeout_s,
            headers=headers,
            fallbacks=fallbacks,
            metrics=metrics,
        )
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
        """The primary URL in a form safe to log."""
        return self._endpoints[0].label

    @property
    def labels(self) -> list[str]:
        """Every endpoint (primary first), in a form safe to log."""
        return [e.label for e in self._endpoints]

    def healthy(self) -> list[str]:
        """The endpoints not marked down now (labels, in order)."""
        now = trio.current_time()
        return [e.label for e in self._endpoints if e.down_until <= now]

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
        deadline = trio.current_time() + timeout
        order = self._order(trio.current_time())
        last: RpcError | None = None
        for index, endpoint in enumerate(order):
            now = trio.current_time()
            if now >= deadline and last is not None:
                break
            share = max(0.0, deadline - now) / (len(order) - index)
            try:
                results = await self._attempt(endpoint, calls, ids, single, body, what, share)
            except RpcError as err:
                self._metrics.requests.labels(what, endpoint.label, _result_label(err)).inc()
                if not _endpoint_at_fault(err):
                    endpoint.answered()
                    raise
                endpoint.failed(trio.current_time())
                last = err
                if index + 1 < len(order):
                    self._metrics.failovers.labels(endpoint.label).inc()
                continue
            self._metrics.requests.labels(what, endpoint.label, "ok").inc()
            endpoint.answered()
            return results
        assert last is not None
        raise last

    def _order(self, now: float) -> list[_Endpoint]:
        """Healthy endpoints in configured order, then the ones down, soonest back first."""
        up = [e for e in self._endpoints if e.down_until <= now]
        down = sorted(
            (e for e in self._endpoints if e.down_until > now), key=lambda e: e.down_until
        )
        return up + down

    async def _attempt(
        self,
        endpoint: _Endpoint,
        calls: Sequence[tuple[str, Sequence[Any]]],
        ids: list[int],
        single: bool,
        body: Any,
        what: str,
        budget_s: float,
    ) -> list[Any]:
        if self._leases is None:
            if self._client is None:
                self._client = httpx.AsyncClient(trust_env=False)
            response = await self._post(self._client, endpoint, body, what, timeout_s=budget_s)
            return self._parse(calls, ids, single, response)
        leases, clients = self._leases
        deadline = trio.current_time() + budget_s
        try:
            async with leases.acquire(LeaseKind.RPC, deadline, upstream=endpoint.upstream) as lease:
                lease.sending()
                try:
                    response = await self._post(
                        clients.get(lease.ip),
                        endpoint,
                        body,
                        what,
                        timeout_s=max(0.0, deadline - trio.current_time()),
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
        self,
        client: httpx.AsyncClient,
        endpoint: _Endpoint,
        body: Any,
        what: str,
        *,
        timeout_s: float,
    ) -> httpx.Response:
        try:
            with trio.fail_after(timeout_s):
                return await client.post(endpoint.url.reveal(), json=body, headers=self._headers)
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
