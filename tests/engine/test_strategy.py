"""The blind strategy: sizes, intermediate mints, batch pairing."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from galileo._config import BaseMintConfig, BlindConfig, TradeSizeRange
from galileo._errors import ConfigError
from galileo._solana import WSOL_MINT as SOL
from galileo.strategy import BlindStrategy, needs_token_list, read_mints_file, trade_sizes

USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
BONK = "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263"
WIF = "EKpQGSJtjMFqKZ9KQanSqYXRcF8fBopzLHYxdM65zcjm"
USDT = "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB"


def test_linear_geometric_and_explicit_lanes() -> None:
    linear = TradeSizeRange(min=100, max=400, lanes=4, spacing="linear")
    assert trade_sizes(linear) == (100, 200, 300, 400)
    geometric = TradeSizeRange(min=1_000, max=1_000_000, lanes=4, spacing="geometric")
    assert trade_sizes(geometric) == (1_000, 10_000, 100_000, 1_000_000)
    explicit = TradeSizeRange(explicit=[5, 3, 5, 9])
    assert trade_sizes(explicit) == (3, 5, 9)


def test_intermediates_merge_inline_and_file_without_the_base_or_duplicates(
    tmp_path: Path,
) -> None:
    listed = tmp_path / "mints.txt"
    listed.write_text(f"# majors\n{BONK}\n\n{USDC}  # dup\n{SOL}\n{WIF}\n")
    assert read_mints_file(listed) == [BONK, USDC, SOL, WIF]
    config = BlindConfig(
        base_mints=[BaseMintConfig(intermediate_mints=[USDC], intermediate_mints_file=str(listed))]
    )
    strategy = BlindStrategy.from_config(config, default_min_profit_lamports=1)
    assert strategy.plans[0].mints == (USDC, BONK, WIF)


def test_an_unreadable_mints_file_names_the_key(tmp_path: Path) -> None:
    config = BlindConfig(
        base_mints=[BaseMintConfig(intermediate_mints_file=str(tmp_path / "missing.txt"))]
    )
    with pytest.raises(ConfigError) as caught:
        BlindStrategy.from_config(config, default_min_profit_lamports=1)
    assert caught.value.path == "strategy.blind.base_mints[0].intermediate_mints_file"


def test_no_listed_intermediates_means_every_token_the_api_routes() -> None:
    config = BlindConfig(base_mints=[BaseMintConfig()])
    assert needs_token_list(config)
    strategy = BlindStrategy.from_config(
        config, default_min_profit_lamports=1, available_mints=[SOL, USDC, BONK]
    )
    assert strategy.plans[0].mints == (USDC, BONK)
    with pytest.raises(ConfigError):
        BlindStrategy.from_config(config, default_min_profit_lamports=1)


def test_one_round_covers_every_mint_and_size_once() -> None:
    config = BlindConfig(
        base_mints=[
            BaseMintConfig(
                intermediate_mints=[USDC, BONK, WIF],
                trade_size_range=TradeSizeRange(explicit=[10, 20]),
            )
        ]
    )
    strategy = BlindStrategy.from_config(config, default_min_profit_lamports=7)
    batches = strategy.plan(strategy.round_size)
    assert sorted((b.mint, b.size) for b in batches) == sorted(
        (m, s) for m in (USDC, BONK, WIF) for s in (10, 20)
    )
    # mints rotate fastest: consecutive batches hit different mints
    assert [b.mint for b in batches[:3]] == [USDC, BONK, WIF]
    assert [b.batch_id for b in batches] == list(range(6))
    assert all(b.min_profit_lamports == 7 and b.base_mint == SOL for b in batches)


def test_base_mints_take_turns_with_their_own_min_profit() -> None:
    config = BlindConfig(
        base_mints=[
            BaseMintConfig(intermediate_mints=[USDC]),
            BaseMintConfig(mint=USDT, intermediate_mints=[BONK], min_profit_lamports=99),
        ]
    )
    strategy = BlindStrategy.from_config(config, default_min_profit_lamports=5)
    batches = [strategy.next_batch() for _ in range(4)]
    assert [b.base_mint for b in batches] == [SOL, USDT, SOL, USDT]
    assert [b.min_profit_lamports for b in batches] == [5, 99, 5, 99]


@given(st.integers(min_value=0, max_value=2_000), st.integers(min_value=0, max_value=10))
def test_jittered_sizes_stay_within_the_band(jitter_bps: int, seed: int) -> None:
    config = BlindConfig(
        base_mints=[
            BaseMintConfig(
                intermediate_mints=[USDC],
                trade_size_range=TradeSizeRange(explicit=[1_000_000], jitter_bps=jitter_bps),
            )
        ]
    )
    strategy = BlindStrategy.from_config(config, default_min_profit_lamports=1, seed=seed)
    span = 1_000_000 * jitter_bps // 10_000
    for batch in strategy.plan(20):
        assert 1_000_000 - span <= batch.size <= 1_000_000 + span
