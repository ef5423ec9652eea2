TIP_STATIC: int
TIP_PERCENT: int
TIP_FLOOR: int

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
def tip_lamports(
    policy: int,
    gross_profit: int,
    static_lamports: int,
    percent_bps: int,
    floor_lamports: int,
    min_lamports: int,
    max_lamports: int,
) -> int: ...

class FeeModel:
    def __init__(
        self,
        signatures: int,
        lamports_per_signature: int,
        cu_limit: int,
        cu_price_micro_lamports: int,
        tip_policy: int,
        tip_static: int,
        tip_percent_bps: int,
        tip_min: int,
        tip_max: int,
    ) -> None: ...
    @property
    def signatures(self) -> int: ...
    @property
    def lamports_per_signature(self) -> int: ...
    @property
    def cu_limit(self) -> int: ...
    @property
    def cu_price_micro_lamports(self) -> int: ...
    @property
    def tip_policy(self) -> int: ...
    @property
    def tip_static(self) -> int: ...
    @property
    def tip_percent_bps(self) -> int: ...
    @property
    def tip_min(self) -> int: ...
    @property
    def tip_max(self) -> int: ...
    @property
    def base_fee(self) -> int: ...
    @property
    def priority_fee(self) -> int: ...
    @property
    def fees(self) -> int: ...

def evaluate(model: FeeModel, sell_out: int, size: int, tip_floor: int) -> tuple[int, int]: ...
