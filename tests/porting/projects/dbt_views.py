"""A dbt-like project: a table, a view over it (a virtual asset) and a model reading the view."""

import dagster as dg

raw_customers = dg.AssetSpec("raw_customers", group_name="staging")
stg_customers = dg.AssetSpec(
    "stg_customers", deps=[raw_customers], group_name="staging"
).replace_attributes(is_virtual=True)


@dg.asset(group_name="staging")
def raw_orders() -> None:
    pass  # CREATE TABLE raw_orders AS ...


@dg.asset(deps=[raw_orders], group_name="staging", is_virtual=True)
def stg_orders() -> None:
    pass  # CREATE VIEW stg_orders AS SELECT ... FROM raw_orders


@dg.multi_asset(
    outs={
        "int_orders": dg.AssetOut(is_virtual=True, group_name="marts", is_required=False),
        "orders_by_customer": dg.AssetOut(group_name="marts", is_required=False),
    },
    deps=[stg_orders, stg_customers],
    internal_asset_deps={
        "int_orders": {dg.AssetKey("stg_orders")},
        "orders_by_customer": {dg.AssetKey("stg_orders"), dg.AssetKey("stg_customers")},
    },
    can_subset=True,
)
def marts(context: dg.AssetExecutionContext):
    for name in sorted(context.selected_output_names):
        yield dg.Output(None, name)


@dg.asset(deps=["int_orders"], group_name="marts")
def order_report() -> None:
    pass


defs = dg.Definitions(
    assets=[raw_customers, stg_customers, raw_orders, stg_orders, marts, order_report]
)
