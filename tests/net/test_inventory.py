"""IpInventory: psutil readings, family filter, blacklist, down interfaces, loopback policy,
bind check, default-route fallback, manual IPs, refresh / run, config keys; IpHashRing."""

from __future__ import annotations

import functools
import logging
import socket
import textwrap
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import attrs
import psutil
import pytest
import trio
import trio.testing
from prometheus_client import CollectorRegistry

from galileo._config import NetworkConfig
from galileo._config_load import load_config
from galileo._errors import ConfigErrors
from galileo.net import (
    InterfaceAddress,
    InventoryChange,
    IpFamily,
    IpHashRing,
    IpInventory,
    NoUsableIp,
    can_bind,
    default_route_ip,
    read_interfaces,
)

# --- fake psutil readings -----------------------------------------------------------------


class FakeAddr(NamedTuple):
    """Shaped like psutil's ``snicaddr`` (the fields the reader looks at)."""

    family: int
    address: str


class FakeStats(NamedTuple):
    """Shaped like psutil's ``snicstats``."""

    isup: bool


def v4(ip: str) -> FakeAddr:
    return FakeAddr(socket.AF_INET, ip)


def v6(ip: str) -> FakeAddr:
    return FakeAddr(socket.AF_INET6, ip)


def mac(address: str) -> FakeAddr:
    return FakeAddr(psutil.AF_LINK, address)


@attrs.define
class FakeMachine:
    """Interfaces → addresses, and the interfaces that are down; mutable between reads."""

    addrs: dict[str, list[FakeAddr]]
    down: set[str] = attrs.field(factory=set)
    reads: int = 0

    def net_if_addrs(self) -> Mapping[str, Sequence[FakeAddr]]:
        self.reads += 1
        return self.addrs

    def net_if_stats(self) -> Mapping[str, FakeStats]:
        return {name: FakeStats(isup=name not in self.down) for name in self.addrs}

    def read(self) -> list[InterfaceAddress]:
        return read_interfaces(addrs=self.net_if_addrs, stats=self.net_if_stats)


def binds_all(ip: str) -> str | None:
    return None


def refusing(*ips: str) -> Callable[[str], str | None]:
    def check(ip: str) -> str | None:
        return "Cannot assign requested address" if ip in ips else None

    return check


def route(ip: str) -> Callable[[IpFamily], str]:
    def probe(family: IpFamily) -> str:
        return ip

    return probe


def no_route(family: IpFamily) -> str:
    raise AssertionError("the default route must not be probed")


MULTI = NetworkConfig(enable_multiple_ip=True)


def server() -> FakeMachine:
    """lo, eth0 (up, three IPv4, a global and a link-local IPv6), eth1 (down)."""
    return FakeMachine(
        addrs={
            "lo": [v4("127.0.0.1"), v6("::1"), mac("00:00:00:00:00:00")],
            "eth0": [
                v4("203.0.113.10"),
                v4("203.0.113.11"),  # secondary addresses of the same interface
                v4("203.0.113.12"),
                v6("2001:db8::10"),
                v6("fe80::1%eth0"),
                mac("02:00:00:00:00:01"),
            ],
            "eth1": [v4("198.51.100.5"), v6("2001:db8:1::5")],
        },
        down={"eth1"},
    )


def inventory(
    network: NetworkConfig = MULTI,
    machine: FakeMachine | None = None,
    *,
    bind_check: Callable[[str], str | None] = binds_all,
    default_route: Callable[[IpFamily], str] = no_route,
    allow_loopback: bool | None = None,
    registry: CollectorRegistry | None = None,
) -> IpInventory:
    return IpInventory(
        network,
        allow_loopback=allow_loopback,
        reader=(machine or server()).read,
        bind_check=bind_check,
        default_route=default_route,
        registry=registry,
    )


def reasons(inv: IpInventory) -> dict[str, str]:
    return dict(inv.dropped)


# --- reading ------------------------------------------------------------------------------


