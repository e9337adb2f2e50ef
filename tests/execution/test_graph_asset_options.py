"""Options of graph-backed assets and multi-assets: hooks run after each step of the graph's
ops, resource_defs bind resources to the assets, as in Dagster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from knoll import (
    AssetKey,
    AssetOut,
    AssetsDefinition,
    FilesystemIOManager,
    GraphOut,
    HookContext,
    Output,
    asset,
    failure_hook,
    graph,
    graph_asset,
    graph_multi_asset,
    materialize,
    multi_asset,
    op,
    success_hook,
)
from knoll.errors import DefinitionError


class Ledger:
    """A fake audit log: remembers the steps it was told about."""

    def __init__(self) -> None:
        self.lines: list[str] = []


@success_hook(required_resource_keys={"ledger"})
def audit(context: HookContext) -> None:
    context.resources.ledger.lines.append(f"ok {context.step_key}")


@failure_hook(required_resource_keys={"ledger"})
def alarm(context: HookContext) -> None:
    context.resources.ledger.lines.append(f"failed {context.step_key}")


@op
def fetch_orders() -> list[dict[str, Any]]:
    return [{"amount": 5, "paid": True}, {"amount": 7, "paid": False}]


@op(required_resource_keys={"ledger"})
def paid_total(context: Any, orders: list[dict[str, Any]]) -> int:
    context.resources.ledger.lines.append("summing")
    return sum(o["amount"] for o in orders if o["paid"])


@op
def unpaid_total(orders: list[dict[str, Any]]) -> int:
    return sum(o["amount"] for o in orders if not o["paid"])


@op
def broken_total(orders: list[dict[str, Any]]) -> int:
    raise ValueError(f"cannot sum {len(orders)} orders")


def test_graph_asset_hooks_run_after_each_op_with_its_bound_resources() -> None:
    ledger = Ledger()

    @graph_asset(hooks={audit, alarm}, resource_defs={"ledger": ledger})
    def revenue() -> Any:
        return paid_total(fetch_orders())

    result = materialize([revenue])
    assert result.success
    assert result.asset_value("revenue") == 5
    assert sorted(ledger.lines) == ["ok revenue.fetch_orders", "ok revenue.paid_total", "summing"]


def test_graph_asset_failure_hook_sees_the_failing_op() -> None:
    ledger = Ledger()

    @graph_asset(hooks={audit, alarm}, resource_defs={"ledger": ledger})
    def broken_revenue() -> Any:
        return broken_total(fetch_orders())

    result = materialize([broken_revenue], raise_on_error=False)
    assert not result.success
    assert ledger.lines == ["ok broken_revenue.fetch_orders", "failed broken_revenue.broken_total"]


def test_graph_multi_asset_hooks_and_resource_defs() -> None:
    ledger = Ledger()

    @graph_multi_asset(
        outs={"paid": AssetOut(), "unpaid": AssetOut()},
        hooks={audit},
        resource_defs={"ledger": ledger},
    )
    def order_totals() -> Any:
        orders = fetch_orders()
        return {"paid": paid_total(orders), "unpaid": unpaid_total(orders)}

    result = materialize([order_totals])
    assert (result.asset_value("paid"), result.asset_value("unpaid")) == (5, 7)
    assert sorted(line for line in ledger.lines if line.startswith("ok")) == [
        "ok order_totals.fetch_orders",
        "ok order_totals.paid_total",
        "ok order_totals.unpaid_total",
    ]


def test_from_graph_takes_hook_defs_and_resource_defs() -> None:
    ledger = Ledger()

    @graph
    def settled() -> Any:
        return paid_total(fetch_orders())

    assets = AssetsDefinition.from_graph(
        settled, hook_defs={audit}, resource_defs={"ledger": ledger}
    )
    assert materialize([assets]).asset_value("result") == 5
    assert "ok settled.paid_total" in ledger.lines


def test_from_op_takes_hook_defs() -> None:
    ledger = Ledger()
    assets = AssetsDefinition.from_op(fetch_orders, hook_defs={audit})
    result = materialize([assets], resources={"ledger": ledger})
    assert result.asset_value("result")[0]["amount"] == 5
    assert ledger.lines == ["ok fetch_orders"]


def test_multi_asset_hooks_run_after_its_step() -> None:
    ledger = Ledger()

    @multi_asset(outs={"signups": AssetOut(), "churned": AssetOut()}, hooks={audit})
    def customer_counts() -> Any:
        yield Output(12, output_name="signups")
        yield Output(3, output_name="churned")

    result = materialize([customer_counts], resources={"ledger": ledger})
    assert result.asset_value("signups") == 12
    assert ledger.lines == ["ok customer_counts"]


def test_graph_asset_hooks_must_be_hooks() -> None:
    with pytest.raises(DefinitionError, match=r"hooks of asset 'totals': .* not a hook"):

        @graph_asset(hooks={print})  # type: ignore[arg-type]
        def totals() -> Any:
            return unpaid_total(fetch_orders())


@op
def count_orders(orders: list[dict[str, Any]]) -> int:
    return len(orders)


@op
def average_order(orders: list[dict[str, Any]], count: int) -> float:
    return float(sum(o["amount"] for o in orders)) / count


@graph_multi_asset(
    outs={"order_count": AssetOut(), "avg_order": AssetOut(), "unpaid_amount": AssetOut()},
    can_subset=True,
)
def order_stats() -> Any:
    orders = fetch_orders()
    count = count_orders(orders)
    return {
        "order_count": count,
        "avg_order": average_order(orders, count),
        "unpaid_amount": unpaid_total(orders),
    }


def _op_steps(result: Any) -> set[str]:
    return {e.step_key for e in result.all_events if e.event_type_value == "STEP_SUCCESS"}


def test_graph_multi_asset_can_subset_runs_only_the_ops_the_selection_needs(
    tmp_path: Path,
) -> None:
    resources = {"io_manager": FilesystemIOManager(base_dir=str(tmp_path))}
    materialize([order_stats], resources=resources)
    result = materialize([order_stats], selection=["avg_order"], resources=resources)
    assert result.asset_value("avg_order") == 6.0
    # as in Dagster, the walk upstream stops at another asset of the graph: order_count is
    # loaded from storage, not computed again
    assert _op_steps(result) == {"order_stats.fetch_orders", "order_stats.average_order"}
    materialized = [e.asset_key for e in result.get_asset_materialization_events()]
    assert materialized == [AssetKey("avg_order")]


def test_a_subset_that_reads_an_unmaterialized_asset_of_its_graph_names_it(
    tmp_path: Path,
) -> None:
    result = materialize(
        [order_stats],
        selection=["avg_order"],
        resources={"io_manager": FilesystemIOManager(base_dir=str(tmp_path))},
        raise_on_error=False,
    )
    error = result.step_error("order_stats.average_order")
    assert "failed to load input 'count' (asset 'order_count')" in str(error)


def test_graph_multi_asset_subset_of_an_unconnected_output() -> None:
    result = materialize([order_stats], selection=["unpaid_amount"])
    assert result.asset_value("unpaid_amount") == 7
    assert _op_steps(result) == {"order_stats.fetch_orders", "order_stats.unpaid_total"}


def test_graph_multi_asset_without_can_subset_cannot_be_split() -> None:
    @graph_multi_asset(outs={"order_count": AssetOut(), "unpaid_amount": AssetOut()})
    def order_counts() -> Any:
        orders = fetch_orders()
        return {"order_count": count_orders(orders), "unpaid_amount": unpaid_total(orders)}

    with pytest.raises(DefinitionError, match=r"cannot be split: the selection leaves out"):
        materialize([order_counts], selection=["order_count"])


@op
def join_orders(customers: list[str], orders: list[dict[str, Any]]) -> int:
    return len(customers) * len(orders)


@op
def echo_customers(customers: list[str]) -> list[str]:
    return sorted(customers)


def test_from_graph_internal_asset_deps_narrow_each_outputs_deps() -> None:
    @graph(out={"pairs": GraphOut(), "roster": GraphOut()})
    def crm(customers: list[str], orders: list[dict[str, Any]]) -> Any:
        return {"pairs": join_orders(customers, orders), "roster": echo_customers(customers)}

    @asset
    def customers() -> list[str]:
        return ["bo", "al"]

    @asset
    def orders() -> list[dict[str, Any]]:
        return [{"amount": 1, "paid": True}]

    crm_assets = AssetsDefinition.from_graph(
        crm, internal_asset_deps={"roster": {AssetKey("customers")}}
    )
    deps = {spec.key.to_user_string(): spec.dep_keys for spec in crm_assets.specs}
    assert deps == {
        "pairs": (AssetKey("customers"), AssetKey("orders")),
        "roster": (AssetKey("customers"),),
    }
    result = materialize([customers, orders, crm_assets])
    assert (result.asset_value("pairs"), result.asset_value("roster")) == (2, ["al", "bo"])


def test_from_op_internal_asset_deps_must_name_inputs() -> None:
    with pytest.raises(
        DefinitionError,
        match=r"internal_asset_deps\['result'\] of "
        r"AssetsDefinition.from_op\(op 'echo_customers'\) lists 'orders', "
        r"which is neither an input",
    ):
        AssetsDefinition.from_op(
            echo_customers, internal_asset_deps={"result": {AssetKey("orders")}}
        )
