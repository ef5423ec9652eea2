"""The market model: tokens, constant-product pools on named DEXes, routing, price dynamics.

Everything here is plain integer arithmetic on Python ints so that quoting is exact and fast:
the amounts a quote promises are the amounts a landed transaction moves, to the atomic unit.
The dynamics (fair-price drift, dislocations between pools) draw from ``random.Random``
streams seeded by the world seed, one slot at a time, so the market is a pure function of
(seed, slots elapsed, trades executed).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from galileo.sim._constants import WSOL_MINT, derived_pubkey, dex_program_id

BPS = 10_000

# Symbols handed out to the simulated tokens, in order (then TK<n>).
_SYMBOLS = (
    "BONK", "JUP", "WIF", "RAY", "ORCA", "PYTH", "JTO", "MSOL", "POPCAT", "MEW",
    "W", "TNSR", "HNT", "RENDER", "DRIFT", "KMNO",
)  # fmt: skip

# Rough account cost of a route, for maxAccounts (the real value is an estimate too).
ACCOUNTS_BASE = 10
ACCOUNTS_PER_HOP = 8


@attrs.frozen
class Token:
    """An SPL mint of the world."""

    mint: str
    symbol: str
    decimals: int


@attrs.define(eq=False)
class Pool:
    """A constant-product pool ``mint_a``/``mint_b`` with a fee in bps taken from the input.

    ``reserve_a``/``reserve_b`` mirror the token balances of ``vault_a``/``vault_b`` on the VM.
    """

    address: str
    label: str
    program_id: str
    mint_a: str
    mint_b: str
    vault_a: str
    vault_b: str
    fee_bps: int
    reserve_a: int = 0
    reserve_b: int = 0

    def quote(self, input_mint: str, amount: int) -> tuple[int, int]:
        """``(out_amount, fee_amount)`` of an exact-in swap of ``amount`` of ``input_mint``."""
        if input_mint == self.mint_a:
            r_in, r_out = self.reserve_a, self.reserve_b
        else:
            r_in, r_out = self.reserve_b, self.reserve_a
        fee = amount * self.fee_bps // BPS
        net = amount - fee
        if net <= 0 or r_in <= 0:
            return 0, fee
        return net * r_out // (r_in + net), fee

    def other(self, mint: str) -> str:
        return self.mint_b if mint == self.mint_a else self.mint_a

    def vaults(self, input_mint: str) -> tuple[str, str]:
        """``(vault receiving the input, vault paying the output)``."""
        if input_mint == self.mint_a:
            return self.vault_a, self.vault_b
        return self.vault_b, self.vault_a

    def apply(self, input_mint: str, amount_in: int, amount_out: int) -> None:
        if input_mint == self.mint_a:
            self.reserve_a += amount_in
            self.reserve_b -= amount_out
        else:
            self.reserve_b += amount_in
            self.reserve_a -= amount_out

    def spot_out(self, input_mint: str, amount: float) -> float:
        """Output at the marginal price after fees (no price impact)."""
        if input_mint == self.mint_a:
            r_in, r_out = self.reserve_a, self.reserve_b
        else:
            r_in, r_out = self.reserve_b, self.reserve_a
        if r_in <= 0:
            return 0.0
        return amount * (BPS - self.fee_bps) / BPS * r_out / r_in


@attrs.frozen
class Hop:
    """One leg of a route through one pool."""

    pool: Pool
    input_mint: str
    output_mint: str
    in_amount: int
    out_amount: int
    fee_amount: int


@attrs.frozen
class Route:
    """A priced exact-in route (1–2 hops, or 2 for a circular one)."""

    hops: tuple[Hop, ...]
    in_amount: int
    out_amount: int

    @property
    def input_mint(self) -> str:
        return self.hops[0].input_mint

    @property
    def output_mint(self) -> str:
        return self.hops[-1].output_mint

    @property
    def accounts(self) -> int:
        return ACCOUNTS_BASE + ACCOUNTS_PER_HOP * len(self.hops)

    def price_impact(self) -> float:
        """1 − out / (out at marginal prices), as a fraction."""
        ideal = float(self.in_amount)
        for hop in self.hops:
            ideal = hop.pool.spot_out(hop.input_mint, ideal)
        if ideal <= 0:
            return 0.0
        return max(0.0, 1.0 - self.out_amount / ideal)


@attrs.frozen
class QuoteParams:
    """The routing part of a /quote request."""

    input_mint: str
    output_mint: str
    amount: int
    only_direct_routes: bool = False
    dexes: frozenset[str] | None = None
    exclude_dexes: frozenset[str] = frozenset()
    max_accounts: int = 64
    restrict_intermediate_tokens: bool = True


class Market:
    """Tokens and pools with the indexes routing needs. Mutated in place by trades/dynamics."""

    def __init__(
        self, tokens: Sequence[Token], pools: Sequence[Pool], *, intermediate: Iterable[str] = ()
    ) -> None:
        self.tokens: dict[str, Token] = {t.mint: t for t in tokens}
        self.pools: list[Pool] = list(pools)
        self.by_address: dict[str, Pool] = {p.address: p for p in self.pools}
        self.by_pair: dict[tuple[str, str], list[Pool]] = {}
        neighbors: dict[str, set[str]] = {}
        for pool in self.pools:
            self.by_pair.setdefault((pool.mint_a, pool.mint_b), []).append(pool)
            self.by_pair.setdefault((pool.mint_b, pool.mint_a), []).append(pool)
            neighbors.setdefault(pool.mint_a, set()).add(pool.mint_b)
            neighbors.setdefault(pool.mint_b, set()).add(pool.mint_a)
        self.neighbors: dict[str, tuple[str, ...]] = {
            m: tuple(sorted(ns)) for m, ns in neighbors.items()
        }
        # Mints a route may pass through when restrictIntermediateTokens is on.
        self.intermediate_mints: frozenset[str] = frozenset(intermediate) | {WSOL_MINT}
        self.by_vault: dict[str, Pool] = {}
        for pool in self.pools:
            self.by_vault[pool.vault_a] = pool
            self.by_vault[pool.vault_b] = pool

    # --- construction -------------------------------------------------------------------

    @classmethod
    def generate(
        cls,
        *,
        seed: int,
        token_count: int,
        dexes: Sequence[str],
        fee_bps: int,
    ) -> Market:
        """A fresh market: ``token_count`` tokens, each with a SOL pool on every DEX, plus a
        ring of token/token pools so that two-hop routes exist."""
        rng = random.Random(f"galileo-sim-market:{seed}")
        tokens = [Token(WSOL_MINT, "SOL", 9)]
        price_lamports: dict[str, float] = {WSOL_MINT: 1.0}
        for i in range(token_count):
            symbol = _SYMBOLS[i] if i < len(_SYMBOLS) else f"TK{i}"
            decimals = rng.choice((5, 6, 6, 8, 9))
            mint = str(derived_pubkey(seed, "mint", i))
            tokens.append(Token(mint, symbol, decimals))
            price_sol = 10 ** rng.uniform(-5.0, 0.5)  # one whole token, in SOL
            price_lamports[mint] = price_sol * 1e9 / 10**decimals
        pools: list[Pool] = []

        def add(label: str, a: Token, b: Token, liquidity_sol: float) -> None:
            address = str(derived_pubkey(seed, "pool", label, a.mint, b.mint))
            pools.append(
                Pool(
                    address=address,
                    label=label,
                    program_id=dex_program_id(label),
                    mint_a=a.mint,
                    mint_b=b.mint,
                    vault_a=str(derived_pubkey(seed, "vault", address, "a")),
                    vault_b=str(derived_pubkey(seed, "vault", address, "b")),
                    fee_bps=fee_bps,
                    reserve_a=int(liquidity_sol * 1e9 / price_lamports[a.mint]),
                    reserve_b=int(liquidity_sol * 1e9 / price_lamports[b.mint]),
                )
            )

        sol = tokens[0]
        for token in tokens[1:]:
            for label in dexes:
                add(label, token, sol, rng.uniform(200.0, 3000.0))
        for i in range(1, len(tokens) - 1):
            add(dexes[i % len(dexes)], tokens[i], tokens[i + 1], rng.uniform(100.0, 1000.0))
        # The first half of the tokens (the "liquid" ones) may be used as intermediates.
        liquid = [t.mint for t in tokens[1 : 1 + max(1, token_count // 2)]]
        return cls(tokens, pools, intermediate=liquid)

    def filtered(self, mints: Iterable[str]) -> Market:
        """Only the pools with both mints in ``mints`` (--filter-markets-with-mints)."""
        keep = set(mints)
        pools = [p for p in self.pools if p.mint_a in keep and p.mint_b in keep]
        used = {p.mint_a for p in pools} | {p.mint_b for p in pools}
        tokens = [t for t in self.tokens.values() if t.mint in used or t.mint == WSOL_MINT]
        return Market(tokens, pools, intermediate=self.intermediate_mints & used)

    def to_cache(self) -> dict[str, Any]:
        """The market cache document (served by the RPC face at /sim/markets)."""
        return {
            "tokens": [
                {"mint": t.mint, "symbol": t.symbol, "decimals": t.decimals}
                for t in self.tokens.values()
            ],
            "intermediateMints": sorted(self.intermediate_mints),
            "pools": [
                {
                    "pubkey": p.address,
                    "owner": p.program_id,
                    "label": p.label,
                    "mintA": p.mint_a,
                    "mintB": p.mint_b,
                    "vaultA": p.vault_a,
                    "vaultB": p.vault_b,
                    "feeBps": p.fee_bps,
                }
                for p in self.pools
            ],
        }

    @classmethod
    def from_cache(cls, doc: Mapping[str, Any]) -> Market:
        """A market with the cache's pools and zero reserves (filled from vault balances)."""
        tokens = [Token(t["mint"], t["symbol"], int(t["decimals"])) for t in doc["tokens"]]
        pools = [
            Pool(
                address=p["pubkey"],
                label=p["label"],
                program_id=p["owner"],
                mint_a=p["mintA"],
                mint_b=p["mintB"],
                vault_a=p["vaultA"],
                vault_b=p["vaultB"],
                fee_bps=int(p["feeBps"]),
            )
            for p in doc["pools"]
        ]
        return cls(tokens, pools, intermediate=doc.get("intermediateMints", ()))

    # --- routing --------------------------------------------------------------------------

    def labels(self) -> dict[str, str]:
        """program id -> DEX label (GET /program-id-to-label)."""
        return {p.program_id: p.label for p in self.pools}

    def best_route(self, params: QuoteParams) -> Route | None:
        """The exact-in route with the largest output, over 1–2 hops; ``None`` if none."""
        amount = params.amount
        src, dst = params.input_mint, params.output_mint
        if src not in self.neighbors or dst not in self.neighbors:
            return None
        max_hops = (params.max_accounts - ACCOUNTS_BASE) // ACCOUNTS_PER_HOP

        def usable(pool: Pool) -> bool:
            if params.dexes is not None and pool.label not in params.dexes:
                return False
            return pool.label not in params.exclude_dexes

        best: tuple[int, tuple[Hop, ...]] | None = None
        if src != dst and max_hops >= 1:
            for pool in self.by_pair.get((src, dst), ()):
                if not usable(pool):
                    continue
                out, fee = pool.quote(src, amount)
                if out > 0 and (best is None or out > best[0]):
                    best = (out, (Hop(pool, src, dst, amount, out, fee),))
        if params.only_direct_routes or max_hops < 2:
            return self._route(best, amount)
        circular = src == dst
        for mid in self.neighbors[src]:
            if mid in (src, dst):
                continue
            # A circular route's middle token is the point of the trade, so it is not
            # subject to the intermediate-token restriction.
            if (
                not circular
                and params.restrict_intermediate_tokens
                and mid not in self.intermediate_mints
            ):
                continue
            firsts = [p for p in self.by_pair.get((src, mid), ()) if usable(p)]
            seconds = [p for p in self.by_pair.get((mid, dst), ()) if usable(p)]
            for first in firsts:
                out1, fee1 = first.quote(src, amount)
                if out1 <= 0:
                    continue
                for second in seconds:
                    if second is first:
                        continue
                    out2, fee2 = second.quote(mid, out1)
                    if out2 > 0 and (best is None or out2 > best[0]):
                        best = (
                            out2,
                            (
                                Hop(first, src, mid, amount, out1, fee1),
                                Hop(second, mid, dst, out1, out2, fee2),
                            ),
                        )
        return self._route(best, amount)

    @staticmethod
    def _route(best: tuple[int, tuple[Hop, ...]] | None, amount: int) -> Route | None:
        if best is None:
            return None
        return Route(hops=best[1], in_amount=amount, out_amount=best[0])

    def reprice(self, legs: Sequence[tuple[Pool, str]], amount: int) -> list[tuple[int, int]]:
        """Chain ``amount`` through ``(pool, input_mint)`` legs at current reserves, the way
        the on-chain program does: each leg swaps exactly what the previous one produced.
        Returns ``[(in, out), ...]``."""
        result: list[tuple[int, int]] = []
        for pool, input_mint in legs:
            out, _ = pool.quote(input_mint, amount)
            result.append((amount, out))
            amount = out
        return result


