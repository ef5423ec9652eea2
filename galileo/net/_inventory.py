"""Which local source IPs galileo may send from, re-read while running.

``network.enable_multiple_ip = false``: one IP, ``manual_ips[0]`` when given, else ``""`` (the
OS picks). ``true``: ``network.manual_ips`` as given, or, when it is empty, every address of
every interface that is up (psutil), kept when it passes, in this order:

1. its interface is up;
2. its family is ``network.ip_family`` (``ipv4`` by default);
3. it is not loopback (unless ``network.allow_loopback``), not an IPv6 link-local or site-local
   address (they need a scope to be used), not unspecified nor multicast;
4. it is not in ``network.ip_blacklist`` (addresses or CIDRs);
5. a TCP socket can be bound to it (``bind((ip, 0))``); a failure is a warning naming the IP
   and the error.

When nothing passes, the inventory falls back to the default-route address (the source the
kernel picks for a UDP ``connect`` to a public address; no packet is sent), and to ``""`` when
there is none. Manual IPs bypass the filters but not the bind check: one that cannot be bound is
a :class:`NoUsableIp` naming ``network.manual_ips[i]`` at startup (a warning and a removal
during a refresh).

:meth:`IpInventory.refresh` re-reads all of this and returns an :class:`InventoryChange`;
:meth:`IpInventory.run` does so every ``network.inventory_refresh_s`` seconds and hands each
non-empty change to a callback (``send_channel.send`` works).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Literal, Protocol

import attrs
import psutil
import trio
from prometheus_client import CollectorRegistry, Gauge

from galileo._config import NetworkConfig
from galileo._errors import GalileoError

_log = logging.getLogger("galileo.net")

IpFamily = Literal["ipv4", "ipv6", "any"]

_DEFAULT_ROUTE_PROBES: Mapping[socket.AddressFamily, tuple[str, int]] = {
    socket.AF_INET: ("1.1.1.1", 53),
    socket.AF_INET6: ("2606:4700:4700::1111", 53),
}
"""Public addresses whose route tells the default source address (a UDP ``connect``: no
packet leaves the machine)."""

_ADDRESS_FAMILIES: Mapping[int, IpFamily] = {
    socket.AF_INET: "ipv4",
    socket.AF_INET6: "ipv6",
}


class NoUsableIp(GalileoError):
    """The source-IP settings cannot be used: a ``network.manual_ips`` address that cannot be
    bound, or a ``network.ip_blacklist`` entry that is not an address or CIDR."""


# --- reading the interfaces ---------------------------------------------------------------


class PsutilAddress(Protocol):
    """The part of ``psutil``'s ``snicaddr`` read here."""

    @property
    def family(self) -> int: ...
    @property
    def address(self) -> str: ...


class PsutilStats(Protocol):
    """The part of ``psutil``'s ``snicstats`` read here."""

    @property
    def isup(self) -> bool: ...


@attrs.frozen
class InterfaceAddress:
    """One IP address of one interface, as read from the machine."""

    interface: str
    ip: str
    up: bool


def read_interfaces(
    *,
    addrs: Callable[[], Mapping[str, Sequence[PsutilAddress]]] = psutil.net_if_addrs,
    stats: Callable[[], Mapping[str, PsutilStats]] = psutil.net_if_stats,
) -> list[InterfaceAddress]:
    """Every IPv4/IPv6 address of every interface (secondary addresses included), with whether
    the interface is up. ``addrs``/``stats`` stand for ``psutil.net_if_addrs`` /
    ``psutil.net_if_stats`` (tests pass fakes). An interface missing from ``stats`` counts as
    up (a label alias such as ``eth0:1`` is looked up under ``eth0`` first)."""
    up_by_name = {name: stat.isup for name, stat in stats().items()}
    found: list[InterfaceAddress] = []
    for name, addresses in addrs().items():
        up = up_by_name.get(name, up_by_name.get(name.partition(":")[0], True))
        found.extend(
            InterfaceAddress(interface=name, ip=address.address, up=up)
            for address in addresses
            if address.family in _ADDRESS_FAMILIES
        )
    return found


def can_bind(ip: str) -> str | None:
    """None when a TCP socket can be bound to ``(ip, 0)``, else the error."""
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.bind((ip, 0))
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def default_route_ip(family: IpFamily) -> str:
    """The source address the kernel picks for the default route of ``family`` (``any``: IPv4
    first), or ``""`` when there is no such route. Nothing is sent."""
    families = {
        "ipv4": (socket.AF_INET,),
        "ipv6": (socket.AF_INET6,),
        "any": (socket.AF_INET, socket.AF_INET6),
    }[family]
    for af in families:
        try:
            with socket.socket(af, socket.SOCK_DGRAM) as probe:
                probe.connect(_DEFAULT_ROUTE_PROBES[af])
                source = str(probe.getsockname()[0])
        except OSError:
            continue
        address = ipaddress.ip_address(source.partition("%")[0])
        if not address.is_unspecified:
            return str(address)
    return ""


