"""Issue 11 (items 1 and 8), end to end: a fresh wallet (SOL only) prepares itself at startup
and lands trades in its first run, the ledger still equal to the chain; a second run on the
same chain prepares nothing; ``galileo wallet status`` shows the balances and the token
accounts; ``galileo run`` signs from an encrypted keystore whose passphrase comes from the
environment, and a wrong passphrase is one line and exit 2 before anything starts."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio

from galileo._app import App, RunOptions
from galileo._config import Config
from galileo._secret import Secret
from galileo._solana import WSOL_MINT
from galileo.ledger import default_ledger_path
from galileo.sim import World
from galileo.sim._constants import derived_keypair
from tests.keys import write_keypair
from tests.ports import free_port
from tests.worlds import quiet_config, quiet_world

PASSPHRASE = "a passphrase only this test knows"
ONE_SOL = 1_000_000_000  # the default wrap target: the largest default trade size


def galileo_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GALILEO_")}
    env.update(extra)
    return env


async def galileo(
    *args: str, cwd: Path, env: dict[str, str], timeout_s: float = 180
) -> subprocess.CompletedProcess[bytes]:
    """``python -m galileo ARGS`` without blocking this test's trio loop (a world may be
    serving in it)."""
    with trio.fail_after(timeout_s):
        return await trio.run_process(
            [sys.executable, "-m", "galileo", *args],
            cwd=cwd,
            env=env,
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )


@pytest.mark.slow
async def test_a_fresh_sim_wallet_prepares_itself_and_lands_trades_in_its_first_run(
    tmp_path: Path,
) -> None:
    config = quiet_config(tmp_path, seed=7)
    assert config.sim.wallet_wsol_lamports == 0 and not config.sim.wallet_token_accounts
    app = App(config, RunOptions(duration_s=12), out=io.StringIO())
    summary = await app.run()

    assert app.pipeline is not None and app.world is not None
    prep = app.pipeline.wallet_prep
    assert prep is not None
    assert set(prep.created) == set(app.world.market.tokens) and WSOL_MINT in prep.created
    assert prep.wrapped_lamports == ONE_SOL and prep.shortfall_lamports == 0
    assert summary["landed"] >= 1, summary["execution"]
    assert summary["wallet_delta_lamports"] is not None
    assert summary["pnl_lamports"] == summary["wallet_delta_lamports"] > 0
    log = (tmp_path / "log.jsonl").read_text()
    assert '"wallet prepared"' in log


def external_config(tmp_path: Path, world: World, name: str) -> Config:
    """``galileo run`` against an already running world, as against a real chain: the chain
    outlives the run."""
    config = quiet_config(tmp_path / name)
    return attrs.evolve(
        config,
        sim=attrs.evolve(config.sim, enabled=False),
        jupiter=attrs.evolve(config.jupiter, source="release", url=world.jupiter_url),
        execution=attrs.evolve(config.execution, rpc_url=Secret(world.rpc_url)),
        landers=attrs.evolve(
            config.landers,
            jito=attrs.evolve(config.landers.jito, endpoints=[Secret(world.jito_url)]),
        ),
        wallet=attrs.evolve(config.wallet, keypair_path=str(world.wallet_path)),
        network=attrs.evolve(config.network, manual_ips=["127.0.0.1"]),
    )


def toml_for(world: World) -> str:
    return (
        "[sim]\nenabled = false\n"
        f'[jupiter]\nsource = "release"\nurl = "{world.jupiter_url}"\n'
        f'[execution]\nrpc_url = "{world.rpc_url}"\n'
        f'[landers.jito]\nendpoints = ["{world.jito_url}"]\n'
        f'[wallet]\nkeypair_path = "{world.wallet_path}"\n'
    )


def lines(output: bytes) -> list[str]:
    return output.decode().strip().splitlines()


@pytest.mark.slow
async def test_a_second_run_on_the_same_chain_prepares_nothing_and_status_shows_it(
    tmp_path: Path,
) -> None:
    async with quiet_world(
        tmp_path,
        wallet_wsol_lamports=0,
        wallet_token_accounts=False,
        drift_bps_per_s=5,
        dislocation_rate_per_s=0.5,
    ) as world:
        (tmp_path / "chain.toml").write_text(toml_for(world))
        status_args: Sequence[str] = ("wallet", "status", "-c", "chain.toml")
        before = await galileo(*status_args, cwd=tmp_path, env=galileo_env())
        assert before.returncode == 0, before.stderr
        assert "token accounts: 0 of 7 exist" in lines(before.stdout)
        assert lines(before.stdout)[-1].startswith("ready: no: 7 token account(s) missing")

        summaries: list[dict[str, Any]] = []
        preps = []
        for name in ("first", "second"):
            app = App(external_config(tmp_path, world, name), RunOptions(duration_s=6))
            summaries.append(await app.run())
            assert app.pipeline is not None
            preps.append(app.pipeline.wallet_prep)
        first, second = preps
        assert first is not None and second is not None
        assert set(first.created) == set(world.market.tokens)
        assert first.wrapped_lamports == ONE_SOL
        assert second.created == () and second.wrapped_lamports == 0 and not second.changed
        for summary in summaries:
            assert summary["pnl_lamports"] == summary["wallet_delta_lamports"]

        after = await galileo(*status_args, "--json", cwd=tmp_path, env=galileo_env())
        assert after.returncode == 0, after.stderr
        status = json.loads(after.stdout)
        balances = world.balances()
        assert status["sol_lamports"] == balances.lamports
        assert status["wsol_lamports"] == balances.wsol >= ONE_SOL
        assert all(a["exists"] for a in status["token_accounts"]) and status["ready"]
        again = await galileo(
            "wallet", "prepare", "-c", "chain.toml", cwd=tmp_path, env=galileo_env()
        )
        assert again.returncode == 0, again.stderr
        assert "nothing to do" in again.stdout.decode()


def run_toml(tmp_path: Path, keypair_path: Path) -> Path:
    config = tmp_path / "galileo.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\n'
        f'[wallet]\nkeypair_path = "{keypair_path}"\n'
        f"[metrics]\nport = 0\n"
        f'[logging]\nformat = "json"\nfile = "{tmp_path / "log.jsonl"}"\n'
        f"[sim]\nrpc_port = 0\njito_port = 0\n"
        f"[jupiter.launch]\nport = {free_port()}\n"
    )
    return config


@pytest.mark.slow
async def test_galileo_run_signs_from_an_encrypted_keystore_and_refuses_a_wrong_passphrase(
    tmp_path: Path,
) -> None:
    # The simulated world signs its expanded swaps with its own wallet key: the keystore
    # holds that key (derived from the seed).
    plain = write_keypair(tmp_path / "sim-key.json", derived_keypair(7, "wallet"))
    keystore = tmp_path / "wallet.keystore"
    env = galileo_env(GALILEO_WALLET_PASSPHRASE=PASSPHRASE)
    sealed = await galileo("wallet", "encrypt", str(plain), str(keystore), cwd=tmp_path, env=env)
    assert sealed.returncode == 0, sealed.stderr
    assert lines(sealed.stdout) == [str(derived_keypair(7, "wallet").pubkey())]
    assert keystore.stat().st_mode & 0o777 == 0o600
    plain.unlink()
    config = run_toml(tmp_path, keystore)

    wrong = await galileo(
        "run", "-c", str(config), "--duration", "5", cwd=tmp_path,
        env=galileo_env(GALILEO_WALLET_PASSPHRASE="not the passphrase"),
    )  # fmt: skip
    assert wrong.returncode == 2
    assert lines(wrong.stderr) == [
        f"galileo run: wallet.passphrase_env: the passphrase from $GALILEO_WALLET_PASSPHRASE "
        f"does not open {keystore} (wrong passphrase, or the file was altered)"
    ]
    assert not default_ledger_path(str(tmp_path / "state")).exists()  # before anything started

    summary_path = tmp_path / "summary.json"
    ran = await galileo(
        "run", "-c", str(config), "--duration", "8", "--summary-json", str(summary_path),
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    summary = json.loads(summary_path.read_text())
    assert summary["landed"] >= 1, summary["execution"]
    assert summary["pnl_lamports"] == summary["wallet_delta_lamports"]
    seen = ran.stdout + ran.stderr + (tmp_path / "log.jsonl").read_bytes()
    assert PASSPHRASE.encode() not in seen


@pytest.mark.slow
async def test_unwrap_on_exit_closes_the_wsol_account_after_the_closing_read(
    tmp_path: Path,
) -> None:
    config = quiet_config(tmp_path, seed=11)
    config = attrs.evolve(config, wallet=attrs.evolve(config.wallet, unwrap_on_exit=True))
    app = App(config, RunOptions(duration_s=6), out=io.StringIO())
    summary = await app.run()

    assert app.world is not None and app.pipeline is not None
    end = app.pipeline.wallet_end
    balances = app.world.balances()
    assert WSOL_MINT not in balances.tokens  # closed: every wrapped lamport is SOL again
    assert summary["wallet_delta_lamports"] is not None
    assert summary["pnl_lamports"] == summary["wallet_delta_lamports"]
    # The closing read came first: SOL now holds the run's end total and the account's rent.
    assert end is not None and balances.lamports > end
