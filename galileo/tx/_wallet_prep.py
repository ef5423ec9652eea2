"""The wallet made ready to trade, and read back: its token accounts (created when missing),
wrapped SOL topped up to a target above a SOL floor, and the wSOL account closed on request.

Swaps run with ``wrapAndUnwrapSol=false``: a wrapped-SOL round trip spends from the wallet's
wSOL account and returns to it, while fees, tips and rent are paid in SOL. So a fresh wallet
(SOL only) cannot trade until this has run; a prepared one is left as it is (idempotent:
nothing is created, nothing is wrapped). Everything here is read back from the chain.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import attrs
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer

from galileo._solana import WSOL_MINT
from galileo.net import JsonRpcClient
from galileo.tx._rpc import get_multiple_accounts
from galileo.tx._submit import (
    Commitment,
    fee_bound,
    latest_blockhash,
    pack,
    send_and_confirm,
    with_retries,
)
from galileo.tx._token_accounts import (
    TOKEN_2022_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
    TokenAccounts,
    TokenAccountsReport,
    associated_token_address,
)
from galileo.tx._wallet import Wallet

_log = logging.getLogger("galileo.tx")

_TOKEN_PROGRAM = Pubkey.from_string(TOKEN_PROGRAM_ID)
_TOKEN_PROGRAMS = frozenset({TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID})
_SYNC_NATIVE = 17  # SPL Token instruction indexes
_CLOSE_ACCOUNT = 9
_AMOUNT = slice(64, 72)  # a token account's amount: u64 after mint and owner


@attrs.frozen(kw_only=True)
class WalletPlan:
    """What the wallet must hold: an account per mint in ``mints``; with ``wrap``, at least
    ``wrap_target_lamports`` of wSOL, wrapped from SOL above ``sol_floor_lamports``.
    ``create_accounts``/``wrap`` false: only report. ``max_new_accounts``: refuse to create
    more at once (0 = no limit). ``cu_price``: priority fee of these transactions."""

    mints: tuple[str, ...]
    create_accounts: bool = True
    wrap: bool = True
    wrap_target_lamports: int = 0
    sol_floor_lamports: int = 0
    max_new_accounts: int = 0
    cu_price: int = 0
    lamports_per_signature: int = 5000


@attrs.frozen
class TokenAccountStatus:
    """The wallet's associated token account for ``mint``: its address, whether it exists and
    what it holds (atomic units; None when it does not exist)."""

    mint: str
    address: str
    amount: int | None

    @property
    def exists(self) -> bool:
        return self.amount is not None


@attrs.frozen
class WalletStatus:
    """The wallet as the chain has it: SOL lamports and a token account per mint asked about
    (``unknown_mints``: no token mint at that address)."""

    owner: str
    sol_lamports: int
    accounts: tuple[TokenAccountStatus, ...]
    unknown_mints: tuple[str, ...] = ()

    @property
    def wsol_lamports(self) -> int:
        return next((a.amount or 0 for a in self.accounts if a.mint == WSOL_MINT), 0)

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(a.mint for a in self.accounts if not a.exists)

    def as_dict(self) -> dict[str, object]:
        return {
            "owner": self.owner,
            "sol_lamports": self.sol_lamports,
            "wsol_lamports": self.wsol_lamports,
            "token_accounts": [
                {"mint": a.mint, "address": a.address, "exists": a.exists, "amount": a.amount}
                for a in self.accounts
            ],
            "unknown_mints": list(self.unknown_mints),
        }


@attrs.frozen(kw_only=True)
class WalletPrep:
    """What a preparation did (``created``, ``wrapped_lamports``) and left (``status``);
    ``shortfall_lamports``: how far wSOL stays below the target."""

    accounts: TokenAccountsReport
    wrapped_lamports: int
    wrap_target_lamports: int
    status: WalletStatus

    @property
    def created(self) -> tuple[str, ...]:
        return self.accounts.created

    @property
    def changed(self) -> bool:
        return bool(self.created or self.wrapped_lamports)

    @property
    def shortfall_lamports(self) -> int:
        return max(0, self.wrap_target_lamports - self.status.wsol_lamports)

    def as_dict(self) -> dict[str, object]:
        return {
            "created": list(self.created),
            "missing": list(self.accounts.missing),
            "unknown_mints": list(self.accounts.unknown_mints),
            "wrapped_lamports": self.wrapped_lamports,
            "wrap_target_lamports": self.wrap_target_lamports,
            "shortfall_lamports": self.shortfall_lamports,
            "sol_lamports": self.status.sol_lamports,
            "wsol_lamports": self.status.wsol_lamports,
        }


async def wallet_status(rpc: JsonRpcClient, owner: str, mints: Sequence[str]) -> WalletStatus:
    """Read the wallet's SOL and its token account for each of ``mints`` (two RPC reads)."""
    wanted = list(dict.fromkeys(mints))
    programs: dict[str, str] = {}
    unknown: list[str] = []
    mint_accounts = await with_retries(get_multiple_accounts, rpc, wanted)
    for mint, account in zip(wanted, mint_accounts, strict=True):
        if account is None or account.owner not in _TOKEN_PROGRAMS:
            unknown.append(mint)
        else:
            programs[mint] = account.owner
    addresses = {m: str(associated_token_address(owner, m, p)) for m, p in programs.items()}
    found = await with_retries(get_multiple_accounts, rpc, [owner, *addresses.values()])
    wallet_account, atas = found[0], found[1:]
    accounts = tuple(
        TokenAccountStatus(
            mint, address, int.from_bytes(acct.data[_AMOUNT], "little") if acct else None
        )
        for (mint, address), acct in zip(addresses.items(), atas, strict=True)
    )
    sol = wallet_account.lamports if wallet_account is not None else 0
    return WalletStatus(owner, sol, accounts, tuple(unknown))