# --- the inventory ------------------------------------------------------------------------


@attrs.frozen
class InventoryChange:
    """What one refresh changed: IPs that appeared, IPs that went away, and the IPs now."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    ips: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)


@attrs.frozen
class _Reading:
    ips: tuple[str, ...]
    dropped: tuple[tuple[str, str], ...]
    fallback: bool
    """True when ``ips`` is the default-route fallback (nothing on the interfaces passed)."""


_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _parse_ip(text: str) -> _Address | None:
    try:
        return ipaddress.ip_address(text.strip().partition("%")[0])
    except ValueError:
        return None


def _parse_blacklist(entries: Sequence[str]) -> tuple[_Network, ...]:
    networks: list[_Network] = []
    for i, entry in enumerate(entries):
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise NoUsableIp(
                f"network.ip_blacklist[{i}] {entry!r}: not an IP address or CIDR"
            ) from None
    return tuple(networks)


class IpInventory:
    """The usable source IPs (``""`` = let the OS choose), the candidates dropped with the
    reasons, and how to read them again."""

    def __init__(
        self,
        network: NetworkConfig,
        *,
        allow_loopback: bool | None = None,
        reader: Callable[[], Iterable[InterfaceAddress]] = read_interfaces,
        bind_check: Callable[[str], str | None] = can_bind,
        default_route: Callable[[IpFamily], str] = default_route_ip,
        registry: CollectorRegistry | None = None,
    ) -> None:
        """Read the inventory. ``allow_loopback`` overrides ``network.allow_loopback`` (the app
        passes True against the simulated world); ``reader`` / ``bind_check`` /
        ``default_route`` replace the machine's interfaces, the bind check and the
        default-route probe (tests); ``registry`` gets ``galileo_network_ip_inventory_total``.
        Raises :class:`NoUsableIp` when a manual IP cannot be bound."""
        self.network = network
        self._keep_loopback = network.allow_loopback if allow_loopback is None else allow_loopback
        self._reader = reader
        self._bind_check = bind_check
        self._default_route = default_route
        self._blacklist = _parse_blacklist(network.ip_blacklist)
        self._reading = _Reading(ips=(), dropped=(), fallback=False)
        self._gauge: Gauge | None = None
        first = self._read(startup=True)  # raises before anything is registered
        if registry is not None:
            self._gauge = Gauge(
                "galileo_network_ip_inventory_total",
                "Usable source IPs in the inventory (the OS-default fallback counts as one).",
                registry=registry,
            )
        self._apply(first, initial=True)

    @property
    def ips(self) -> tuple[str, ...]:
        """The usable source IPs, in interface order. Never empty at startup; a refresh in
        manual mode may leave it empty when none of ``network.manual_ips`` can be bound."""
        return self._reading.ips

    @property
    def dropped(self) -> tuple[tuple[str, str], ...]:
        """``(ip, reason)`` of every candidate left out by the last read."""
        return self._reading.dropped

    @property
    def fallback(self) -> bool:
        """True when no interface address qualified and :attr:`ips` is the default-route
        address (or ``""``)."""
        return self._reading.fallback

    def refresh(self) -> InventoryChange:
        """Read the interfaces again; the IPs added and removed since the last read."""
        return self._apply(self._read(startup=False))

    async def run(
        self,
        *,
        on_change: Callable[[InventoryChange], Awaitable[object]] | None = None,
        interval_s: float | None = None,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Refresh every ``interval_s`` seconds (default ``network.inventory_refresh_s``) and
        await ``on_change(change)`` for each change (a ``MemorySendChannel.send`` fits).
        Returns at once when the interval is 0. The reading runs in a worker thread; a failed
        reading (``OSError``) is logged and the inventory kept."""
        interval = self.network.inventory_refresh_s if interval_s is None else interval_s
        task_status.started()
        if interval <= 0:
            return
        while True:
            await trio.sleep(interval)
            try:
                reading = await trio.to_thread.run_sync(self._read, False)
            except OSError as exc:
                _log.warning("ip inventory refresh failed", extra={"fields": {"error": str(exc)}})
                continue
            change = self._apply(reading)
            if change and on_change is not None:
                await on_change(change)

    # --- internals ---

    def _read(self, startup: bool) -> _Reading:
        """One reading of the inventory (no state changed; safe in a worker thread)."""
        network = self.network
        if network.manual_ips:
            manual = network.manual_ips if network.enable_multiple_ip else network.manual_ips[:1]
            return self._read_manual(manual, strict=startup)
        if not network.enable_multiple_ip:
            return _Reading(ips=("",), dropped=(), fallback=False)
        return self._read_interfaces()

    def _read_manual(self, manual: Sequence[str], *, strict: bool) -> _Reading:
        usable: list[str] = []
        dropped: list[tuple[str, str]] = []
        for i, raw in enumerate(manual):
            address = _parse_ip(raw)
            reason = "not an IP address" if address is None else self._bind_check(str(address))
            if reason is not None and address is not None:
                reason = f"cannot bind: {reason}"
            if reason is not None:
                if strict:
                    raise NoUsableIp(f"network.manual_ips[{i}] {raw.strip()}: {reason}")
                dropped.append((raw.strip(), reason))
            elif str(address) not in usable:
                usable.append(str(address))
        return _Reading(ips=tuple(usable), dropped=tuple(dropped), fallback=False)

    def _read_interfaces(self) -> _Reading:
        readings = list(self._reader())
        on_up = {reading.ip for reading in readings if reading.up}
        usable: list[str] = []
        dropped: list[tuple[str, str]] = []
        seen: set[str] = set()
        for reading in readings:
            address = _parse_ip(reading.ip)
            if address is None:
                dropped.append((reading.ip, f"not an IP address (interface {reading.interface})"))
                continue
            ip = str(address)
            if not reading.up:
                if ip not in on_up and ip not in seen:
                    seen.add(ip)
                    dropped.append((ip, f"interface {reading.interface} is down"))
                continue
            if ip in seen:
                continue
            seen.add(ip)
            reason = self._policy(address)
            if reason is None:
                bind_error = self._bind_check(ip)
                reason = None if bind_error is None else f"cannot bind: {bind_error}"
            if reason is not None:
                dropped.append((ip, reason))
                continue
            usable.append(ip)
        if usable:
            return _Reading(ips=tuple(usable), dropped=tuple(dropped), fallback=False)
        fallback = self._fallback_ip(dropped)  # may add the default route to ``dropped``
        return _Reading(ips=(fallback,), dropped=tuple(dropped), fallback=True)

    def _policy(self, address: _Address) -> str | None:
        """Why an interface address is not a candidate (before the bind check), or None."""
        family = self.network.ip_family
        kind = "ipv4" if address.version == 4 else "ipv6"
        if family not in ("any", kind):
            return f"{kind} (network.ip_family = {family})"
        if address.is_loopback:
            return None if self._keep_loopback else "loopback"
        if address.version == 6 and (address.is_link_local or address.is_site_local):
            return "IPv6 link-local / site-local"
        if address.is_unspecified or address.is_multicast:
            return "not a unicast address"
        for network in self._blacklist:
            if address.version == network.version and address in network:
                return f"in network.ip_blacklist ({network})"
        return None

    def _fallback_ip(self, dropped: list[tuple[str, str]]) -> str:
        """The default-route address, if it is allowed and can be bound; else ``""``."""
        ip = self._default_route(self.network.ip_family)
        address = _parse_ip(ip) if ip else None
        if address is None:
            return ""
        for network in self._blacklist:
            if address.version == network.version and address in network:
                dropped.append((str(address), f"default route in network.ip_blacklist ({network})"))
                return ""
        bind_error = self._bind_check(str(address))
        if bind_error is not None:
            dropped.append((str(address), f"default route, cannot bind: {bind_error}"))
            return ""
        return str(address)

    def _apply(self, reading: _Reading, *, initial: bool = False) -> InventoryChange:
        """Make ``reading`` current: log what is new, update the gauge, say what changed."""
        before = self._reading
        old_drops = set(before.dropped)
        for ip, reason in reading.dropped:
            if (ip, reason) not in old_drops:
                level = logging.WARNING if "cannot bind" in reason else logging.DEBUG
                _log.log(level, "ip dropped", extra={"fields": {"ip": ip, "reason": reason}})
        if reading.fallback and (not before.fallback or reading.ips != before.ips):
            _log.warning(
                "ip inventory fallback",
                extra={
                    "fields": {
                        "ip": reading.ips[0] or "default",
                        "reason": "no interface address qualified; using the default route",
                    }
                },
            )
        if not reading.ips and before.ips:
            _log.error(
                "ip inventory empty",
                extra={"fields": {"reason": "no address of network.manual_ips can be bound"}},
            )
        self._reading = reading
        if self._gauge is not None:
            self._gauge.set(len(reading.ips))
        added = tuple(ip for ip in reading.ips if ip not in before.ips)
        removed = tuple(ip for ip in before.ips if ip not in reading.ips)
        change = InventoryChange(added=added, removed=removed, ips=reading.ips)
        if change and not initial:
            _log.info(
                "ip inventory changed",
                extra={"fields": {"added": list(added), "removed": list(removed)}},
            )
        return change
