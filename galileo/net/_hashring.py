"""Which source IP talks to which lander endpoint: rendezvous (HRW) hashing.

Each endpoint keeps the same preferred IP while the IP set is stable (connection reuse,
per-IP rate limits stay predictable), moves to its "next best" IP while the first choice is
cooling down, and only endpoints whose IP left the set move when the set changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from galileo import _fast


class IpHashRing:
    """Rendezvous hashing of keys (lander endpoints) onto a fixed list of IPs."""

    def __init__(self, ips: Sequence[str]) -> None:
        if not ips:
            raise ValueError("IpHashRing needs at least one IP")
        self._ips = list(ips)
        self._hashes: npt.NDArray[np.uint64] = np.array(
            [_fast.hash64(ip.encode()) for ip in self._ips], dtype=np.uint64
        )

    @property
    def ips(self) -> list[str]:
        return list(self._ips)

    def order(self, key: str) -> list[str]:
        """Every IP from best to worst for ``key``."""
        return [self._ips[i] for i in _fast.rendezvous_order(key.encode(), self._nodes())]

    def pick(self, key: str, healthy: Iterable[str] | None = None) -> str | None:
        """The best IP for ``key`` among ``healthy`` (default: all), or None if none is."""
        if healthy is None:
            eligible = np.ones(len(self._ips), dtype=np.uint8)
        else:
            allowed = set(healthy)
            eligible = np.array([ip in allowed for ip in self._ips], dtype=np.uint8)
        index = _fast.rendezvous_pick(_fast.hash64(key.encode()), self._hashes, eligible)
        return None if index < 0 else self._ips[index]

    def _nodes(self) -> list[bytes]:
        return [ip.encode() for ip in self._ips]
