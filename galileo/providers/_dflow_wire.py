"""DFlow swap-API wire format: /quote → :class:`DflowQuote` (a
:class:`~galileo.model.LegQuote`), /swap-instructions → :class:`~galileo.model.SwapInstructions`,
and the quote sent back with an on-chain floor.

Amounts arrive as decimal strings and become ``int``; unknown extra fields are ignored; the
raw quote bytes are kept so the quote can go back as ``quoteResponse``. Hand-parsed like the
Jupiter wire format (see :mod:`galileo.providers._jupiter_wire`), with its field checks.
"""

from __future__ import annotations

import json
from typing import Any

import attrs

from galileo.model import LegQuote, MalformedBody, Provider, SwapInstructions
from galileo.providers._jupiter_wire import (
    _amount,
    _instruction,
    _instructions,
    _int,
    _loads,
    _object,
    _opt_int,
    _str,
)


@attrs.frozen
class DflowLeg:
    """One hop of a DFlow route: a market on a venue (a DEX)."""

    venue: str
    market_key: str
    input_mint: str
    output_mint: str
    in_amount: int
    out_amount: int


@attrs.frozen(kw_only=True)
class DflowQuote(LegQuote):
    """A DFlow /quote answer. ``raw`` is the exact JSON received (sent back, with the floor,
    as quoteResponse); ``received_at`` is the trio clock when the response was complete."""

    provider: Provider = Provider.DFLOW
    other_amount_threshold: int
    min_out_amount: int
    slippage_bps: int
    price_impact_pct: str
    route_plan_json: tuple[Any, ...] = attrs.field(repr=False, eq=False)
    context_slot: int
    simulated_compute_units: int | None
    request_id: str | None
    raw: bytes = attrs.field(repr=False, eq=False)

    @classmethod
    def parse(cls, body: bytes, *, received_at: float = 0.0) -> DflowQuote:
        data = _loads(body)
        route_plan = data.get("routePlan")
        if not isinstance(route_plan, list):
            raise MalformedBody("routePlan", "expected a list")
        threshold = _amount(data, "otherAmountThreshold")
        request_id = data.get("requestId")
        return cls(
            input_mint=_str(data, "inputMint"),
            output_mint=_str(data, "outputMint"),
            in_amount=_amount(data, "inAmount"),
            out_amount=_amount(data, "outAmount"),
            other_amount_threshold=threshold,
            # Documented as "same as otherAmountThreshold"; older answers may lack it.
            min_out_amount=(
                threshold if data.get("minOutAmount") is None else _amount(data, "minOutAmount")
            ),
            slippage_bps=_int(data, "slippageBps", default=0),
            price_impact_pct=str(data.get("priceImpactPct") or "0"),
            route_plan_json=tuple(route_plan),
            context_slot=_int(data, "contextSlot", default=0),
            simulated_compute_units=_opt_int(data, "simulatedComputeUnits"),
            request_id=request_id if isinstance(request_id, str) else None,
            raw=bytes(body),
            received_at=received_at,
        )

    def raw_json(self) -> dict[str, Any]:
        """A fresh dict of the raw quote (safe to modify)."""
        decoded: dict[str, Any] = json.loads(self.raw)
        return decoded

    @property
    def route_plan(self) -> tuple[DflowLeg, ...]:
        """The route's hops, parsed on access (raises MalformedBody if a hop is malformed)."""
        legs = []
        for i, raw_leg in enumerate(self.route_plan_json):
            where = f"routePlan[{i}]."
            leg = _object(raw_leg, where[:-1])
            legs.append(
                DflowLeg(
                    venue=_str(leg, "venue", where=where),
                    market_key=_str(leg, "marketKey", where=where),
                    input_mint=_str(leg, "inputMint", where=where),
                    output_mint=_str(leg, "outputMint", where=where),
                    in_amount=_amount(leg, "inAmount", where=where),
                    out_amount=_amount(leg, "outAmount", where=where),
                )
            )
        return tuple(legs)

    @property
    def venues(self) -> tuple[str, ...]:
        """The venue (DEX) of each hop."""
        return tuple(leg.venue for leg in self.route_plan)


def quote_with_floor(quote: DflowQuote, min_out: int) -> dict[str, Any]:
    """``quote`` sent back with ``otherAmountThreshold = minOutAmount = min_out``: the leg's
    swap fails on chain unless it returns at least that."""
    raw = quote.raw_json()
    raw["otherAmountThreshold"] = str(min_out)
    raw["minOutAmount"] = str(min_out)
    return raw


def parse_dflow_swap_instructions(body: bytes) -> SwapInstructions:
    """A DFlow /swap-instructions answer (raises :class:`~galileo.model.MalformedBody`).

    DFlow answers a *list* of cleanup instructions: exactly one becomes
    ``cleanup_instruction``; several go to ``other_instructions`` after DFlow's own (the
    model has one cleanup slot)."""
    data = _loads(body)
    alts = data.get("addressLookupTableAddresses") or []
    if not isinstance(alts, list) or not all(isinstance(a, str) for a in alts):
        raise MalformedBody("addressLookupTableAddresses", "expected a list of strings")
    cleanups = _instructions(data.get("cleanupInstructions"), "cleanupInstructions")
    other = _instructions(data.get("otherInstructions"), "otherInstructions")
    blockhash = data.get("blockhashWithMetadata")
    if blockhash is not None:
        _str(
            _object(blockhash, "blockhashWithMetadata"), "blockhash", where="blockhashWithMetadata."
        )
    fee = (
        0
        if data.get("prioritizationFeeLamports") is None
        else (_amount(data, "prioritizationFeeLamports"))
    )
    return SwapInstructions(
        compute_budget_instructions=_instructions(
            data.get("computeBudgetInstructions"), "computeBudgetInstructions"
        ),
        setup_instructions=_instructions(data.get("setupInstructions"), "setupInstructions"),
        swap_instruction=_instruction(data.get("swapInstruction"), "swapInstruction"),
        cleanup_instruction=cleanups[0] if len(cleanups) == 1 else None,
        other_instructions=other if len(cleanups) == 1 else other + cleanups,
        token_ledger_instruction=None,
        address_lookup_table_addresses=tuple(alts),
        prioritization_fee_lamports=fee,
        compute_unit_limit=_int(data, "computeUnitLimit"),
        simulation_error=None,
        raw=bytes(body),
    )