def test_the_reader_returns_every_address_of_every_interface_with_its_state() -> None:
    machine = FakeMachine(
        addrs={
            "eth0": [v4("10.0.0.1"), v4("10.0.0.2"), mac("02:00:00:00:00:01")],
            "eth0:1": [v4("10.0.0.3")],  # a labelled alias: stats under eth0
            "tun0": [v6("2001:db8::7")],
        },
        down={"eth0"},
    )

    def stats() -> Mapping[str, FakeStats]:
        return {"eth0": FakeStats(isup=False)}  # tun0 missing: counted as up

    found = read_interfaces(addrs=machine.net_if_addrs, stats=stats)
    assert found == [
        InterfaceAddress("eth0", "10.0.0.1", up=False),
        InterfaceAddress("eth0", "10.0.0.2", up=False),
        InterfaceAddress("eth0:1", "10.0.0.3", up=False),
        InterfaceAddress("tun0", "2001:db8::7", up=True),
    ]


# --- the rules of auto-detection ----------------------------------------------------------


def test_ipv4_is_the_default_family_and_secondary_addresses_are_kept() -> None:
    inv = inventory()
    assert inv.ips == ("203.0.113.10", "203.0.113.11", "203.0.113.12")
    assert not inv.fallback
    dropped = reasons(inv)
    assert dropped["2001:db8::10"] == "ipv6 (network.ip_family = ipv4)"
    assert dropped["127.0.0.1"] == "loopback"


def test_the_ipv6_family_keeps_global_ipv6_only() -> None:
    inv = inventory(attrs.evolve(MULTI, ip_family="ipv6"))
    assert inv.ips == ("2001:db8::10",)
    dropped = reasons(inv)
    assert dropped["203.0.113.10"] == "ipv4 (network.ip_family = ipv6)"
    assert dropped["fe80::1"] == "IPv6 link-local / site-local"
    assert dropped["::1"] == "loopback"


def test_any_family_keeps_both() -> None:
    inv = inventory(attrs.evolve(MULTI, ip_family="any"))
    assert inv.ips == ("203.0.113.10", "203.0.113.11", "203.0.113.12", "2001:db8::10")


def test_addresses_of_down_interfaces_are_dropped() -> None:
    inv = inventory(attrs.evolve(MULTI, ip_family="any"))
    assert reasons(inv)["198.51.100.5"] == "interface eth1 is down"
    assert reasons(inv)["2001:db8:1::5"] == "interface eth1 is down"
    # the same address on an up interface is kept
    moved = FakeMachine(
        addrs={"eth1": [v4("198.51.100.5")], "eth2": [v4("198.51.100.5")]}, down={"eth1"}
    )
    kept = inventory(machine=moved)
    assert kept.ips == ("198.51.100.5",)
    assert kept.dropped == ()


def test_the_blacklist_takes_addresses_and_cidrs() -> None:
    network = attrs.evolve(
        MULTI, ip_family="any", ip_blacklist=["203.0.113.11", "203.0.113.12/31", "2001:db8::/64"]
    )
    inv = inventory(network)
    assert inv.ips == ("203.0.113.10",)
    dropped = reasons(inv)
    assert dropped["203.0.113.11"] == "in network.ip_blacklist (203.0.113.11/32)"
    assert dropped["203.0.113.12"] == "in network.ip_blacklist (203.0.113.12/31)"
    assert dropped["2001:db8::10"] == "in network.ip_blacklist (2001:db8::/64)"


def test_loopback_is_dropped_unless_allowed() -> None:
    assert "127.0.0.1" not in inventory().ips
    assert inventory(allow_loopback=True).ips[0] == "127.0.0.1"
    assert inventory(attrs.evolve(MULTI, allow_loopback=True)).ips[0] == "127.0.0.1"
    # the override wins over the key
    assert (
        "127.0.0.1"
        not in inventory(attrs.evolve(MULTI, allow_loopback=True), allow_loopback=False).ips
    )


def test_an_address_that_cannot_be_bound_is_dropped_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="galileo.net"):
        inv = inventory(bind_check=refusing("203.0.113.11"))
    assert inv.ips == ("203.0.113.10", "203.0.113.12")
    assert reasons(inv)["203.0.113.11"] == "cannot bind: Cannot assign requested address"
    [record] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert record.getMessage() == "ip dropped"
    assert record.__dict__["fields"] == {
        "ip": "203.0.113.11",
        "reason": "cannot bind: Cannot assign requested address",
    }


