"""``Landers``: fan a signed transaction out to every enabled lander endpoint at once.

* **jito** — ``sendBundle`` (``[[tx], {"encoding": "base64"}]``) per block-engine endpoint,
  optionally also ``sendTransaction?bundleOnly=true`` (a revert-protected single-transaction
  bundle, id in the ``x-bundle-id`` header); ``x-jito-auth`` when an auth UUID is set.
* **rpc** / **staked** — ``sendTransaction`` with ``skipPreflight: true, maxRetries: 0``.

Every (endpoint, source IP) pair has its own token bucket at the endpoint's
``requests_per_second`` (Jito limits per IP and region), so N source IPs give an endpoint N
times that budget. A send goes out on the first IP of the endpoint's rendezvous order (the
hash ring: stable while the IP set is) that is not cooling down for this endpoint and can
grant a token within the send's wait budget (the queue timeout); if none can, it is dropped
and counted rather than sent late.

Every send runs under a ``lander`` lease of the shared :class:`~galileo.net.IpAllocator`
(upstream ``lander:<endpoint label>``): it is counted per IP with the other request kinds,
its cooldowns (429 — from the endpoint's interval, doubling — timeouts, transport errors, 5xx)
are the allocator's, per (IP, endpoint), so a quote-path cooldown of an IP does not stop sends
from it; lander leases never wait for quotes. Removing an IP (:meth:`Landers.remove_ip`)
cancels the sends in flight on it alone. All sends of one submission run concurrently in one
nursery under ``landers.send_deadline_ms``; each endpoint ends with a typed result
(accepted / rate_limited / rejected(reason) / timeout).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx
import trio
from prometheus_client import CollectorRegistry

from galileo._config import LandersConfig
from galileo._secret import Secret, expand_secrets, redact_text, redact_value
from galileo.landers._bucket import TokenBucket
from galileo.landers._metrics import LanderMetrics
from galileo.landers._models import (
    Endpoint,
    EndpointResult,
    LanderError,
    LanderKind,
    SendMethod,
    Submission,
)
from galileo.model import BuiltTx, LanderOutcome, LanderResult, LeaseKind, LeaseResult
from galileo.net import (
    HttpxClients,
    IpAllocator,
    IpHashRing,
    IpLease,
    IpRemoved,
    JsonRpcClient,
    RpcError,
    ip_label,
)
from galileo.obs import Recorder

_log = logging.getLogger("galileo.landers")

JITO_RATE_LIMITED_CODE = -32097
# A 429 cools the (endpoint, IP) pair down for at least this long (or the endpoint's request
# interval when longer), doubling per consecutive 429 up to the network's 429 cap.
COOLDOWN_INITIAL_S = 1.0
_REASON_MAX = 240

# A send that never left (the ledger records it as ``timeout`` with one of these reasons; the
# metrics count it under its own ``result``, never as ``rate_limited`` or ``timeout``):
QUEUE_TIMEOUT = "queue_timeout"
"""Reason: no usable source IP had a token within the send's wait budget."""
NO_IP = "no_ip: every source IP is cooling down"
"""Reason: every source IP is cooling down for the endpoint."""
IP_REMOVED = "source IP removed"
"""Reason: the send's source IP left the inventory while the send was in flight."""
RESULT_BUSY = "busy"
"""``result`` label of a send dropped for :data:`QUEUE_TIMEOUT`."""
RESULT_NO_IP = "no_ip"
"""``result`` label of a send dropped for :data:`NO_IP`."""
IP_NONE = "none"
"""``ip`` label of a send that left on no source IP."""


def jito_base(url: str) -> str:
    """``https://ny.../api/v1/bundles?uuid=x`` → ``https://ny...`` (query kept off)."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    index = path.find("/api/v1")
    if index >= 0:
        path = path[:index]
    return f"{parts.scheme}://{parts.netloc}{path}"


def jito_label(url: str) -> str:
    """Host[:port] plus any region path: ``ny.mainnet.block-engine.jito.wtf``,
    ``127.0.0.1:18900/ny``. Never the query (which may carry a UUID) or user info."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    path = jito_base(url)[len(f"{parts.scheme}://{parts.netloc}") :]
    return f"{host}{port}{path}"


