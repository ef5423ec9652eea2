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

LEASE_PRIORITY: dict[LeaseKind, int] = {
    LeaseKind.LANDER: 0,
    LeaseKind.SWAP: 0,
    LeaseKind.RPC: 1,
    LeaseKind.LONG_LIVED: 1,
    LeaseKind.QUOTE: 2,
}
"""Who is served first when leases wait (lower first): a lander send and the swap
instructions of a live opportunity outrank RPC reads, which outrank new quotes."""

_UNCAPPED = frozenset({LeaseKind.LONG_LIVED, LeaseKind.LANDER})
"""Kinds the in-flight cap does not hold back: a long-lived stream shares its IP, and a
lander send (paced by its endpoint's own per-IP budget) never waits for a quote to end. A
lander send still counts in ``galileo_ip_inflight`` while it runs."""

URGENT_KINDS = frozenset({LeaseKind.LANDER, LeaseKind.SWAP})
"""Kinds that work on a live opportunity: they skip the pacing queue (taking their tokens
at once, so the quotes behind them wait that much longer) and may use the in-flight slot
quotes leave free (:attr:`IpAllocator.urgent_reserve`)."""


class IpState(enum.Enum):
    """What an IP is doing. Values double as metric/status labels."""

    IDLE = "idle"
    BUSY = "busy"
    COOLING_DOWN = "cooling_down"
    SHARED_LONG_LIVED = "shared_long_lived"


class NoIpAvailable(GalileoError):
    """No lease could be granted before the deadline."""


class IpRemoved(NoIpAvailable):
    """The IP a waiter was pinned to left the inventory."""


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
    paced: bool = False
    """Has anyone paced on this lane? Lanes only used for their cooldowns (a lander
    endpoint with its own fixed-rate budget) report no learned rate."""

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
    removed: bool = False


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
        await self._allocator.pace(
            self.ip, self.upstream, requests, urgent=self.kind in URGENT_KINDS
        )

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


def _raise_removed(ip: str | None) -> None:
    raise IpRemoved(f"{ip_label(ip or '')} left the inventory")


def _check_deadline(now: float, deadline: float, kind: LeaseKind, ip: str | None) -> None:
    if now >= deadline:
        where = ip_label(ip) if ip is not None else "any IP"
        raise NoIpAvailable(f"no {kind.value} lease on {where} before the deadline")


