"""The market model: exact constant-product math, routing, seeded dynamics."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from galileo.sim import WSOL_MINT, Market, MarketDynamics, Pool, QuoteParams

DEXES = ["Raydium", "Orca Whirlpool", "Meteora DLMM"]


def market(seed: int = 7) -> Market:
    return Market.generate(seed=seed, token_count=6, dexes=DEXES, fee_bps=25)


def test_every_token_trades_against_sol_on_every_dex() -> None:
    m = market()
    for mint in m.tokens:
        if mint != WSOL_MINT:
            assert sorted(p.label for p in m.by_pair[(mint, WSOL_MINT)]) == sorted(DEXES)


@given(
    reserve_in=st.integers(1, 10**18),
    reserve_out=st.integers(1, 10**18),
    amount=st.integers(1, 10**15),
    fee_bps=st.integers(0, 300),
)
def test_constant_product_quote_never_lowers_k_and_charges_the_fee(
    reserve_in: int, reserve_out: int, amount: int, fee_bps: int
) -> None:
    pool = Pool("p", "X", "prog", "A", "B", "va", "vb", fee_bps, reserve_in, reserve_out)
    out, fee = pool.quote("A", amount)
    assert fee == amount * fee_bps // 10_000
    assert 0 <= out < reserve_out
    assert (reserve_in + amount) * (reserve_out - out) >= reserve_in * reserve_out


def test_best_route_is_the_best_single_pool_for_a_direct_pair() -> None:
    m = market()
    mint = next(iter(t for t in m.tokens if t != WSOL_MINT))
    route = m.best_route(QuoteParams(WSOL_MINT, mint, 10**9, only_direct_routes=True))
    assert route is not None and len(route.hops) == 1
    best = max(p.quote(WSOL_MINT, 10**9)[0] for p in m.by_pair[(WSOL_MINT, mint)])
    assert route.out_amount == best


def test_circular_route_uses_two_different_pools() -> None:
    m = market()
    route = m.best_route(QuoteParams(WSOL_MINT, WSOL_MINT, 10**9))
    assert route is not None and len(route.hops) == 2
    assert route.hops[0].pool is not route.hops[1].pool
    assert route.hops[0].out_amount == route.hops[1].in_amount


def test_dex_filters_and_max_accounts_restrict_routes() -> None:
    m = market()
    mint = next(iter(t for t in m.tokens if t != WSOL_MINT))
    only = m.best_route(QuoteParams(WSOL_MINT, mint, 10**6, dexes=frozenset({"Orca Whirlpool"})))
    assert only is not None and {h.pool.label for h in only.hops} == {"Orca Whirlpool"}
    excluded = m.best_route(
        QuoteParams(WSOL_MINT, mint, 10**6, exclude_dexes=frozenset({"Raydium"}))
    )
    assert excluded is not None and "Raydium" not in {h.pool.label for h in excluded.hops}
    assert m.best_route(QuoteParams(WSOL_MINT, mint, 10**6, max_accounts=12)) is None
    assert m.best_route(QuoteParams(WSOL_MINT, WSOL_MINT, 10**6, max_accounts=20)) is None


def test_filtered_market_keeps_pools_with_both_mints_in_the_set() -> None:
    m = market()
    mint = next(iter(t for t in m.tokens if t != WSOL_MINT))
    small = m.filtered([WSOL_MINT, mint])
    assert len(small.pools) == len(DEXES)
    assert set(small.tokens) == {WSOL_MINT, mint}


def test_cache_round_trip_keeps_the_pools() -> None:
    m = market()
    again = Market.from_cache(m.to_cache())
    assert [p.address for p in again.pools] == [p.address for p in m.pools]
    assert again.labels() == m.labels()


def _run(seed: int, slots: int) -> list[tuple[int, int]]:
    m = market(seed)
    dynamics = MarketDynamics(
        m,
        seed=seed,
        slot_s=0.4,
        drift_bps_per_s=5,
        dislocation_rate_per_s=0.5,
        dislocation_bps=150,
    )
    for _ in range(slots):
        dynamics.step()
    return [(p.reserve_a, p.reserve_b) for p in m.pools]


def test_dynamics_are_a_function_of_the_seed() -> None:
    assert _run(7, 50) == _run(7, 50)
    assert _run(7, 50) != _run(8, 50)
    assert _run(7, 50) != _run(7, 51)


def test_dislocations_create_round_trip_arbitrage_that_decays() -> None:
    m = market()
    dynamics = MarketDynamics(
        m, seed=1, slot_s=0.4, drift_bps_per_s=0, dislocation_rate_per_s=0, dislocation_bps=0
    )
    dynamics.step()
    mint = next(iter(t for t in m.tokens if t != WSOL_MINT))
    flat = m.best_route(QuoteParams(WSOL_MINT, WSOL_MINT, 10**8))
    assert flat is not None and flat.out_amount < 10**8  # fees: no free lunch at rest
    dynamics.dislocate(m.by_pair[(mint, WSOL_MINT)][0], 300)
    hot = m.best_route(QuoteParams(WSOL_MINT, WSOL_MINT, 10**8))
    assert hot is not None and hot.out_amount > 10**8
    for _ in range(200):  # 80 s, 16 half-lives
        dynamics.step()
    cold = m.best_route(QuoteParams(WSOL_MINT, WSOL_MINT, 10**8))
    assert cold is not None and cold.out_amount < 10**8