def _unique(labels: list[str], label: str) -> str:
    if label not in labels:
        return label
    n = 2
    while f"{label}#{n}" in labels:
        n += 1
    return f"{label}#{n}"


def build_endpoints(
    config: LandersConfig,
    *,
    jito_urls: Sequence[str] = (),
    rpc_urls: Sequence[str | Secret] = (),
    staked_urls: Sequence[str | Secret] = (),
) -> list[Endpoint]:
    """The send targets of ``config``; empty endpoint lists fall back to the given URLs (the
    simulated world's faces)."""
    endpoints: list[Endpoint] = []
    labels: list[str] = []
    jito = config.jito
    if jito.enabled:
        urls = [url.reveal() for url in jito.endpoints] or list(jito_urls)
        if not urls:
            raise LanderError("jito.endpoints", "Jito is enabled but has no endpoint")
        queue = jito.queue_timeout_ms / 1000
        for url in urls:
            base = jito_base(url)
            label = _unique(labels, jito_label(url))
            labels.append(label)
            endpoints.append(
                Endpoint(
                    LanderKind.JITO,
                    label,
                    Secret(f"{base}/api/v1/bundles"),
                    SendMethod.BUNDLE,
                    jito.requests_per_second,
                    queue,
                )
            )
            if jito.bundle_only_send_transaction:
                endpoints.append(
                    Endpoint(
                        LanderKind.JITO,
                        label,
                        Secret(f"{base}/api/v1/transactions?bundleOnly=true"),
                        SendMethod.BUNDLE_ONLY,
                        jito.requests_per_second,
                        queue,
                    )
                )
    for kind, lander, fallback in (
        (LanderKind.RPC, config.rpc, rpc_urls),
        (LanderKind.STAKED, config.staked, staked_urls),
    ):
        if not lander.enabled:
            continue
        secrets = [
            u if isinstance(u, Secret) else Secret(u) for u in (lander.endpoints or fallback)
        ]
        if not secrets:
            raise LanderError(f"{kind.value}.endpoints", "enabled but has no endpoint")
        for secret in secrets:
            label = _unique(labels, redact_value(secret.reveal()))
            labels.append(label)
            endpoints.append(
                Endpoint(
                    kind,
                    label,
                    secret,
                    SendMethod.SEND_TRANSACTION,
                    lander.requests_per_second,
                    None,
                )
            )
    return endpoints


