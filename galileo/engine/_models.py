"""The quote engine's live statistics (the values it hands to execution are in
:mod:`galileo.model`)."""

from __future__ import annotations

from typing import Any

import attrs

from galileo.net import IpSnapshot


@attrs.frozen
class IpStats:
    """One source IP in the live view; ``learned_rps``: its pacing rate per upstream."""

    ip: str
    state: str
    inflight: int
    cooldown_remaining: float
    requests: int
    rate_limited: int
    timeouts: int
    connect_errors: int = 0
    server_errors: int = 0
    learned_rps: dict[str, float] = attrs.field(factory=dict)


@attrs.frozen
class EngineStats:
    """``QuoteEngine.stats()``: totals since start plus the recent quote rate."""

    running_for: float
    quotes: int
    quotes_per_second: float
    recent_quotes_per_second: float
    batches: int
    opportunities: int
    outcomes: dict[str, int]
    errors: dict[str, int]
    ips: tuple[IpStats, ...]

    @staticmethod
    def ip_stats(snapshots: list[IpSnapshot]) -> tuple[IpStats, ...]:
        return tuple(
            IpStats(
                ip=s.ip or "default",
                state=s.state.value,
                inflight=s.inflight,
                cooldown_remaining=s.cooldown_remaining,
                requests=s.requests,
                rate_limited=s.rate_limited,
                timeouts=s.timeouts,
                connect_errors=s.connect_errors,
                server_errors=s.server_errors,
                learned_rps=dict(s.learned_rps),
            )
            for s in snapshots
        )

    def as_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)