def test_nothing_qualifying_falls_back_to_the_default_route_address(
    caplog: pytest.LogCaptureFixture,
) -> None:
    only_loopback = FakeMachine(addrs={"lo": [v4("127.0.0.1")]})
    asked: list[IpFamily] = []

    def probe(family: IpFamily) -> str:
        asked.append(family)
        return "192.0.2.44"

    with caplog.at_level(logging.WARNING, logger="galileo.net"):
        inv = inventory(machine=only_loopback, default_route=probe)
    assert inv.ips == ("192.0.2.44",)
    assert inv.fallback
    assert asked == ["ipv4"]
    assert [r.getMessage() for r in caplog.records] == ["ip inventory fallback"]
    v6_only = attrs.evolve(MULTI, ip_family="ipv6")
    inventory(v6_only, machine=only_loopback, default_route=probe)
    assert asked[-1] == "ipv6"


def test_the_fallback_ends_at_the_os_default() -> None:
    empty = FakeMachine(addrs={})
    assert inventory(machine=empty, default_route=route("")).ips == ("",)
    unbindable = inventory(
        machine=empty, default_route=route("192.0.2.44"), bind_check=refusing("192.0.2.44")
    )
    assert unbindable.ips == ("",)
    assert unbindable.fallback
    assert "cannot bind" in reasons(unbindable)["192.0.2.44"]
    blacklisted = attrs.evolve(MULTI, ip_blacklist=["192.0.2.0/24"])
    assert inventory(blacklisted, machine=empty, default_route=route("192.0.2.44")).ips == ("",)


# --- manual IPs and single-IP mode --------------------------------------------------------


def test_single_ip_mode_lets_the_os_choose() -> None:
    machine = server()
    inv = inventory(NetworkConfig(), machine)
    assert inv.ips == ("",)
    assert machine.reads == 0
    assert not inv.refresh()


def test_single_ip_mode_pins_the_first_manual_ip() -> None:
    config = NetworkConfig(manual_ips=["127.0.0.2", "127.0.0.3"])
    assert IpInventory(config).ips == ("127.0.0.2",)


def test_manual_ips_win_over_the_filters_and_are_deduplicated() -> None:
    network = attrs.evolve(MULTI, manual_ips=["::1", "10.9.9.9", "::1"], ip_family="ipv4")
    machine = FakeMachine(addrs={})
    inv = inventory(network, machine=machine, bind_check=binds_all)
    assert inv.ips == ("::1", "10.9.9.9")
    assert machine.reads == 0


def test_a_manual_ip_that_cannot_be_bound_is_an_error_naming_the_key() -> None:
    network = attrs.evolve(MULTI, manual_ips=["127.0.0.2", "192.0.2.77"])
    with pytest.raises(NoUsableIp, match=r"network\.manual_ips\[1\] 192\.0\.2\.77: cannot bind"):
        IpInventory(network)
    single = NetworkConfig(manual_ips=["192.0.2.77"])
    registry = CollectorRegistry()
    with pytest.raises(NoUsableIp, match=r"network\.manual_ips\[0\] 192\.0\.2\.77"):
        IpInventory(single, registry=registry)
    # the failed attempt registered nothing: a corrected config can use the same registry
    fixed = IpInventory(NetworkConfig(manual_ips=["127.0.0.2"]), registry=registry)
    assert fixed.ips == ("127.0.0.2",)


def test_an_invalid_blacklist_entry_is_an_error_naming_the_key() -> None:
    with pytest.raises(NoUsableIp, match=r"network\.ip_blacklist\[0\] '10\.0\.0\.0/33'"):
        inventory(attrs.evolve(MULTI, ip_blacklist=["10.0.0.0/33"]))


# --- refresh and run ----------------------------------------------------------------------


