"""Test clients for the world's faces (plain httpx, like any outside client)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import attrs
import httpx
from solders.address_lookup_table_account import AddressLookupTable, AddressLookupTableAccount
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from galileo.sim import JITO_TIP_ACCOUNTS, WSOL_MINT, World
from galileo.sim._program import instruction_from_json, system_transfer


@attrs.define
class Api:
    world: World
    client: httpx.AsyncClient
    _id: int = 0

    @classmethod
    @asynccontextmanager
    async def connect(cls, world: World, local_address: str | None = None) -> AsyncIterator[Api]:
        transport = httpx.AsyncHTTPTransport(local_address=local_address)
        async with httpx.AsyncClient(transport=transport, trust_env=False) as client:
            yield cls(world, client)

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.client.get(self.world.jupiter_url + path, params=params)

    async def post(self, path: str, body: Any) -> httpx.Response:
        return await self.client.post(self.world.jupiter_url + path, json=body)

    async def quote(self, input_mint: str, output_mint: str, amount: int, **params: Any) -> Any:
        response = await self.get(
            "/quote", inputMint=input_mint, outputMint=output_mint, amount=amount, **params
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def rpc_raw(self, method: str, params: list[Any] | None = None) -> httpx.Response:
        self._id += 1
        body = {"jsonrpc": "2.0", "id": self._id, "method": method, "params": params or []}
        return await self.client.post(self.world.rpc_url, json=body)

    async def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        doc = (await self.rpc_raw(method, params)).json()
        assert "error" not in doc, doc
        return doc["result"]

    async def jito_raw(
        self, method: str, params: list[Any], path: str = "/api/v1/bundles", **query: str
    ) -> httpx.Response:
        self._id += 1
        body = {"jsonrpc": "2.0", "id": self._id, "method": method, "params": params}
        return await self.client.post(self.world.jito_url + path, json=body, params=query)

    async def blockhash(self) -> Hash:
        result = await self.rpc("getLatestBlockhash", [])
        return Hash.from_string(result["value"]["blockhash"])

    async def lookup_tables(self, addresses: list[str]) -> list[AddressLookupTableAccount]:
        tables = []
        for address in addresses:
            info = await self.rpc("getAccountInfo", [address, {"encoding": "base64"}])
            table = AddressLookupTable.deserialize(base64.b64decode(info["value"]["data"][0]))
            tables.append(AddressLookupTableAccount(Pubkey.from_string(address), table.addresses))
        return tables

    async def circular_quote(self, mint: str, amount: int, tip: int) -> tuple[Any, Any, Any]:
        """The bots' recipe: two legs, merged with min out = amount + tip."""
        q0 = await self.quote(WSOL_MINT, mint, amount, slippageBps=0)
        q1 = await self.quote(mint, WSOL_MINT, int(q0["outAmount"]), slippageBps=0)
        merged = dict(
            q0,
            outputMint=WSOL_MINT,
            outAmount=str(amount + tip),
            otherAmountThreshold=str(amount + tip),
            priceImpactPct="0",
            routePlan=q0["routePlan"] + q1["routePlan"],
        )
        return q0, q1, merged

    async def arbitrage_tx(
        self,
        merged: Any,
        tip: int,
        *,
        signer: Keypair | None = None,
        cu_price: int = 1,
        blockhash: Hash | None = None,
    ) -> tuple[VersionedTransaction, Any]:
        signer = signer or self.world.wallet
        body = {
            "userPublicKey": str(signer.pubkey()),
            "quoteResponse": merged,
            "wrapAndUnwrapSol": False,
            "useSharedAccounts": False,
            "skipUserAccountsRpcCalls": True,
            "computeUnitPriceMicroLamports": cu_price,
            "dynamicComputeUnitLimit": True,
        }
        response = await self.post("/swap-instructions", body)
        assert response.status_code == 200, response.text
        si = response.json()
        ixs = [
            instruction_from_json(i)
            for i in [*si["computeBudgetInstructions"], *si["setupInstructions"]]
        ]
        ixs.append(instruction_from_json(si["swapInstruction"]))
        ixs.append(system_transfer(signer.pubkey(), JITO_TIP_ACCOUNTS[3], tip))
        tables = await self.lookup_tables(si["addressLookupTableAddresses"])
        bh = blockhash or await self.blockhash()
        message = MessageV0.try_compile(signer.pubkey(), ixs, tables, bh)
        return VersionedTransaction(message, [signer]), si

    async def send_bundle(
        self, txs: list[VersionedTransaction], path: str = "/api/v1/bundles"
    ) -> Any:
        encoded = [base64.b64encode(bytes(tx)).decode() for tx in txs]
        response = await self.jito_raw("sendBundle", [encoded, {"encoding": "base64"}], path)
        assert response.status_code == 200, response.text
        return response.json()


def b64(tx: VersionedTransaction) -> str:
    return base64.b64encode(bytes(tx)).decode()
