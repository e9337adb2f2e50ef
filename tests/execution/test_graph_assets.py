"""Graph-backed assets: @graph_asset, @graph_multi_asset and AssetsDefinition.from_graph."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from knoll import (
    AssetCheckResult,
    AssetIn,
    AssetKey,
    AssetOut,
    AssetsDefinition,
    ConfigurableResource,
    DailyPartitionsDefinition,
    Definitions,
    FilesystemIOManager,
    OpExecutionContext,
    Out,
    asset,
    asset_check,
    define_asset_job,
    graph,
    graph_asset,
    graph_multi_asset,
    materialize,
    op,
)
from knoll.defs.executor import multiprocess_executor
from knoll.errors import DefinitionError
from knoll.execution.reexecution import ReexecutionOptions, execute_job
from knoll.instance import Instance


@asset
def raw_orders() -> list[dict[str, Any]]:
    return [
        {"id": 1, "amount": 30, "status": "paid"},
        {"id": 2, "amount": 12, "status": "refunded"},
        {"id": 3, "amount": 8, "status": "paid"},
    ]


@op
def keep_paid(raw_orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in raw_orders if o["status"] == "paid"]


@op
def revenue(orders: list[dict[str, Any]]) -> int:
    return sum(o["amount"] for o in orders)


@graph_asset(group_name="finance", metadata={"owner": "finance"}, tags={"tier": "gold"})
def paid_revenue(raw_orders: list[dict[str, Any]]) -> Any:
    """Revenue of the paid orders."""
    return revenue(keep_paid(raw_orders))


@asset
def revenue_report(paid_revenue: int) -> str:
    return f"revenue: {paid_revenue}"


def _events(result: Any, kind: str) -> list[str | None]:
    return [e.step_key for e in result.all_events if e.event_type_value == kind]


def test_graph_asset_runs_its_ops_as_steps_and_records_the_asset_on_the_last() -> None:
    result = materialize([raw_orders, paid_revenue, revenue_report])
    assert result.success
    assert _events(result, "STEP_START") == [
        "raw_orders",
        "paid_revenue.keep_paid",
        "paid_revenue.revenue",
        "revenue_report",
    ]
    assert _events(result, "ASSET_MATERIALIZATION") == [
        "raw_orders",
        "paid_revenue.revenue",
        "revenue_report",
    ]
    assert result.asset_value("paid_revenue") == 38
    assert result.output_for_node("paid_revenue.keep_paid") == [
        {"id": 1, "amount": 30, "status": "paid"},
        {"id": 3, "amount": 8, "status": "paid"},
    ]
    assert result.asset_value("revenue_report") == "revenue: 38"


def test_graph_asset_attributes_land_on_its_spec() -> None:
    spec = paid_revenue.spec_for(AssetKey("paid_revenue"))
    assert paid_revenue.key == AssetKey("paid_revenue")
    assert spec.group_name == "finance"
    assert spec.tags == {"tier": "gold"}
    assert spec.description == "Revenue of the paid orders."
    assert [d.asset_key for d in spec.deps] == [AssetKey("raw_orders")]
    assert paid_revenue.input_keys == {"raw_orders": AssetKey("raw_orders")}


def test_graph_asset_loads_an_upstream_asset_not_in_the_run(tmp_path: Path) -> None:
    io = {"io_manager": FilesystemIOManager(base_dir=str(tmp_path))}
    assert materialize([raw_orders], resources=io).success
    result = materialize([raw_orders, paid_revenue], resources=io, selection=[paid_revenue])
    assert result.success
    assert result.asset_value("paid_revenue") == 38


def test_key_prefix_ins_and_key() -> None:
    @asset(key_prefix="shop")
    def orders() -> list[dict[str, Any]]:
        return [{"id": 9, "amount": 5, "status": "paid"}]

    @graph_asset(key_prefix="shop", ins={"source": AssetIn(key=["shop", "orders"])})
    def shop_revenue(source: list[dict[str, Any]]) -> Any:
        return revenue(keep_paid(source))

    @graph_asset(key=["exec", "headline"], ins={"source": AssetIn(key=["shop", "orders"])})
    def headline(source: list[dict[str, Any]]) -> Any:
        return revenue(source)

    result = materialize([orders, shop_revenue, headline])
    assert result.asset_value(["shop", "shop_revenue"]) == 5
    assert result.asset_value(["exec", "headline"]) == 5
    assert "shop__shop_revenue.keep_paid" in _events(result, "STEP_START")


class Rates(ConfigurableResource):
    euro: float


def test_ops_of_a_graph_asset_get_resources_and_the_partition_key() -> None:
    days = DailyPartitionsDefinition(start_date="2024-01-01")

    @op
    def fetch(context: OpExecutionContext) -> int:
        return int(context.partition_key[-2:])

    @op
    def in_euro(amount: int, rates: Rates) -> float:
        return amount * rates.euro

    @graph_asset(partitions_def=days)
    def daily_euro() -> Any:
        return in_euro(fetch())

    result = materialize(
        [daily_euro], resources={"rates": Rates(euro=0.5)}, partition_key="2024-01-10"
    )
    assert result.asset_value("daily_euro") == 5.0
    materialized = [e for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"]
    assert materialized[0].partition == "2024-01-10"


@op(out={"small": Out(), "large": Out()})
def split(raw_orders: list[dict[str, Any]]) -> tuple[list[int], list[int]]:
    amounts = [o["amount"] for o in raw_orders]
    return [a for a in amounts if a < 10], [a for a in amounts if a >= 10]


@op
def count(amounts: list[int]) -> int:
    return len(amounts)


@graph_multi_asset(outs={"small_orders": AssetOut(), "large_orders": AssetOut(group_name="big")})
def order_sizes(raw_orders: list[dict[str, Any]]) -> Any:
    small, large = split(raw_orders)
    return {"small_orders": count(small), "large_orders": count(large)}


def test_graph_multi_asset_records_each_asset_on_the_op_that_computes_it() -> None:
    result = materialize([raw_orders, order_sizes])
    assert result.success
    assert result.asset_value("small_orders") == 1
    assert result.asset_value("large_orders") == 2
    by_step = {
        e.asset_key.to_user_string(): e.step_key
        for e in result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION" and e.asset_key is not None
    }
    assert by_step == {
        "raw_orders": "raw_orders",
        "small_orders": "order_sizes.count",
        "large_orders": "order_sizes.count_2",
    }
    assert order_sizes.spec_for(AssetKey("large_orders")).group_name == "big"


def test_from_graph_maps_inputs_and_outputs_to_keys() -> None:
    @graph
    def totals(orders: list[dict[str, Any]]) -> Any:
        return revenue(keep_paid(orders))

    totals_asset = AssetsDefinition.from_graph(
        totals,
        keys_by_input_name={"orders": AssetKey("raw_orders")},
        keys_by_output_name={"result": AssetKey(["finance", "totals"])},
        group_name="finance",
    )
    result = materialize([raw_orders, totals_asset])
    assert result.asset_value(["finance", "totals"]) == 38
    assert totals_asset.spec_for(AssetKey(["finance", "totals"])).group_name == "finance"
    assert "totals.keep_paid" in _events(result, "STEP_START")


def test_from_graph_names_an_unknown_input() -> None:
    @graph
    def totals(orders: list[dict[str, Any]]) -> Any:
        return revenue(orders)

    with pytest.raises(DefinitionError) as caught:
        AssetsDefinition.from_graph(totals, keys_by_input_name={"order": AssetKey("raw")})
    assert str(caught.value) == (
        "keys_by_input_name of AssetsDefinition.from_graph names 'order', which is not an "
        "input of graph 'totals'. Did you mean 'orders'?"
    )


def test_a_graph_asset_errors_name_the_asset() -> None:
    with pytest.raises(DefinitionError, match=r"asset 'nothing_out' \(.*\) returns no output"):

        @graph_asset
        def nothing_out() -> None:
            revenue([])

    with pytest.raises(DefinitionError, match="a @graph_asset computes one asset"):

        @graph_asset(name="two")
        def _two(raw_orders: list[dict[str, Any]]) -> Any:
            small, large = split(raw_orders)
            return {"small": small, "large": large}

    with pytest.raises(DefinitionError, match="maps input 'rows' in ins="):

        @graph_asset(ins={"rows": AssetIn(key="raw_orders")})
        def mapped(raw_orders: list[dict[str, Any]]) -> Any:
            return revenue(raw_orders)

    with pytest.raises(DefinitionError, match="cannot be called directly"):
        paid_revenue([])


def _failing_defs(tmp_path: Path, executor: Any) -> Definitions:
    broken = tmp_path / "broken"
    broken.touch()

    @op
    def paid_only(orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
        with (tmp_path / "paid_only_calls").open("a") as calls:
            calls.write("x\n")
        return [o for o in orders if o["status"] == "paid"]

    @op
    def check_amounts(orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if broken.exists():
            raise RuntimeError("the amounts feed is late")
        return orders

    @graph_asset
    def checked_revenue(raw_orders: list[dict[str, Any]]) -> Any:
        return revenue(check_amounts(paid_only(raw_orders)))

    return Definitions(
        assets=[raw_orders, checked_revenue],
        jobs=[define_asset_job("orders_job", selection=[raw_orders, checked_revenue])],
        resources={"io_manager": FilesystemIOManager(base_dir=str(tmp_path / "out"))},
        executor=executor,
    )


@pytest.mark.parametrize("executor", [None, multiprocess_executor(max_concurrent=2)])
def test_reexecution_from_failure_resumes_inside_the_graph_asset(
    tmp_path: Path, executor: Any
) -> None:
    instance = Instance.get(tmp_path / "home")
    job = _failing_defs(tmp_path, executor).get_job_def("orders_job")
    parent = execute_job(job, instance)
    assert parent.failed_step_keys == ["checked_revenue.check_amounts"]
    (tmp_path / "broken").unlink()
    options = ReexecutionOptions.from_failure(parent.run_id, instance)
    assert sorted(options.step_selection) == [
        "checked_revenue.check_amounts",
        "checked_revenue.revenue",
    ]
    child = execute_job(job, instance, reexecution_options=options)
    assert child.success
    assert child.asset_value("checked_revenue") == 38
    # the op that succeeded in the parent run did not run again: its stored output was loaded
    assert (tmp_path / "paid_only_calls").read_text() == "x\n"
    assert child.run.tags["knoll/step_selection"] == (
        "checked_revenue.check_amounts,checked_revenue.revenue"
    )
    record = instance.get_latest_materialization(AssetKey("checked_revenue"))
    assert record is not None
    assert (record.event.run_id, record.event.step_key) == (
        child.run_id,
        "checked_revenue.revenue",
    )


def test_from_op_makes_one_step_asset_per_output() -> None:
    sizes = AssetsDefinition.from_op(
        split,
        keys_by_input_name={"raw_orders": AssetKey("raw_orders")},
        keys_by_output_name={"small": AssetKey("small"), "large": AssetKey(["by_size", "large"])},
        group_names_by_output_name={"large": "big"},
    )
    result = materialize([raw_orders, sizes])
    assert result.asset_value("small") == [8]
    assert result.asset_value(["by_size", "large"]) == [30, 12]
    assert _events(result, "STEP_START") == ["raw_orders", "split"]
    assert sizes.spec_for(AssetKey(["by_size", "large"])).group_name == "big"

    with pytest.raises(DefinitionError) as caught:
        AssetsDefinition.from_op(split, keys_by_output_name={"medium": AssetKey("medium")})
    assert str(caught.value) == (
        "keys_by_output_name of AssetsDefinition.from_op names 'medium', which is not an output "
        "of op 'split'."
    )


def test_an_asset_check_on_a_graph_asset_runs_after_the_op_that_computes_it() -> None:
    @asset_check(asset=paid_revenue, blocking=True)
    def revenue_is_positive(paid_revenue: int) -> AssetCheckResult:
        return AssetCheckResult(passed=paid_revenue > 0, metadata={"revenue": paid_revenue})

    result = materialize([raw_orders, paid_revenue, revenue_is_positive, revenue_report])
    assert _events(result, "STEP_START") == [
        "raw_orders",
        "paid_revenue.keep_paid",
        "paid_revenue.revenue",
        "paid_revenue_revenue_is_positive",
        "revenue_report",
    ]
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.passed
    assert result.asset_value("revenue_report") == "revenue: 38"