def test_refresh_reports_added_and_removed_and_updates_the_gauge() -> None:
    machine = FakeMachine(addrs={"eth0": [v4("10.0.0.1"), v4("10.0.0.2")]})
    registry = CollectorRegistry()
    inv = inventory(machine=machine, registry=registry, default_route=route(""))

    def gauge() -> float | None:
        return registry.get_sample_value("galileo_network_ip_inventory_total")

    assert gauge() == 2
    nothing = inv.refresh()
    assert not nothing
    assert nothing == InventoryChange(added=(), removed=(), ips=("10.0.0.1", "10.0.0.2"))
    machine.addrs["eth0"] = [v4("10.0.0.2"), v4("10.0.0.3"), v4("10.0.0.4")]
    change = inv.refresh()
    assert change
    assert change.added == ("10.0.0.3", "10.0.0.4")
    assert change.removed == ("10.0.0.1",)
    assert inv.ips == change.ips == ("10.0.0.2", "10.0.0.3", "10.0.0.4")
    assert gauge() == 3
    machine.down.add("eth0")
    change = inv.refresh()
    assert change.removed == ("10.0.0.2", "10.0.0.3", "10.0.0.4")
    assert change.added == ("",)  # nothing left: the fallback (here no default route)
    assert inv.fallback
    assert gauge() == 1


def test_refresh_warns_once_about_an_address_that_cannot_be_bound(
    caplog: pytest.LogCaptureFixture,
) -> None:
    machine = FakeMachine(addrs={"eth0": [v4("10.0.0.1"), v4("10.0.0.2")]})
    with caplog.at_level(logging.WARNING, logger="galileo.net"):
        inv = inventory(machine=machine, bind_check=refusing("10.0.0.2"))
        inv.refresh()
        inv.refresh()
    assert [r.getMessage() for r in caplog.records] == ["ip dropped"]


def test_refresh_in_manual_mode_removes_an_ip_that_stopped_binding() -> None:
    refused: set[str] = set()

    def check(ip: str) -> str | None:
        return "gone" if ip in refused else None

    inv = inventory(attrs.evolve(MULTI, manual_ips=["10.0.0.1", "10.0.0.2"]), bind_check=check)
    refused.add("10.0.0.2")
    change = inv.refresh()
    assert change.removed == ("10.0.0.2",)
    assert inv.dropped == (("10.0.0.2", "cannot bind: gone"),)
    refused.clear()
    assert inv.refresh().added == ("10.0.0.2",)


async def test_run_sends_each_change_on_a_channel(autojump_clock: trio.testing.MockClock) -> None:
    machine = FakeMachine(addrs={"eth0": [v4("10.0.0.1")]})

    def read() -> list[InterfaceAddress]:
        if machine.reads == 3:  # the startup read, then two quiet refreshes
            machine.addrs["eth0"].append(v4("10.0.0.9"))
        return machine.read()

    network = attrs.evolve(MULTI, inventory_refresh_s=30.0)
    inv = IpInventory(network, reader=read, bind_check=binds_all)
    send, receive = trio.open_memory_channel[InventoryChange](10)
    async with trio.open_nursery() as nursery:
        start = trio.current_time()
        await nursery.start(functools.partial(inv.run, on_change=send.send))
        # waits on events only (no deadline of its own), so the clock never jumps past a
        # refresh whose reading is still in its worker thread
        change = await receive.receive()
        assert change == InventoryChange(
            added=("10.0.0.9",), removed=(), ips=("10.0.0.1", "10.0.0.9")
        )
        assert trio.current_time() - start == pytest.approx(90)
        assert machine.reads == 4
        nursery.cancel_scope.cancel()


