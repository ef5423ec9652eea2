"""IpInventory: manual IPs, auto-detection, loopback policy, dedup, bind check."""

from __future__ import annotations

import pytest

from galileo._config import NetworkConfig
from galileo.net import IpHashRing, IpInventory, NoUsableIp, can_bind, detect_interface_ips


def _never_fails(ip: str) -> str | None:
    return None


def test_single_ip_mode_lets_the_os_choose() -> None:
    assert IpInventory.from_config(NetworkConfig()).ips == ("",)


def test_single_ip_mode_pins_the_first_manual_ip() -> None:
    config = NetworkConfig(manual_ips=["127.0.0.2", "127.0.0.3"])
    assert IpInventory.from_config(config).ips == ("127.0.0.2",)


def test_manual_ips_are_deduplicated_and_bind_checked() -> None:
    config = NetworkConfig(
        enable_multiple_ip=True, manual_ips=["127.0.0.2", "127.0.0.3", "127.0.0.2", "192.0.2.77"]
    )
    inventory = IpInventory.from_config(config)
    assert inventory.ips == ("127.0.0.2", "127.0.0.3")
    assert [ip for ip, _ in inventory.dropped] == ["192.0.2.77"]
    assert "cannot bind" in inventory.dropped[0][1]


def test_auto_detection_drops_loopback_unless_allowed() -> None:
    config = NetworkConfig(enable_multiple_ip=True)

    def detect() -> list[str]:
        return ["127.0.0.1", "10.1.1.1", "10.1.1.1", "fe80::1"]

    inventory = IpInventory.from_config(config, detect=detect, bind_check=_never_fails)
    assert inventory.ips == ("10.1.1.1", "fe80::1")
    assert ("127.0.0.1", "loopback") in inventory.dropped
    allowed = IpInventory.from_config(
        config, allow_loopback=True, detect=detect, bind_check=_never_fails
    )
    assert allowed.ips[0] == "127.0.0.1"


def test_nothing_usable_is_an_error_naming_the_source() -> None:
    config = NetworkConfig(enable_multiple_ip=True)
    with pytest.raises(NoUsableIp, match="interfaces"):
        IpInventory.from_config(config, detect=lambda: ["127.0.0.1"], bind_check=_never_fails)


def test_interface_detection_finds_this_machines_addresses() -> None:
    found = detect_interface_ips()
    assert "127.0.0.1" in found
    assert can_bind("127.0.0.2") is None
    assert can_bind("192.0.2.254") is not None


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
