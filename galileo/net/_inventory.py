"""Which local source IPs galileo may send from.

``network.enable_multiple_ip = false``: one IP, ``manual_ips[0]`` when given, else ``""``
(the OS picks). ``true``: ``network.manual_ips``, or every address of the machine's
interfaces (loopback dropped unless ``network.allow_loopback``), deduplicated, each proved by
binding a socket to it.
"""

from __future__ import annotations

import fcntl
import ipaddress
import logging
import socket
import struct
from collections.abc import Callable, Iterable

import attrs

from galileo._config import NetworkConfig
from galileo._errors import GalileoError

_log = logging.getLogger("galileo.net")

_SIOCGIFADDR = 0x8915


class NoUsableIp(GalileoError):
    """Multiple-IP mode found no address that can be bound."""


def detect_interface_ips() -> list[str]:
    """IPv4 (one per interface, SIOCGIFADDR) and global IPv6 (/proc/net/if_inet6) addresses."""
    found: list[str] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _index, name in socket.if_nameindex():
            try:
                packed = fcntl.ioctl(
                    probe.fileno(), _SIOCGIFADDR, struct.pack("256s", name.encode()[:15])
                )
            except OSError:
                continue  # interface without an IPv4 address
            found.append(socket.inet_ntoa(packed[20:24]))
    try:
        with open("/proc/net/if_inet6", encoding="ascii") as table:
            for line in table:
                fields = line.split()
                if len(fields) >= 4 and fields[3] in ("00", "0"):  # scope global
                    raw = fields[0]
                    found.append(
                        str(
                            ipaddress.IPv6Address(":".join(raw[i : i + 4] for i in range(0, 32, 4)))
                        )
                    )
    except OSError:
        pass
    return found


def can_bind(ip: str) -> str | None:
    """None when a socket can be bound to ``ip``, else the reason."""
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.bind((ip, 0))
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


@attrs.frozen
class IpInventory:
    """The usable source IPs (``""`` = unbound) and the candidates dropped, with reasons."""

    ips: tuple[str, ...]
    dropped: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_config(
        cls,
        network: NetworkConfig,
        *,
        allow_loopback: bool | None = None,
        detect: Callable[[], Iterable[str]] = detect_interface_ips,
        bind_check: Callable[[str], str | None] = can_bind,
    ) -> IpInventory:
        """Build the inventory. ``allow_loopback`` overrides ``network.allow_loopback`` (the
        app passes True when running against the simulated world)."""
        if not network.enable_multiple_ip:
            if network.manual_ips:
                ip = str(ipaddress.ip_address(network.manual_ips[0]))
                reason = bind_check(ip)
                if reason is not None:
                    raise NoUsableIp(f"network.manual_ips[0] {ip}: cannot bind: {reason}")
                return cls(ips=(ip,))
            return cls(ips=("",))
        keep_loopback = network.allow_loopback if allow_loopback is None else allow_loopback
        manual = bool(network.manual_ips)
        candidates = list(network.manual_ips) if manual else list(detect())
        usable: list[str] = []
        dropped: list[tuple[str, str]] = []
        seen: set[str] = set()
        for raw in candidates:
            try:
                address = ipaddress.ip_address(raw.strip())
            except ValueError:
                dropped.append((raw, "not an IP address"))
                continue
            ip = str(address)
            if ip in seen:
                continue
            seen.add(ip)
            if not manual and address.is_loopback and not keep_loopback:
                dropped.append((ip, "loopback"))
                continue
            if address.is_unspecified or address.is_multicast:
                dropped.append((ip, "not a unicast address"))
                continue
            reason = bind_check(ip)
            if reason is not None:
                dropped.append((ip, f"cannot bind: {reason}"))
                continue
            usable.append(ip)
        for ip, why in dropped:
            _log.warning("ip dropped", extra={"fields": {"ip": ip, "reason": why}})
        if not usable:
            source = "network.manual_ips" if manual else "the interfaces"
            raise NoUsableIp(f"no usable source IP in {source} (dropped: {dropped})")
        return cls(ips=tuple(usable), dropped=tuple(dropped))
