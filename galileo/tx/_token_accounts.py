"""The wallet's token accounts for the base and intermediate mints, prepared at startup.

Swaps are requested with ``wrapAndUnwrapSol=false`` and ``useSharedAccounts=false``, so
the wallet's associated token account (ATA) must exist for every mint a route touches —
including wrapped SOL, funded with the SOL to trade. ``prepare`` reads them all, and with
``create=True`` creates the missing ones (idempotent ATA creation, confirmed before it
returns); otherwise it reports what is missing.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from typing import Literal

import attrs
import trio
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from galileo.net import JsonRpcClient, RpcError
from galileo.tx._errors import TxError
from galileo.tx._rpc import get_multiple_accounts
from galileo.tx._wallet import Wallet

_log = logging.getLogger("galileo.tx")

TOKEN_PROGRAM_ID = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
TOKEN_2022_PROGRAM_ID = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"
ASSOCIATED_TOKEN_PROGRAM_ID = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"
SYSTEM_PROGRAM_ID = "11111111111111111111111111111111"
_TOKEN_PROGRAMS = frozenset({TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID})
_CREATES_PER_TX = 6
_LEVELS = {"processed": 0, "confirmed": 1, "finalized": 2}


def associated_token_address(
    owner: str | Pubkey, mint: str | Pubkey, token_program: str = TOKEN_PROGRAM_ID
) -> Pubkey:
    """The ATA of ``owner`` for ``mint`` (seeds: owner, token program, mint)."""
    owner_key = owner if isinstance(owner, Pubkey) else Pubkey.from_string(owner)
    mint_key = mint if isinstance(mint, Pubkey) else Pubkey.from_string(mint)
    address, _bump = Pubkey.find_program_address(
        [bytes(owner_key), bytes(Pubkey.from_string(token_program)), bytes(mint_key)],
        Pubkey.from_string(ASSOCIATED_TOKEN_PROGRAM_ID),
    )
    return address


def create_ata_idempotent(
    payer: Pubkey, owner: Pubkey, mint: Pubkey, token_program: str = TOKEN_PROGRAM_ID
) -> Instruction:
    """CreateIdempotent (instruction 1) of the associated-token-account program."""
    program = Pubkey.from_string(token_program)
    return Instruction(
        Pubkey.from_string(ASSOCIATED_TOKEN_PROGRAM_ID),
        bytes([1]),
        [
            AccountMeta(payer, True, True),
            AccountMeta(associated_token_address(owner, mint, token_program), False, True),
            AccountMeta(owner, False, False),
            AccountMeta(mint, False, False),
            AccountMeta(Pubkey.from_string(SYSTEM_PROGRAM_ID), False, False),
            AccountMeta(program, False, False),
        ],
    )


class TokenAccountsError(TxError):
    """Creating the token accounts failed (``missing`` lists the mints still without one)."""

    def __init__(self, message: str, missing: Sequence[str]) -> None:
        super().__init__(message)
        self.missing = tuple(missing)


@attrs.frozen
class TokenAccountsReport:
    """``accounts``: mint → the wallet's ATA. ``missing``: mints without one (after
    creation, if asked). ``unknown_mints``: mints that are not token mints on this chain."""

    owner: str
    accounts: dict[str, str]
    existing: tuple[str, ...]
    created: tuple[str, ...]
    missing: tuple[str, ...]
    unknown_mints: tuple[str, ...]

    @property
    def ready(self) -> bool:
        return not self.missing and not self.unknown_mints


class TokenAccounts:
    """Startup check (and optional creation) of the wallet's token accounts."""

    @staticmethod
    async def prepare(
        rpc: JsonRpcClient,
        wallet: Wallet,
        mints: Sequence[str],
        *,
        create: bool = False,
        timeout_s: float = 60.0,
        poll_interval_s: float = 0.5,
        commitment: Literal["processed", "confirmed", "finalized"] = "confirmed",
    ) -> TokenAccountsReport:
        """Read the ATAs of ``mints`` (deduplicated, order kept); with ``create``, create the
        missing ones in transactions paid by the wallet and wait until they reach
        ``commitment``.

        Raises :class:`TokenAccountsError` if creation does not confirm in ``timeout_s``,
        :class:`~galileo.net.RpcError` if the RPC fails.
        """
        wanted = list(dict.fromkeys(mints))
        mint_accounts = await get_multiple_accounts(rpc, wanted)
        programs: dict[str, str] = {}
        unknown: list[str] = []
        for mint, account in zip(wanted, mint_accounts, strict=True):
            if account is None or account.owner not in _TOKEN_PROGRAMS:
                unknown.append(mint)
            else:
                programs[mint] = account.owner
        accounts = {
            m: str(associated_token_address(wallet.pubkey, m, p)) for m, p in programs.items()
        }
        missing = await _missing(rpc, accounts)
        existing = [m for m in accounts if m not in missing]
        created: list[str] = []
        if missing and create:
            with trio.move_on_after(timeout_s) as scope:
                await _create(rpc, wallet, missing, programs, poll_interval_s, commitment)
            still = await _missing(rpc, {m: accounts[m] for m in missing})
            if scope.cancelled_caught or still:
                raise TokenAccountsError(
                    f"token accounts not confirmed within {timeout_s}s: {', '.join(still)}",
                    still,
                )
            created, missing = missing, []
        report = TokenAccountsReport(
            owner=wallet.pubkey_str,
            accounts=accounts,
            existing=tuple(existing),
            created=tuple(created),
            missing=tuple(missing),
            unknown_mints=tuple(unknown),
        )
        _log.info(
            "token accounts",
            extra={
                "fields": {
                    "existing": len(existing),
                    "created": list(created),
                    "missing": list(missing),
                    "unknown_mints": list(unknown),
                }
            },
        )
        return report


