"""ChainReader: the payer's balance change from getTransaction meta (either encoding), the
wait for a transaction the node does not have yet, and dry-run simulation results."""

from __future__ import annotations

from typing import Any

import attrs
import trio
import trio.testing

from galileo.execution import ChainReader
from galileo.net import RpcError, RpcTimeout
from galileo.sim import WSOL_MINT

PAYER = "Payer1111111111111111111111111111111111111"
OTHER_MINT = "Mint111111111111111111111111111111111111111"


def token(index: int, owner: str, mint: str, amount: int) -> dict[str, Any]:
    return {
        "accountIndex": index,
        "owner": owner,
        "mint": mint,
        "uiTokenAmount": {"amount": str(amount), "decimals": 9},
    }


TX = {
    "slot": 42,
    "transaction": {"signatures": ["s"], "message": {"accountKeys": [PAYER, "Vault"]}},
    "meta": {
        "err": None,
        "fee": 6000,
        "preBalances": [1_000_000, 5],
        "postBalances": [1_000_000 - 6000 - 10_000, 5],
        "preTokenBalances": [
            token(1, PAYER, WSOL_MINT, 500),
            token(2, "Pool", WSOL_MINT, 900),
            token(3, PAYER, OTHER_MINT, 7),
        ],
        "postTokenBalances": [
            token(1, PAYER, WSOL_MINT, 30_500),
            token(2, "Pool", WSOL_MINT, 1),
            token(3, PAYER, OTHER_MINT, 7),
        ],
        "loadedAddresses": {"writable": [], "readonly": []},
    },
}


@attrs.define
class Rpc:
    answers: list[Any]
    calls: int = 0

    async def call(self, method: str, params: list[Any], *, timeout_s: float | None = None) -> Any:
        await trio.lowlevel.checkpoint()
        self.calls += 1
        answer = self.answers.pop(0) if self.answers else None
        if isinstance(answer, Exception):
            raise answer
        return answer


async def test_realised_is_the_payers_sol_plus_base_token_change() -> None:
    change = await ChainReader(Rpc([TX])).balance_change("s", base_mint=WSOL_MINT, timeout_s=1)
    assert change is not None
    assert change.sol_lamports == -16_000 and change.base_token == 30_000
    assert change.realised(WSOL_MINT) == 14_000  # the pool's balance is not ours
    assert change.fee == 6000 and change.slot == 42
    other = await ChainReader(Rpc([TX])).balance_change("s", base_mint=OTHER_MINT, timeout_s=1)
    assert other is not None and other.realised(OTHER_MINT) == 0


async def test_it_waits_until_the_node_has_the_transaction(
    autojump_clock: trio.testing.MockClock,
) -> None:
    rpc = Rpc([None, RpcTimeout("getTransaction", "timeout"), TX])
    change = await ChainReader(rpc).balance_change("s", base_mint=WSOL_MINT, timeout_s=5)
    assert change is not None and rpc.calls == 3
    assert await ChainReader(Rpc([])).balance_change("s", base_mint=WSOL_MINT, timeout_s=1) is None


async def test_simulation_reports_the_error_or_the_units() -> None:
    ok = {"context": {}, "value": {"err": None, "unitsConsumed": 1234, "logs": ["a"]}}
    bad = {"context": {}, "value": {"err": "BlockhashNotFound", "logs": None}}
    reader = ChainReader(Rpc([ok, bad, RpcError("simulateTransaction", "HTTP 500")]))
    first = await reader.simulate("AA==", timeout_s=1)
    assert first.ok and first.units_consumed == 1234 and first.logs == ("a",)
    second = await reader.simulate("AA==", timeout_s=1)
    assert not second.ok and second.err == "BlockhashNotFound"
    third = await reader.simulate("AA==", timeout_s=1)
    assert third.err == "rpc: HTTP 500"
