"""Source-IP leases: who may send from which IP right now.

Every outbound request on the quote path runs under an :class:`IpLease`. The allocator
enforces a per-IP in-flight cap, puts an IP into a doubling cooldown after HTTP 429 or a
timeout (reset by a success), and serves waiters first-come first-served: a released slot is
handed straight to the oldest waiter that can use it, so nobody polls. Time is
``trio.current_time()`` (or an injected clock), so tests run on trio's MockClock.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable, Iterable
from types import TracebackType

import attrs
import trio
from prometheus_client import CollectorRegistry

from galileo._config import NetworkConfig
from galileo._errors import GalileoError
from galileo.model import LeaseKind, LeaseResult
from galileo.net._metrics import NetMetrics, ip_label


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
    """Doubling cooldowns (seconds): 429 starts at 0.5 s, a timeout at 0.25 s."""

    rate_limited_initial: float = 0.5
    rate_limited_max: float = 30.0
    timeout_initial: float = 0.25
    timeout_max: float = 10.0

    @classmethod
    def from_config(cls, network: NetworkConfig) -> CooldownPolicy:
        return cls(
            rate_limited_initial=network.cooldown_429_initial_ms / 1000,
            rate_limited_max=network.cooldown_429_max_ms / 1000,
            timeout_initial=network.cooldown_timeout_initial_ms / 1000,
            timeout_max=network.cooldown_timeout_max_ms / 1000,
        )

    def duration(self, result: LeaseResult, strikes: int) -> float:
        """Cooldown after the ``strikes``-th consecutive failure of this kind (1-based)."""
        if result is LeaseResult.RATE_LIMITED:
            initial, cap = self.rate_limited_initial, self.rate_limited_max
        else:
            initial, cap = self.timeout_initial, self.timeout_max
        return float(min(initial * (2 ** min(strikes - 1, 62)), cap))


@attrs.frozen
class IpSnapshot:
    """One IP as the live view shows it."""

    ip: str
    state: IpState
    inflight: int
    long_lived: int
    cooldown_remaining: float
    requests: int
    rate_limited: int
    timeouts: int


@attrs.define
class _Slot:
    ip: str
    inflight: int = 0
    long_lived: int = 0
    cooldown_until: float = float("-inf")
    strikes: dict[LeaseResult, int] = attrs.field(factory=dict)
    requests: int = 0
    rate_limited: int = 0
    timeouts: int = 0


@attrs.define(eq=False)
class _Waiter:
    kind: LeaseKind
    ip: str | None
    event: trio.Event = attrs.field(factory=trio.Event)
    granted: str | None = None


class IpLease:
    """The right to send from ``ip``. Use as an async context manager, or call
    :meth:`release` exactly once. :meth:`mark` records each request's outcome."""

    __slots__ = ("_allocator", "_released", "ip", "kind")

    def __init__(self, allocator: IpAllocator, ip: str, kind: LeaseKind) -> None:
        self._allocator = allocator
        self.ip = ip
        self.kind = kind
        self._released = False

    def mark(self, result: LeaseResult) -> None:
        self._allocator.mark_result(self.ip, result, task=self.kind)

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
        return f"IpLease(ip={ip_label(self.ip)!r}, kind={self.kind.value})"