@attrs.define
class MarketDynamics:
    """Seeded price dynamics, advanced one slot at a time.

    Each token has a fair price (in lamports per atomic unit) that random-walks with
    volatility ``drift_bps_per_s``; each pool sits at the fair price times ``1 + offset`` where
    the offset decays with half-life ``dislocation_half_life_s`` and jumps by about
    ``dislocation_bps`` (either sign) at ``dislocation_rate_per_s``. A jump in one pool of a
    token that trades on several DEXes is exactly a round-trip arbitrage opportunity. At every
    slot each pool is moved to its target price along its own constant-product curve (k is
    kept; fees earned by trades stay in the pool).
    """

    market: Market
    seed: int
    slot_s: float
    drift_bps_per_s: float
    dislocation_rate_per_s: float
    dislocation_bps: float
    dislocation_half_life_s: float = 5.0
    fair: dict[str, float] = attrs.field(factory=dict)
    offset_bps: dict[str, float] = attrs.field(factory=dict)
    rng: random.Random = attrs.field(init=False)
    dislocations: int = 0

    def __attrs_post_init__(self) -> None:
        self.rng = random.Random(f"galileo-sim-dynamics:{self.seed}")
        for pool in self.market.pools:
            self.offset_bps[pool.address] = 0.0
            if pool.mint_b == WSOL_MINT and pool.mint_a not in self.fair and pool.reserve_a:
                self.fair[pool.mint_a] = pool.reserve_b / pool.reserve_a
        self.fair[WSOL_MINT] = 1.0
        for pool in self.market.pools:  # tokens without a SOL pool: price via any pool
            for mint, other in ((pool.mint_a, pool.mint_b), (pool.mint_b, pool.mint_a)):
                if mint not in self.fair and other in self.fair and pool.reserve_a:
                    ratio = pool.reserve_b / pool.reserve_a
                    self.fair[mint] = (
                        self.fair[other] * ratio
                        if mint == pool.mint_a
                        else self.fair[other] / ratio
                    )

    def step(self) -> list[Pool]:
        """Advance one slot; returns the pools whose reserves changed."""
        rng = self.rng
        sigma = self.drift_bps_per_s * math.sqrt(self.slot_s) / BPS
        for mint in sorted(self.fair):
            if mint != WSOL_MINT and sigma > 0:
                self.fair[mint] *= math.exp(rng.gauss(0.0, sigma))
        decay = 0.5 ** (self.slot_s / self.dislocation_half_life_s)
        for address in self.offset_bps:
            self.offset_bps[address] *= decay
        if self.market.pools and rng.random() < self.dislocation_rate_per_s * self.slot_s:
            pool = rng.choice(self.market.pools)
            sign = rng.choice((-1.0, 1.0))
            self.offset_bps[pool.address] += sign * self.dislocation_bps * rng.uniform(0.5, 1.5)
            self.dislocations += 1
        changed: list[Pool] = []
        for pool in self.market.pools:
            if self._retarget(pool):
                changed.append(pool)
        return changed

    def dislocate(self, pool: Pool, bps: float) -> None:
        """Push one pool's price by ``bps`` now (for tests and notebooks)."""
        self.offset_bps[pool.address] += bps
        self._retarget(pool)

    def _retarget(self, pool: Pool) -> bool:
        fair_a = self.fair.get(pool.mint_a)
        fair_b = self.fair.get(pool.mint_b)
        if not fair_a or not fair_b or pool.reserve_a <= 0 or pool.reserve_b <= 0:
            return False
        price = fair_a / fair_b * (1.0 + self.offset_bps[pool.address] / BPS)  # b per a
        k = pool.reserve_a * pool.reserve_b
        reserve_a = max(1, int(math.sqrt(k / price)))
        reserve_b = k // reserve_a
        if (reserve_a, reserve_b) == (pool.reserve_a, pool.reserve_b):
            return False
        pool.reserve_a, pool.reserve_b = reserve_a, reserve_b
        return True
