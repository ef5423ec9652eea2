"""The encrypted keystore: it round-trips, a wrong passphrase or an edited file is a one-line
configuration error that never shows the passphrase, the passphrase comes from a file, an
environment variable (then removed) or a prompt, and keystore files are private and never
overwritten. Wallet.load and the host checks accept a keystore like a keypair file."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import attrs
import pytest
from solders.keypair import Keypair

from galileo._config import Config, WalletConfig
from galileo._keyfile import is_keystore_file, keypair_format_problem
from galileo._keystore import (
    KeystoreError,
    Passphrase,
    ScryptParams,
    keystore_pubkey,
    open_keystore,
    read_passphrase,
    seal,
    write_new_private_file,
)
from galileo._preflight import host_checks
from galileo._secret import Secret
from galileo.tx import Wallet, WalletError, WalletErrorKind
from tests.keys import write_keypair

FAST = ScryptParams(n=2**14)  # the smallest cost a file may ask for: quick tests
PASS = "correct horse battery staple"
ENV = "GALILEO_TEST_PASSPHRASE"


def given(value: str = PASS) -> Passphrase:
    return Passphrase(Secret(value), "wallet.passphrase_env", f"${ENV}")


def keystore(tmp_path: Path, keypair: Keypair, passphrase: str = PASS) -> Path:
    return write_new_private_file(
        tmp_path / "wallet.keystore", seal(keypair, Secret(passphrase), params=FAST)
    )


def test_a_keystore_round_trips_and_shows_its_public_key_without_the_passphrase(
    tmp_path: Path,
) -> None:
    keypair = Keypair()
    path = keystore(tmp_path, keypair)
    data = path.read_bytes()
    assert open_keystore(data, given()) == keypair
    assert keystore_pubkey(data) == str(keypair.pubkey())
    assert bytes(keypair)[:32].hex() not in path.read_text()
    assert PASS not in path.read_text()
    assert path.stat().st_mode & 0o777 == 0o600
    assert is_keystore_file(path) and keypair_format_problem(path) is None


def test_a_wrong_passphrase_is_a_configuration_error_naming_the_key_not_the_passphrase(
    tmp_path: Path,
) -> None:
    data = keystore(tmp_path, Keypair()).read_bytes()
    with pytest.raises(KeystoreError) as caught:
        open_keystore(data, given("not the passphrase"), path="ks.json")
    message = str(caught.value)
    assert caught.value.path == "wallet.passphrase_env"
    assert message.startswith("wallet.passphrase_env: the passphrase from $")
    assert "wrong passphrase" in message and "\n" not in message
    assert "not the passphrase" not in message and PASS not in message


@pytest.mark.parametrize("field", ["pubkey", "kdf", "ciphertext"])
def test_an_edited_keystore_does_not_open(tmp_path: Path, field: str) -> None:
    path = keystore(tmp_path, Keypair())
    doc = json.loads(path.read_text())
    if field == "pubkey":
        doc["pubkey"] = str(Keypair().pubkey())
    elif field == "kdf":
        doc["kdf"]["r"] = 9
    else:
        sealed = bytearray(base64.b64decode(doc["ciphertext"]))
        sealed[0] ^= 1
        doc["ciphertext"] = base64.b64encode(bytes(sealed)).decode()
    with pytest.raises(KeystoreError):
        open_keystore(json.dumps(doc).encode(), given())


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        ({"version": 2}, "version 2 is not supported"),
        ({"kdf": {"name": "scrypt", "n": 2**30, "r": 8, "p": 1, "salt": "AA=="}}, "kdf: n"),
        ({"cipher": {"name": "rot13"}}, "cipher: expected aes-256-gcm"),
        ({"ciphertext": "not base64!"}, "ciphertext: not base64"),
    ],
)
def test_a_malformed_keystore_is_named_before_any_passphrase_is_asked(
    tmp_path: Path, edit: dict[str, object], problem: str
) -> None:
    path = keystore(tmp_path, Keypair())
    doc = {**json.loads(path.read_text()), **edit}
    path.write_text(json.dumps(doc))
    found = keypair_format_problem(path)
    assert found is not None and problem in found
    with pytest.raises(WalletError) as caught:
        Wallet.load(path, environ={"GALILEO_WALLET_PASSPHRASE": PASS})
    assert caught.value.kind is WalletErrorKind.MALFORMED


def test_the_passphrase_comes_from_the_environment_once_and_leaves_it() -> None:
    environ = {ENV: PASS, "OTHER": "x"}
    passphrase = read_passphrase(env_name=ENV, environ=environ, interactive=False)
    assert passphrase.secret.reveal() == PASS and passphrase.key == "wallet.passphrase_env"
    assert environ == {"OTHER": "x"}  # no child process inherits it
    assert PASS not in repr(passphrase)


def test_the_passphrase_file_wins_and_must_be_private(tmp_path: Path) -> None:
    file = tmp_path / "passphrase"
    file.write_text(PASS + "\nignored second line\n")
    file.chmod(0o600)
    environ = {ENV: "from the environment"}
    passphrase = read_passphrase(file=str(file), env_name=ENV, environ=environ)
    assert passphrase.secret.reveal() == PASS and passphrase.key == "wallet.passphrase_file"
    file.chmod(0o644)
    with pytest.raises(KeystoreError) as caught:
        read_passphrase(file=str(file), env_name=ENV, environ=environ)
    assert caught.value.path == "wallet.passphrase_file" and "chmod 600" in str(caught.value)
    assert PASS not in str(caught.value)


def test_the_prompt_is_asked_on_a_terminal_only_and_twice_to_confirm() -> None:
    answers = iter([PASS, PASS])
    passphrase = read_passphrase(
        env_name=ENV, environ={}, interactive=True, confirm=True, ask=lambda _: next(answers)
    )
    assert passphrase.secret.reveal() == PASS and passphrase.origin == "the prompt"
    differ = iter([PASS, "typo"])
    with pytest.raises(KeystoreError, match="differ"):
        read_passphrase(environ={}, interactive=True, confirm=True, ask=lambda _: next(differ))
    with pytest.raises(KeystoreError) as caught:
        read_passphrase(env_name=ENV, environ={}, interactive=False)
    assert caught.value.path == "wallet.passphrase_env" and f"${ENV}" in str(caught.value)


def test_a_wallet_file_is_created_private_and_never_overwritten(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        path = write_new_private_file(tmp_path / "sub" / "k.json", "secret")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    with pytest.raises(FileExistsError):
        write_new_private_file(path, "other")
    assert path.read_text() == "secret"


def test_wallet_load_opens_a_keystore_with_the_configured_passphrase(tmp_path: Path) -> None:
    keypair = Keypair()
    path = keystore(tmp_path, keypair)
    config = WalletConfig(keypair_path=str(path), passphrase_env=ENV)
    wallet = Wallet.load(config, environ={ENV: PASS})
    assert wallet.pubkey == keypair.pubkey()
    with pytest.raises(KeystoreError) as caught:
        Wallet.load(config, environ={ENV: "wrong passphrase"})
    assert "wrong passphrase" in str(caught.value)
    # A keystore readable by others is refused like a keypair file.
    path.chmod(0o644)
    with pytest.raises(WalletError) as insecure:
        Wallet.load(config, environ={ENV: PASS})
    assert insecure.value.kind is WalletErrorKind.INSECURE


def test_a_plaintext_keypair_still_loads(tmp_path: Path) -> None:
    keypair = Keypair()
    path = write_keypair(tmp_path / "id.json", keypair)
    assert Wallet.load(WalletConfig(keypair_path=str(path)), environ={}).pubkey == keypair.pubkey()


def test_the_host_checks_accept_a_keystore_and_check_its_passphrase_file(tmp_path: Path) -> None:
    path = keystore(tmp_path, Keypair())
    wallet = WalletConfig(keypair_path=str(path))
    config = attrs.evolve(Config(), wallet=wallet)
    (check,) = [c for c in host_checks(config) if c.name == "keypair"]
    assert check.level == "ok", check
    missing = attrs.evolve(wallet, passphrase_file=str(tmp_path / "nope"))
    (check,) = [c for c in host_checks(attrs.evolve(config, wallet=missing)) if c.name == "keypair"]
    assert check.level == "fail" and check.key == "wallet.passphrase_file"