async def prepare_wallet(
    rpc: JsonRpcClient,
    wallet: Wallet,
    plan: WalletPlan,
    *,
    commitment: Commitment = "confirmed",
    poll_interval_s: float = 0.5,
    timeout_s: float = 60.0,
) -> WalletPrep:
    """Create the missing token accounts, then wrap SOL up to the target (each step confirmed
    before the next); what was done and the wallet after it.

    Raises :class:`~galileo.tx.TokenAccountsError` / :class:`~galileo.tx.WalletTxError` when a
    transaction fails or does not confirm in ``timeout_s``, :class:`~galileo._errors.ConfigError`
    when more accounts are missing than ``plan.max_new_accounts``,
    :class:`~galileo.net.RpcError` when the RPC fails. Running it again is safe.
    """
    wrap_target = plan.wrap_target_lamports
    mints = (*plan.mints, WSOL_MINT) if wrap_target and WSOL_MINT not in plan.mints else plan.mints
    report = await TokenAccounts.prepare(
        rpc,
        wallet,
        mints,
        create=plan.create_accounts,
        max_create=plan.max_new_accounts,
        cu_price=plan.cu_price,
        timeout_s=timeout_s,
        poll_interval_s=poll_interval_s,
        commitment=commitment,
    )
    status = await wallet_status(rpc, wallet.pubkey_str, mints)
    wrapped = 0
    wsol = next((a for a in status.accounts if a.mint == WSOL_MINT), None)
    need = wrap_target - status.wsol_lamports
    if plan.wrap and need > 0 and wsol is not None and wsol.exists:
        fee = fee_bound(
            1, lamports_per_signature=plan.lamports_per_signature, cu_price=plan.cu_price
        )
        amount = min(need, status.sol_lamports - plan.sol_floor_lamports - fee)
        if amount > 0:
            await _wrap(
                rpc,
                wallet,
                Pubkey.from_string(wsol.address),
                amount,
                plan,
                commitment,
                poll_interval_s,
                timeout_s,
            )
            wrapped = amount
            status = await wallet_status(rpc, wallet.pubkey_str, mints)
    prep = WalletPrep(
        accounts=report, wrapped_lamports=wrapped, wrap_target_lamports=wrap_target, status=status
    )
    fields = prep.as_dict()
    message = "wallet prepared" if prep.changed else "wallet ready as it was"
    _log.info(message, extra={"fields": fields})
    if report.missing:
        _log.warning(
            "token accounts missing: not created (create_token_accounts off, or a dry run)",
            extra={"fields": {"missing": list(report.missing)}},
        )
    if prep.shortfall_lamports and plan.wrap:
        _log.warning(
            "wallet below its wSOL target",
            extra={"fields": {**fields, "sol_floor_lamports": plan.sol_floor_lamports}},
        )
    return prep


async def _wrap(
    rpc: JsonRpcClient,
    wallet: Wallet,
    wsol_account: Pubkey,
    amount: int,
    plan: WalletPlan,
    commitment: Commitment,
    poll_interval_s: float,
    timeout_s: float,
) -> None:
    group = [
        transfer(
            TransferParams(from_pubkey=wallet.pubkey, to_pubkey=wsol_account, lamports=amount)
        ),
        Instruction(
            _TOKEN_PROGRAM, bytes([_SYNC_NATIVE]), [AccountMeta(wsol_account, False, True)]
        ),
    ]
    transactions = pack(wallet, [group], await latest_blockhash(rpc), cu_price=plan.cu_price)
    await send_and_confirm(
        rpc,
        transactions,
        what="wrapping SOL",
        commitment=commitment,
        poll_interval_s=poll_interval_s,
        timeout_s=timeout_s,
    )


async def unwrap_sol(
    rpc: JsonRpcClient,
    wallet: Wallet,
    *,
    cu_price: int = 0,
    commitment: Commitment = "confirmed",
    poll_interval_s: float = 0.5,
    timeout_s: float = 60.0,
) -> int | None:
    """Close the wallet's wSOL account: its wrapped lamports (returned) and its rent go back
    to SOL. None when there is no such account. Raises like :func:`prepare_wallet`."""
    status = await wallet_status(rpc, wallet.pubkey_str, [WSOL_MINT])
    account = next((a for a in status.accounts if a.exists), None)
    if account is None:
        _log.info("no wSOL account to unwrap")
        return None
    address = Pubkey.from_string(account.address)
    close = Instruction(
        _TOKEN_PROGRAM,
        bytes([_CLOSE_ACCOUNT]),
        [
            AccountMeta(address, False, True),
            AccountMeta(wallet.pubkey, False, True),
            AccountMeta(wallet.pubkey, True, False),
        ],
    )
    transactions = pack(wallet, [[close]], await latest_blockhash(rpc), cu_price=cu_price)
    await send_and_confirm(
        rpc,
        transactions,
        what="unwrapping SOL",
        commitment=commitment,
        poll_interval_s=poll_interval_s,
        timeout_s=timeout_s,
    )
    unwrapped = account.amount or 0
    _log.info("wSOL unwrapped", extra={"fields": {"lamports": unwrapped}})
    return unwrapped
