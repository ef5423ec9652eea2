"""What happens after a transaction is built: each lander endpoint's answer, how the
submission ended on chain, and where an attempt is in the ledger."""

from __future__ import annotations

import enum

import attrs


class AttemptStatus(enum.StrEnum):
    """Where an attempt is. Values are stored in the ledger and double as metric labels.

    ``planned → built → submitted → landed | failed | expired | dropped``; a dry run ends in
    ``dry_run`` after ``built``. The ledger never moves a row backwards (a replayed, older
    update leaves a later status alone); among the terminal statuses the first one written
    wins, except ``landed``, which overrides ``failed``/``expired``/``dropped`` because the
    chain saying "it landed" outranks a tracker that gave up.
    """

    PLANNED = "planned"
    BUILT = "built"
    SUBMITTED = "submitted"
    LANDED = "landed"
    FAILED = "failed"
    EXPIRED = "expired"
    DROPPED = "dropped"
    DRY_RUN = "dry_run"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def terminal(self) -> bool:
        return _RANK[self] >= _RANK[AttemptStatus.FAILED]


_RANK = {
    AttemptStatus.PLANNED: 0,
    AttemptStatus.BUILT: 1,
    AttemptStatus.SUBMITTED: 2,
    AttemptStatus.FAILED: 3,
    AttemptStatus.EXPIRED: 3,
    AttemptStatus.DROPPED: 3,
    AttemptStatus.DRY_RUN: 3,
    AttemptStatus.LANDED: 4,
}


class LanderOutcome(enum.StrEnum):
    """What one lander endpoint answered to a submission (values are metric labels)."""

    ACCEPTED = "accepted"
    RATE_LIMITED = "rate_limited"
    REJECTED = "rejected"
    TIMEOUT = "timeout"


@attrs.frozen(kw_only=True)
class LanderResult:
    """One lander endpoint's answer to one submission."""

    lander: str  # "jito", "rpc", "staked"
    endpoint: str  # a label for the endpoint (host name, region); never a URL with a token
    outcome: LanderOutcome
    reason: str | None = None  # why it was rejected, the error text of a timeout, ...


class LandingStatus(enum.StrEnum):
    """How a submission ended. Values are metric labels and match ledger statuses."""

    LANDED = "landed"  # included and succeeded
    FAILED = "failed"  # included and failed on chain (``slot`` set), or refused by every path
    EXPIRED = "expired"  # its blockhash expired (or tracking timed out) without inclusion


@attrs.frozen(kw_only=True)
class LandingOutcome:
    """What the landing tracker learnt about a submission.

    ``slot``: where it was included (set for ``landed`` and for an on-chain failure);
    ``error``: the on-chain error (JSON text) or why it is considered gone;
    ``landed_via``: ``jito`` when a bundle landed, else the non-Jito lander(s) that accepted
    it (``rpc``, ``staked``, ``rpc+staked``); ``elapsed_s``: submission → outcome."""

    status: LandingStatus
    slot: int | None = None
    error: str | None = None
    landed_via: str | None = None
    elapsed_s: float = 0.0

    @property
    def on_chain(self) -> bool:
        """Was the transaction included (so it paid its fee)?"""
        return self.slot is not None
