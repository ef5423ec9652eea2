"""IpAllocator: caps, cooldowns, FIFO waiters, states — on trio's MockClock."""

from __future__ import annotations

import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from galileo._config import NetworkConfig
from galileo.model import LeaseKind, LeaseResult
from galileo.net import CooldownPolicy, IpAllocator, IpState, NetMetrics, NoIpAvailable

IPS = ["10.0.0.1", "10.0.0.2"]


async def test_leases_spread_over_ips_and_respect_the_per_ip_cap() -> None:
    allocator = IpAllocator(IPS, max_inflight_per_ip=2)
    leases = [await allocator.lease() for _ in range(4)]
    assert sorted(lease.ip for lease in leases) == sorted(IPS * 2)
    assert all(allocator.state(ip) is IpState.BUSY for ip in IPS)
    with pytest.raises(NoIpAvailable):
        await allocator.lease(deadline=trio.current_time())
    for lease in leases:
        lease.release()
    assert all(allocator.state(ip) is IpState.IDLE for ip in IPS)


async def test_async_with_releases_the_lease_even_on_error() -> None:
    allocator = IpAllocator(IPS[:1], max_inflight_per_ip=1)
    with pytest.raises(RuntimeError):
        async with allocator.acquire(LeaseKind.QUOTE) as lease:
            assert allocator.state(lease.ip) is IpState.BUSY
            raise RuntimeError("boom")
    assert allocator.state(IPS[0]) is IpState.IDLE


async def test_rate_limit_cooldown_doubles_to_the_cap_and_success_resets(
    autojump_clock: trio.testing.MockClock,
) -> None:
    policy = CooldownPolicy(rate_limited_initial=0.5, rate_limited_max=2.0)
    allocator = IpAllocator(IPS[:1], cooldown=policy)
    ip = IPS[0]
    seen = []
    for _ in range(4):
        allocator.mark_result(ip, LeaseResult.RATE_LIMITED)
        seen.append(allocator.cooldown_remaining(ip))
    # cooldown_until only grows: the remaining time reflects the longest one asked for
    assert seen == [0.5, 1.0, 2.0, 2.0]
    assert allocator.state(ip) is IpState.COOLING_DOWN
    allocator.mark_result(ip, LeaseResult.SUCCESS)
    assert policy.duration(LeaseResult.RATE_LIMITED, 1) == 0.5


async def test_timeout_cooldown_starts_at_250ms(autojump_clock: trio.testing.MockClock) -> None:
    allocator = IpAllocator(IPS[:1])
    start = trio.current_time()
    allocator.mark_result(IPS[0], LeaseResult.TIMEOUT)
    assert allocator.cooldown_remaining(IPS[0]) == pytest.approx(0.25)
    async with allocator.acquire() as lease:
        assert trio.current_time() - start == pytest.approx(0.25)
        assert lease.ip == IPS[0]


async def test_success_resets_the_doubling(autojump_clock: trio.testing.MockClock) -> None:
    allocator = IpAllocator(IPS[:1])
    ip = IPS[0]
    allocator.mark_result(ip, LeaseResult.RATE_LIMITED)
    allocator.mark_result(ip, LeaseResult.RATE_LIMITED)
    await trio.sleep(5)
    allocator.mark_result(ip, LeaseResult.SUCCESS)
    allocator.mark_result(ip, LeaseResult.RATE_LIMITED)
    assert allocator.cooldown_remaining(ip) == pytest.approx(0.5)


async def test_a_cooling_ip_is_skipped_while_another_is_free() -> None:
    allocator = IpAllocator(IPS)
    allocator.mark_result(IPS[0], LeaseResult.RATE_LIMITED)
    for _ in range(3):
        async with allocator.acquire() as lease:
            assert lease.ip == IPS[1]
    assert allocator.healthy() == [IPS[1]]


async def test_waiters_are_served_first_come_first_served(
    autojump_clock: trio.testing.MockClock,
) -> None:
    allocator = IpAllocator(IPS[:1], max_inflight_per_ip=1)
    holder = await allocator.lease()
    order: list[int] = []

    async def wait_for_lease(index: int) -> None:
        async with allocator.acquire():
            order.append(index)
            await trio.sleep(0.01)

    async with trio.open_nursery() as nursery:
        for index in range(5):
            nursery.start_soon(wait_for_lease, index)
            await trio.testing.wait_all_tasks_blocked()
        assert allocator.waiting == 5
        holder.release()
    assert order == [0, 1, 2, 3, 4]


