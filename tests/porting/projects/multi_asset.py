"""One computation that produces two assets, and an asset downstream of one of them."""

import dagster as dg


@dg.multi_asset(
    outs={"users": dg.AssetOut(group_name="crm"), "accounts": dg.AssetOut(group_name="crm")}
)
def crm_export():
    yield dg.Output([{"user": "ann"}, {"user": "bo"}], output_name="users")
    yield dg.Output([{"account": 7}], output_name="accounts")


@dg.asset(group_name="analytics")
def user_count(users: list) -> int:
    return len(users)


defs = dg.Definitions(assets=[crm_export, user_count])
