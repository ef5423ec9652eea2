"""Adaptive pacing: how fast one source IP may call one upstream, learned from its answers.

One :class:`Pacer` per (source IP, upstream) is a token bucket whose rate is learned. Its
burst is small (``PacingPolicy.burst``, 2 tokens), so the workers of an IP leave one after
the other at the learned rate instead of firing their whole in-flight allowance at once.

The rate is adjusted once per *control interval* (``slow_start_doubling_s`` in slow start,
then ``interval_s`` with at least ``interval_answers`` answers) from the answers received in
it:

* **Slow start.** Until the first HTTP 429 the rate doubles every ``slow_start_doubling_s``
  while the workers actually use it (``utilization`` of the allowance; an idle pacer does
  not grow) and the answers are clean.
* **Learning the ceiling.** An interval in which at least ``limited_share`` of the answers
  were 429 is *limited*: the upstream accepts what it sustains for this IP and refuses the
  rest, so the rate at which it *accepts*, measured from its first refusal on (for at least
  ``measure_s`` and ``measure_answers``), is its limit. That estimate, bounded by what we
  sent, becomes the ``ceiling`` and the rate drops to ``hold`` × ceiling (95 %). Measuring
  from the first refusal matters: a token-bucket limiter with a deep burst hides its rate
  until the bucket is empty, so the accepted rate over the whole interval would overestimate
  it and the pacer would need a cascade of cuts.
* **Holding and probing.** Right after a cut the upstream's bucket is empty and a few 429s
  are expected; in that interval only ``grace_share`` of them cuts again. Later, an interval
  with a few 429s (fewer than ``limited_share``) eases the ceiling down by ``ease_step``: the
  measured ceiling was a little high. Otherwise the rate stays at the hold point: every
  ``probe_after_s`` of clean, busy intervals the ceiling is raised by ``probe_step``, so a
  limit that went up is found again without oscillating through 429s in between.

A 429 answer to a request sent before the pacer last cut its rate was already on the wire;
it does not count again. ``max_rps`` (> 0) is an explicit ceiling the learned rate never
exceeds. Cooldowns (:meth:`Pacer.block`) stop the pacer entirely until they end; the
allocator decides them (galileo/net/_allocator.py).
"""

from __future__ import annotations

import math

import attrs

from galileo._config import NetworkConfig

_EPSILON = 1e-9
"""Token fractions and waits below this are rounding, not time."""


@attrs.frozen(kw_only=True)
class PacingPolicy:
    """How a :class:`Pacer` learns. Only ``max_rps`` comes from the configuration
    (``network.quote_rps_per_ip_max``); the rest are the algorithm's constants."""

    max_rps: float = 0.0
    """An explicit ceiling (requests per second); 0 = learn without one."""
    initial_rps: float = 20.0
    """Where slow start begins."""
    min_rps: float = 1.0
    """The rate never drops below this (a 429 storm still lets a probe through)."""
    burst: float = 2.0
    """Tokens the bucket holds: how many requests may leave back to back."""
    interval_s: float = 0.5
    """Length of one control interval."""
    slow_start_doubling_s: float = 0.25
    """Slow start doubles the rate this often while the allowance is used."""
    utilization: float = 0.7
    """Share of the allowance an interval must use for the rate to grow."""
    hold: float = 0.95
    """The rate settles at this share of the learned ceiling."""
    probe_after_s: float = 20.0
    """Seconds of clean, busy answers at the hold point before the ceiling is probed."""
    probe_step: float = 0.1
    """A probe raises the ceiling by this share."""
    ease_step: float = 0.02
    """An interval at the hold point with a few 429s (fewer than ``limited_share``) lowers
    the ceiling by this share."""
    measure_s: float = 0.25
    """A limited interval is measured for at least this long after its first 429..."""
    measure_answers: int = 30
    """... and until this many answers were accepted since (a rate of 40/s needs 0.75 s) ..."""
    measure_max_s: float = 1.0
    """... but never longer than this."""
    interval_answers: int = 30
    """Past slow start an interval also waits for this many answers (a 429 among 20 is no
    rate) ..."""
    interval_max_s: float = 2.0
    """... for at most this long."""
    grace_share: float = 0.1
    """Right after a cut the upstream's bucket is empty and refills slowly; in the next
    interval only this share of 429s means the cut was not deep enough."""
    limited_share: float = 0.03
    """An interval is *limited* when at least this share of its answers were 429: fewer are
    noise at the edge of the limit (each still cools the IP down), not a new ceiling."""

    @classmethod
    def from_config(cls, network: NetworkConfig) -> PacingPolicy:
        return cls(max_rps=network.quote_rps_per_ip_max)


