"""What the wallet must hold, worked out from the configuration: the mints the routes need
and the wSOL target (by default the largest wrapped-SOL trade size, jitter included)."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest
import trio
from solders.keypair import Keypair

from galileo._config import (
    BaseMintConfig,
    BlindConfig,
    Config,
    StrategyConfig,
    TradeSizeRange,
    WalletConfig,
)
from galileo._errors import GalileoError
from galileo._solana import WSOL_MINT
from galileo._wallet_setup import api_mints, wallet_plan, wrap_target

X, Y, Z, USDC = (str(Keypair().pubkey()) for _ in range(4))


def with_bases(*bases: BaseMintConfig, **wallet: object) -> Config:
    config = Config(strategy=StrategyConfig(blind=BlindConfig(base_mints=list(bases))))
    return attrs.evolve(config, wallet=WalletConfig(**wallet))  # type: ignore[arg-type]


def test_by_default_the_target_is_the_largest_wrapped_sol_trade_size() -> None:
    assert wrap_target(Config()) == 1_000_000_000  # the default sizes: 0.1 … 1 SOL
    jittered = BaseMintConfig(trade_size_range=TradeSizeRange(explicit=[333], jitter_bps=1))
    assert wrap_target(with_bases(jittered)) == 334  # 333 × 1.0001, rounded up
    capped = attrs.evolve(Config(), risk=attrs.evolve(Config().risk, max_trade_size_lamports=7))
    assert wrap_target(capped) == 7
    assert wrap_target(with_bases(BaseMintConfig(mint=USDC))) == 0  # nothing to wrap for
    assert wrap_target(with_bases(BaseMintConfig(), wrap_sol_target_lamports=5)) == 5


def test_the_mints_are_the_bases_their_intermediates_and_the_extra_ones(tmp_path: Path) -> None:
    listed = tmp_path / "mints.txt"
    listed.write_text(f"# more\n{Y}\n")
    config = with_bases(
        BaseMintConfig(intermediate_mints=[X], intermediate_mints_file=str(listed)),
        BaseMintConfig(mint=USDC, intermediate_mints=[X, WSOL_MINT]),
        extra_mints=[Z],
    )
    plan = wallet_plan(config)
    assert plan.mints == (WSOL_MINT, USDC, X, Y, Z)
    assert plan.create_accounts and plan.wrap and plan.wrap_target_lamports == 1_000_000_000
    assert plan.max_new_accounts == 64 and plan.sol_floor_lamports == 100_000_000


def test_without_intermediate_mints_the_api_token_list_is_used() -> None:
    config = with_bases(BaseMintConfig())
    assert wallet_plan(config).mints == (WSOL_MINT,)  # the list could not be read
    assert wallet_plan(config, [X, WSOL_MINT, Y]).mints == (WSOL_MINT, X, Y)
    off = wallet_plan(with_bases(BaseMintConfig(), wrap_sol=False))
    assert not off.wrap and off.wrap_target_lamports == 0


class Tokens:
    def __init__(self, answer: list[str] | Exception) -> None:
        self.answer = answer
        self.calls = 0

    async def tokens(self, *, ip: str = "", deadline: float | None = None) -> list[str]:
        self.calls += 1
        await trio.lowlevel.checkpoint()
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.mark.parametrize("configured", [True, False])
async def test_the_token_list_is_asked_for_only_when_needed(configured: bool) -> None:
    base = BaseMintConfig(intermediate_mints=[X] if configured else [])
    lister = Tokens([X, Y])
    mints = await api_mints(with_bases(base), lister)
    assert (lister.calls, mints) == ((0, []) if configured else (1, [X, Y]))


async def test_an_unreadable_token_list_leaves_the_configured_mints(
    caplog: pytest.LogCaptureFixture,
) -> None:
    mints = await api_mints(with_bases(BaseMintConfig()), Tokens(GalileoError("down")))
    assert mints == []
    assert any("token list unavailable" in r.getMessage() for r in caplog.records)