async def test_run_keeps_the_inventory_when_a_reading_fails(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    machine = FakeMachine(addrs={"eth0": [v4("10.0.0.1")]})
    calls = [0]

    def read() -> list[InterfaceAddress]:
        calls[0] += 1
        if calls[0] in (2, 3):
            raise OSError("psutil could not read the interfaces")
        if calls[0] == 4:
            machine.addrs["eth0"] = [v4("10.0.0.2")]
        return machine.read()

    inv = IpInventory(MULTI, reader=read, bind_check=binds_all)
    send, receive = trio.open_memory_channel[InventoryChange](10)
    with caplog.at_level(logging.WARNING, logger="galileo.net"):
        async with trio.open_nursery() as nursery:
            await nursery.start(functools.partial(inv.run, on_change=send.send, interval_s=1))
            change = await receive.receive()
            nursery.cancel_scope.cancel()
    assert change == InventoryChange(added=("10.0.0.2",), removed=("10.0.0.1",), ips=("10.0.0.2",))
    failures = [r for r in caplog.records if r.getMessage() == "ip inventory refresh failed"]
    assert len(failures) == 2
    assert failures[0].__dict__["fields"] == {"error": "psutil could not read the interfaces"}


async def test_run_returns_at_once_when_refresh_is_off() -> None:
    inv = inventory(attrs.evolve(MULTI, inventory_refresh_s=0))
    with trio.fail_after(1):
        await inv.run()


# --- configuration ------------------------------------------------------------------------


def config_errors(tmp_path: Path, network_toml: str) -> list[str]:
    path = tmp_path / "galileo.toml"
    path.write_text("[network]\n" + textwrap.dedent(network_toml))
    with pytest.raises(ConfigErrors) as caught:
        load_config(path, env={})
    return [str(e) for e in caught.value.errors]


def test_config_errors_name_the_key(tmp_path: Path) -> None:
    assert config_errors(tmp_path, 'ip_blacklist = ["10.0.0.0/8", "10.0.0.0/33"]\n') == [
        "network.ip_blacklist[1]: '10.0.0.0/33' is not an IP address or CIDR"
    ]
    assert config_errors(
        tmp_path, 'ip_blacklist = ["10.0.0.0/8"]\nmanual_ips = ["10.1.2.3"]\n'
    ) == ["network.manual_ips[0]: 10.1.2.3 is in ip_blacklist (10.0.0.0/8)"]
    [family] = config_errors(tmp_path, 'ip_family = "ipv5"\n')
    assert family.startswith("network.ip_family")
    [refresh] = config_errors(tmp_path, "inventory_refresh_s = -1\n")
    assert refresh.startswith("network.inventory_refresh_s")


def test_config_defaults() -> None:
    network = NetworkConfig()
    assert network.ip_family == "ipv4"
    assert network.ip_blacklist == []
    assert network.inventory_refresh_s == 60.0


# --- this machine -------------------------------------------------------------------------


def test_this_machine_loopback_extras_are_accepted_as_manual_ips() -> None:
    """127.0.0.0/8 is bindable on Linux: manual loopback extras pass the real bind check."""
    network = NetworkConfig(
        enable_multiple_ip=True,
        allow_loopback=True,
        manual_ips=["127.0.0.2", "127.0.0.3", "127.0.0.4"],
    )
    registry = CollectorRegistry()
    inv = IpInventory(network, registry=registry)
    assert inv.ips == ("127.0.0.2", "127.0.0.3", "127.0.0.4")
    assert registry.get_sample_value("galileo_network_ip_inventory_total") == 3
    assert not inv.refresh()


def test_this_machine_interfaces_are_read_through_psutil() -> None:
    found = read_interfaces()
    assert InterfaceAddress("lo", "127.0.0.1", up=True) in found
    auto = IpInventory(NetworkConfig(enable_multiple_ip=True, allow_loopback=True))
    assert "127.0.0.1" in auto.ips
    assert all(":" not in ip for ip in auto.ips)  # ipv4 by default
    assert can_bind("127.0.0.2") is None
    assert can_bind("192.0.2.254") is not None
    source = default_route_ip("ipv4")
    assert source == "" or can_bind(source) is None


# --- IpHashRing ---------------------------------------------------------------------------


def test_hash_ring_is_stable_and_falls_to_the_next_best() -> None:
    ips = [f"127.0.0.{i}" for i in range(2, 8)]
    ring = IpHashRing(ips)
    endpoint = "https://ny.mainnet.block-engine.jito.wtf"
    order = ring.order(endpoint)
    assert sorted(order) == sorted(ips)
    assert ring.pick(endpoint) == order[0]
    assert ring.pick(endpoint, healthy=[ip for ip in ips if ip != order[0]]) == order[1]
    assert ring.pick(endpoint, healthy=[]) is None
    # removing an unrelated IP does not move the endpoint
    others = [ip for ip in ips if ip != order[-1]]
    assert IpHashRing(others).pick(endpoint) == order[0]


def test_hash_ring_spreads_endpoints() -> None:
    ring = IpHashRing([f"127.0.0.{i}" for i in range(2, 6)])
    picks = {ring.pick(f"https://lander-{n}.example") for n in range(64)}
    assert len(picks) == 4