async def test_waiting_for_a_cooldown_wakes_at_its_end(
    autojump_clock: trio.testing.MockClock,
) -> None:
    allocator = IpAllocator(IPS[:1])
    allocator.mark_result(IPS[0], LeaseResult.RATE_LIMITED)
    allocator.mark_result(IPS[0], LeaseResult.RATE_LIMITED)  # 1.0 s
    start = trio.current_time()
    async with allocator.acquire(deadline=start + 5):
        assert trio.current_time() - start == pytest.approx(1.0)


async def test_deadline_expires_while_cooling(autojump_clock: trio.testing.MockClock) -> None:
    allocator = IpAllocator(IPS[:1])
    allocator.mark_result(IPS[0], LeaseResult.RATE_LIMITED)
    with pytest.raises(NoIpAvailable):
        async with allocator.acquire(deadline=trio.current_time() + 0.1):
            pass
    assert allocator.waiting == 0


async def test_a_pinned_waiter_does_not_block_others(
    autojump_clock: trio.testing.MockClock,
) -> None:
    allocator = IpAllocator(IPS, max_inflight_per_ip=1)
    first = await allocator.lease(ip=IPS[0])
    got: list[str] = []

    async def pinned() -> None:
        async with allocator.acquire(ip=IPS[0]) as lease:
            got.append(lease.ip)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(pinned)
        await trio.testing.wait_all_tasks_blocked()
        async with allocator.acquire(deadline=trio.current_time() + 1) as other:
            assert other.ip == IPS[1]
        first.release()
    assert got == [IPS[0]]


async def test_cancelled_waiter_leaves_the_queue() -> None:
    allocator = IpAllocator(IPS[:1], max_inflight_per_ip=1)
    holder = await allocator.lease()
    with trio.move_on_after(0.01):
        await allocator.lease()
    assert allocator.waiting == 0
    holder.release()
    assert allocator.state(IPS[0]) is IpState.IDLE


async def test_long_lived_leases_share_the_ip() -> None:
    allocator = IpAllocator(IPS[:1], max_inflight_per_ip=1)
    stream = await allocator.lease(LeaseKind.LONG_LIVED)
    assert allocator.state(IPS[0]) is IpState.SHARED_LONG_LIVED
    async with allocator.acquire(LeaseKind.QUOTE, deadline=trio.current_time()) as lease:
        assert lease.ip == IPS[0]
    stream.release()
    assert allocator.state(IPS[0]) is IpState.IDLE


async def test_metrics_count_requests_inflight_and_cooldowns() -> None:
    registry = CollectorRegistry()
    allocator = IpAllocator(IPS[:1], metrics=NetMetrics(registry))
    async with allocator.acquire() as lease:
        assert registry.get_sample_value("galileo_ip_inflight", {"ip": IPS[0]}) == 1
        lease.mark(LeaseResult.SUCCESS)
        lease.mark(LeaseResult.RATE_LIMITED)
    labels = {"task": "quote", "ip": IPS[0], "result": "success"}
    assert registry.get_sample_value("galileo_ip_requests_total", labels) == 1
    assert (
        registry.get_sample_value(
            "galileo_ip_cooldown_total", {"ip": IPS[0], "reason": "rate_limited"}
        )
        == 1
    )
    assert registry.get_sample_value("galileo_ip_inflight", {"ip": IPS[0]}) == 0


def test_cooldown_policy_reads_the_network_config() -> None:
    policy = CooldownPolicy.from_config(
        NetworkConfig(cooldown_429_initial_ms=100, cooldown_429_max_ms=400)
    )
    assert [policy.duration(LeaseResult.RATE_LIMITED, n) for n in (1, 2, 3, 4)] == [
        0.1,
        0.2,
        0.4,
        0.4,
    ]
    assert policy.duration(LeaseResult.TIMEOUT, 1) == 0.25


@given(
    st.lists(st.tuples(st.sampled_from(["acquire", "release"]), st.integers(0, 7)), max_size=60),
    st.integers(min_value=1, max_value=3),
)
def test_inflight_never_exceeds_the_cap(ops: list[tuple[str, int]], cap: int) -> None:
    async def scenario() -> None:
        allocator = IpAllocator(["a", "b", "c"], max_inflight_per_ip=cap)
        held = []
        for op, index in ops:
            if op == "acquire":
                try:
                    held.append(await allocator.lease(deadline=trio.current_time()))
                except NoIpAvailable:
                    assert len(held) == 3 * cap
            elif held:
                held.pop(index % len(held)).release()
            for snap in allocator.snapshot():
                assert 0 <= snap.inflight <= cap
            assert sum(s.inflight for s in allocator.snapshot()) == len(held)

    trio.run(scenario)
