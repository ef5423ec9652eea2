"""The encrypted keystore: the wallet's keypair sealed under a passphrase.

The passphrase is stretched by scrypt (memory-hard: 128 MiB and about a second per try by
default, so guessing is slow even on a GPU) into a 256-bit key that seals the 64 keypair bytes
with AES-256-GCM. The file is JSON, written 0600 and never over another file::

    {"format": "galileo-keystore", "version": 1, "pubkey": "<base58>",
     "kdf": {"name": "scrypt", "n": 131072, "r": 8, "p": 1, "salt": "<base64, 16 bytes>"},
     "cipher": {"name": "aes-256-gcm", "nonce": "<base64, 12 bytes>"},
     "ciphertext": "<base64: 64 key bytes + 16-byte tag>"}

Everything but the ciphertext is authenticated too (GCM associated data), so a file whose
public key or KDF parameters were edited fails to open exactly like a wrong passphrase. The
public key is readable without the passphrase (``galileo wallet pubkey``, ``status``).

The passphrase comes from ``wallet.passphrase_file``, else the environment variable named by
``wallet.passphrase_env`` (removed from the environment once read, so no child process
inherits it), else a prompt on a terminal. It is held as a :class:`~galileo._secret.Secret`
and never appears in a log line or an error message.
"""

from __future__ import annotations

import base64
import binascii
import getpass
import json
import os
import secrets
import stat
import sys
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

import attrs
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from solders.keypair import Keypair

from galileo._errors import ConfigError, GalileoError
from galileo._secret import PRIVATE_FILE_MODE, Secret, private_dir

FORMAT = "galileo-keystore"
VERSION = 1
PASSPHRASE_ENV_DEFAULT = "GALILEO_WALLET_PASSPHRASE"
MIN_PASSPHRASE_CHARS = 8
"""A new keystore's passphrase is at least this long (a short one makes scrypt moot)."""

_KEY_BYTES = 64  # a Solana keypair: 32-byte secret seed + 32-byte public key
_TAG_BYTES = 16
_NONCE_BYTES = 12
_SALT_BYTES = 16
_MAX_FILE_BYTES = 4096
# Bounds on the KDF parameters a file may ask for: enough to stay memory-hard, never so much
# that opening a hostile file exhausts the machine (128 · n · r bytes ≤ 1 GiB).
_MIN_N, _MAX_N = 2**14, 2**20
_MAX_R, _MAX_P = 32, 16
_MAX_MEMORY = 1 << 30


@attrs.frozen
class ScryptParams:
    """scrypt's cost: ``n`` (CPU/memory, a power of two), ``r`` (block size), ``p``
    (parallelism). Memory is 128 · n · r bytes."""

    n: int = 2**17
    r: int = 8
    p: int = 1


DEFAULT_SCRYPT = ScryptParams()


class KeystoreError(ConfigError):
    """The keystore cannot be opened with what was configured: no passphrase, a passphrase
    file that is missing or open to others, or a wrong passphrase. ``path`` names the key to
    fix; the message never contains the passphrase."""


class KeystoreMalformed(GalileoError):
    """The file says it is a keystore but is not a well-formed one."""


@attrs.frozen
class Passphrase:
    """A passphrase and where it came from: ``key`` is the configuration key an error about it
    names, ``origin`` how a person recognises it (``$NAME``, ``file PATH``, ``the prompt``)."""

    secret: Secret
    key: str
    origin: str


# --- reading a passphrase ---------------------------------------------------------------------


