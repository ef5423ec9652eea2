"""The readiness seam: whether an upstream the quote path depends on can answer now."""

from __future__ import annotations

from typing import Protocol


class ReadinessGate(Protocol):
    """Something that knows whether an upstream is up (e.g. the Jupiter supervisor).

    ``is_ready()`` is cheap and synchronous; ``wait_ready()`` returns once it is ready (at
    once when it already is). Callers pause instead of calling an upstream that is down.
    """

    def is_ready(self) -> bool: ...

    async def wait_ready(self) -> None: ...
