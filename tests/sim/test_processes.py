"""The world as processes: the Jupiter face launched like the real binary, and `galileo sim`."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import trio

from galileo.sim import WSOL_MINT
from tests.worlds import first_token, quiet_world

DEADLINE_S = 30
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


async def _read_until(process: trio.Process, pattern: str) -> tuple[re.Match[str], str]:
    assert process.stdout is not None
    seen = ""
    with trio.fail_after(DEADLINE_S):
        while True:
            chunk = await process.stdout.receive_some(4096)
            if not chunk:
                raise AssertionError(f"process ended before {pattern!r}:\n{seen}")
            seen += chunk.decode()
            match = re.search(pattern, seen)
            if match:
                return match, seen


def test_an_unknown_flag_exits_with_code_2() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "galileo.sim",
            "jupiter",
            "--rpc-url",
            "http://127.0.0.1:1",
            "--no-such-flag",
        ],
        capture_output=True,
        check=False,
        timeout=DEADLINE_S,
        env=ENV,
    )
    assert result.returncode == 2
    assert b"--no-such-flag" in result.stderr


def test_a_non_loopback_rpc_is_refused() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "galileo.sim", "jupiter", "--rpc-url", "http://10.1.2.3:8899"],
        capture_output=True,
        check=False,
        timeout=DEADLINE_S,
        env=ENV,
    )
    assert result.returncode == 2


async def test_jupiter_process_filters_markets_and_quotes_like_the_world(tmp_path: Path) -> None:
    async with quiet_world(tmp_path) as world:
        mint = first_token(world)
        other = next(m for m in world.market.tokens if m not in (WSOL_MINT, mint))
        command = [
            sys.executable, "-m", "galileo.sim", "jupiter",
            "--rpc-url", world.rpc_url, "--host", "127.0.0.1", "--port", "0",
            "--allow-circular-arbitrage", "--market-mode", "remote", "--enable-tokens",
            "--filter-markets-with-mints", f"{WSOL_MINT},{mint}",
            "--snapshot-poll-interval-ms", "50", "--sim-startup-delay-s", "0.2",
        ]  # fmt: skip
        process = await trio.lowlevel.open_process(
            command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=ENV
        )
        try:
            match, _ = await _read_until(process, r"Server listening on (http://[\d.:]+)")
            url = match.group(1)
            async with httpx.AsyncClient(base_url=url, trust_env=False) as client:
                tokens = (await client.get("/tokens")).json()
                assert set(tokens) == {WSOL_MINT, mint}
                params: dict[str, str | int] = {
                    "inputMint": WSOL_MINT,
                    "outputMint": mint,
                    "amount": 10**8,
                }
                remote = (await client.get("/quote", params=params)).json()
                local = (await client.get(world.jupiter_url + "/quote", params=params)).json()
                assert remote["outAmount"] == local["outAmount"]
                assert remote["routePlan"] == local["routePlan"]
                response = await client.get(
                    "/quote", params={"inputMint": WSOL_MINT, "outputMint": other, "amount": 1}
                )
                assert response.status_code == 400
                circular = await client.get(
                    "/quote",
                    params={"inputMint": WSOL_MINT, "outputMint": WSOL_MINT, "amount": 10**8},
                )
                assert circular.status_code == 200
                body = {"userPublicKey": str(world.wallet_pubkey), "quoteResponse": remote}
                response = await client.post("/swap-instructions", json=body)
                assert response.status_code == 200, response.text
                si = response.json()
                # The wallet's token accounts exist (read over the RPC): only the wSOL
                # account of the SOL wrap is (idempotently) created.
                created = [
                    ix["accounts"][3]["pubkey"]
                    for ix in si["setupInstructions"]
                    if ix["programId"].startswith("AToken")
                ]
                assert created == [WSOL_MINT]
                assert si["addressLookupTableAddresses"] == [str(world.chain.alt_address)]
                swap = await client.post("/swap", json=body)
                assert swap.status_code == 200 and swap.json()["lastValidBlockHeight"] > 0
        finally:
            process.terminate()
            with trio.move_on_after(DEADLINE_S):
                await process.wait()


async def test_galileo_sim_serves_all_faces_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    command = [
        sys.executable, "-m", "galileo", "sim", "--seed", "7", "--jupiter-port", "0",
        "--rpc-port", "0", "--jito-port", "0", "--wallet-path", str(tmp_path / "w.json"),
    ]  # fmt: skip
    process = await trio.lowlevel.open_process(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=ENV
    )
    try:
        _, text = await _read_until(process, r"ready")
        urls = dict(re.findall(r"^(jupiter|rpc|jito)\s+(http://\S+)", text, re.MULTILINE))
        assert set(urls) == {"jupiter", "rpc", "jito"}
        assert (tmp_path / "w.json").stat().st_mode & 0o777 == 0o600
        async with httpx.AsyncClient(trust_env=False) as client:
            labels = await client.get(urls["jupiter"] + "/program-id-to-label")
            assert labels.status_code == 200
            slot = await client.post(
                urls["rpc"], json={"jsonrpc": "2.0", "id": 1, "method": "getSlot"}
            )
            assert isinstance(slot.json()["result"], int)
            tips = await client.post(
                urls["jito"] + "/api/v1/bundles",
                json={"jsonrpc": "2.0", "id": 1, "method": "getTipAccounts", "params": []},
            )
            assert len(tips.json()["result"]) == 8
        process.send_signal(signal.SIGINT)
        with trio.fail_after(DEADLINE_S):
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()


async def test_jupiter_process_crashes_after_n_requests_with_exit_code_1(tmp_path: Path) -> None:
    from galileo._config import SimConfig, SimFaultsConfig
    from galileo.sim import jupiter_child_env

    async with quiet_world(tmp_path) as world:
        config = SimConfig(
            startup_delay_s=0.1, jupiter_faults=SimFaultsConfig(crash_after_requests=1)
        )
        command = [
            sys.executable, "-m", "galileo.sim", "jupiter", "--rpc-url", world.rpc_url,
            "--host", "127.0.0.1", "--port", "0",
        ]  # fmt: skip
        process = await trio.lowlevel.open_process(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**ENV, **jupiter_child_env(config)},
        )
        try:
            match, _ = await _read_until(process, r"Server listening on (http://[\d.:]+)")
            async with httpx.AsyncClient(base_url=match.group(1), trust_env=False) as client:
                assert (await client.get("/program-id-to-label")).status_code == 200
                with contextlib.suppress(httpx.TransportError):
                    await client.get("/program-id-to-label")
            with trio.fail_after(DEADLINE_S):
                assert await process.wait() == 1
        finally:
            if process.returncode is None:
                process.kill()


async def test_acceptance_a_circular_route_through_galileo_sim_lands_exactly(
    tmp_path: Path,
) -> None:
    """`python -m galileo sim --seed 7`: /quote + /swap-instructions, signed, sendBundle;
    the wallet moves by exactly what the quotes imply, minus fees and tip."""
    import json
    from types import SimpleNamespace

    from solders.keypair import Keypair

    from galileo.sim._program import ata
    from tests.sim.sim_helpers import Api

    config = tmp_path / "galileo.toml"
    config.write_text(
        "[sim]\ndrift_bps_per_s = 0\ndislocation_rate_per_s = 0.0\njito_rps_per_ip = 0.0\n"
        "wallet_wsol_lamports = 20000000000\nwallet_token_accounts = true\n"
    )
    wallet_file = tmp_path / "w.json"
    command = [
        sys.executable, "-m", "galileo", "sim", "--seed", "7", "--config", str(config),
        "--jupiter-port", "0", "--rpc-port", "0", "--jito-port", "0",
        "--wallet-path", str(wallet_file),
    ]  # fmt: skip
    process = await trio.lowlevel.open_process(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=ENV, cwd=tmp_path
    )
    try:
        _, text = await _read_until(process, r"ready")
        urls = dict(re.findall(r"^(jupiter|rpc|jito)\s+(http://\S+)", text, re.MULTILINE))
        wallet = Keypair.from_bytes(bytes(json.loads(wallet_file.read_text())))
        endpoints = SimpleNamespace(
            jupiter_url=urls["jupiter"], rpc_url=urls["rpc"], jito_url=urls["jito"], wallet=wallet
        )
        async with Api.connect(endpoints) as api:  # type: ignore[arg-type]
            tokens = (await api.get("/tokens")).json()
            mint = tokens[1]
            amount, tip = 500_000_000, 5_000
            _, q1, merged = await api.circular_quote(mint, amount, tip)
            merged["otherAmountThreshold"] = "0"  # a quiet market has no edge: accept the loss
            tx, si = await api.arbitrage_tx(merged, tip)

            async def total_sol() -> int:
                lamports = (await api.rpc("getBalance", [str(wallet.pubkey())]))["value"]
                wsol = await api.rpc(
                    "getTokenAccountBalance", [str(ata(wallet.pubkey(), WSOL_MINT))]
                )
                return int(lamports) + int(wsol["value"]["amount"])

            before = await total_sol()
            bundle_id = (await api.send_bundle([tx]))["result"]
            statuses = (await api.jito_raw("getBundleStatuses", [[bundle_id]])).json()
            assert statuses["result"]["value"][0]["bundle_id"] == bundle_id
            fee = 5000 + si["prioritizationFeeLamports"]
            assert await total_sol() - before == int(q1["outAmount"]) - amount - tip - fee
    finally:
        process.send_signal(signal.SIGINT)
        with trio.move_on_after(DEADLINE_S):
            await process.wait()
        if process.returncode is None:
            process.kill()
