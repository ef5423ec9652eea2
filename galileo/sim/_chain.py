"""The ledger of the world: a LiteSVM instance holding the mints, pool vaults, the wallet and
the tip accounts, plus the slot clock, blockhashes, signature statuses and bundle execution.

Signatures are verified for real (LiteSVM with sigverify on, and the world verifies the
original signatures itself before expanding a swap). Blockhash validity is the world's own
rule (150 slots, like mainnet) because LiteSVM only knows one "latest" blockhash.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import struct
from collections.abc import Iterable, Sequence
from typing import Any

import attrs
from solders.account import Account
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.rpc.responses import RpcSimulateTransactionResult
from solders.token.state import Mint, TokenAccount, TokenAccountState
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata

from galileo._errors import GalileoError
from galileo.sim._constants import (
    ADDRESS_LOOKUP_TABLE_PROGRAM_ID,
    JITO_TIP_ACCOUNTS,
    JUPITER_PROGRAM_ID,
    MAX_PROCESSING_AGE_SLOTS,
    SLIPPAGE_TOLERANCE_EXCEEDED,
    SYSTEM_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
    U64_MAX,
    WSOL_MINT,
    derived_pubkey,
)
from galileo.sim._market import Market, MarketDynamics, Pool
from galileo.sim._program import (
    JUPITER_PROGRAM,
    EncodedRoute,
    RouteDecodeError,
    ata,
    decode_route,
    system_transfer,
    token_transfer,
)

_log = logging.getLogger("galileo.sim")

GENESIS_SLOT = 350_000_000
TOKEN_ACCOUNT_LEN = 165
MINT_LEN = 82
# Catching up more slots than this at once skips the dynamics of the oldest ones (an idle
# world left alone for hours should not replay every slot).
MAX_CATCHUP_SLOTS = 5_000
_TOKEN = Pubkey.from_string(TOKEN_PROGRAM_ID)
_SYSTEM = Pubkey.from_string(SYSTEM_PROGRAM_ID)
_ALT_PROGRAM = Pubkey.from_string(ADDRESS_LOOKUP_TABLE_PROGRAM_ID)


class TxRejected(GalileoError):
    """A transaction refused before execution (it never lands and costs nothing).

    ``reason`` is a Solana TransactionError name (``SignatureFailure``, ``BlockhashNotFound``,
    ``AlreadyProcessed``, …) or ``InvalidTransaction``; ``rpc_code`` the JSON-RPC error code.
    """

    def __init__(self, reason: str, message: str, rpc_code: int = -32002) -> None:
        super().__init__(message)
        self.reason = reason
        self.rpc_code = rpc_code


@attrs.frozen
class TxOutcome:
    """The result of executing (or simulating) one transaction."""

    signature: str
    slot: int
    err: Any  # RPC JSON form of the TransactionError, None on success
    logs: tuple[str, ...]
    units_consumed: int
    fee: int

    @property
    def ok(self) -> bool:
        return self.err is None


@attrs.frozen
class SignatureStatus:
    slot: int
    err: Any


@attrs.define
class BundleRecord:
    """A bundle the Jito face accepted."""

    bundle_id: str
    signatures: tuple[str, ...]
    received_slot: int
    state: str  # "Landed" | "Failed" | "Pending" (dropped) | "Invalid"
    landed_slot: int | None = None
    err: Any = None


@attrs.define
class _Prepared:
    tx: VersionedTransaction
    signature: str
    keys: list[Pubkey]
    writable: list[bool]
    blockhash: Hash


class Chain:
    """LiteSVM plus the world's clock rules. Not thread-safe; trio tasks call it in turn."""

    def __init__(
        self,
        market: Market,
        dynamics: MarketDynamics | None,
        *,
        seed: int,
        slot_ms: int,
        wallet: Keypair,
        wallet_lamports: int,
        wallet_wsol: int,
        start_time: float,
        wallet_token_accounts: bool = False,
    ) -> None:
        self.market = market
        self.dynamics = dynamics
        self.seed = seed
        self.slot_s = slot_ms / 1000.0
        self.wallet = wallet
        self.start_time = start_time
        self.slot = GENESIS_SLOT
        self.svm = LiteSVM()
        self.svm.with_blockhash_check(False)
        self.svm.with_transaction_history(0)
        self.svm.warp_to_slot(self.slot)
        self._blockhash_slots: dict[Hash, int] = {}
        self._slot_hashes: dict[int, Hash] = {}
        self.statuses: dict[str, SignatureStatus] = {}
        self.bundles: dict[str, BundleRecord] = {}
        self.alt_address = derived_pubkey(seed, "address-lookup-table")
        self._remember_blockhash(self.slot)
        self._rent_token = self.svm.minimum_balance_for_rent_exemption(TOKEN_ACCOUNT_LEN)
        self._setup(wallet_lamports, wallet_wsol, wallet_token_accounts)

    # --- setup ----------------------------------------------------------------------------

    def _setup(self, wallet_lamports: int, wallet_wsol: int, token_accounts: bool) -> None:
        svm = self.svm
        wallet = self.wallet.pubkey()
        supply: dict[str, int] = {mint: 0 for mint in self.market.tokens}
        for pool in self.market.pools:
            supply[pool.mint_a] += pool.reserve_a
            supply[pool.mint_b] += pool.reserve_b
        supply[WSOL_MINT] += wallet_wsol
        rent_mint = svm.minimum_balance_for_rent_exemption(MINT_LEN)
        for mint, token in self.market.tokens.items():
            data = Mint(
                mint_authority=None,
                supply=0 if mint == WSOL_MINT else supply[mint],
                decimals=token.decimals,
                is_initialized=True,
                freeze_authority=None,
            )
            svm.set_account(Pubkey.from_string(mint), _account(rent_mint, bytes(data), _TOKEN))
        svm.set_account(wallet, _account(wallet_lamports, b"", _SYSTEM))
        # A fresh wallet holds SOL only (the bot creates its token accounts and wraps SOL);
        # a prepared one has every token account, and wSOL when asked for.
        for mint in self.market.tokens:
            native = mint == WSOL_MINT
            if token_accounts or (native and wallet_wsol):
                amount = wallet_wsol if native else 0
                self._write_token_account(ata(wallet, mint), mint, wallet, amount, delegate=None)
        for pool in self.market.pools:
            self._write_vaults(pool)
        rent_zero = svm.minimum_balance_for_rent_exemption(0)
        for tip in JITO_TIP_ACCOUNTS:
            svm.set_account(Pubkey.from_string(tip), _account(rent_zero, b"", _SYSTEM))
        self._write_lookup_table()

    def _write_token_account(
        self, address: Pubkey, mint: str, owner: Pubkey, amount: int, *, delegate: Pubkey | None
    ) -> None:
        native = mint == WSOL_MINT
        data = TokenAccount(
            mint=Pubkey.from_string(mint),
            owner=owner,
            amount=amount,
            delegate=delegate,
            state=TokenAccountState.Initialized,
            is_native=self._rent_token if native else None,
            delegated_amount=U64_MAX if delegate is not None else 0,
            close_authority=None,
        )
        lamports = self._rent_token + (amount if native else 0)
        self.svm.set_account(address, _account(lamports, bytes(data), _TOKEN))

    def _write_vaults(self, pool: Pool) -> None:
        # The wallet is the SPL delegate of every vault: a swap is plain transfers that only
        # the wallet signs (see docs/sim.md, "Execution").
        authority = derived_pubkey(self.seed, "pool-authority", pool.address)
        wallet = self.wallet.pubkey()
        for vault, mint, amount in (
            (pool.vault_a, pool.mint_a, pool.reserve_a),
            (pool.vault_b, pool.mint_b, pool.reserve_b),
        ):
            self._write_token_account(
                Pubkey.from_string(vault), mint, authority, amount, delegate=wallet
            )

    def lookup_table_addresses(self) -> list[Pubkey]:
        keys: list[str] = [TOKEN_PROGRAM_ID, SYSTEM_PROGRAM_ID, JUPITER_PROGRAM_ID]
        keys += sorted({p.program_id for p in self.market.pools})
        keys += list(self.market.tokens)
        for pool in self.market.pools:
            keys += [pool.address, pool.vault_a, pool.vault_b]
        seen: dict[str, None] = dict.fromkeys(keys)
        return [Pubkey.from_string(k) for k in list(seen)[:256]]

    def _write_lookup_table(self) -> None:
        addresses = self.lookup_table_addresses()
        # Address lookup table account layout: u32 type (1 = table), deactivation slot,
        # last extended slot, start index, Option<authority>, padding, then the addresses.
        meta = struct.pack("<IQQBB32sH", 1, U64_MAX, 0, 0, 0, bytes(32), 0)
        data = meta + b"".join(bytes(a) for a in addresses)
        lamports = self.svm.minimum_balance_for_rent_exemption(len(data))
        self.svm.set_account(self.alt_address, _account(lamports, data, _ALT_PROGRAM))

    # --- clock ----------------------------------------------------------------------------

    def slot_at(self, now: float) -> int:
        return GENESIS_SLOT + max(0, math.floor((now - self.start_time) / self.slot_s))

    def sync(self, now: float) -> None:
        """Advance slots, blockhashes and market dynamics to ``now``."""
        target = self.slot_at(now)
        if target <= self.slot:
            return
        steps = target - self.slot
        changed: dict[str, Pool] = {}
        if self.dynamics is not None:
            for _ in range(min(steps, MAX_CATCHUP_SLOTS)):
                for pool in self.dynamics.step():
                    changed[pool.address] = pool
        first_new = max(self.slot + 1, target - MAX_PROCESSING_AGE_SLOTS)
        self.slot = target
        for slot in range(first_new, target + 1):
            self._remember_blockhash(slot)
        self.svm.warp_to_slot(target)
        for pool in changed.values():
            self._write_vaults(pool)

    def blockhash(self, slot: int | None = None) -> Hash:
        slot = self.slot if slot is None else slot
        found = self._slot_hashes.get(slot)
        if found is None:
            found = self._remember_blockhash(slot)
        return found

    def _remember_blockhash(self, slot: int) -> Hash:
        digest = hashlib.sha256(f"galileo-sim-blockhash:{self.seed}:{slot}".encode()).digest()
        bh = Hash(digest)
        self._blockhash_slots[bh] = slot
        self._slot_hashes[slot] = bh
        if len(self._slot_hashes) > 4 * MAX_PROCESSING_AGE_SLOTS:
            cutoff = self.slot - 2 * MAX_PROCESSING_AGE_SLOTS
            for old in [s for s in self._slot_hashes if s < cutoff]:
                del self._blockhash_slots[self._slot_hashes.pop(old)]
        return bh

    def last_valid_block_height(self, slot: int | None = None) -> int:
        return (self.slot if slot is None else slot) + MAX_PROCESSING_AGE_SLOTS

    def blockhash_valid(self, bh: Hash) -> bool:
        slot = self._blockhash_slots.get(bh)
        return slot is not None and self.slot - slot <= MAX_PROCESSING_AGE_SLOTS

    # --- reads ----------------------------------------------------------------------------

    def account(self, address: str | Pubkey) -> Account | None:
        key = address if isinstance(address, Pubkey) else Pubkey.from_string(address)
        acct = self.svm.get_account(key)
        if acct is None or (acct.lamports == 0 and not acct.data):
            return None
        return acct

    def balance(self, address: str | Pubkey) -> int:
        acct = self.account(address)
        return 0 if acct is None else acct.lamports

    def token_amount(self, address: str | Pubkey) -> int | None:
        acct = self.account(address)
        if acct is None or acct.owner != _TOKEN or len(acct.data) != TOKEN_ACCOUNT_LEN:
            return None
        return TokenAccount.from_bytes(bytes(acct.data)).amount

    def confirmation(self, slot: int) -> tuple[str, int | None]:
        """(confirmationStatus, confirmations) of something that landed at ``slot``."""
        age = self.slot - slot
        if age >= 32:
            return "finalized", None
        if age >= 1:
            return "confirmed", age
        return "processed", 0

    # --- execution ------------------------------------------------------------------------

    def prepare(self, raw: bytes, *, verify_signatures: bool = True) -> _Prepared:
        """Parse and check a wire transaction; raises ``TxRejected``."""
        try:
            tx = VersionedTransaction.from_bytes(raw)
        except Exception as exc:
            raise TxRejected("InvalidTransaction", f"failed to deserialize: {exc}", -32602) from exc
        message = tx.message
        if verify_signatures and not all(tx.verify_with_results()):
            raise TxRejected(
                "SignatureFailure", "Transaction signature verification failure", -32003
            )
        signature = str(tx.signatures[0])
        keys, writable = self._resolve_keys(message)
        return _Prepared(tx, signature, keys, writable, message.recent_blockhash)

    def check_landable(self, prepared: _Prepared) -> None:
        if not self.blockhash_valid(prepared.blockhash):
            raise TxRejected("BlockhashNotFound", "Blockhash not found")
        if prepared.signature in self.statuses:
            raise TxRejected("AlreadyProcessed", "This transaction has already been processed")

    def _resolve_keys(self, message: Any) -> tuple[list[Pubkey], list[bool]]:
        header = message.header
        static = list(message.account_keys)
        n_signed = header.num_required_signatures
        n = len(static)
        writable = [
            (i < n_signed - header.num_readonly_signed_accounts)
            or (n_signed <= i < n - header.num_readonly_unsigned_accounts)
            for i in range(n)
        ]
        keys = list(static)
        lookups = getattr(message, "address_table_lookups", None) or []
        loaded_w: list[Pubkey] = []
        loaded_r: list[Pubkey] = []
        for lookup in lookups:
            acct = self.svm.get_account(lookup.account_key)
            if acct is None or acct.owner != _ALT_PROGRAM:
                raise TxRejected("AddressLookupTableNotFound", "Address lookup table not found")
            table = bytes(acct.data)[56:]
            addrs = [Pubkey(table[i : i + 32]) for i in range(0, len(table), 32)]
            try:
                loaded_w += [addrs[i] for i in lookup.writable_indexes]
                loaded_r += [addrs[i] for i in lookup.readonly_indexes]
            except IndexError as exc:
                raise TxRejected(
                    "InvalidAddressLookupTableIndex", "Invalid address lookup table index"
                ) from exc
        keys += loaded_w + loaded_r
        writable += [True] * len(loaded_w) + [False] * len(loaded_r)
        return keys, writable

    def execute(self, prepared: _Prepared, *, commit: bool) -> TxOutcome:
        """Run a checked transaction on the VM (``commit=False``: simulate only)."""
        message = prepared.tx.message
        jupiter_ixs = [
            i
            for i, ix in enumerate(message.instructions)
            if prepared.keys[ix.program_id_index] == JUPITER_PROGRAM
        ]
        if not jupiter_ixs:
            return self._run(prepared.tx, prepared.signature, commit, index_map=None)
        return self._execute_swap(prepared, jupiter_ixs, commit=commit)

    def _execute_swap(
        self, prepared: _Prepared, jupiter_ixs: list[int], *, commit: bool
    ) -> TxOutcome:
        message = prepared.tx.message
        header = message.header
        wallet = self.wallet.pubkey()
        if prepared.keys[0] != wallet or header.num_required_signatures != 1:
            raise TxRejected(
                "InvalidTransaction",
                "sim: a transaction with a swap instruction must be paid and signed by the "
                "world's wallet alone",
                -32602,
            )
        n_signed = header.num_required_signatures
        expanded: list[Instruction] = []
        index_map: list[int] = []
        for index, cix in enumerate(message.instructions):
            program = prepared.keys[cix.program_id_index]
            accounts = [prepared.keys[a] for a in cix.accounts]
            if index not in jupiter_ixs:
                metas = [
                    AccountMeta(prepared.keys[a], a < n_signed, prepared.writable[a])
                    for a in cix.accounts
                ]
                expanded.append(Instruction(program, bytes(cix.data), metas))
                index_map.append(index)
                continue
            try:
                route = decode_route(bytes(cix.data), [str(k) for k in accounts])
                transfers = self._route_transfers(route)
            except (RouteDecodeError, KeyError) as exc:
                raise TxRejected(
                    "InvalidTransaction", f"sim: bad swap instruction: {exc}", -32602
                ) from exc
            if transfers is None:
                return self._slippage_failure(prepared, expanded, index_map, index, commit)
            expanded += transfers
            index_map += [index] * len(transfers)
        msg = MessageV0.try_compile(wallet, expanded, [], prepared.blockhash)
        inner = VersionedTransaction(msg, [self.wallet])
        outcome = self._run(inner, prepared.signature, commit, index_map=index_map)
        if commit and outcome.ok:
            self._refresh_pools(prepared.keys)
        return outcome

    def _route_transfers(self, route: EncodedRoute) -> list[Instruction] | None:
        """The SPL transfers a route stands for at current reserves; ``None`` if its final
        output would be below its minimum (slippage)."""
        legs: list[tuple[Pool, str]] = []
        for hop in route.hops:
            pool = self.market.by_address[hop.pool]
            if hop.vault_in == pool.vault_a:
                input_mint = pool.mint_a
            elif hop.vault_in == pool.vault_b:
                input_mint = pool.mint_b
            else:
                raise RouteDecodeError(f"vault {hop.vault_in} is not a vault of {hop.pool}")
            if pool.vaults(input_mint) != (hop.vault_in, hop.vault_out):
                raise RouteDecodeError(f"vaults do not match pool {hop.pool}")
            legs.append((pool, input_mint))
        amounts = self.market.reprice(legs, route.in_amount)
        if amounts[-1][1] < route.min_out:
            return None
        transfers: list[Instruction] = []
        for hop, (amount_in, amount_out) in zip(route.hops, amounts, strict=True):
            transfers.append(token_transfer(hop.user_source, hop.vault_in, route.user, amount_in))
            transfers.append(
                token_transfer(hop.vault_out, hop.user_destination, route.user, amount_out)
            )
        return transfers

    def _slippage_failure(
        self,
        prepared: _Prepared,
        before: list[Instruction],
        index_map: list[int],
        index: int,
        commit: bool,
    ) -> TxOutcome:
        """The route no longer meets its minimum: the transaction fails at the swap
        instruction with Jupiter's SlippageToleranceExceeded, paying its fee (for real: the
        stand-in below fails on the VM, which charges the fee and reverts everything else)."""
        wallet = self.wallet.pubkey()
        failing = system_transfer(wallet, wallet, U64_MAX)
        msg = MessageV0.try_compile(wallet, [*before, failing], [], prepared.blockhash)
        inner = VersionedTransaction(msg, [self.wallet])
        result = (
            self.svm.send_transaction(inner) if commit else self.svm.simulate_transaction(inner)
        )
        meta = _meta_of(result)
        logs = [
            line
            for line in _meta_logs(meta)
            if SYSTEM_PROGRAM_ID not in line and not line.startswith("Transfer:")
        ]
        logs += [
            f"Program {JUPITER_PROGRAM_ID} invoke [1]",
            "Program log: Instruction: Route",
            "Program log: AnchorError occurred. Error Code: SlippageToleranceExceeded. "
            "Error Number: 6001. Error Message: Slippage tolerance exceeded.",
            f"Program {JUPITER_PROGRAM_ID} consumed 21000 of 1400000 compute units",
            f"Program {JUPITER_PROGRAM_ID} failed: custom program error: 0x1771",
        ]
        err = {"InstructionError": [index, {"Custom": SLIPPAGE_TOLERANCE_EXCEEDED}]}
        fee = _meta_fee(meta)
        outcome = TxOutcome(prepared.signature, self.slot, err, tuple(logs), 21000, fee)
        if commit:
            self.statuses[prepared.signature] = SignatureStatus(self.slot, err)
        return outcome

    def _run(
        self,
        tx: VersionedTransaction,
        signature: str,
        commit: bool,
        *,
        index_map: list[int] | None,
    ) -> TxOutcome:
        result = self.svm.send_transaction(tx) if commit else self.svm.simulate_transaction(tx)
        meta = _meta_of(result)
        if isinstance(result, FailedTransactionMetadata):
            err = _error_json(result.err())
            if index_map is not None and isinstance(err, dict) and "InstructionError" in err:
                inner_index, detail = err["InstructionError"]
                err = {"InstructionError": [index_map[inner_index], detail]}
        else:
            err = None
        outcome = TxOutcome(
            signature,
            self.slot,
            err,
            tuple(_meta_logs(meta)),
            _meta_units(meta),
            _meta_fee(meta),
        )
        # A transaction that fails inside an instruction still lands (and pays its fee); one
        # rejected by the runtime before that never lands.
        if commit and (err is None or "InstructionError" in err):
            self.statuses[signature] = SignatureStatus(self.slot, err)
        return outcome

    def _refresh_pools(self, keys: Iterable[Pubkey]) -> None:
        for key in keys:
            pool = self.market.by_vault.get(str(key))
            if pool is None:
                continue
            pool.reserve_a = self.token_amount(pool.vault_a) or 0
            pool.reserve_b = self.token_amount(pool.vault_b) or 0

    def execute_bundle(self, raws: Sequence[bytes]) -> tuple[list[TxOutcome], bool]:
        """Execute transactions in order, all or nothing: if one fails, every account they
        touch (and the market mirror) is restored. Returns ``(outcomes, landed)``.
        Raises ``TxRejected`` if a transaction cannot even be considered (bundle invalid)."""
        prepared = [self.prepare(raw) for raw in raws]
        seen: set[str] = set()
        for p in prepared:
            self.check_landable(p)
            if p.signature in seen:
                raise TxRejected("AlreadyProcessed", "duplicate transaction in bundle")
            seen.add(p.signature)
        touched: dict[Pubkey, Account | None] = {}
        for p in prepared:
            for key in p.keys:
                if key not in touched:
                    touched[key] = self.svm.get_account(key)
        reserves = {pool.address: (pool.reserve_a, pool.reserve_b) for pool in self.market.pools}
        statuses_before = dict(self.statuses)
        outcomes: list[TxOutcome] = []

        def restore() -> None:
            for key, acct in touched.items():
                self.svm.set_account(key, acct if acct is not None else _account(0, b"", _SYSTEM))
            for pool in self.market.pools:
                pool.reserve_a, pool.reserve_b = reserves[pool.address]
            self.statuses = statuses_before

        try:
            for p in prepared:
                outcome = self.execute(p, commit=True)
                outcomes.append(outcome)
                if not outcome.ok:
                    break
        except TxRejected:
            restore()
            raise
        if all(o.ok for o in outcomes) and len(outcomes) == len(prepared):
            return outcomes, True
        restore()
        return outcomes, False

    # --- direct manipulation (tests, notebooks) -----------------------------------------

    def write_pool(self, pool: Pool) -> None:
        self._write_vaults(pool)


def _account(lamports: int, data: bytes, owner: Pubkey) -> Account:
    return Account(lamports=lamports, data=data, owner=owner, executable=False, rent_epoch=0)


def _meta_of(result: Any) -> Any:
    """The TransactionMetadata inside any LiteSVM result type."""
    if isinstance(result, FailedTransactionMetadata):
        return result.meta()
    meta = getattr(result, "meta", None)
    if meta is None:
        return result
    return meta() if callable(meta) else meta


def _meta_logs(meta: Any) -> list[str]:
    logs = meta.logs
    return list(logs() if callable(logs) else logs)


def _meta_units(meta: Any) -> int:
    units = meta.compute_units_consumed
    return int(units() if callable(units) else units)


def _meta_fee(meta: Any) -> int:
    fee = getattr(meta, "fee", 0)
    return int(fee() if callable(fee) else fee)


def _error_json(err: Any) -> Any:
    """A solders TransactionError in the RPC's JSON form."""
    doc = json.loads(RpcSimulateTransactionResult(err=err).to_json())
    return doc.get("err")