def read_passphrase(
    *,
    file: str = "",
    env_name: str = PASSPHRASE_ENV_DEFAULT,
    allow_insecure: bool = False,
    confirm: bool = False,
    purpose: str = "the wallet keystore",
    environ: MutableMapping[str, str] | None = None,
    interactive: bool | None = None,
    ask: Callable[[str], str] = getpass.getpass,
) -> Passphrase:
    """The passphrase from ``file`` (its first line; owner-only unless ``allow_insecure``),
    else from ``$env_name`` (then removed from ``environ``: children never inherit it), else
    asked on the terminal (twice with ``confirm``). Raises :class:`KeystoreError`."""
    env = os.environ if environ is None else environ
    if file:
        return Passphrase(
            _read_passphrase_file(file, allow_insecure), "wallet.passphrase_file", f"file {file}"
        )
    if env_name and env.get(env_name):
        value = env.pop(env_name)
        return Passphrase(Secret(value), "wallet.passphrase_env", f"${env_name}")
    if interactive is None:
        interactive = sys.stdin is not None and sys.stdin.isatty()
    if not interactive:
        where = f"${env_name}, " if env_name else ""
        raise KeystoreError(
            "wallet.passphrase_env",
            f"no passphrase for {purpose}: set {where}wallet.passphrase_file, or run on a "
            "terminal to be asked",
        )
    value = ask(f"Passphrase for {purpose}: ")
    if confirm and ask("Repeat the passphrase: ") != value:
        raise KeystoreError("wallet.keypair_path", "the two passphrases differ")
    if not value:
        raise KeystoreError("wallet.keypair_path", "the passphrase is empty")
    return Passphrase(Secret(value), "wallet.keypair_path", "the prompt")