async def _missing(rpc: JsonRpcClient, accounts: dict[str, str]) -> list[str]:
    found = await get_multiple_accounts(rpc, list(accounts.values()))
    return [m for m, acct in zip(accounts, found, strict=True) if acct is None]


async def _create(
    rpc: JsonRpcClient,
    wallet: Wallet,
    mints: list[str],
    programs: dict[str, str],
    poll_interval_s: float,
    commitment: str,
) -> None:
    result = await rpc.call("getLatestBlockhash", [{"commitment": "confirmed"}])
    try:
        blockhash = Hash.from_string(result["value"]["blockhash"])
    except (KeyError, TypeError, ValueError) as exc:
        raise RpcError("getLatestBlockhash", f"unexpected result: {exc}", status=200) from None
    signatures: list[str] = []
    for start in range(0, len(mints), _CREATES_PER_TX):
        chunk = mints[start : start + _CREATES_PER_TX]
        ixs = [
            create_ata_idempotent(wallet.pubkey, wallet.pubkey, Pubkey.from_string(m), programs[m])
            for m in chunk
        ]
        message = MessageV0.try_compile(wallet.pubkey, ixs, [], blockhash)
        tx = VersionedTransaction(message, [wallet.keypair])
        encoded = base64.b64encode(bytes(tx)).decode("ascii")
        signature = await rpc.call("sendTransaction", [encoded, {"encoding": "base64"}])
        signatures.append(str(signature))
        _log.info("creating token accounts", extra={"fields": {"mints": chunk, "tx": signature}})
    pending = set(signatures)
    while pending:
        result = await rpc.call("getSignatureStatuses", [sorted(pending)])
        for signature, status in zip(sorted(pending), result.get("value") or [], strict=False):
            if status is None:
                continue
            if status.get("err") is not None:
                raise TokenAccountsError(
                    f"token account creation {signature} failed: {status['err']}", mints
                )
            if _LEVELS.get(status.get("confirmationStatus"), -1) >= _LEVELS[commitment]:
                pending.discard(signature)
        if pending:
            await trio.sleep(poll_interval_s)
