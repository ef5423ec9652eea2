"""The blind strategy: for every base mint B, intermediate mint X and trade size S, quote
B→X for S then X→B for what the first leg returns, and keep the round trips that pay.

Batches are planned lazily and forever: base mints take turns, and within a base mint
``galileo._fast.batch_slots`` decides which (mint, size) pair the next batch quotes —
mints rotate fastest so consecutive batches hit different pools.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import attrs

from galileo import _fast
from galileo._config import BaseMintConfig, BlindConfig, TradeSizeRange
from galileo._errors import ConfigError
from galileo.model import QuoteBatch


@attrs.frozen
class BasePlan:
    """What one base mint quotes: its intermediate mints and size lanes."""

    base_mint: str
    mints: tuple[str, ...]
    sizes: tuple[int, ...]
    jitter_bps: int
    min_profit_lamports: int

    @property
    def round_size(self) -> int:
        """Batches in one full sweep of mints × sizes."""
        return len(self.mints) * len(self.sizes)


def trade_sizes(size_range: TradeSizeRange) -> tuple[int, ...]:
    """The size lanes of a range: the explicit list, or ``lanes`` sizes min..max."""
    if size_range.explicit:
        return tuple(sorted(set(size_range.explicit)))
    return tuple(
        _fast.lane_sizes(
            size_range.min, size_range.max, size_range.lanes, size_range.spacing == "geometric"
        )
    )


def read_mints_file(path: str | Path) -> list[str]:
    """One mint per line; blank lines and ``#`` comments ignored."""
    mints = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        text = line.split("#", 1)[0].strip()
        if text:
            mints.append(text)
    return mints


def _dedup(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


class BlindStrategy:
    """An endless stream of :class:`QuoteBatch` over the configured base mints."""

    def __init__(self, plans: Sequence[BasePlan], *, seed: int = 0) -> None:
        self._plans = [plan for plan in plans if plan.mints and plan.sizes]
        if not self._plans:
            raise ConfigError(
                "strategy.blind.base_mints", "no base mint has intermediate mints and sizes"
            )
        self._counters = [0] * len(self._plans)
        self._turn = 0
        self._next_id = 0
        self._rng = random.Random(seed)

    @classmethod
    def from_config(
        cls,
        config: BlindConfig,
        *,
        default_min_profit_lamports: int,
        available_mints: Sequence[str] = (),
        seed: int = 0,
    ) -> BlindStrategy:
        """Resolve the config: inline + file intermediate mints, or ``available_mints`` (the
        API's /tokens) when a base mint lists none; the base mint itself is never its own
        intermediate."""
        plans = []
        for i, base in enumerate(config.base_mints):
            plans.append(
                _plan_for(
                    base,
                    f"strategy.blind.base_mints[{i}]",
                    default_min_profit_lamports,
                    available_mints,
                )
            )
        return cls(plans, seed=seed)

    @property
    def plans(self) -> list[BasePlan]:
        return list(self._plans)

    @property
    def round_size(self) -> int:
        return sum(plan.round_size for plan in self._plans)

    def next_batch(self) -> QuoteBatch:
        """The next batch (round-robin over base mints)."""
        index = self._turn
        self._turn = (self._turn + 1) % len(self._plans)
        plan = self._plans[index]
        mint_index, lane = _fast.batch_slot(self._counters[index], len(plan.mints), len(plan.sizes))
        self._counters[index] += 1
        return self._make(plan, int(mint_index), int(lane))

    def plan(self, count: int) -> list[QuoteBatch]:
        """The next ``count`` batches at once (vectorised slot computation)."""
        if len(self._plans) == 1:
            plan = self._plans[0]
            mints, lanes = _fast.batch_slots(
                self._counters[0], count, len(plan.mints), len(plan.sizes)
            )
            self._counters[0] += count
            return [self._make(plan, int(m), int(s)) for m, s in zip(mints, lanes, strict=True)]
        return [self.next_batch() for _ in range(count)]

    def _make(self, plan: BasePlan, mint_index: int, lane: int) -> QuoteBatch:
        size = plan.sizes[lane]
        if plan.jitter_bps:
            size = _fast.jitter_size(size, plan.jitter_bps, self._rng.getrandbits(64))
        batch_id = self._next_id
        self._next_id += 1
        return QuoteBatch(
            batch_id=batch_id,
            base_mint=plan.base_mint,
            mint=plan.mints[mint_index],
            size=size,
            lane=lane,
            min_profit_lamports=plan.min_profit_lamports,
        )


def _plan_for(
    base: BaseMintConfig,
    path: str,
    default_min_profit: int,
    available_mints: Sequence[str],
) -> BasePlan:
    mints: list[str] = list(base.intermediate_mints)
    if base.intermediate_mints_file:
        try:
            mints.extend(read_mints_file(base.intermediate_mints_file))
        except OSError as exc:
            raise ConfigError(f"{path}.intermediate_mints_file", str(exc)) from exc
    if not mints:
        mints = list(available_mints)
    resolved = tuple(m for m in _dedup(mints) if m != base.mint)
    return BasePlan(
        base_mint=base.mint,
        mints=resolved,
        sizes=trade_sizes(base.trade_size_range),
        jitter_bps=base.trade_size_range.jitter_bps,
        min_profit_lamports=base.min_profit_lamports or default_min_profit,
    )


def needs_token_list(config: BlindConfig) -> bool:
    """True when some base mint lists no intermediate mints (so /tokens must be read)."""
    return any(
        not base.intermediate_mints and not base.intermediate_mints_file
        for base in config.base_mints
    )


def plans_summary(plans: Sequence[BasePlan]) -> Mapping[str, object]:
    return {plan.base_mint: {"mints": len(plan.mints), "sizes": list(plan.sizes)} for plan in plans}