class IpAllocator:
    """Leases over the source IPs (:meth:`add_ip` / :meth:`remove_ip` while running).

    ``acquire(kind, deadline)`` grants the least-loaded available IP (round-robin among
    equals); ``acquire(kind, deadline, ip=...)`` waits for that one IP. An IP is available
    for an upstream when that (IP, upstream) is not cooling down and the IP holds fewer than
    ``max_inflight_per_ip`` short leases (quotes: fewer than that minus ``urgent_reserve``).
    Waiters are served by :data:`LEASE_PRIORITY`, then first come first served.
    """

    def __init__(
        self,
        ips: Iterable[str],
        *,
        max_inflight_per_ip: int = 8,
        urgent_reserve: int = 0,
        cooldown: CooldownPolicy | None = None,
        pacing: PacingPolicy | None = None,
        metrics: NetMetrics | None = None,
        clock: Callable[[], float] = trio.current_time,
        rng: random.Random | None = None,
    ) -> None:
        self._slots: dict[str, _Slot] = {ip: _Slot(ip) for ip in ips}
        if not self._slots:
            raise ValueError("IpAllocator needs at least one IP")
        self._retired: dict[str, _Slot] = {}
        self._order = list(self._slots)
        self._cursor = 0
        self._cap = max_inflight_per_ip
        if not 0 <= urgent_reserve < max_inflight_per_ip:
            raise ValueError("urgent_reserve must leave quotes at least one slot")
        self.urgent_reserve = urgent_reserve
        """In-flight slots per IP quotes may not take, so a lander send or swap
        instructions for a live opportunity never queue behind quotes."""
        self._cooldown = cooldown or CooldownPolicy()
        self._pacing = pacing or PacingPolicy()
        self._metrics = metrics if metrics is not None else NetMetrics(CollectorRegistry())
        self._clock = clock
        self._rng = rng or random.Random()
        self._waiters: deque[_Waiter] = deque()
        for ip in self._order:
            self._report_utilization(self._slots[ip])

    @classmethod
    def for_network(
        cls, network: NetworkConfig, ips: Iterable[str], *, registry: CollectorRegistry
    ) -> IpAllocator:
        """The allocator ``network`` describes, over ``ips``, metrics on ``registry``."""
        return cls(
            ips,
            max_inflight_per_ip=network.max_inflight_per_ip,
            urgent_reserve=1 if network.max_inflight_per_ip > 1 else 0,
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
        at ``deadline`` (absolute, trio clock), :class:`IpRemoved` when ``ip`` is not (or no
        longer) in the set. ``None`` waits as long as the caller's cancel scope allows."""
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
        if ip is not None and ip not in self._slots:
            raise IpRemoved(f"{ip_label(ip)} is not in the inventory")
        if not self._waiters or self._outranks_waiters(kind):
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
                if waiter.removed:
                    _raise_removed(ip)
                if waiter.granted is None:
                    # Woken by time: a cooldown may have ended. Serve in FIFO order.
                    self._serve_waiters()
        except BaseException:
            if waiter.granted is not None:
                self._release(waiter.granted, kind)
            elif waiter in self._waiters:
                self._waiters.remove(waiter)
            raise
        return IpLease(self, waiter.granted, kind, upstream)

    def _outranks_waiters(self, kind: LeaseKind) -> bool:
        """Does ``kind`` come before every lease waiting now?"""
        rank = LEASE_PRIORITY[kind]
        return all(rank < LEASE_PRIORITY[w.kind] for w in self._waiters)

    def _available(self, slot: _Slot, kind: LeaseKind, upstream: str, now: float) -> bool:
        lane = slot.lanes.get(upstream)
        if lane is not None and lane.cooldown_until > now:
            return False
        if kind in _UNCAPPED:
            return True
        if kind is LeaseKind.QUOTE:
            return slot.inflight < self._cap - self.urgent_reserve
        return slot.inflight < self._cap

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
            self._report_utilization(slot)
        return slot.ip

    def _serve_waiters(self) -> None:
        """Grant leases to waiters, by priority (:data:`LEASE_PRIORITY`) then oldest first;
        a waiter nobody can serve yet keeps its place without blocking younger waiters that
        want a different IP."""
        if not self._waiters:
            return
        remaining: deque[_Waiter] = deque()
        waiters = sorted(self._waiters, key=lambda w: LEASE_PRIORITY[w.kind])
        self._waiters = deque()
        for waiter in waiters:
            granted = self._try_grant(waiter.kind, waiter.ip, waiter.upstream)
            if granted is None:
                remaining.append(waiter)
            else:
                waiter.granted = granted
                waiter.event.set()
        self._waiters = remaining

    def _next_cooldown_end(self, ip: str | None, now: float) -> float:
        if ip is not None and ip not in self._slots:
            return float("inf")
        slots = [self._slots[ip]] if ip is not None else self._slots.values()
        ends = [
            lane.cooldown_until
            for s in slots
            for lane in s.lanes.values()
            if lane.cooldown_until > now
        ]
        return min(ends) if ends else float("inf")

    def _release(self, ip: str, kind: LeaseKind) -> None:
        retired = ip not in self._slots
        slot = self._slot(ip)
        if kind is LeaseKind.LONG_LIVED:
            slot.long_lived -= 1
        else:
            slot.inflight -= 1
            if not retired:
                self._metrics.inflight.labels(ip_label(ip)).set(slot.inflight)
                self._report_utilization(slot)
        if retired and slot.inflight == 0 and slot.long_lived == 0:
            del self._retired[ip]
        self._serve_waiters()

    def _report_utilization(self, slot: _Slot) -> None:
        self._metrics.utilization.labels(ip_label(slot.ip)).set(slot.inflight / self._cap)

    # -- the IP set --------------------------------------------------------------------------

    def add_ip(self, ip: str) -> bool:
        """Lease from ``ip`` too (an IP the inventory found while running). An IP that left
        with leases still out comes back with its state (lanes, learned rates, cooldowns);
        otherwise it starts fresh (slow start). False: already in."""
        if ip in self._slots:
            return False
        returning = self._retired.pop(ip, None)
        self._slots[ip] = returning if returning is not None else _Slot(ip)
        self._order.append(ip)
        self._report_utilization(self._slots[ip])
        self._serve_waiters()
        return True

    def remove_ip(self, ip: str) -> bool:
        """Grant nothing more on ``ip``: waiters pinned to it raise :class:`IpRemoved`; leases
        still out release normally (the IP's owner cancels its tasks). The last IP cannot be
        removed (``ValueError``). False: not in."""
        if ip not in self._slots:
            return False
        if len(self._slots) == 1:
            raise ValueError("cannot remove the last source IP")
        slot = self._slots.pop(ip)
        self._order.remove(ip)
        self._cursor = 0
        if slot.inflight or slot.long_lived:
            self._retired[ip] = slot
        for waiter in [w for w in self._waiters if w.ip == ip]:
            self._waiters.remove(waiter)
            waiter.removed = True
            waiter.event.set()
        self._metrics.inflight.labels(ip_label(ip)).set(0)
        self._metrics.utilization.labels(ip_label(ip)).set(0)
        return True

    # -- pacing ------------------------------------------------------------------------------

    def _slot(self, ip: str) -> _Slot:
        slot = self._slots.get(ip) or self._retired.get(ip)
        if slot is None:
            raise KeyError(f"unknown IP {ip!r}")
        return slot

    def _lane(self, ip: str, upstream: str) -> _Lane:
        slot = self._slot(ip)
        lane = slot.lanes.get(upstream)
        if lane is None:
            lane = slot.lanes[upstream] = _Lane(Pacer(self._pacing, now=self._clock()))
            self._report_rate(ip, upstream, lane)
        return lane

    def _report_rate(self, ip: str, upstream: str, lane: _Lane) -> None:
        rate = lane.pacer.rate
        if lane.paced and rate != lane.reported_rps:
            lane.reported_rps = rate
            self._metrics.learned_rps.labels(ip_label(ip), upstream).set(rate)

    async def pace(
        self, ip: str, upstream: str = DEFAULT_UPSTREAM, requests: int = 1, *, urgent: bool = False
    ) -> None:
        """Wait until ``requests`` requests from ``ip`` to ``upstream`` may leave: the
        learned rate and any cooldown of the pair allow them. Waiters are served in order;
        ``urgent`` requests only wait out a cooldown, then take their tokens at once (in
        debt if need be: the queue behind them waits that much longer)."""
        lane = self._lane(ip, upstream)
        lane.paced = True
        pacer = lane.pacer
        if urgent:
            # A cooldown only ever grows: sleep to its end, re-read, until it is over.
            while (wait := pacer.blocked_until - self._clock()) > 0:  # noqa: ASYNC110
                await trio.sleep(wait)
            pacer.take(self._clock(), requests)
            self._report_rate(ip, upstream, lane)
            return
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
        slot = self._slot(ip)
        lane = self._lane(ip, upstream)
        slot.requests += 1
        self._metrics.count(
            task.value, ip, result.value, None if sent_at is None else (now - sent_at) * 1000.0
        )
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

    def cooldown_remaining(self, ip: str, upstream: str | None = None) -> float:
        """Seconds ``ip`` stays cooling down for ``upstream`` (``None``: for any upstream)."""
        slot = self._slot(ip)
        if upstream is None:
            until = slot.cooldown_until
        else:
            lane = slot.lanes.get(upstream)
            until = lane.cooldown_until if lane is not None else -math.inf
        return max(0.0, until - self._clock())

    def __contains__(self, ip: object) -> bool:
        return ip in self._slots

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
