"""The wallet's token accounts for the base and intermediate mints, prepared at startup.

Swaps are requested with ``wrapAndUnwrapSol=false`` and ``useSharedAccounts=false``, so
the wallet's associated token account (ATA) must exist for every mint a route touches —
including wrapped SOL, funded with the SOL to trade (:mod:`galileo.tx._wallet_prep`).
``prepare`` reads them all, and with ``create=True`` creates the missing ones
(``CreateIdempotent``, as many to a transaction as fit the packet, confirmed before it
returns); otherwise it reports what is missing. Creating an account that exists is a no-op,
so a second preparation creates nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import attrs
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from galileo._errors import ConfigError
from galileo.net import JsonRpcClient
from galileo.tx._errors import TxError
from galileo.tx._rpc import get_multiple_accounts
from galileo.tx._submit import (
    Commitment,
    WalletTxError,
    latest_blockhash,
    pack,
    send_and_confirm,
    with_retries,
)
from galileo.tx._wallet import Wallet

_log = logging.getLogger("galileo.tx")

TOKEN_PROGRAM_ID = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
TOKEN_2022_PROGRAM_ID = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"
ASSOCIATED_TOKEN_PROGRAM_ID = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"
SYSTEM_PROGRAM_ID = "11111111111111111111111111111111"
_TOKEN_PROGRAMS = frozenset({TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID})


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
        max_create: int = 0,
        cu_price: int = 0,
        timeout_s: float = 60.0,
        poll_interval_s: float = 0.5,
        commitment: Commitment = "confirmed",
    ) -> TokenAccountsReport:
        """Read the ATAs of ``mints`` (deduplicated, order kept); with ``create``, create the
        missing ones in transactions paid by the wallet (``cu_price``: their priority fee, in
        micro-lamports per compute unit) and wait until they reach ``commitment``.

        Raises :class:`~galileo._errors.ConfigError` (``wallet.max_new_token_accounts``) when
        more than ``max_create`` (> 0) are missing, :class:`TokenAccountsError` if creation
        fails or does not confirm in ``timeout_s``, :class:`~galileo.net.RpcError` if the RPC
        fails.
        """
        wanted = list(dict.fromkeys(mints))
        mint_accounts = await with_retries(get_multiple_accounts, rpc, wanted)
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
            if 0 < max_create < len(missing):
                raise ConfigError(
                    "wallet.max_new_token_accounts",
                    f"{len(missing)} token accounts are missing, more than {max_create}: list "
                    "the intermediate mints (an empty list means every token the API lists) "
                    "or raise the limit",
                )
            owner = wallet.pubkey
            groups = [
                [create_ata_idempotent(owner, owner, Pubkey.from_string(m), programs[m])]
                for m in missing
            ]
            try:
                transactions = pack(wallet, groups, await latest_blockhash(rpc), cu_price=cu_price)
                await send_and_confirm(
                    rpc,
                    transactions,
                    what="creating token accounts",
                    commitment=commitment,
                    poll_interval_s=poll_interval_s,
                    timeout_s=timeout_s,
                )
            except WalletTxError as exc:
                still = await _missing(rpc, {m: accounts[m] for m in missing})
                raise TokenAccountsError(str(exc), still) from None
            still = await _missing(rpc, {m: accounts[m] for m in missing})
            if still:
                raise TokenAccountsError(
                    f"token accounts still missing after creation: {', '.join(still)}", still
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
    found = await with_retries(get_multiple_accounts, rpc, list(accounts.values()))
    return [m for m, acct in zip(accounts, found, strict=True) if acct is None]