def _read_passphrase_file(file: str, allow_insecure: bool) -> Secret:
    key = "wallet.passphrase_file"
    path = Path(file).expanduser()
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO) and not allow_insecure:
            raise KeystoreError(
                key,
                f"{path} is mode {oct(stat.S_IMODE(mode))}: group/others can read the "
                f"passphrase; run: chmod 600 {path}",
            )
        with path.open("rb") as handle:
            data = handle.read(_MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise KeystoreError(key, f"{path}: {exc.strerror or type(exc).__name__}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise KeystoreError(key, f"{path} is not UTF-8 text") from None
    lines = text.splitlines()
    value = lines[0] if lines else ""
    if len(data) > _MAX_FILE_BYTES or not value:
        raise KeystoreError(key, f"{path} does not hold a passphrase on its first line")
    return Secret(value)


def passphrase_file_problem(file: str, *, allow_insecure: bool = False) -> str | None:
    """Why ``file`` cannot serve as the passphrase file, or None (the host checks)."""
    try:
        _read_passphrase_file(file, allow_insecure)
    except KeystoreError as exc:
        return exc.reason
    return None


# --- the file ---------------------------------------------------------------------------------


def looks_like_keystore(data: bytes) -> bool:
    """Whether ``data`` claims to be a keystore (a JSON object with our ``format``)."""
    if not data.lstrip().startswith(b"{"):
        return False
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return False
    return isinstance(doc, dict) and doc.get("format") == FORMAT


def seal(keypair: Keypair, passphrase: Secret, *, params: ScryptParams = DEFAULT_SCRYPT) -> str:
    """The keystore text for ``keypair`` under ``passphrase``."""
    _check_params(params)
    salt = secrets.token_bytes(_SALT_BYTES)
    nonce = secrets.token_bytes(_NONCE_BYTES)
    header = {
        "format": FORMAT,
        "version": VERSION,
        "pubkey": str(keypair.pubkey()),
        "kdf": {"name": "scrypt", "n": params.n, "r": params.r, "p": params.p, "salt": _b64(salt)},
        "cipher": {"name": "aes-256-gcm", "nonce": _b64(nonce)},
    }
    key = _derive(passphrase, salt, params)
    sealed = AESGCM(key).encrypt(nonce, bytes(keypair), _associated_data(header))
    return json.dumps({**header, "ciphertext": _b64(sealed)}, indent=2) + "\n"


def keystore_pubkey(data: bytes) -> str:
    """The public key a keystore says it holds (readable without the passphrase; only opening
    it proves it). Raises :class:`KeystoreMalformed`."""
    return _parse(data).pubkey


def keystore_problem(data: bytes) -> str | None:
    """Why ``data`` is not a well-formed keystore, or None (no passphrase needed)."""
    try:
        _parse(data)
    except KeystoreMalformed as exc:
        return str(exc)
    return None


def open_keystore(data: bytes, passphrase: Passphrase, *, path: str = "") -> Keypair:
    """The keypair sealed in ``data``. Raises :class:`KeystoreError` for a wrong passphrase
    (or an altered file), :class:`KeystoreMalformed` for a file that is not a keystore."""
    parsed = _parse(data)
    key = _derive(passphrase.secret, parsed.salt, parsed.params)
    try:
        plain = AESGCM(key).decrypt(parsed.nonce, parsed.ciphertext, parsed.associated_data)
    except InvalidTag:
        raise KeystoreError(
            passphrase.key,
            f"the passphrase from {passphrase.origin} does not open {path or 'the keystore'} "
            "(wrong passphrase, or the file was altered)",
        ) from None
    try:
        keypair = Keypair.from_bytes(plain)
    except ValueError:
        raise KeystoreMalformed("the sealed key is not a Solana keypair") from None
    if str(keypair.pubkey()) != parsed.pubkey:
        raise KeystoreMalformed("the sealed key does not match the file's public key")
    return keypair


def write_new_private_file(path: str | os.PathLike[str], text: str) -> Path:
    """Create ``path`` (0600, in a private directory) holding ``text``; never replaces a file
    that exists (a wallet is never overwritten). Raises ``FileExistsError``."""
    file = Path(path).expanduser()
    private_dir(file.parent)
    # O_EXCL: never over an existing file; the mode can only be narrowed by the umask.
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    try:
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return file


@attrs.frozen
class _Parsed:
    pubkey: str
    params: ScryptParams
    salt: bytes
    nonce: bytes
    ciphertext: bytes
    associated_data: bytes


def _parse(data: bytes) -> _Parsed:
    if len(data) > _MAX_FILE_BYTES:
        raise KeystoreMalformed("too large for a keystore")
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise KeystoreMalformed("not JSON") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise KeystoreMalformed(f"not a {FORMAT} file")
    if doc.get("version") != VERSION:
        raise KeystoreMalformed(f"version {doc.get('version')!r} is not supported (expected 1)")
    kdf, cipher = doc.get("kdf"), doc.get("cipher")
    if not isinstance(kdf, dict) or kdf.get("name") != "scrypt":
        raise KeystoreMalformed("kdf: expected scrypt")
    if not isinstance(cipher, dict) or cipher.get("name") != "aes-256-gcm":
        raise KeystoreMalformed("cipher: expected aes-256-gcm")
    n, r, p = kdf.get("n"), kdf.get("r"), kdf.get("p")
    if not (type(n) is int and type(r) is int and type(p) is int):
        raise KeystoreMalformed("kdf: n, r and p must be integers")
    params = ScryptParams(n=n, r=r, p=p)
    try:
        _check_params(params)
    except ValueError as exc:
        raise KeystoreMalformed(f"kdf: {exc}") from None
    pubkey = doc.get("pubkey")
    if not isinstance(pubkey, str) or not 32 <= len(pubkey) <= 44:
        raise KeystoreMalformed("pubkey: not a base58 public key")
    salt = _unb64(kdf.get("salt"), "kdf.salt")
    nonce = _unb64(cipher.get("nonce"), "cipher.nonce")
    ciphertext = _unb64(doc.get("ciphertext"), "ciphertext")
    if len(salt) < _SALT_BYTES or len(nonce) != _NONCE_BYTES:
        raise KeystoreMalformed("salt or nonce of the wrong size")
    if len(ciphertext) != _KEY_BYTES + _TAG_BYTES:
        raise KeystoreMalformed("ciphertext of the wrong size")
    header = {k: doc[k] for k in ("format", "version", "pubkey", "kdf", "cipher")}
    return _Parsed(pubkey, params, salt, nonce, ciphertext, _associated_data(header))


def _check_params(params: ScryptParams) -> None:
    n, r, p = params.n, params.r, params.p
    if not (_MIN_N <= n <= _MAX_N and n & (n - 1) == 0):
        raise ValueError(f"n must be a power of two from 2^14 to 2^20, not {n}")
    if not (1 <= r <= _MAX_R and 1 <= p <= _MAX_P) or 128 * n * r > _MAX_MEMORY:
        raise ValueError(f"r={r}, p={p} out of bounds")


def _derive(passphrase: Secret, salt: bytes, params: ScryptParams) -> bytes:
    kdf = Scrypt(salt=salt, length=32, n=params.n, r=params.r, p=params.p)
    return kdf.derive(passphrase.reveal().encode("utf-8"))


def _associated_data(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: object, field: str) -> bytes:
    if not isinstance(value, str):
        raise KeystoreMalformed(f"{field}: expected base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise KeystoreMalformed(f"{field}: not base64") from None
