"""Source-IP leases: who may send from which IP, to which upstream, and how fast.

Every outbound request on the quote path runs under an :class:`IpLease`. The allocator

* enforces a per-IP in-flight cap and serves lease waiters first-come first-served: a
  released slot is handed straight to the oldest waiter that can use it, so nobody polls;
* paces each (IP, upstream) with a learned token bucket (:mod:`galileo.net._pacing`):
  ``await lease.pace()`` before a request waits for its turn, FIFO;
* cools an (IP, upstream) down after a failure — HTTP 429, a timeout, a connection error or
  a 5xx, each class with its own doubling start and cap, jittered. A 429's ``Retry-After``
  is the base of its cooldown. A failure counts as a new *strike* only when its request left
  after the previous cooldown of its class began (those already on the wire share one
  episode); a clean answer to a request sent after that resets the doubling.

Time is ``trio.current_time()`` (or an injected clock), so tests run on trio's MockClock.
"""

from __future__ import annotations

import enum
import math
import random
from collections import deque
from collections.abc import Callable, Iterable
from types import TracebackType

import attrs
import trio
from prometheus_client import CollectorRegistry

from galileo._config import NetworkConfig
from galileo._errors import GalileoError
from galileo.model import LeaseKind, LeaseResult, Provider
from galileo.net._metrics import NetMetrics, ip_label
from galileo.net._pacing import Pacer, PacingPolicy

DEFAULT_UPSTREAM = Provider.JUPITER.value
"""The upstream a lease paces against unless it names another (the ``upstream`` label)."""

COOLDOWN_JITTER = 0.2
"""Cooldowns are stretched by a random 0–20 % so IPs that failed together do not return
together."""

_NO_ANSWER = frozenset({LeaseResult.TIMEOUT, LeaseResult.CONNECT_ERROR})
"""Results that carry no answer from the upstream (nothing the pacer can learn from)."""


class IpState(enum.Enum):
    """What an IP is doing. Values double as metric/status labels."""

    IDLE = "idle"
    BUSY = "busy"
    COOLING_DOWN = "cooling_down"
    SHARED_LONG_LIVED = "shared_long_lived"


class NoIpAvailable(GalileoError):
    """No lease could be granted before the deadline."""


@attrs.frozen
class CooldownPolicy:
    """Doubling cooldowns (seconds) per failure class: start and cap. A 429 with a
    ``Retry-After`` starts from the server's value instead of ``rate_limited_initial``.
    ``jitter``: each cooldown is stretched by a random share in [0, jitter)."""

    rate_limited_initial: float = 0.5
    rate_limited_max: float = 30.0
    timeout_initial: float = 0.25
    timeout_max: float = 10.0
    connect_error_initial: float = 0.25
    connect_error_max: float = 2.0
    server_error_initial: float = 0.25
    server_error_max: float = 5.0
    jitter: float = COOLDOWN_JITTER

    @classmethod
    def from_config(cls, network: NetworkConfig) -> CooldownPolicy:
        return cls(
            rate_limited_initial=network.cooldown_429_initial_ms / 1000,
            rate_limited_max=network.cooldown_429_max_ms / 1000,
            timeout_initial=network.cooldown_timeout_initial_ms / 1000,
            timeout_max=network.cooldown_timeout_max_ms / 1000,
            connect_error_initial=network.cooldown_connect_error_initial_ms / 1000,
            connect_error_max=network.cooldown_connect_error_max_ms / 1000,
            server_error_initial=network.cooldown_5xx_initial_ms / 1000,
            server_error_max=network.cooldown_5xx_max_ms / 1000,
        )

    def bounds(self, result: LeaseResult) -> tuple[float, float]:
        """(start, cap) of ``result``'s cooldown; (0, 0) for results that cause none."""
        if result is LeaseResult.RATE_LIMITED:
            return self.rate_limited_initial, self.rate_limited_max
        if result is LeaseResult.TIMEOUT:
            return self.timeout_initial, self.timeout_max
        if result is LeaseResult.CONNECT_ERROR:
            return self.connect_error_initial, self.connect_error_max
        if result is LeaseResult.SERVER_ERROR:
            return self.server_error_initial, self.server_error_max
        return 0.0, 0.0

    def duration(
        self, result: LeaseResult, strikes: int, *, retry_after: float | None = None
    ) -> float:
        """Cooldown after the ``strikes``-th consecutive episode of this kind (1-based),
        before jitter: the start (or ``retry_after``) doubled per strike, capped."""
        initial, cap = self.bounds(result)
        if retry_after is not None and result is LeaseResult.RATE_LIMITED:
            initial = max(0.0, retry_after)
        return float(min(initial * (2 ** min(strikes - 1, 62)), cap))