class Pacer:
    """The learned token bucket of one (source IP, upstream). Not thread-safe; one trio
    task at a time calls it (the allocator serialises waiters per pacer)."""

    __slots__ = (
        "_accepted",
        "_accepted_since_limited",
        "_blocked_since",
        "_blocked_time",
        "_clean_busy_s",
        "_first_limited",
        "_grace",
        "_granted",
        "_group",
        "_interval_start",
        "_limited",
        "_reacted_at",
        "_refilled",
        "_tokens",
        "blocked_until",
        "ceiling",
        "policy",
        "rate",
        "slow_start",
    )

    def __init__(self, policy: PacingPolicy, *, now: float) -> None:
        self.policy = policy
        self.rate = self._clamp(policy.initial_rps)
        self.ceiling: float | None = None
        self.slow_start = True
        self.blocked_until = -math.inf
        self._tokens = policy.burst
        self._group = 1
        self._refilled = now
        self._interval_start = now
        self._granted = 0
        self._accepted = 0
        self._limited = 0
        self._first_limited: float | None = None
        self._accepted_since_limited = 0
        self._reacted_at = -math.inf
        self._grace = False
        self._blocked_since: float | None = None
        self._blocked_time = 0.0
        self._clean_busy_s = 0.0

    # -- the bucket ----------------------------------------------------------------------------

    def delay(self, now: float, requests: int = 1) -> float:
        """Take ``requests`` tokens and return 0 when that many requests may leave now;
        otherwise return how long to wait before asking again (nothing is taken)."""
        self._tick(now)
        if now < self.blocked_until:
            return self.blocked_until - now
        self._group = max(self._group, requests)
        self._refill(now)
        if self._tokens >= requests - _EPSILON:
            self._tokens = max(0.0, self._tokens - requests)
            self._granted += requests
            return 0.0
        return max(_EPSILON, (requests - self._tokens) / self.rate)

    def take(self, now: float, requests: int = 1) -> None:
        """Take ``requests`` tokens now, into debt if the bucket holds fewer (an urgent
        request does not queue; whoever paces next waits for the debt to refill). Call only
        outside a cooldown."""
        self._tick(now)
        self._refill(now)
        self._tokens -= requests
        self._granted += requests

    def refund(self, requests: int = 1) -> None:
        """Give back tokens taken for requests that were not sent."""
        self._tokens = min(self._capacity(), self._tokens + requests)
        self._granted = max(0, self._granted - requests)

    def block(self, now: float, until: float) -> None:
        """Send nothing before ``until`` (a cooldown)."""
        if until <= self.blocked_until:
            return
        if self.blocked_until <= now:  # a new cooldown: account for the previous one
            if self._blocked_since is not None:
                start = max(self._blocked_since, self._interval_start)
                self._blocked_time += max(0.0, self.blocked_until - start)
            self._blocked_since = now
        self.blocked_until = until

    def _refill(self, now: float) -> None:
        if now > self._refilled:
            start = max(self._refilled, self.blocked_until)
            if start < now:  # no tokens accrue during a cooldown
                self._tokens = min(self._capacity(), self._tokens + (now - start) * self.rate)
            self._refilled = now

    def _capacity(self) -> float:
        """What the bucket holds: ``burst`` single requests, or the largest group taken at
        once plus ``burst - 1`` — the slack that keeps a waiter woken a little late from
        losing the tokens that accrued meanwhile."""
        return self.policy.burst + self._group - 1

    # -- answers -------------------------------------------------------------------------------

    def on_accepted(self, now: float) -> None:
        """An answer that was not a 429 (success, no route, any upstream answer)."""
        self._tick(now)
        self._accepted += 1
        if self._first_limited is not None:
            self._accepted_since_limited += 1

    def on_rate_limited(self, now: float, sent_at: float) -> bool:
        """A 429. Returns True when it is news — the request left after the pacer last
        reacted — and False for one that was already on the wire."""
        self._tick(now)
        if sent_at < self._reacted_at:
            return False
        self._limited += 1
        if self._first_limited is None:
            self._first_limited = now
        return True

    # -- the control loop ----------------------------------------------------------------------

    def _tick(self, now: float) -> None:
        p = self.policy
        elapsed = now - self._interval_start
        if self.slow_start:
            if elapsed < p.slow_start_doubling_s:
                return
        elif elapsed < p.interval_s or (
            self._accepted + self._limited < p.interval_answers and elapsed < p.interval_max_s
        ):
            return
        first = self._first_limited
        if first is not None and self._is_limited():
            measured = now - first
            if measured < p.measure_s or (
                self._accepted_since_limited < p.measure_answers and measured < p.measure_max_s
            ):
                return  # limited: measure what the upstream accepts a little longer first
        self._adjust(now)

    def _is_limited(self) -> bool:
        share = self.policy.grace_share if self._grace else self.policy.limited_share
        return self._limited > 0 and self._limited >= share * (self._limited + self._accepted)

    def _active_time(self, now: float) -> float:
        """Seconds of the current interval not spent in a cooldown."""
        blocked = self._blocked_time
        if self._blocked_since is not None:
            end = min(now, self.blocked_until)
            blocked += max(0.0, end - max(self._blocked_since, self._interval_start))
        return max(0.0, now - self._interval_start - blocked)

    def _adjust(self, now: float) -> None:
        p = self.policy
        active = self._active_time(now)
        self._refill(now)
        if self._is_limited():
            # The upstream refused part of what we sent. Since its first refusal it accepts
            # what it sustains for this IP: that rate (never more than we sent) is the
            # ceiling, and we settle just under it.
            assert self._first_limited is not None
            span = now - self._first_limited
            accepted_rate = self._accepted_since_limited / span if span > 0 else 0.0
            sent_rate = self._granted / active if active > 0 else self.rate
            self.ceiling = max(p.min_rps, min(accepted_rate, sent_rate, self.rate))
            self.rate = self._clamp(p.hold * self.ceiling)
            self.slow_start = False
            self._clean_busy_s = 0.0
            self._reacted_at = now
            self._grace = True
        else:
            grace, self._grace = self._grace, False
            if self._limited and self.ceiling is not None and not grace:
                # A few 429s at the hold point (too few to be a new limit): the ceiling is a
                # little high — a limiter's burst, or answers bunched by a busy CPU, inflated
                # its measurement. Ease off a notch rather than sit on the edge.
                self.ceiling = max(p.min_rps, self.ceiling * (1.0 - p.ease_step))
                self.rate = self._clamp(p.hold * self.ceiling)
                self._clean_busy_s = 0.0
                self._reacted_at = now
            elif active > 0 and self._granted >= p.utilization * self.rate * active:
                self._grow(active)
        self._interval_start = now
        self._granted = 0
        self._accepted = 0
        self._limited = 0
        self._first_limited = None
        self._accepted_since_limited = 0
        self._blocked_time = 0.0
        self._blocked_since = now if self.blocked_until > now else None

    def _grow(self, active: float) -> None:
        """A clean interval that used its allowance: double in slow start; at the hold
        point, probe the ceiling after ``probe_after_s`` of such intervals."""
        p = self.policy
        if self.slow_start:
            doublings = min(active, 2 * p.slow_start_doubling_s) / p.slow_start_doubling_s
            self.rate = self._clamp(self.rate * 2.0**doublings)
        elif self.ceiling is not None:
            self._clean_busy_s += active
            if self._clean_busy_s >= p.probe_after_s:
                self._clean_busy_s = 0.0
                self.ceiling *= 1.0 + p.probe_step
                self.rate = self._clamp(p.hold * self.ceiling)

    def _clamp(self, rate: float) -> float:
        p = self.policy
        if p.max_rps > 0:
            rate = min(rate, p.max_rps)
        return max(p.min_rps, rate)
