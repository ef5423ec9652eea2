"""Values of the landers: endpoints, per-endpoint results, submissions, landing outcomes."""

from __future__ import annotations

import enum

import attrs

from galileo._errors import GalileoError
from galileo._secret import Secret
from galileo.model import LanderOutcome, LanderResult


class LanderKind(enum.StrEnum):
    """The three ways to send. Values are the ``lander`` label of the metrics and ledger."""

    JITO = "jito"
    RPC = "rpc"
    STAKED = "staked"


class SendMethod(enum.StrEnum):
    """What one target sends: a Jito bundle, a bundle-only Jito sendTransaction, or a plain
    RPC sendTransaction (skipPreflight, maxRetries 0)."""

    BUNDLE = "sendBundle"
    BUNDLE_ONLY = "sendTransaction?bundleOnly"
    SEND_TRANSACTION = "sendTransaction"


class LanderError(GalileoError):
    """A lander could not be set up (``kind`` names what is wrong)."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


@attrs.frozen
class Endpoint:
    """One place to send to. ``url`` is the full request URL (a ``Secret``: RPC URLs carry
    tokens); ``label`` is its redacted name, the only form that reaches logs and labels.
    ``key`` is the name hashed onto a source IP (label + method)."""

    lander: LanderKind
    label: str
    url: Secret
    method: SendMethod
    requests_per_second: float
    queue_timeout_s: float | None  # None: bounded by the fan-out deadline only

    @property
    def key(self) -> str:
        return self.label if self.method is not SendMethod.BUNDLE_ONLY else f"{self.label}#bo"


@attrs.frozen(kw_only=True)
class EndpointResult:
    """One endpoint's answer to one submission, with the source IP it went out on (``None``:
    it went out on none — dropped here because no source IP could send it in time)."""

    result: LanderResult
    ip: str | None
    method: SendMethod
    bundle_id: str | None = None
    elapsed_s: float = 0.0

    @property
    def accepted(self) -> bool:
        return self.result.outcome is LanderOutcome.ACCEPTED

    @property
    def dropped(self) -> bool:
        """Never left this machine: every source IP was cooling down for the endpoint or none
        had a token within the send's wait budget (local throttling, not the network)."""
        return self.ip is None


@attrs.frozen(kw_only=True)
class Submission:
    """A signed transaction fanned out to every enabled lander.

    ``bundle_ids``: the ids Jito returned (deduplicated, in order); ``signature`` and
    ``last_valid_block_height`` are what the landing tracker follows."""

    opportunity_id: str
    signature: str
    last_valid_block_height: int
    submitted_at: float
    results: tuple[EndpointResult, ...]
    bundle_ids: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        """Did at least one endpoint take it?"""
        return any(r.accepted for r in self.results)

    @property
    def dropped(self) -> bool:
        """Was every endpoint's send dropped here (nothing left the machine)?"""
        return all(r.dropped for r in self.results)

    @property
    def lander_results(self) -> tuple[LanderResult, ...]:
        return tuple(r.result for r in self.results)

    @property
    def accepted_landers(self) -> tuple[LanderKind, ...]:
        seen: dict[LanderKind, None] = {}
        for r in self.results:
            if r.accepted:
                seen[LanderKind(r.result.lander)] = None
        return tuple(seen)

    @property
    def bundle_id(self) -> str | None:
        return self.bundle_ids[0] if self.bundle_ids else None

    def counts(self) -> dict[str, int]:
        """Results by outcome (for the trace and logs)."""
        out: dict[str, int] = {}
        for r in self.results:
            out[r.result.outcome.value] = out.get(r.result.outcome.value, 0) + 1
        return out