@attrs.frozen
class IpSnapshot:
    """One IP as the live view shows it. ``learned_rps``: the pacing rate learned per
    upstream (requests per second)."""

    ip: str
    state: IpState
    inflight: int
    long_lived: int
    cooldown_remaining: float
    requests: int
    rate_limited: int
    timeouts: int
    connect_errors: int = 0
    server_errors: int = 0
    learned_rps: dict[str, float] = attrs.field(factory=dict)


@attrs.define(eq=False)
class _Lane:
    """One (IP, upstream): its pacer, and the strikes of each failure class."""

    pacer: Pacer
    lock: trio.Lock = attrs.field(factory=trio.Lock)
    strikes: dict[LeaseResult, int] = attrs.field(factory=dict)
    episode_at: dict[LeaseResult, float] = attrs.field(factory=dict)
    reported_rps: float = -1.0

    @property
    def cooldown_until(self) -> float:
        return self.pacer.blocked_until


@attrs.define
class _Slot:
    ip: str
    inflight: int = 0
    long_lived: int = 0
    lanes: dict[str, _Lane] = attrs.field(factory=dict)
    requests: int = 0
    rate_limited: int = 0
    timeouts: int = 0
    connect_errors: int = 0
    server_errors: int = 0

    @property
    def cooldown_until(self) -> float:
        return max((lane.cooldown_until for lane in self.lanes.values()), default=-math.inf)


@attrs.define(eq=False)
class _Waiter:
    kind: LeaseKind
    ip: str | None
    upstream: str
    event: trio.Event = attrs.field(factory=trio.Event)
    granted: str | None = None


class IpLease:
    """The right to send from ``ip`` to ``upstream``. Use as an async context manager, or
    call :meth:`release` exactly once.

    Per request: ``await pace()`` waits for the (IP, upstream) pacer (and any cooldown),
    :meth:`sending` notes when the request leaves, :meth:`mark` records how it ended."""

    __slots__ = ("_allocator", "_released", "ip", "kind", "sent_at", "upstream")

    def __init__(
        self, allocator: IpAllocator, ip: str, kind: LeaseKind, upstream: str = DEFAULT_UPSTREAM
    ) -> None:
        self._allocator = allocator
        self.ip = ip
        self.kind = kind
        self.upstream = upstream
        self.sent_at: float | None = None
        self._released = False

    async def pace(self, requests: int = 1) -> None:
        """Wait until ``requests`` may leave back to back (they are taken from the pacer
        together; give back what is not sent with :meth:`refund`)."""
        await self._allocator.pace(self.ip, self.upstream, requests)

    def refund(self, requests: int = 1) -> None:
        """Return paced requests that were not sent."""
        self._allocator.refund(self.ip, self.upstream, requests)

    def sending(self) -> None:
        """A request leaves now: answers to it are judged against this moment."""
        self.sent_at = self._allocator.now()

    def mark(self, result: LeaseResult, *, retry_after: float | None = None) -> None:
        """Record how the last request (see :meth:`sending`) ended; ``retry_after``: the
        server's Retry-After of a 429, in seconds."""
        self._allocator.mark_result(
            self.ip,
            result,
            task=self.kind,
            upstream=self.upstream,
            sent_at=self.sent_at,
            retry_after=retry_after,
        )

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._allocator._release(self.ip, self.kind)

    async def __aenter__(self) -> IpLease:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def __repr__(self) -> str:
        return (
            f"IpLease(ip={ip_label(self.ip)!r}, kind={self.kind.value}, upstream={self.upstream!r})"
        )


class _Acquire:
    """``async with allocator.acquire(...) as lease``."""

    __slots__ = ("_allocator", "_deadline", "_ip", "_kind", "_lease", "_upstream")

    def __init__(
        self,
        allocator: IpAllocator,
        kind: LeaseKind,
        deadline: float | None,
        ip: str | None,
        upstream: str,
    ) -> None:
        self._allocator = allocator
        self._kind = kind
        self._deadline = deadline
        self._ip = ip
        self._upstream = upstream
        self._lease: IpLease | None = None

    async def __aenter__(self) -> IpLease:
        self._lease = await self._allocator.lease(
            self._kind, self._deadline, ip=self._ip, upstream=self._upstream
        )
        return self._lease

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._lease is not None:
            self._lease.release()


