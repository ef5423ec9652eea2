"""Wallet.load: a Solana CLI JSON keypair, refused when group/others can read it (unless
wallet.allow_insecure_permissions), with typed errors that never echo the key."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from solders.keypair import Keypair

from galileo._config import WalletConfig
from galileo.tx import Wallet, WalletError, WalletErrorKind


def write_keypair(path: Path, keypair: Keypair, mode: int = 0o600) -> Path:
    path.write_text(json.dumps(list(bytes(keypair))))
    path.chmod(mode)
    return path


def test_an_owner_only_keypair_file_loads(tmp_path: Path) -> None:
    keypair = Keypair()
    path = write_keypair(tmp_path / "id.json", keypair)
    wallet = Wallet.load(WalletConfig(keypair_path=str(path)))
    assert wallet.pubkey == keypair.pubkey()
    assert wallet.pubkey_str == str(keypair.pubkey())
    assert str(list(bytes(keypair))[:4])[1:-1] not in repr(wallet)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o666])
def test_a_group_or_world_readable_keypair_is_refused(tmp_path: Path, mode: int) -> None:
    path = write_keypair(tmp_path / "id.json", Keypair(), mode)
    with pytest.raises(WalletError) as caught:
        Wallet.load(WalletConfig(keypair_path=str(path)))
    assert caught.value.kind is WalletErrorKind.INSECURE
    assert "chmod 600" in str(caught.value)


def test_allow_insecure_permissions_loads_it_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    keypair = Keypair()
    path = write_keypair(tmp_path / "id.json", keypair, 0o644)
    with caplog.at_level(logging.WARNING, logger="galileo.tx"):
        wallet = Wallet.load(WalletConfig(keypair_path=str(path), allow_insecure_permissions=True))
    assert wallet.pubkey == keypair.pubkey()
    assert any(r.getMessage() == "insecure keypair file" for r in caplog.records)


def test_a_missing_file_and_an_empty_path_are_missing(tmp_path: Path) -> None:
    for path in (str(tmp_path / "nope.json"), ""):
        with pytest.raises(WalletError) as caught:
            Wallet.load(WalletConfig(keypair_path=path))
        assert caught.value.kind is WalletErrorKind.MISSING


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "[1, 2, 3]",
        json.dumps([300] * 64),
        json.dumps({"secret": [1] * 64}),
    ],
)
def test_a_file_that_is_not_a_keypair_is_malformed(tmp_path: Path, content: str) -> None:
    path = tmp_path / "id.json"
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(WalletError) as caught:
        Wallet.load(path)
    assert caught.value.kind is WalletErrorKind.MALFORMED


def test_a_keypair_whose_public_half_does_not_match_is_malformed_and_not_echoed(
    tmp_path: Path,
) -> None:
    secret = bytes(Keypair())[:32]
    values = list(secret + bytes(Keypair().pubkey()))
    path = tmp_path / "id.json"
    path.write_text(json.dumps(values))
    path.chmod(0o600)
    with pytest.raises(WalletError) as caught:
        Wallet.load(path)
    assert caught.value.kind is WalletErrorKind.MALFORMED
    assert str(values[:8])[1:-1] not in str(caught.value)
