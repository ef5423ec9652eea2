"""``galileo wallet new | import | encrypt | pubkey``: keystores written 0600 and never over
another file, the secret read from stdin and never echoed, the passphrase from the
environment, and every refusal one line with exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from solders.keypair import Keypair

from galileo._config import WalletConfig
from galileo.tx import Wallet
from tests.keys import write_keypair

PASSPHRASE = "long enough passphrase"


def galileo(
    *args: str, cwd: Path, passphrase: str | None = PASSPHRASE, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GALILEO_")}
    if passphrase is not None:
        env["GALILEO_WALLET_PASSPHRASE"] = passphrase
    return subprocess.run(
        [sys.executable, "-m", "galileo", "wallet", *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def opened(path: Path) -> Wallet:
    return Wallet.load(
        WalletConfig(keypair_path=str(path)), environ={"GALILEO_WALLET_PASSPHRASE": PASSPHRASE}
    )


def test_new_writes_a_private_keystore_and_never_overwrites_it(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "wallet.keystore"
    made = galileo("new", str(path), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    pubkey = made.stdout.strip()
    assert path.stat().st_mode & 0o777 == 0o600
    assert json.loads(path.read_text())["format"] == "galileo-keystore"
    assert opened(path).pubkey_str == pubkey
    assert PASSPHRASE not in path.read_text()

    shown = galileo("pubkey", str(path), cwd=tmp_path, passphrase=None)
    assert shown.returncode == 0 and shown.stdout.strip() == pubkey  # no passphrase needed

    content = path.read_bytes()
    again = galileo("new", str(path), cwd=tmp_path)
    assert again.returncode == 2
    assert again.stderr.strip().splitlines() == [
        f"galileo wallet new: {path} exists: a wallet file is never overwritten"
    ]
    assert path.read_bytes() == content


def test_new_plaintext_writes_a_solana_cli_keypair(tmp_path: Path) -> None:
    path = tmp_path / "id.json"
    made = galileo("new", "--plaintext", str(path), cwd=tmp_path, passphrase=None)
    assert made.returncode == 0, made.stderr
    assert path.stat().st_mode & 0o777 == 0o600
    assert Wallet.load(path).pubkey_str == made.stdout.strip()


def test_import_reads_the_secret_from_stdin_as_json_or_base58_and_never_echoes_it(
    tmp_path: Path,
) -> None:
    keypair = Keypair()
    for name, text in (("a", json.dumps(list(bytes(keypair)))), ("b", str(keypair))):
        path = tmp_path / f"{name}.keystore"
        made = galileo("import", str(path), cwd=tmp_path, stdin=text + "\n")
        assert made.returncode == 0, made.stderr
        assert made.stdout.strip() == str(keypair.pubkey())
        assert opened(path).keypair == keypair
        assert text not in made.stdout + made.stderr

    garbage = "[1, 2, 3] not a key"
    refused = galileo("import", str(tmp_path / "c.keystore"), cwd=tmp_path, stdin=garbage)
    assert refused.returncode == 2
    assert len(refused.stderr.strip().splitlines()) == 1
    assert garbage not in refused.stderr and not (tmp_path / "c.keystore").exists()


def test_encrypt_seals_a_plaintext_keyfile(tmp_path: Path) -> None:
    keypair = Keypair()
    plain = write_keypair(tmp_path / "id.json", keypair)
    path = tmp_path / "id.keystore"
    made = galileo("encrypt", str(plain), str(path), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert opened(path).keypair == keypair
    assert plain.exists()  # left to the operator to delete, as the hint says
    twice = galileo("encrypt", str(path), str(tmp_path / "x"), cwd=tmp_path)
    assert twice.returncode == 2 and "is a keystore already" in twice.stderr


def test_a_missing_or_short_passphrase_is_one_line_and_exit_2(tmp_path: Path) -> None:
    missing = galileo("new", str(tmp_path / "a"), cwd=tmp_path, passphrase=None)
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        "galileo wallet new: wallet.passphrase_env: no passphrase for the new keystore "
        f"{tmp_path / 'a'}: set $GALILEO_WALLET_PASSPHRASE, wallet.passphrase_file, or run on "
        "a terminal to be asked"
    ]
    short = galileo("new", str(tmp_path / "b"), cwd=tmp_path, passphrase="short")
    assert short.returncode == 2
    (line,) = short.stderr.strip().splitlines()
    assert line.startswith("galileo wallet new: wallet.passphrase_env: the passphrase from")
    assert "short" not in line.split("from", 1)[1].replace("shorter", "")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
