"""Every request kind takes a lease: priorities, the slot kept for urgent work, urgent pacing,
lander leases that never wait for quotes, IPs added and removed while running, and the
per-task metrics — on trio's MockClock."""

from __future__ import annotations

import pytest
import trio
import trio.lowlevel
import trio.testing
from prometheus_client import CollectorRegistry

from galileo.model import LeaseKind, LeaseResult
from galileo.net import IpAllocator, IpRemoved, NetMetrics, NoIpAvailable

IP = "10.0.0.1"
IPS = ["10.0.0.1", "10.0.0.2"]


async def test_quotes_leave_one_slot_per_ip_for_urgent_work() -> None:
    allocator = IpAllocator([IP], max_inflight_per_ip=3, urgent_reserve=1)
    quotes = [await allocator.lease(LeaseKind.QUOTE) for _ in range(2)]
    with pytest.raises(NoIpAvailable):
        await allocator.lease(LeaseKind.QUOTE, deadline=trio.current_time())

    swap = await allocator.lease(LeaseKind.SWAP, deadline=trio.current_time())

    assert swap.ip == IP
    for lease in [*quotes, swap]:
        lease.release()


def test_the_reserve_must_leave_quotes_a_slot() -> None:
    with pytest.raises(ValueError, match="urgent_reserve"):
        IpAllocator([IP], max_inflight_per_ip=1, urgent_reserve=1)


async def test_a_freed_slot_goes_to_the_waiting_swap_before_older_quote_waiters() -> None:
    allocator = IpAllocator([IP], max_inflight_per_ip=1)
    holder = await allocator.lease(LeaseKind.QUOTE)
    order: list[str] = []

    async def wait_for(kind: LeaseKind) -> None:
        async with allocator.acquire(kind):
            order.append(kind.value)
            await trio.lowlevel.checkpoint()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(wait_for, LeaseKind.QUOTE)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(wait_for, LeaseKind.RPC)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(wait_for, LeaseKind.SWAP)
        await trio.testing.wait_all_tasks_blocked()
        assert allocator.waiting == 3
        holder.release()

    assert order == ["swap", "rpc", "quote"]


async def test_lander_leases_never_wait_for_quotes_but_are_counted() -> None:
    registry = CollectorRegistry()
    allocator = IpAllocator([IP], max_inflight_per_ip=2, metrics=NetMetrics(registry))
    quotes = [await allocator.lease(LeaseKind.QUOTE) for _ in range(2)]

    sends = [
        await allocator.lease(LeaseKind.LANDER, deadline=trio.current_time(), upstream="lander:ny")
        for _ in range(3)
    ]

    assert registry.get_sample_value("galileo_ip_inflight", {"ip": IP}) == 5
    assert registry.get_sample_value("galileo_ip_utilization_ratio", {"ip": IP}) == 2.5
    for lease in [*quotes, *sends]:
        lease.release()
    assert registry.get_sample_value("galileo_ip_utilization_ratio", {"ip": IP}) == 0


async def test_an_urgent_request_takes_its_tokens_at_once_and_the_quotes_behind_it_wait(
    autojump_clock: trio.testing.MockClock,
) -> None:
    allocator = IpAllocator([IP])
    rate = allocator.learned_rps(IP)  # slow start's first rate
    quote = await allocator.lease(LeaseKind.QUOTE)
    await quote.pace(2)  # the bucket's burst, spent
    swap = await allocator.lease(LeaseKind.SWAP)
    started = trio.current_time()

    await swap.pace(2)  # into debt: no wait
    assert trio.current_time() == started
    await quote.pace(1)  # waits for the debt and its own token

    assert trio.current_time() - started == pytest.approx(3 / rate, rel=0.05)
    quote.release()
    swap.release()


async def test_an_urgent_request_still_waits_out_a_cooldown(
    autojump_clock: trio.testing.MockClock,
) -> None:
    allocator = IpAllocator([IP])
    allocator.mark_result(IP, LeaseResult.RATE_LIMITED, retry_after=2.0)
    remaining = allocator.cooldown_remaining(IP)
    started = trio.current_time()

    swap = await allocator.lease(LeaseKind.SWAP)  # the lease itself waits for the lane
    await swap.pace()

    assert trio.current_time() - started == pytest.approx(remaining)
    swap.release()


async def test_cooldowns_are_per_upstream_lane() -> None:
    allocator = IpAllocator([IP])
    allocator.mark_result(IP, LeaseResult.RATE_LIMITED, task=LeaseKind.LANDER, upstream="lander:ny")

    assert allocator.cooldown_remaining(IP, "lander:ny") > 0
    assert allocator.cooldown_remaining(IP, "lander:tokyo") == 0
    quote = await allocator.lease(LeaseKind.QUOTE, deadline=trio.current_time())
    quote.release()


async def test_removing_an_ip_wakes_its_pinned_waiters_and_lets_held_leases_release() -> None:
    allocator = IpAllocator(IPS, max_inflight_per_ip=1)
    held = await allocator.lease(ip=IPS[1])
    raised: list[BaseException] = []

    async def pinned() -> None:
        try:
            await allocator.lease(ip=IPS[1])
        except IpRemoved as exc:
            raised.append(exc)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(pinned)
        await trio.testing.wait_all_tasks_blocked()
        assert allocator.remove_ip(IPS[1])

    assert len(raised) == 1
    assert allocator.ips == [IPS[0]]
    with pytest.raises(IpRemoved):
        await allocator.lease(ip=IPS[1])
    held.release()  # a lease out on a removed IP still releases cleanly
    anywhere = await allocator.lease(deadline=trio.current_time())
    assert anywhere.ip == IPS[0]
    anywhere.release()


def test_the_last_ip_cannot_be_removed_and_an_ip_is_added_once() -> None:
    allocator = IpAllocator([IP])
    with pytest.raises(ValueError, match="last"):
        allocator.remove_ip(IP)
    assert allocator.add_ip(IPS[1])
    assert not allocator.add_ip(IPS[1])
    assert allocator.ips == IPS
    assert not allocator.remove_ip("10.9.9.9")


async def test_an_added_ip_is_leased_at_once_and_a_waiter_gets_it() -> None:
    allocator = IpAllocator([IP], max_inflight_per_ip=1)
    holder = await allocator.lease()
    got: list[str] = []

    async def waiter() -> None:
        async with allocator.acquire() as lease:
            got.append(lease.ip)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(waiter)
        await trio.testing.wait_all_tasks_blocked()
        allocator.add_ip(IPS[1])

    assert got == [IPS[1]]
    holder.release()


async def test_each_request_is_counted_and_timed_by_task_and_ip(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry = CollectorRegistry()
    allocator = IpAllocator([IP], metrics=NetMetrics(registry))
    async with allocator.acquire(LeaseKind.RPC, upstream="rpc:x") as lease:
        lease.sending()
        await trio.sleep(0.04)
        lease.mark(LeaseResult.SUCCESS)

    labels = {"task": "rpc", "ip": IP}
    assert registry.get_sample_value("galileo_ip_requests_total", {**labels, "result": "success"})
    assert registry.get_sample_value("galileo_ip_latency_ms_count", labels) == 1
    assert registry.get_sample_value("galileo_ip_latency_ms_sum", labels) == pytest.approx(40.0)
    assert registry.get_sample_value("galileo_ip_latency_ms_bucket", {**labels, "le": "50.0"}) == 1
    assert registry.get_sample_value("galileo_ip_latency_ms_bucket", {**labels, "le": "25.0"}) == 0
