"""Address-lookup-table cache: each table is fetched once and kept; a table not in the
cache is fetched on first use (concurrent users of the same table share one fetch).

Tables are read with ``getMultipleAccounts`` and parsed with solders. Addresses listed in
``never_lookup`` (the Jito tip accounts by default) are blanked out of every cached table,
so a transaction always carries them as static keys: Jito asks that tip accounts are never
loaded through a lookup table.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import trio
from solders.address_lookup_table_account import AddressLookupTable, AddressLookupTableAccount
from solders.pubkey import Pubkey

from galileo._solana import JITO_TIP_ACCOUNTS
from galileo.net import JsonRpcClient, RpcError
from galileo.tx._errors import AltUnavailable
from galileo.tx._rpc import get_multiple_accounts

ADDRESS_LOOKUP_TABLE_PROGRAM_ID = "AddressLookupTab1e1111111111111111111111111"

# Stands in for a blanked entry. Indices of the other entries must not move, and nothing
# can ever reference this key (it is a hash, not a curve point or a program).
_BLANK = Pubkey(hashlib.sha256(b"galileo-tx: never look this entry up").digest())


class AltCache:
    """``await get(addresses)`` → solders ``AddressLookupTableAccount`` list, in order."""

    def __init__(
        self,
        rpc: JsonRpcClient,
        *,
        never_lookup: Iterable[str] = JITO_TIP_ACCOUNTS,
        timeout_s: float = 2.0,
    ) -> None:
        self._rpc = rpc
        self._never = frozenset(Pubkey.from_string(a) for a in never_lookup)
        self._timeout = timeout_s
        self._tables: dict[str, AddressLookupTableAccount] = {}
        self._inflight: dict[str, trio.Event] = {}
        self.fetches = 0

    def __len__(self) -> int:
        return len(self._tables)

    def cached(self, addresses: Sequence[str]) -> list[AddressLookupTableAccount] | None:
        """The tables if all are cached (no I/O), else None."""
        tables = self._tables
        try:
            return [tables[a] for a in addresses]
        except KeyError:
            return None

    async def get(self, addresses: Sequence[str]) -> list[AddressLookupTableAccount]:
        """The tables, fetching any not cached yet; raises :class:`AltUnavailable`."""
        found = self.cached(addresses)
        if found is not None:
            return found
        missing = [a for a in dict.fromkeys(addresses) if a not in self._tables]
        waiting = [self._inflight[a] for a in missing if a in self._inflight]
        to_fetch = [a for a in missing if a not in self._inflight]
        if to_fetch:
            await self._fetch(to_fetch)
        for event in waiting:
            await event.wait()
        try:
            return [self._tables[a] for a in addresses]
        except KeyError as exc:
            raise AltUnavailable(exc.args[0], "fetch failed") from None

    async def refresh(self, addresses: Sequence[str]) -> list[AddressLookupTableAccount]:
        """Drop and re-fetch (a table was extended, or a transaction failed on a lookup)."""
        for address in addresses:
            self._tables.pop(address, None)
        return await self.get(addresses)

    def put(self, address: str, addresses: Sequence[Pubkey]) -> AddressLookupTableAccount:
        """Cache a table's content directly (startup preload, tests)."""
        entries = [_BLANK if a in self._never else a for a in addresses]
        table = AddressLookupTableAccount(Pubkey.from_string(address), entries)
        self._tables[address] = table
        return table

    async def _fetch(self, addresses: list[str]) -> None:
        events = {a: trio.Event() for a in addresses}
        self._inflight.update(events)
        try:
            self.fetches += 1
            try:
                accounts = await get_multiple_accounts(
                    self._rpc, addresses, timeout_s=self._timeout
                )
            except RpcError as exc:
                raise AltUnavailable(addresses[0], f"RPC: {exc}") from None
            for address, account in zip(addresses, accounts, strict=True):
                if account is None:
                    raise AltUnavailable(address, "account not found")
                if account.owner != ADDRESS_LOOKUP_TABLE_PROGRAM_ID:
                    raise AltUnavailable(address, f"owned by {account.owner}, not a lookup table")
                try:
                    table = AddressLookupTable.deserialize(account.data)
                except Exception as exc:  # solders raises its own parse error types
                    raise AltUnavailable(address, f"cannot parse: {exc}") from None
                self.put(address, list(table.addresses))
        finally:
            for address, event in events.items():
                del self._inflight[address]
                event.set()
