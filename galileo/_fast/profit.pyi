def priority_fee_lamports(cu_limit: int, cu_price_micro_lamports: int) -> int: ...
def net_profit(
    sell_out: int,
    size: int,
    signatures: int,
    lamports_per_signature: int,
    cu_limit: int,
    cu_price_micro_lamports: int,
    tip: int,
) -> int: ...
