"""Jupiter swap-API wire format: /quote → :class:`Quote` (a :class:`~galileo.model.LegQuote`),
/swap-instructions → :class:`~galileo.model.SwapInstructions`, and the circular quote that
merges two legs.

Amounts arrive as decimal strings and become ``int``; unknown extra fields are ignored; the
raw quote bytes are kept so the quote can be sent back unchanged as ``quoteResponse``.

Parsing is written out by hand rather than through cattrs: this runs twice per quoted batch
on the hot path, and a hand parse both validates each amount (digits only, no floats, no
negatives) and costs a fraction of a generic structure pass.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from galileo.model import (
    AccountMeta,
    Instruction,
    LegQuote,
    MalformedBody,
    Provider,
    SwapInstructions,
)


def _amount(obj: Mapping[str, Any], key: str, *, where: str = "") -> int:
    value = obj.get(key)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    if type(value) is int and value >= 0:
        return value
    raise MalformedBody(where + key, f"expected a decimal amount string, got {value!r}")


def _opt_amount(obj: Mapping[str, Any], key: str, *, where: str = "") -> int | None:
    if obj.get(key) is None:
        return None
    return _amount(obj, key, where=where)


def _str(obj: Mapping[str, Any], key: str, *, where: str = "") -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise MalformedBody(where + key, f"expected a string, got {value!r}")
    return value


def _int(obj: Mapping[str, Any], key: str, *, where: str = "", default: int | None = None) -> int:
    value = obj.get(key, default)
    if type(value) is not int:
        raise MalformedBody(where + key, f"expected an integer, got {value!r}")
    return value


def _opt_int(obj: Mapping[str, Any], key: str, *, where: str = "") -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if type(value) is not int:
        raise MalformedBody(where + key, f"expected an integer, got {value!r}")
    return value


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise MalformedBody(where, f"expected an object, got {type(value).__name__}")
    return value


def _loads(body: bytes) -> Mapping[str, Any]:
    try:
        decoded = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedBody("body", f"not JSON: {exc}") from exc
    return _object(decoded, "body")


@attrs.frozen
class SwapInfo:
    """One hop of a route."""

    amm_key: str
    label: str
    input_mint: str
    output_mint: str
    in_amount: int
    out_amount: int
    fee_amount: int | None = None
    fee_mint: str | None = None


@attrs.frozen
class RoutePlanStep:
    swap_info: SwapInfo
    percent: int | None
    bps: int | None = None


@attrs.frozen
class PlatformFee:
    amount: int
    fee_bps: int


def _route_plan_list(value: Any) -> tuple[Any, ...]:
    if not isinstance(value, list):
        raise MalformedBody("routePlan", "expected a list")
    return tuple(value)


def _route_plan(value: Any) -> tuple[RoutePlanStep, ...]:
    if not isinstance(value, list):
        raise MalformedBody("routePlan", "expected a list")
    steps = []
    for i, raw_step in enumerate(value):
        where = f"routePlan[{i}]."
        step = _object(raw_step, where[:-1])
        info = _object(step.get("swapInfo"), where + "swapInfo")
        w = where + "swapInfo."
        fee_mint = info.get("feeMint")
        steps.append(
            RoutePlanStep(
                swap_info=SwapInfo(
                    amm_key=_str(info, "ammKey", where=w),
                    label=str(info.get("label") or ""),
                    input_mint=_str(info, "inputMint", where=w),
                    output_mint=_str(info, "outputMint", where=w),
                    in_amount=_amount(info, "inAmount", where=w),
                    out_amount=_amount(info, "outAmount", where=w),
                    fee_amount=_opt_amount(info, "feeAmount", where=w),
                    fee_mint=fee_mint if isinstance(fee_mint, str) else None,
                ),
                percent=_opt_int(step, "percent", where=where),
                bps=_opt_int(step, "bps", where=where),
            )
        )
    return tuple(steps)


@attrs.frozen(kw_only=True)
class Quote(LegQuote):
    """A /quote answer. ``raw`` is the exact JSON received (send it back as quoteResponse);
    ``received_at`` is the trio clock when the response was complete."""

    provider: Provider = Provider.JUPITER
    other_amount_threshold: int
    swap_mode: str
    slippage_bps: int
    price_impact_pct: str
    route_plan_json: tuple[Any, ...] = attrs.field(repr=False, eq=False)
    context_slot: int
    time_taken: float | None
    platform_fee: PlatformFee | None
    raw: bytes = attrs.field(repr=False, eq=False)

    @classmethod
    def parse(cls, body: bytes, *, received_at: float = 0.0) -> Quote:
        data = _loads(body)
        fee = data.get("platformFee")
        platform_fee = None
        if fee is not None:
            fee_obj = _object(fee, "platformFee")
            platform_fee = PlatformFee(
                amount=_amount(fee_obj, "amount", where="platformFee."),
                fee_bps=_int(fee_obj, "feeBps", where="platformFee.", default=0),
            )
        time_taken = data.get("timeTaken")
        return cls(
            input_mint=_str(data, "inputMint"),
            output_mint=_str(data, "outputMint"),
            in_amount=_amount(data, "inAmount"),
            out_amount=_amount(data, "outAmount"),
            other_amount_threshold=_amount(data, "otherAmountThreshold"),
            swap_mode=str(data.get("swapMode") or "ExactIn"),
            slippage_bps=_int(data, "slippageBps", default=0),
            price_impact_pct=str(data.get("priceImpactPct") or "0"),
            route_plan_json=_route_plan_list(data.get("routePlan")),
            context_slot=_int(data, "contextSlot", default=0),
            time_taken=float(time_taken) if isinstance(time_taken, int | float) else None,
            platform_fee=platform_fee,
            raw=bytes(body),
            received_at=received_at,
        )

    def raw_json(self) -> dict[str, Any]:
        """A fresh dict of the raw quote (safe to modify, e.g. to merge two legs)."""
        decoded: dict[str, Any] = json.loads(self.raw)
        return decoded

    @property
    def route_plan(self) -> tuple[RoutePlanStep, ...]:
        """The route's hops, parsed on access (raises MalformedBody if a hop is malformed):
        the hot path only needs the amounts, so hops are not parsed per quote."""
        return _route_plan(list(self.route_plan_json))

    @property
    def labels(self) -> tuple[str, ...]:
        """DEX labels along the route."""
        return tuple(step.swap_info.label for step in self.route_plan)


def _instruction(value: Any, where: str) -> Instruction:
    obj = _object(value, where)
    accounts_raw = obj.get("accounts")
    if not isinstance(accounts_raw, list):
        raise MalformedBody(where + ".accounts", "expected a list")
    accounts = []
    for i, account in enumerate(accounts_raw):
        acc = _object(account, f"{where}.accounts[{i}]")
        accounts.append(
            AccountMeta(
                pubkey=_str(acc, "pubkey", where=f"{where}.accounts[{i}]."),
                is_signer=bool(acc.get("isSigner")),
                is_writable=bool(acc.get("isWritable")),
            )
        )
    return Instruction(
        program_id=_str(obj, "programId", where=where + "."),
        accounts=tuple(accounts),
        data=_str(obj, "data", where=where + "."),
    )


def _instructions(value: Any, where: str) -> tuple[Instruction, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise MalformedBody(where, "expected a list")
    return tuple(_instruction(item, f"{where}[{i}]") for i, item in enumerate(value))


def parse_swap_instructions(body: bytes) -> SwapInstructions:
    """A /swap-instructions answer (raises :class:`~galileo.model.MalformedBody`)."""
    data = _loads(body)
    alts = data.get("addressLookupTableAddresses") or []
    if not isinstance(alts, list) or not all(isinstance(a, str) for a in alts):
        raise MalformedBody("addressLookupTableAddresses", "expected a list of strings")
    cleanup = data.get("cleanupInstruction")
    ledger = data.get("tokenLedgerInstruction")
    sim_error = data.get("simulationError")
    return SwapInstructions(
        compute_budget_instructions=_instructions(
            data.get("computeBudgetInstructions"), "computeBudgetInstructions"
        ),
        setup_instructions=_instructions(data.get("setupInstructions"), "setupInstructions"),
        swap_instruction=_instruction(data.get("swapInstruction"), "swapInstruction"),
        cleanup_instruction=(
            None if cleanup is None else _instruction(cleanup, "cleanupInstruction")
        ),
        other_instructions=_instructions(data.get("otherInstructions"), "otherInstructions"),
        token_ledger_instruction=(
            None if ledger is None else _instruction(ledger, "tokenLedgerInstruction")
        ),
        address_lookup_table_addresses=tuple(alts),
        prioritization_fee_lamports=_amount(data, "prioritizationFeeLamports"),
        compute_unit_limit=_int(data, "computeUnitLimit"),
        simulation_error=sim_error if isinstance(sim_error, dict) else None,
        raw=bytes(body),
    )


def circular_quote(buy: Quote, sell: Quote, min_out: int) -> dict[str, Any]:
    """The two legs merged into one ``base → base`` quote for /swap-instructions (needs the
    binary's --allow-circular-arbitrage): routePlan = buy + sell, and outAmount =
    otherAmountThreshold = ``min_out``, so the transaction reverts on chain unless it returns
    at least that."""
    merged = buy.raw_json()
    sell_json = sell.raw_json()
    merged["outputMint"] = sell_json.get("outputMint", buy.input_mint)
    merged["outAmount"] = str(min_out)
    merged["otherAmountThreshold"] = str(min_out)
    merged["priceImpactPct"] = "0"
    merged["routePlan"] = list(merged.get("routePlan") or []) + list(
        sell_json.get("routePlan") or []
    )
    return merged


def leg_quote_with_floor(quote: Quote, min_out: int) -> dict[str, Any]:
    """``quote`` sent back with ``otherAmountThreshold = min_out``: the leg's swap fails on
    chain unless it returns at least that."""
    raw = quote.raw_json()
    raw["otherAmountThreshold"] = str(min_out)
    return raw
