"""``TipFloor``: polls Jito's tip-floor endpoint for the ``floor`` tip policy.

``GET https://bundles.jito.wtf/api/v1/bundles/tip_floor`` answers
``[{"time": "...", "landed_tips_25th_percentile": <SOL>, …, "landed_tips_99th_percentile":
<SOL>, "ema_landed_tips_50th_percentile": <SOL>}]`` (floats, in SOL). The simulated world's
Jito face serves the same document at the same path, computed from the bundles that landed
in it.

One background task (``run``) fetches it every ``interval_s``. A failure (transport error,
timeout, HTTP status, malformed body) is logged with its context and counted, never raised:
the last good value is kept. :meth:`TipFloor.lamports` is what the quote engine's
``tip_floor_lamports`` callable reads (0 until a value is known; the engine's tip clamps
apply on top).
"""

from __future__ import annotations

import json
import logging
import math
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import trio

from galileo.net import HttpxClients

_log = logging.getLogger("galileo.landers")

#: Real Jito's tip-floor endpoint.
JITO_TIP_FLOOR_URL = "https://bundles.jito.wtf/api/v1/bundles/tip_floor"
#: Its path, also served by the simulated world's Jito face.
TIP_FLOOR_PATH = "/api/v1/bundles/tip_floor"
PERCENTILES = (25, 50, 75, 95, 99)
LAMPORTS_PER_SOL = 10**9


class MalformedTipFloor(ValueError):
    """The body is not the documented tip-floor document."""


def tip_floor_url(floor_url: str, sim_jito_url: str | None) -> str:
    """``execution.tip.floor_url``, or when empty: the simulated world's Jito face (if the
    world runs, ``sim_jito_url``), else real Jito's endpoint."""
    if floor_url:
        return floor_url
    if sim_jito_url:
        return sim_jito_url.rstrip("/") + TIP_FLOOR_PATH
    return JITO_TIP_FLOOR_URL


def sol_to_lamports(value: int | float) -> int:
    """SOL (a JSON number) → lamports, exactly: ``Decimal(str(value)) * 10**9`` rounded up
    (never via float arithmetic)."""
    try:
        amount = Decimal(str(value)) * LAMPORTS_PER_SOL
    except InvalidOperation as exc:  # pragma: no cover - str() of a number always parses
        raise MalformedTipFloor(f"not a number: {value!r}") from exc
    if not amount.is_finite():
        raise MalformedTipFloor(f"not a finite number: {value!r}")
    if amount < 0:
        raise MalformedTipFloor(f"negative tip: {value!r}")
    return math.ceil(amount)


def parse_tip_floor(doc: Any, percentile: int) -> int:
    """The ``landed_tips_<percentile>th_percentile`` of a tip-floor document, in lamports.

    Strict: a non-empty list whose first entry is an object carrying every
    ``landed_tips_<p>th_percentile`` as a finite non-negative number (``time`` and
    ``ema_landed_tips_50th_percentile``, when present, must be a string and a number).
    Raises :class:`MalformedTipFloor` otherwise."""
    if percentile not in PERCENTILES:
        raise ValueError(f"percentile must be one of {PERCENTILES}, not {percentile}")
    if not isinstance(doc, list) or not doc:
        raise MalformedTipFloor("expected a non-empty JSON array")
    entry = doc[0]
    if not isinstance(entry, dict):
        raise MalformedTipFloor("expected an array of objects")
    if "time" in entry and not isinstance(entry["time"], str):
        raise MalformedTipFloor("time is not a string")
    keys = [f"landed_tips_{p}th_percentile" for p in PERCENTILES]
    if "ema_landed_tips_50th_percentile" in entry:
        keys.append("ema_landed_tips_50th_percentile")
    values: dict[str, int] = {}
    for key in keys:
        if key not in entry:
            raise MalformedTipFloor(f"missing {key}")
        value = entry[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise MalformedTipFloor(f"{key} is not a number: {value!r}")
        values[key] = sol_to_lamports(value)
    return values[f"landed_tips_{percentile}th_percentile"]


def _redact(url: str) -> str:
    """The URL without credentials, query or fragment (safe to log)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class TipFloor:
    """Polls a tip-floor endpoint; :meth:`lamports` is the configured percentile.

    ``clients.get("")`` (the unbound client) does the requests. Counters: ``fetches``,
    ``successes``, ``failures``; ``last_error`` and ``updated_at`` (trio time of the last good
    value) for status pages."""

    def __init__(
        self,
        url: str,
        *,
        clients: HttpxClients,
        percentile: int,
        interval_s: float = 10.0,
        timeout_s: float = 2.0,
    ) -> None:
        if percentile not in PERCENTILES:
            raise ValueError(f"percentile must be one of {PERCENTILES}, not {percentile}")
        if interval_s <= 0 or timeout_s <= 0:
            raise ValueError("interval_s and timeout_s must be > 0")
        self.url = url
        self.percentile = percentile
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self._clients = clients
        self._lamports = 0
        self.fetches = 0
        self.successes = 0
        self.failures = 0
        self.last_error: str | None = None
        self.updated_at: float | None = None

    def lamports(self) -> int:
        """The last good floor in lamports; 0 until one is known."""
        return self._lamports

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Poll until cancelled. The first fetch is attempted (success or not) before
        ``started()``; then one every ``interval_s`` on a fixed schedule."""
        next_at = trio.current_time()
        await self.refresh()
        task_status.started()
        while True:
            next_at += self.interval_s
            await trio.sleep_until(next_at)
            await self.refresh()

    async def refresh(self) -> bool:
        """One fetch; True when it produced a value. Never raises (except cancellation)."""
        self.fetches += 1
        try:
            value = await self._fetch()
        except MalformedTipFloor as err:
            self._fail("malformed", str(err))
            return False
        except ValueError as err:  # JSONDecodeError, UnicodeDecodeError
            self._fail("malformed", f"not JSON: {err}")
            return False
        except trio.TooSlowError:
            self._fail("timeout", f"no answer within {self.timeout_s}s")
            return False
        except httpx.HTTPStatusError as err:
            self._fail("status", str(err))
            return False
        except httpx.HTTPError as err:
            self._fail("transport", f"{type(err).__name__}: {err}")
            return False
        self._lamports = value
        self.successes += 1
        self.last_error = None
        self.updated_at = trio.current_time()
        _log.debug(
            "tip floor",
            extra={"fields": {"percentile": self.percentile, "lamports": value}},
        )
        return True

    async def _fetch(self) -> int:
        client = self._clients.get("")
        with trio.fail_after(self.timeout_s):
            response = await client.get(self.url, timeout=self.timeout_s)
        if response.status_code != 200:
            raise httpx.HTTPStatusError(
                f"HTTP {response.status_code}", request=response.request, response=response
            )
        return parse_tip_floor(json.loads(response.content), self.percentile)

    def _fail(self, kind: str, error: str) -> None:
        self.failures += 1
        self.last_error = f"{kind}: {error}"
        _log.warning(
            "tip floor fetch failed",
            extra={
                "fields": {
                    "url": _redact(self.url),
                    "percentile": self.percentile,
                    "kind": kind,
                    "error": error[:200],
                    "failures": self.failures,
                    "kept_lamports": self._lamports,
                }
            },
        )
