"""Evaluator: profit math with the configured fees and tip policy; the circular quote."""

from __future__ import annotations

import json
from typing import Any

from galileo._config import ExecutionConfig, TipConfig
from galileo._solana import WSOL_MINT as SOL
from galileo.engine import Evaluator
from galileo.model import BatchOutcome, Opportunity, QuoteBatch
from galileo.providers import Quote, circular_quote

USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"


def quote(input_mint: str, output_mint: str, amount: int, out: int, at: float = 10.0) -> Quote:
    body = {
        "inputMint": input_mint,
        "outputMint": output_mint,
        "inAmount": str(amount),
        "outAmount": str(out),
        "otherAmountThreshold": str(out),
        "swapMode": "ExactIn",
        "slippageBps": 0,
        "priceImpactPct": "0.01",
        "routePlan": [
            {
                "swapInfo": {
                    "ammKey": "amm-" + output_mint[:4],
                    "label": "Orca",
                    "inputMint": input_mint,
                    "outputMint": output_mint,
                    "inAmount": str(amount),
                    "outAmount": str(out),
                },
                "percent": 100,
            }
        ],
        "contextSlot": 1,
    }
    return Quote.parse(json.dumps(body).encode(), received_at=at)


BATCH = QuoteBatch(
    batch_id=3, base_mint=SOL, mint=USDC, size=1_000_000_000, lane=0, min_profit_lamports=20_000
)


def evaluator(**tip: Any) -> Evaluator:
    execution = ExecutionConfig(
        compute_unit_price_micro_lamports=1_000,
        lamports_per_signature=5_000,
        tip=TipConfig(**tip),
    )
    return Evaluator(execution, max_quote_age=0.4, compute_unit_limit=300_000, run_id="r1")


def test_net_profit_is_sell_out_minus_size_fees_and_tip() -> None:
    buy = quote(SOL, USDC, BATCH.size, 150_000_000)
    sell = quote(USDC, SOL, 150_000_000, 1_001_000_000)
    result = evaluator(policy="percent", percent_bps=5_000).evaluate(
        BATCH, buy, sell, ip="127.0.0.2", now=10.1
    )
    assert isinstance(result, Opportunity)
    assert result.gross_profit == 1_000_000
    assert result.priority_fee_lamports == 300  # ⌈300_000 × 1_000 / 10⁶⌉
    assert result.base_fee_lamports == 5_000
    assert result.tip_lamports == 500_000
    assert result.net_profit == 1_000_000 - 5_000 - 300 - 500_000
    assert result.id == "r1-3"
    assert result.ip == "127.0.0.2"


def test_skip_reasons() -> None:
    buy = quote(SOL, USDC, BATCH.size, 150_000_000)
    static = evaluator(policy="static", static_lamports=10_000)
    losing = quote(USDC, SOL, 150_000_000, 999_000_000)
    assert static.evaluate(BATCH, buy, losing, ip="", now=10.1) is BatchOutcome.NEGATIVE
    thin = quote(USDC, SOL, 150_000_000, 1_000_030_000)
    assert static.evaluate(BATCH, buy, thin, ip="", now=10.1) is BatchOutcome.BELOW_MIN_PROFIT
    good = quote(USDC, SOL, 150_000_000, 1_010_000_000)
    assert static.evaluate(BATCH, buy, good, ip="", now=10.5) is BatchOutcome.STALE


def test_floor_policy_reads_the_live_tip_floor() -> None:
    execution = ExecutionConfig(tip=TipConfig(policy="floor", min_lamports=1_000))
    floor = Evaluator(execution, max_quote_age=1, tip_floor_lamports=lambda: 42_000)
    buy = quote(SOL, USDC, BATCH.size, 1)
    sell = quote(USDC, SOL, 1, 1_010_000_000)
    result = floor.evaluate(BATCH, buy, sell, ip="", now=10.0)
    assert isinstance(result, Opportunity)
    assert result.tip_lamports == 42_000


def test_the_circular_quote_merges_both_legs_with_a_revert_floor() -> None:
    buy = quote(SOL, USDC, BATCH.size, 150_000_000)
    sell = quote(USDC, SOL, 150_000_000, 1_010_000_000)
    result = evaluator(policy="static", static_lamports=10_000).evaluate(
        BATCH, buy, sell, ip="", now=10.0
    )
    assert isinstance(result, Opportunity)
    merged = circular_quote(buy, sell, result.size + result.tip_lamports)
    assert merged["inputMint"] == merged["outputMint"] == SOL
    assert merged["outAmount"] == merged["otherAmountThreshold"] == str(1_000_010_000)
    assert [step["swapInfo"]["outputMint"] for step in merged["routePlan"]] == [USDC, SOL]
    assert buy.raw_json()["outputMint"] == USDC  # the original quote is untouched
