"""Decision latency: sell-quote bytes in → signed transaction bytes out, CPU only.

    .venv/bin/python -m pytest benches/bench_tx_decision_latency.py -p no:cacheprovider -s \
        --benchmark-json=benches/results/bench_tx_decision_latency.json

A simulated world is started once to obtain real bytes: a profitable buy quote, its sell
quote, the /swap-instructions answer for the merged circular quote, the lookup table and a
blockhash. The measured path then runs without I/O, exactly as the execution stage does
once the /swap-instructions answer is in:

    Quote.parse(sell bytes) → Evaluator.evaluate → parse_swap_instructions →
    TxBuilder.assemble (convert, compute budget, tip, v0 compile, size check, sign) → bytes

Baselines measured in the same run: solders signing a fixed, already-compiled message
(the floor of any signed transaction), and solders compile + sign of the same instruction
list (the floor of any v0 build). The last test times N decisions one by one, prints
P50/P99 for each path and writes them to benches/results/bench_tx_decision_latency_pXX.json.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from pathlib import Path
from typing import Any

import pytest
import trio
from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.hash import Hash
from solders.message import MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from galileo._config import ExecutionConfig
from galileo.engine import Evaluator
from galileo.model import BuiltTx, Opportunity, QuoteBatch
from galileo.net import FastTransport, JsonRpcClient
from galileo.obs import Recorder
from galileo.providers import (
    JupiterClient,
    Quote,
    QuoteOptions,
    parse_swap_instructions,
)
from galileo.sim import WSOL_MINT
from galileo.tx import AltCache, TxBuilder, Wallet
from galileo.tx._assemble import PubkeyCache, to_solders
from tests.worlds import dislocated_token, quiet_world

SIZE = 1_000_000_000
SAMPLES = 3_000
RESULTS = Path(__file__).parent / "results" / "bench_tx_decision_latency_pXX.json"
_results: dict[str, dict[str, float]] = {}


class FixedBlockhash:
    def __init__(self, blockhash: Hash, last_valid: int) -> None:
        self._value = (blockhash, last_valid)

    def current(self) -> tuple[Hash, int]:
        return self._value


class Captured:
    """Real bytes from the world, and everything the CPU-only path needs."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp

    async def capture(self) -> None:
        async with quiet_world(self.tmp, seed=11) as world:
            mint = dislocated_token(world)
            transport = FastTransport(world.jupiter_url)
            rpc = JsonRpcClient(world.rpc_url)
            jupiter = JupiterClient(transport)
            options = QuoteOptions(slippage_bps=0)
            self.buy = await jupiter.quote(
                ip="", input_mint=WSOL_MINT, output_mint=mint, amount=SIZE, options=options
            )
            sell = await jupiter.quote(
                ip="",
                input_mint=mint,
                output_mint=WSOL_MINT,
                amount=self.buy.out_amount,
                options=options,
            )
            self.sell_bytes = sell.raw
            self.mint = mint
            self.config = ExecutionConfig()
            self.wallet = Wallet.load(world.wallet_path)
            self.batch = QuoteBatch(
                batch_id=1, base_mint=WSOL_MINT, mint=mint, size=SIZE, lane=0, min_profit_lamports=0
            )
            self.evaluator = Evaluator(self.config, max_quote_age=1e9)
            opp = self.evaluator.evaluate(self.batch, self.buy, sell, ip="", now=0.0)
            assert isinstance(opp, Opportunity), opp
            self.blockhashes = FixedBlockhash(
                world.chain.blockhash(), world.chain.last_valid_block_height()
            )
            self.builder = TxBuilder(
                self.config,
                wallet=self.wallet,
                provider=jupiter,
                blockhashes=self.blockhashes,
                alts=AltCache(rpc),
                recorder=Recorder(),
                rng=random.Random(1),
            )
            si = await jupiter.round_trip_instructions(
                ip="",
                buy=opp.buy,
                sell=opp.sell,
                min_out=self.builder.min_out(opp),
                user_public_key=self.wallet.pubkey_str,
                deadline=trio.current_time() + 5,
            )
            self.si_bytes = si.raw
            self.tables: list[AddressLookupTableAccount] = await AltCache(rpc).get(
                list(si.address_lookup_table_addresses)
            )
            await transport.aclose()
            await rpc.aclose()

    # -- the measured paths ----------------------------------------------------------------

    def decide(self) -> bytes:
        """sell bytes → parse → evaluate → parse instructions → build + sign → wire bytes."""
        sell = Quote.parse(self.sell_bytes, received_at=0.0)
        opp = self.evaluator.evaluate(self.batch, self.buy, sell, ip="", now=0.0)
        assert isinstance(opp, Opportunity)
        built = self.builder.assemble(opp, parse_swap_instructions(self.si_bytes), self.tables)
        assert isinstance(built, BuiltTx)
        return built.wire

    def prepare_baselines(self) -> None:
        opp = self.evaluator.evaluate(
            self.batch, self.buy, Quote.parse(self.sell_bytes), ip="", now=0.0
        )
        assert isinstance(opp, Opportunity)
        built = self.builder.assemble(
            opp,
            parse_swap_instructions(self.si_bytes),
            self.tables,
        )
        assert isinstance(built, BuiltTx)
        message = VersionedTransaction.from_bytes(built.wire).message
        assert isinstance(message, MessageV0)
        self.message = message
        self.message_bytes = to_bytes_versioned(message)
        si = parse_swap_instructions(self.si_bytes)
        cache = PubkeyCache()
        from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
        from solders.system_program import TransferParams, transfer

        payer = self.wallet.pubkey
        self.instructions = [
            set_compute_unit_limit(built.compute_unit_limit),
            set_compute_unit_price(built.compute_unit_price_micro_lamports),
            *(to_solders(ix, cache) for ix in si.setup_instructions),
            to_solders(si.swap_instruction, cache),
            transfer(
                TransferParams(
                    from_pubkey=payer,
                    to_pubkey=Pubkey.from_string(built.tip_account),
                    lamports=built.tip_lamports,
                )
            ),
        ]
        self.wire_size = built.wire_size

    def sign_fixed(self) -> bytes:
        keypair = self.wallet.keypair
        tx = VersionedTransaction.populate(self.message, [keypair.sign_message(self.message_bytes)])
        return bytes(tx)

    def compile_and_sign(self) -> bytes:
        bh, _ = self.blockhashes.current()
        message = MessageV0.try_compile(self.wallet.pubkey, self.instructions, self.tables, bh)
        return bytes(VersionedTransaction(message, [self.wallet.keypair]))


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> Captured:
    cap = Captured(tmp_path_factory.mktemp("tx-bench"))
    trio.run(cap.capture)
    cap.prepare_baselines()
    return cap