class Landers:
    """Every enabled lander endpoint; ``await landers.submit(built)`` sends to all of them.

    ``hashring``: the source IPs, each endpoint's rendezvous order over them. ``leases``: the
    shared allocator every send leases from (default: one of the landers' own over the
    ring's IPs). ``jito_urls`` / ``rpc_urls`` / ``staked_urls``: used when the config's
    endpoint list is empty (the simulated world's faces).
    """

    def __init__(
        self,
        config: LandersConfig,
        *,
        clients: HttpxClients,
        hashring: IpHashRing,
        leases: IpAllocator | None = None,
        registry: CollectorRegistry | None = None,
        recorder: Recorder | None = None,
        jito_urls: Sequence[str] = (),
        rpc_urls: Sequence[str | Secret] = (),
        staked_urls: Sequence[str | Secret] = (),
        clock: Callable[[], float] = trio.current_time,
    ) -> None:
        self.config = config
        self.endpoints = build_endpoints(
            config, jito_urls=jito_urls, rpc_urls=rpc_urls, staked_urls=staked_urls
        )
        self._clients = clients
        self.hashring = hashring
        self.leases = leases if leases is not None else IpAllocator(hashring.ips, clock=clock)
        self.metrics = LanderMetrics(registry if registry is not None else CollectorRegistry())
        self._recorder = recorder if recorder is not None else Recorder()
        self._clock = clock
        self._orders = {e.key: tuple(hashring.order(e.key)) for e in self.endpoints}
        # sendBundle and bundle-only of one endpoint share its label, so its buckets.
        self._sharing: dict[str, int] = {}
        for e in self.endpoints:
            self._sharing[e.label] = self._sharing.get(e.label, 0) + 1
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._sending: dict[str, set[trio.CancelScope]] = {}
        auth = config.jito.auth_uuid
        self._jito_headers = {"x-jito-auth": auth.reveal()} if auth else {}
        self._secrets = expand_secrets([e.url for e in self.endpoints] + ([auth] if auth else []))
        self.dropped = 0
        """Sends dropped by the queue timeout since start."""

    # -- routing -------------------------------------------------------------------------------

    def ip_order(self, endpoint: Endpoint) -> tuple[str, ...]:
        """Every source IP for ``endpoint``, best first: its rendezvous order (stable while the
        IP set is, so each endpoint keeps its favourite IP and its connections)."""
        return self._orders[endpoint.key]

    def usable_ips(self, endpoint: Endpoint) -> list[str]:
        """:meth:`ip_order` without the IPs cooling down for ``endpoint`` (its own lane of the
        allocator only: a quote-path cooldown of an IP does not count)."""
        upstream = lander_upstream(endpoint)
        return [
            ip
            for ip in self._orders[endpoint.key]
            if self.leases.cooldown_remaining(ip, upstream) <= 0
        ]

    # -- the IP set ----------------------------------------------------------------------------

    def add_ip(self, ip: str) -> None:
        """Send from ``ip`` too (it must be in :attr:`leases`): each endpoint's rendezvous
        order takes it in where it belongs; the others keep their relative order."""
        if ip not in self.hashring.ips:
            self._reorder([*self.hashring.ips, ip])

    def remove_ip(self, ip: str) -> None:
        """Send nothing more from ``ip`` and cancel the sends in flight on it (each ends as a
        ``timeout`` with reason :data:`IP_REMOVED`); sends on other IPs are untouched."""
        if ip in self.hashring.ips:
            self._reorder([i for i in self.hashring.ips if i != ip])
        for scope in self._sending.pop(ip, set()):
            scope.cancel()

    def _reorder(self, ips: list[str]) -> None:
        self.hashring = IpHashRing(ips)
        self._orders = {e.key: tuple(self.hashring.order(e.key)) for e in self.endpoints}

    def ip_for(self, endpoint: Endpoint) -> str | None:
        """``endpoint``'s preferred source IP now: the first of its rendezvous order that is
        not cooling down for it (``None``: every IP is). A send leaves from there unless that
        IP has no token within the send's wait budget; then from the next usable one."""
        usable = self.usable_ips(endpoint)
        return usable[0] if usable else None

    def _book(
        self, endpoint: Endpoint, usable: Sequence[str], max_wait: float
    ) -> tuple[str, float] | None:
        """Book a token on the first of ``usable`` that grants one within ``max_wait``: the
        IP and how long to wait for it, or ``None`` (every usable IP is busy)."""
        for ip in usable:
            wait = self.bucket(endpoint, ip).reserve(max_wait)
            if wait is not None:
                return ip, wait
        return None

    def cooling_down(self, endpoint: Endpoint, ip: str) -> float:
        """Seconds ``endpoint`` stays off ``ip`` (0 = not cooling down)."""
        return self.leases.cooldown_remaining(ip, lander_upstream(endpoint))

    def bucket(self, endpoint: Endpoint, ip: str) -> TokenBucket:
        key = (endpoint.label, ip)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket(endpoint.requests_per_second, clock=self._clock)
            self._buckets[key] = bucket
        return bucket

    def _mark(self, lease: IpLease, endpoint: Endpoint, result: LeaseResult) -> None:
        """Record a send's (or status poll's) result on its lease; a 429 cools the (IP,
        endpoint) lane from the endpoint's own interval (at least
        :data:`COOLDOWN_INITIAL_S`) and empties its bucket for as long."""
        if result is not LeaseResult.RATE_LIMITED:
            lease.mark(result)
            return
        lease.mark(
            result,
            retry_after=max(COOLDOWN_INITIAL_S, 1.0 / endpoint.requests_per_second),
        )
        duration = self.cooling_down(endpoint, lease.ip)
        self.bucket(endpoint, lease.ip).drain(duration)
        _log.info(
            "lander rate limited",
            extra={
                "fields": {
                    "lander": endpoint.lander.value,
                    "endpoint": endpoint.label,
                    "local_ip": ip_label(lease.ip),
                    "ip_task_kind": LeaseKind.LANDER.value,
                    "cooldown_s": round(duration, 3),
                }
            },
        )

    def can_send(self, queued: int = 0) -> bool:
        """Would at least one endpoint send one more submission, after ``queued`` already on
        their way (admitted, not yet sent), within its wait budget? An endpoint's capacity is
        the tokens that *every* source IP not cooling down for it can grant within that budget,
        added up (a send falls to the endpoint's next IP when the first is busy). The executor
        asks before building, so work the landers would drop as stale is not built at all."""
        deadline_s = self.config.send_deadline_ms / 1000
        for endpoint in self.endpoints:
            limit = deadline_s if endpoint.queue_timeout_s is None else endpoint.queue_timeout_s
            limit = min(limit, deadline_s)
            # Each submission on its way takes one token of the label per endpoint sharing it.
            need = queued * self._sharing[endpoint.label] + 1
            capacity = 0
            for ip in self.usable_ips(endpoint):
                capacity += self.bucket(endpoint, ip).available_within(limit)
                if capacity >= need:
                    return True
        return False

    # -- sending -------------------------------------------------------------------------------

    async def submit(self, built: BuiltTx) -> Submission:
        """Send ``built`` to every endpoint concurrently; returns once each has answered or
        the fan-out deadline passed (``send_deadline_ms``). Never raises for a send failure."""
        start = self._clock()
        deadline = trio.current_time() + self.config.send_deadline_ms / 1000
        results: list[EndpointResult | None] = [None] * len(self.endpoints)

        async def one(index: int, endpoint: Endpoint) -> None:
            results[index] = await self._send_one(endpoint, built, deadline)

        async with trio.open_nursery() as nursery:
            for index, endpoint in enumerate(self.endpoints):
                nursery.start_soon(one, index, endpoint)
        final = tuple(r for r in results if r is not None)
        bundle_ids: dict[str, None] = {}
        for r in final:
            if r.bundle_id:
                bundle_ids[r.bundle_id] = None
        elapsed = self._clock() - start
        self._recorder.observe("send", elapsed)
        submission = Submission(
            opportunity_id=built.opportunity_id,
            signature=built.signature,
            last_valid_block_height=built.last_valid_block_height,
            submitted_at=start,
            results=final,
            bundle_ids=tuple(bundle_ids),
        )
        _log.info(
            "lander submitted",
            extra={
                "fields": {
                    "opportunity_id": built.opportunity_id,
                    "signature": built.signature,
                    "results": submission.counts(),
                    "elapsed_s": round(elapsed, 6),
                }
            },
        )
        return submission

    async def _send_one(
        self, endpoint: Endpoint, built: BuiltTx, deadline: float
    ) -> EndpointResult:
        start = self._clock()
        usable = self.usable_ips(endpoint)
        if not usable:
            # Every IP is cooling down for this endpoint: nothing is sent, and it is no 429.
            return self._dropped(endpoint, RESULT_NO_IP, NO_IP, start)
        remaining = deadline - trio.current_time()
        max_wait = (
            remaining
            if endpoint.queue_timeout_s is None
            else min(remaining, endpoint.queue_timeout_s)
        )
        booked = self._book(endpoint, usable, max_wait)
        if booked is None:
            self.dropped += 1
            self.metrics.queue_dropped.labels(endpoint.lander.value, endpoint.label).inc()
            return self._dropped(endpoint, RESULT_BUSY, QUEUE_TIMEOUT, start)
        ip, wait = booked
        removed = trio.CancelScope()
        sending = self._sending.setdefault(ip, set())
        sending.add(removed)
        try:
            with removed:
                with trio.move_on_at(deadline):
                    await self.bucket(endpoint, ip).claim(wait)
                    async with self.leases.acquire(
                        LeaseKind.LANDER, ip=ip, upstream=lander_upstream(endpoint)
                    ) as lease:
                        return await self._post(endpoint, built, lease, start)
                return self._finish(endpoint, ip, LanderOutcome.TIMEOUT, "send deadline", start)
        except IpRemoved:
            pass
        finally:
            sending.discard(removed)
        return self._finish(endpoint, ip, LanderOutcome.TIMEOUT, IP_REMOVED, start)

    def _request(self, endpoint: Endpoint, built: BuiltTx) -> tuple[dict[str, Any], dict[str, str]]:
        if endpoint.method is SendMethod.BUNDLE:
            params: list[Any] = [[built.base64], {"encoding": "base64"}]
            method = "sendBundle"
        elif endpoint.method is SendMethod.BUNDLE_ONLY:
            params = [built.base64, {"encoding": "base64"}]
            method = "sendTransaction"
        else:
            params = [
                built.base64,
                {"encoding": "base64", "skipPreflight": True, "maxRetries": 0},
            ]
            method = "sendTransaction"
        headers = self._jito_headers if endpoint.lander is LanderKind.JITO else {}
        return {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}, headers

    async def _post(
        self, endpoint: Endpoint, built: BuiltTx, lease: IpLease, start: float
    ) -> EndpointResult:
        # The token was granted now: charge from here, so the time spent before the request
        # leaves (the IP's first client is created here, ~0.1 s) is never refill the server
        # did not see.
        ip = lease.ip
        sent = self._clock()
        body, headers = self._request(endpoint, built)
        client = self._clients.get(ip)
        lease.sending()
        try:
            response = await client.post(endpoint.url.reveal(), json=body, headers=headers)
        except httpx.TimeoutException as exc:
            self._mark(lease, endpoint, LeaseResult.TIMEOUT)
            return self._finish(endpoint, ip, LanderOutcome.TIMEOUT, type(exc).__name__, start)
        except httpx.HTTPError as exc:
            self._mark(lease, endpoint, LeaseResult.CONNECT_ERROR)
            reason = f"transport: {type(exc).__name__}: {exc}"
            return self._finish(endpoint, ip, LanderOutcome.REJECTED, reason, start)
        self.bucket(endpoint, ip).settle(self._clock() - sent)
        if response.status_code == 429:
            self._mark(lease, endpoint, LeaseResult.RATE_LIMITED)
            return self._finish(endpoint, ip, LanderOutcome.RATE_LIMITED, "HTTP 429", start)
        if response.status_code != 200:
            server = response.status_code >= 500
            self._mark(lease, endpoint, LeaseResult.SERVER_ERROR if server else LeaseResult.ERROR)
            reason = f"HTTP {response.status_code}"
            return self._finish(endpoint, ip, LanderOutcome.REJECTED, reason, start)
        try:
            doc = response.json()
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            self._mark(lease, endpoint, LeaseResult.ERROR)
            return self._finish(endpoint, ip, LanderOutcome.REJECTED, "malformed response", start)
        error = doc.get("error")
        if error is not None:
            code = error.get("code") if isinstance(error, dict) else None
            message = str(error.get("message") if isinstance(error, dict) else error)
            if code == JITO_RATE_LIMITED_CODE or "rate limit" in message.lower():
                self._mark(lease, endpoint, LeaseResult.RATE_LIMITED)
                return self._finish(endpoint, ip, LanderOutcome.RATE_LIMITED, message, start)
            # The endpoint answered (a refused transaction is not the IP's fault).
            self._mark(lease, endpoint, LeaseResult.SUCCESS)
            reason = f"{code}: {message}" if code is not None else message
            return self._finish(endpoint, ip, LanderOutcome.REJECTED, reason, start)
        self._mark(lease, endpoint, LeaseResult.SUCCESS)
        result = doc.get("result")
        if not isinstance(result, str):
            return self._finish(endpoint, ip, LanderOutcome.REJECTED, "malformed result", start)
        bundle_id: str | None = None
        if endpoint.method is SendMethod.BUNDLE:
            bundle_id = result
        elif endpoint.method is SendMethod.BUNDLE_ONLY:
            bundle_id = response.headers.get("x-bundle-id")
        return self._finish(endpoint, ip, LanderOutcome.ACCEPTED, None, start, bundle_id)

    def _dropped(
        self, endpoint: Endpoint, result: str, reason: str, start: float
    ) -> EndpointResult:
        """A send that left on no IP: ``timeout`` with ``reason`` for the ledger (dropped before
        sending), its own ``result`` label (``busy`` / ``no_ip``) in the metrics."""
        self.metrics.submissions.labels(
            endpoint.lander.value, endpoint.label, IP_NONE, result
        ).inc()
        return EndpointResult(
            result=LanderResult(
                lander=endpoint.lander.value,
                endpoint=endpoint.label,
                outcome=LanderOutcome.TIMEOUT,
                reason=reason,
            ),
            ip=None,
            method=endpoint.method,
            elapsed_s=self._clock() - start,
        )

    def _finish(
        self,
        endpoint: Endpoint,
        ip: str,
        outcome: LanderOutcome,
        reason: str | None,
        start: float,
        bundle_id: str | None = None,
    ) -> EndpointResult:
        if reason is not None:
            reason = redact_text(reason, self._secrets)[:_REASON_MAX]
        self.metrics.submissions.labels(
            endpoint.lander.value, endpoint.label, ip_label(ip), outcome.value
        ).inc()
        return EndpointResult(
            result=LanderResult(
                lander=endpoint.lander.value,
                endpoint=endpoint.label,
                outcome=outcome,
                reason=reason,
            ),
            ip=ip,
            method=endpoint.method,
            bundle_id=bundle_id,
            elapsed_s=self._clock() - start,
        )

    # -- bundle statuses (for the landing tracker) ---------------------------------------------

    @property
    def has_jito(self) -> bool:
        return any(e.lander is LanderKind.JITO for e in self.endpoints)

    async def jito_status(self, method: str, bundle_ids: list[str], *, timeout_s: float) -> Any:
        """``getInflightBundleStatuses`` / ``getBundleStatuses`` on the first Jito endpoint
        with a free token on one of its usable IPs, in their rendezvous order (status polls
        never queue for a token: sends come first). Returns the ``result``, or ``None`` when
        no endpoint could be asked now."""
        seen: set[str] = set()
        for endpoint in self.endpoints:
            if endpoint.lander is not LanderKind.JITO or endpoint.label in seen:
                continue
            seen.add(endpoint.label)
            ip = next(
                (i for i in self.usable_ips(endpoint) if self.bucket(endpoint, i).try_take()),
                None,
            )
            if ip is None:
                continue
            url = endpoint.url.reveal().split("/api/v1/")[0] + f"/api/v1/{method}"
            rpc = JsonRpcClient.on_ip(
                Secret(url), clients=self._clients, ip=ip, headers=self._jito_headers
            )
            try:
                async with self.leases.acquire(
                    LeaseKind.LANDER, ip=ip, upstream=lander_upstream(endpoint)
                ) as lease:
                    sent = self._clock()
                    lease.sending()
                    try:
                        result = await rpc.call(method, [bundle_ids], timeout_s=timeout_s)
                    except RpcError as err:
                        if err.status is not None:  # an answer: settle the bucket's charge
                            self.bucket(endpoint, ip).settle(self._clock() - sent)
                        self._mark(lease, endpoint, err.lease_result)
                        continue
                    self.bucket(endpoint, ip).settle(self._clock() - sent)
                    self._mark(lease, endpoint, LeaseResult.SUCCESS)
                    return result
            except IpRemoved:
                continue
        return None


def lander_upstream(endpoint: Endpoint) -> str:
    """The allocator upstream of ``endpoint``'s sends: its lane (pacing state, cooldowns)
    on each source IP, apart from the quote path's."""
    return f"lander:{endpoint.label}"