def _check_deadline(now: float, deadline: float, kind: LeaseKind, ip: str | None) -> None:
    if now >= deadline:
        where = ip_label(ip) if ip is not None else "any IP"
        raise NoIpAvailable(f"no {kind.value} lease on {where} before the deadline")


class IpAllocator:
    """Leases over a fixed set of source IPs.

    ``acquire(kind, deadline)`` grants the least-loaded available IP (round-robin among
    equals); ``acquire(kind, deadline, ip=...)`` waits for that one IP. An IP is available
    for an upstream when that (IP, upstream) is not cooling down and the IP holds fewer than
    ``max_inflight_per_ip`` short leases.
    """

    def __init__(
        self,
        ips: Iterable[str],
        *,
        max_inflight_per_ip: int = 8,
        cooldown: CooldownPolicy | None = None,
        pacing: PacingPolicy | None = None,
        metrics: NetMetrics | None = None,
        clock: Callable[[], float] = trio.current_time,
        rng: random.Random | None = None,
    ) -> None:
        self._slots: dict[str, _Slot] = {ip: _Slot(ip) for ip in ips}
        if not self._slots:
            raise ValueError("IpAllocator needs at least one IP")
        self._order = list(self._slots)
        self._cursor = 0
        self._cap = max_inflight_per_ip
        self._cooldown = cooldown or CooldownPolicy()
        self._pacing = pacing or PacingPolicy()
        self._metrics = metrics if metrics is not None else NetMetrics(CollectorRegistry())
        self._clock = clock
        self._rng = rng or random.Random()
        self._waiters: deque[_Waiter] = deque()

    @classmethod
    def for_network(
        cls, network: NetworkConfig, ips: Iterable[str], *, registry: CollectorRegistry
    ) -> IpAllocator:
        """The allocator ``network`` describes, over ``ips``, metrics on ``registry``."""
        return cls(
            ips,
            max_inflight_per_ip=network.max_inflight_per_ip,
            cooldown=CooldownPolicy.from_config(network),
            pacing=PacingPolicy.from_config(network),
            metrics=NetMetrics(registry),
        )

    @property
    def ips(self) -> list[str]:
        return list(self._order)

    @property
    def max_inflight_per_ip(self) -> int:
        return self._cap

    def now(self) -> float:
        return self._clock()

    # -- leasing -----------------------------------------------------------------------------

    def acquire(
        self,
        kind: LeaseKind = LeaseKind.QUOTE,
        deadline: float | None = None,
        *,
        ip: str | None = None,
        upstream: str = DEFAULT_UPSTREAM,
    ) -> _Acquire:
        """Async context manager yielding an :class:`IpLease`; raises :class:`NoIpAvailable`
        at ``deadline`` (absolute, trio clock). ``None`` waits as long as the caller's
        cancel scope allows."""
        if ip is not None and ip not in self._slots:
            raise KeyError(f"unknown IP {ip!r}")
        return _Acquire(self, kind, deadline, ip, upstream)

    async def lease(
        self,
        kind: LeaseKind = LeaseKind.QUOTE,
        deadline: float | None = None,
        *,
        ip: str | None = None,
        upstream: str = DEFAULT_UPSTREAM,
    ) -> IpLease:
        """Like :meth:`acquire`, for callers that release the lease themselves."""
        await trio.lowlevel.checkpoint_if_cancelled()
        if not self._waiters:
            granted = self._try_grant(kind, ip, upstream)
            if granted is not None:
                return IpLease(self, granted, kind, upstream)
        waiter = _Waiter(kind, ip, upstream)
        self._waiters.append(waiter)
        self._serve_waiters()
        try:
            while waiter.granted is None:
                now = self._clock()
                wake_at = self._next_cooldown_end(ip, now)
                if deadline is not None:
                    _check_deadline(now, deadline, kind, ip)
                    wake_at = min(wake_at, deadline)
                with trio.move_on_at(wake_at):
                    await waiter.event.wait()
                if waiter.granted is None:
                    # Woken by time: a cooldown may have ended. Serve in FIFO order.
                    self._serve_waiters()
        except BaseException:
            if waiter.granted is not None:
                self._release(waiter.granted, kind)
            else:
                self._waiters.remove(waiter)
            raise
        return IpLease(self, waiter.granted, kind, upstream)

    def _available(self, slot: _Slot, kind: LeaseKind, upstream: str, now: float) -> bool:
        lane = slot.lanes.get(upstream)
        if lane is not None and lane.cooldown_until > now:
            return False
        return kind is LeaseKind.LONG_LIVED or slot.inflight < self._cap

    def _try_grant(self, kind: LeaseKind, ip: str | None, upstream: str) -> str | None:
        now = self._clock()
        if ip is not None:
            slot = self._slots[ip]
            if not self._available(slot, kind, upstream, now):
                return None
        else:
            best: _Slot | None = None
            n = len(self._order)
            for i in range(n):
                candidate = self._slots[self._order[(self._cursor + i) % n]]
                if self._available(candidate, kind, upstream, now) and (
                    best is None or candidate.inflight < best.inflight
                ):
                    best = candidate
            if best is None:
                return None
            slot = best
            self._cursor = (self._order.index(slot.ip) + 1) % n
        if kind is LeaseKind.LONG_LIVED:
            slot.long_lived += 1
        else:
            slot.inflight += 1
            self._metrics.inflight.labels(ip_label(slot.ip)).set(slot.inflight)
        return slot.ip

    def _serve_waiters(self) -> None:
        """Grant leases to waiters, oldest first; a waiter nobody can serve yet keeps its
        place without blocking younger waiters that want a different IP."""
        if not self._waiters:
            return
        remaining: deque[_Waiter] = deque()
        while self._waiters:
            waiter = self._waiters.popleft()
            granted = self._try_grant(waiter.kind, waiter.ip, waiter.upstream)
            if granted is None:
                remaining.append(waiter)
            else:
                waiter.granted = granted
                waiter.event.set()
        self._waiters = remaining

    def _next_cooldown_end(self, ip: str | None, now: float) -> float:
        slots = [self._slots[ip]] if ip is not None else self._slots.values()
        ends = [
            lane.cooldown_until
            for s in slots
            for lane in s.lanes.values()
            if lane.cooldown_until > now
        ]
        return min(ends) if ends else float("inf")

    def _release(self, ip: str, kind: LeaseKind) -> None:
        slot = self._slots[ip]
        if kind is LeaseKind.LONG_LIVED:
            slot.long_lived -= 1
        else:
            slot.inflight -= 1
            self._metrics.inflight.labels(ip_label(ip)).set(slot.inflight)
        self._serve_waiters()

    # -- pacing ------------------------------------------------------------------------------

    def _lane(self, ip: str, upstream: str) -> _Lane:
        slot = self._slots[ip]
        lane = slot.lanes.get(upstream)
        if lane is None:
            lane = slot.lanes[upstream] = _Lane(Pacer(self._pacing, now=self._clock()))
            self._report_rate(ip, upstream, lane)
        return lane

    def _report_rate(self, ip: str, upstream: str, lane: _Lane) -> None:
        rate = lane.pacer.rate
        if rate != lane.reported_rps:
            lane.reported_rps = rate
            self._metrics.learned_rps.labels(ip_label(ip), upstream).set(rate)

    async def pace(self, ip: str, upstream: str = DEFAULT_UPSTREAM, requests: int = 1) -> None:
        """Wait until ``requests`` requests from ``ip`` to ``upstream`` may leave: the
        learned rate and any cooldown of the pair allow them. Waiters are served in order."""
        lane = self._lane(ip, upstream)
        pacer = lane.pacer
        if not lane.lock.locked() and pacer.delay(self._clock(), requests) <= 0:
            self._report_rate(ip, upstream, lane)
            return
        async with lane.lock:
            while True:  # a timed wait for the next tokens, re-asked after each sleep
                wait = pacer.delay(self._clock(), requests)
                if wait <= 0:
                    break
                await trio.sleep(wait)
        self._report_rate(ip, upstream, lane)

    def refund(self, ip: str, upstream: str = DEFAULT_UPSTREAM, requests: int = 1) -> None:
        """Give back paced requests that were not sent."""
        self._lane(ip, upstream).pacer.refund(requests)

    # -- results and cooldowns ---------------------------------------------------------------

    def mark_result(
        self,
        ip: str,
        result: LeaseResult,
        *,
        task: LeaseKind = LeaseKind.QUOTE,
        upstream: str = DEFAULT_UPSTREAM,
        sent_at: float | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Record one request's outcome (``sent_at``: when it left; default now).

        A success (and any other answer) feeds the pacer; 429, timeouts, connection errors
        and 5xx start — or, for a request sent after the last cooldown of the class began,
        double — a cooldown of the (IP, upstream). A success to a request sent after a
        class's last cooldown began resets that class's doubling."""
        now = self._clock()
        sent = now if sent_at is None else sent_at
        slot = self._slots[ip]
        lane = self._lane(ip, upstream)
        slot.requests += 1
        self._metrics.requests.labels(task.value, ip_label(ip), result.value).inc()
        pacer = lane.pacer
        if result is LeaseResult.RATE_LIMITED:
            slot.rate_limited += 1
            pacer.on_rate_limited(now, sent)
        elif result not in _NO_ANSWER:
            pacer.on_accepted(now)
        if result is LeaseResult.SUCCESS:
            for reason, began in lane.episode_at.items():
                if sent >= began:
                    lane.strikes[reason] = 0
        elif result is LeaseResult.TIMEOUT:
            slot.timeouts += 1
        elif result is LeaseResult.CONNECT_ERROR:
            slot.connect_errors += 1
        elif result is LeaseResult.SERVER_ERROR:
            slot.server_errors += 1
        if result in (LeaseResult.SUCCESS, LeaseResult.ERROR):
            self._report_rate(ip, upstream, lane)
            return
        if sent < lane.episode_at.get(result, -math.inf):
            return  # on the wire when this episode's cooldown began: not news
        strikes = lane.strikes.get(result, 0) + 1
        lane.strikes[result] = strikes
        lane.episode_at[result] = now
        _, cap = self._cooldown.bounds(result)
        duration = self._cooldown.duration(result, strikes, retry_after=retry_after)
        duration = min(cap, duration * (1.0 + self._cooldown.jitter * self._rng.random()))
        until = now + duration
        added = until - max(now, pacer.blocked_until)
        pacer.block(now, until)
        self._report_rate(ip, upstream, lane)
        if added > 0:
            label = ip_label(ip)
            self._metrics.cooldowns.labels(label, result.value).inc()
            self._metrics.cooldown_seconds.labels(label, result.value).inc(added)

    # -- views -------------------------------------------------------------------------------

    def state(self, ip: str) -> IpState:
        slot = self._slots[ip]
        if slot.cooldown_until > self._clock():
            return IpState.COOLING_DOWN
        if slot.inflight > 0:
            return IpState.BUSY
        if slot.long_lived > 0:
            return IpState.SHARED_LONG_LIVED
        return IpState.IDLE

    def healthy(self) -> list[str]:
        """IPs not cooling down for any upstream, in inventory order."""
        now = self._clock()
        return [ip for ip in self._order if self._slots[ip].cooldown_until <= now]

    def cooldown_remaining(self, ip: str) -> float:
        return max(0.0, self._slots[ip].cooldown_until - self._clock())

    def learned_rps(self, ip: str, upstream: str = DEFAULT_UPSTREAM) -> float:
        """The pacing rate (requests per second) ``ip`` has learned for ``upstream``."""
        return self._lane(ip, upstream).pacer.rate

    def snapshot(self) -> list[IpSnapshot]:
        snapshots = []
        for ip in self._order:
            slot = self._slots[ip]
            snapshots.append(
                IpSnapshot(
                    ip=ip,
                    state=self.state(ip),
                    inflight=slot.inflight,
                    long_lived=slot.long_lived,
                    cooldown_remaining=self.cooldown_remaining(ip),
                    requests=slot.requests,
                    rate_limited=slot.rate_limited,
                    timeouts=slot.timeouts,
                    connect_errors=slot.connect_errors,
                    server_errors=slot.server_errors,
                    learned_rps={
                        upstream: round(lane.pacer.rate, 3) for upstream, lane in slot.lanes.items()
                    },
                )
            )
        return snapshots

    @property
    def waiting(self) -> int:
        return len(self._waiters)