class _Acquire:
    """``async with allocator.acquire(...) as lease``."""

    __slots__ = ("_allocator", "_deadline", "_ip", "_kind", "_lease")

    def __init__(
        self, allocator: IpAllocator, kind: LeaseKind, deadline: float | None, ip: str | None
    ) -> None:
        self._allocator = allocator
        self._kind = kind
        self._deadline = deadline
        self._ip = ip
        self._lease: IpLease | None = None

    async def __aenter__(self) -> IpLease:
        self._lease = await self._allocator.lease(self._kind, self._deadline, ip=self._ip)
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
    when it is not cooling down and holds fewer than ``max_inflight_per_ip`` short leases.
    """

    def __init__(
        self,
        ips: Iterable[str],
        *,
        max_inflight_per_ip: int = 8,
        cooldown: CooldownPolicy | None = None,
        metrics: NetMetrics | None = None,
        clock: Callable[[], float] = trio.current_time,
    ) -> None:
        self._slots: dict[str, _Slot] = {ip: _Slot(ip) for ip in ips}
        if not self._slots:
            raise ValueError("IpAllocator needs at least one IP")
        self._order = list(self._slots)
        self._cursor = 0
        self._cap = max_inflight_per_ip
        self._cooldown = cooldown or CooldownPolicy()
        self._metrics = metrics if metrics is not None else NetMetrics(CollectorRegistry())
        self._clock = clock
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
            metrics=NetMetrics(registry),
        )

    @property
    def ips(self) -> list[str]:
        return list(self._order)

    @property
    def max_inflight_per_ip(self) -> int:
        return self._cap

    # -- leasing -----------------------------------------------------------------------------

    def acquire(
        self,
        kind: LeaseKind = LeaseKind.QUOTE,
        deadline: float | None = None,
        *,
        ip: str | None = None,
    ) -> _Acquire:
        """Async context manager yielding an :class:`IpLease`; raises :class:`NoIpAvailable`
        at ``deadline`` (absolute, trio clock). ``None`` waits as long as the caller's
        cancel scope allows."""
        if ip is not None and ip not in self._slots:
            raise KeyError(f"unknown IP {ip!r}")
        return _Acquire(self, kind, deadline, ip)

    async def lease(
        self,
        kind: LeaseKind = LeaseKind.QUOTE,
        deadline: float | None = None,
        *,
        ip: str | None = None,
    ) -> IpLease:
        """Like :meth:`acquire`, for callers that release the lease themselves."""
        await trio.lowlevel.checkpoint_if_cancelled()
        if not self._waiters:
            granted = self._try_grant(kind, ip)
            if granted is not None:
                return IpLease(self, granted, kind)
        waiter = _Waiter(kind, ip)
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
        return IpLease(self, waiter.granted, kind)

    def _available(self, slot: _Slot, kind: LeaseKind, now: float) -> bool:
        if slot.cooldown_until > now:
            return False
        return kind is LeaseKind.LONG_LIVED or slot.inflight < self._cap

    def _try_grant(self, kind: LeaseKind, ip: str | None) -> str | None:
        now = self._clock()
        if ip is not None:
            slot = self._slots[ip]
            if not self._available(slot, kind, now):
                return None
        else:
            best: _Slot | None = None
            n = len(self._order)
            for i in range(n):
                candidate = self._slots[self._order[(self._cursor + i) % n]]
                if self._available(candidate, kind, now) and (
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
            granted = self._try_grant(waiter.kind, waiter.ip)
            if granted is None:
                remaining.append(waiter)
            else:
                waiter.granted = granted
                waiter.event.set()
        self._waiters = remaining

    def _next_cooldown_end(self, ip: str | None, now: float) -> float:
        slots = [self._slots[ip]] if ip is not None else self._slots.values()
        ends = [s.cooldown_until for s in slots if s.cooldown_until > now]
        return min(ends) if ends else float("inf")

    def _release(self, ip: str, kind: LeaseKind) -> None:
        slot = self._slots[ip]
        if kind is LeaseKind.LONG_LIVED:
            slot.long_lived -= 1
        else:
            slot.inflight -= 1
            self._metrics.inflight.labels(ip_label(ip)).set(slot.inflight)
        self._serve_waiters()

    # -- results and cooldowns ---------------------------------------------------------------

    def mark_result(
        self, ip: str, result: LeaseResult, *, task: LeaseKind = LeaseKind.QUOTE
    ) -> None:
        """Record one request's outcome: 429 and timeouts start (or extend) a doubling
        cooldown; a success resets the doubling."""
        slot = self._slots[ip]
        slot.requests += 1
        self._metrics.requests.labels(task.value, ip_label(ip), result.value).inc()
        if result is LeaseResult.SUCCESS:
            slot.strikes.clear()
            return
        if result is LeaseResult.ERROR:
            return
        if result is LeaseResult.RATE_LIMITED:
            slot.rate_limited += 1
        else:
            slot.timeouts += 1
        strikes = slot.strikes.get(result, 0) + 1
        slot.strikes[result] = strikes
        until = self._clock() + self._cooldown.duration(result, strikes)
        slot.cooldown_until = max(slot.cooldown_until, until)
        self._metrics.cooldowns.labels(ip_label(ip), result.value).inc()

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
        """IPs not cooling down, in inventory order."""
        now = self._clock()
        return [ip for ip in self._order if self._slots[ip].cooldown_until <= now]

    def cooldown_remaining(self, ip: str) -> float:
        return max(0.0, self._slots[ip].cooldown_until - self._clock())

    def snapshot(self) -> list[IpSnapshot]:
        return [
            IpSnapshot(
                ip=ip,
                state=self.state(ip),
                inflight=self._slots[ip].inflight,
                long_lived=self._slots[ip].long_lived,
                cooldown_remaining=self.cooldown_remaining(ip),
                requests=self._slots[ip].requests,
                rate_limited=self._slots[ip].rate_limited,
                timeouts=self._slots[ip].timeouts,
            )
            for ip in self._order
        ]

    @property
    def waiting(self) -> int:
        return len(self._waiters)