PATHS = {
    "baseline: solders sign of a fixed message": "sign_fixed",
    "baseline: solders compile + sign": "compile_and_sign",
    "decision: sell bytes → signed tx": "decide",
}


@pytest.mark.parametrize("path", list(PATHS))
def test_path(benchmark: Any, captured: Captured, path: str) -> None:
    benchmark.group = "tx-decision-latency"
    wire = benchmark(getattr(captured, PATHS[path]))
    assert 0 < len(wire) <= 1232


def test_zz_percentiles(captured: Captured) -> None:
    print(f"\n{SAMPLES} timed calls each; wire size {captured.wire_size} bytes")
    print(f"  {'path':44s} {'P50 µs':>8s} {'P99 µs':>8s} {'mean µs':>8s}")
    for name, attr in PATHS.items():
        call = getattr(captured, attr)
        for _ in range(200):  # warm-up
            call()
        samples = []
        for _ in range(SAMPLES):
            start = time.perf_counter_ns()
            call()
            samples.append(time.perf_counter_ns() - start)
        samples.sort()
        p50 = samples[len(samples) // 2] / 1e3
        p99 = samples[int(len(samples) * 0.99)] / 1e3
        mean = statistics.fmean(samples) / 1e3
        _results[name] = {
            "p50_us": round(p50, 1),
            "p99_us": round(p99, 1),
            "mean_us": round(mean, 1),
        }
        print(f"  {name:44s} {p50:8.1f} {p99:8.1f} {mean:8.1f}")
    decision = _results["decision: sell bytes → signed tx"]["p50_us"]
    floor = _results["baseline: solders compile + sign"]["p50_us"]
    print(f"  decision / compile+sign floor (P50): {decision / floor:.2f}x")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {"samples": SAMPLES, "wire_size": captured.wire_size, "paths": _results}, indent=2
        )
        + "\n"
    )
