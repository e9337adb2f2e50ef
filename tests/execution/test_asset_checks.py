"""Asset checks in runs: ``@asset_check`` steps, ``check_specs`` and blocking checks."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from knoll import (
    AssetCheckEvaluation,
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetIn,
    AssetKey,
    DailyPartitionsDefinition,
    Definitions,
    EventType,
    ExecutionError,
    InMemoryIOManager,
    InvalidInvocationError,
    MaterializeResult,
    Output,
    RunFailedError,
    UserCodeError,
    asset,
    asset_check,
    define_asset_job,
    materialize_to_memory,
)

ran: Counter[str] = Counter()


@pytest.fixture(autouse=True)
def reset_ran() -> None:
    ran.clear()


@asset
def orders() -> list[int]:
    ran["orders"] += 1
    return [3, 1, 2]


@asset
def revenue(orders: list[int]) -> int:
    ran["revenue"] += 1
    return sum(orders)


@asset
def report(revenue: int) -> str:
    ran["report"] += 1
    return f"revenue={revenue}"


@asset
def limits() -> int:
    return 5


@asset_check(asset=orders)
def orders_not_empty(orders: list[int]) -> AssetCheckResult:
    return AssetCheckResult(passed=bool(orders), metadata={"rows": len(orders)})


@asset_check(asset=orders, additional_ins={"limit": AssetIn("limits")})
def orders_under_limit(orders: list[int], limit: int) -> AssetCheckResult:
    return AssetCheckResult(passed=len(orders) <= limit, description=f"limit {limit}")


@asset_check(asset=orders, blocking=True)
def orders_sorted(context: AssetCheckExecutionContext, orders: list[int]) -> AssetCheckResult:
    assert isinstance(context, AssetCheckExecutionContext)
    return AssetCheckResult(passed=orders == sorted(orders), metadata={"first": orders[0]})


@asset_check(asset=orders, blocking=True)
def orders_warn_only(orders: list[int]) -> AssetCheckResult:
    return AssetCheckResult(passed=False, severity=AssetCheckSeverity.WARN)


def evaluations_by_name(evaluations: list[AssetCheckEvaluation]) -> dict[str, bool]:
    return {e.check_name: e.passed for e in evaluations}


def test_asset_check_runs_in_its_own_step_after_its_asset() -> None:
    result = materialize_to_memory([orders, orders_not_empty])

    assert result.success
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.asset_key == AssetKey("orders")
    assert evaluation.check_name == "orders_not_empty"
    assert evaluation.passed
    assert evaluation.metadata["rows"].value == 3
    starts = [e.step_key for e in result.events_of_type(EventType.STEP_START)]
    assert starts == ["orders", "orders_orders_not_empty"]
    event = result.events_of_type(EventType.ASSET_CHECK_EVALUATION)[0]
    assert event.step_key == "orders_orders_not_empty"
    assert event.message == "check orders:orders_not_empty passed"
    assert event.level == logging.INFO


def test_check_with_additional_inputs() -> None:
    result = materialize_to_memory([orders, limits, orders_under_limit])
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.passed
    assert evaluation.description == "limit 5"


def test_failed_non_blocking_check_does_not_fail_the_run() -> None:
    @asset_check(asset=orders)
    def orders_huge(orders: list[int]) -> AssetCheckResult:
        return AssetCheckResult(passed=len(orders) > 100)

    result = materialize_to_memory([orders, orders_huge, revenue])

    assert result.success
    assert evaluations_by_name(result.get_asset_check_evaluations()) == {"orders_huge": False}
    assert ran == Counter(orders=1, revenue=1)
    event = result.events_of_type(EventType.ASSET_CHECK_EVALUATION)[0]
    assert event.level == logging.ERROR


def test_failed_blocking_check_skips_downstream_and_fails_the_run() -> None:
    result = materialize_to_memory([orders, orders_sorted, revenue, report], raise_on_error=False)

    assert not result.success
    assert ran == Counter(orders=1)
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.blocking
    assert not evaluation.passed
    assert evaluation.blocks_downstream
    skipped = [(e.step_key, e.message) for e in result.get_step_skipped_events()]
    assert skipped == [
        ("revenue", "skipped asset 'revenue': a blocking check of upstream asset 'orders' failed"),
        ("report", "skipped asset 'report': upstream step 'revenue' was skipped"),
    ]
    assert result.failed_step_keys == []
    assert isinstance(result.run_error, RunFailedError)
    run_failure = result.events_of_type(EventType.RUN_FAILURE)[0]
    assert "blocking check orders:orders_sorted failed" in run_failure.message


def test_failed_blocking_check_raises_run_failed_error() -> None:
    with pytest.raises(RunFailedError) as info:
        materialize_to_memory([orders, orders_sorted, revenue, report])
    assert str(info.value) == (
        "blocking check orders:orders_sorted failed, so the assets downstream of it did not run "
        "(skipped steps: revenue, report). Fix the data, or make the check non-blocking."
    )
    assert isinstance(info.value, ExecutionError)


def test_passing_blocking_check_lets_downstream_run() -> None:
    @asset
    def sorted_orders() -> list[int]:
        return [1, 2, 3]

    @asset_check(asset=sorted_orders, blocking=True)
    def is_sorted(sorted_orders: list[int]) -> AssetCheckResult:
        return AssetCheckResult(passed=sorted_orders == sorted(sorted_orders))

    @asset
    def total(sorted_orders: list[int]) -> int:
        return sum(sorted_orders)

    result = materialize_to_memory([sorted_orders, is_sorted, total])
    assert result.success
    assert result.asset_value("total") == 6
    order = [e.step_key for e in result.events_of_type(EventType.STEP_START)]
    assert order.index("sorted_orders_is_sorted") < order.index("total")


def test_blocking_check_with_warn_severity_does_not_block() -> None:
    result = materialize_to_memory([orders, orders_warn_only, revenue])

    assert result.success
    assert ran == Counter(orders=1, revenue=1)
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.severity is AssetCheckSeverity.WARN
    assert not evaluation.blocks_downstream
    event = result.events_of_type(EventType.ASSET_CHECK_EVALUATION)[0]
    assert event.level == logging.WARNING


def test_check_that_raises_is_a_step_failure_naming_the_check() -> None:
    @asset_check(asset=orders)
    def crashes(orders: list[int]) -> AssetCheckResult:
        raise KeyError("column missing")

    result = materialize_to_memory([orders, crashes, revenue], raise_on_error=False)

    assert result.failed_step_keys == ["orders_crashes"]
    error = result.step_error("orders_crashes")
    assert isinstance(error, UserCodeError)
    assert str(error) == (
        "error in asset check 'orders:crashes' (step 'orders_crashes'): KeyError: 'column missing'"
    )
    assert ran == Counter(orders=1, revenue=1)


# ---- check_specs: checks reported by the asset itself ---------------------------------------


@asset(
    check_specs=[
        AssetCheckSpec("has_rows", asset="inventory"),
        AssetCheckSpec("no_negatives", asset="inventory", blocking=True),
    ]
)
def inventory() -> MaterializeResult:
    ran["inventory"] += 1
    stock = [4, -1, 2]
    return MaterializeResult(
        metadata={"rows": len(stock)},
        check_results=[
            AssetCheckResult(check_name="has_rows", passed=bool(stock)),
            AssetCheckResult(check_name="no_negatives", passed=min(stock) >= 0),
        ],
    )


@asset(deps=[inventory])
def restock() -> None:
    ran["restock"] += 1


def test_check_specs_results_come_from_the_asset_step() -> None:
    result = materialize_to_memory([inventory, restock], raise_on_error=False)

    assert evaluations_by_name(result.get_asset_check_evaluations()) == {
        "has_rows": True,
        "no_negatives": False,
    }
    check_steps = {e.step_key for e in result.events_of_type(EventType.ASSET_CHECK_EVALUATION)}
    assert check_steps == {"inventory"}
    [materialization] = result.asset_materializations_for_node("inventory")
    assert materialization.metadata["rows"].value == 3
    assert ran == Counter(inventory=1)
    assert [e.step_key for e in result.get_step_skipped_events()] == ["restock"]
    assert not result.success


def test_check_specs_with_yielded_results() -> None:
    @asset(check_specs=[AssetCheckSpec("positive", asset="stock")])
    def stock() -> Iterator[Any]:
        yield Output(5)
        yield AssetCheckResult(passed=True)

    result = materialize_to_memory([stock])
    assert result.asset_value("stock") == 5
    assert evaluations_by_name(result.get_asset_check_evaluations()) == {"positive": True}


def test_missing_check_result_fails_the_step() -> None:
    @asset(check_specs=[AssetCheckSpec("positive", asset="forgetful")])
    def forgetful() -> int:
        return 1

    with pytest.raises(ExecutionError) as info:
        materialize_to_memory([forgetful])
    assert str(info.value) == (
        "asset 'forgetful' did not return a result for check(s) forgetful:positive. Return "
        "AssetCheckResult(...) for each (inside MaterializeResult(check_results=[...]))."
    )


def test_undeclared_check_result_fails_the_step() -> None:
    @asset
    def surprising() -> MaterializeResult:
        return MaterializeResult(check_results=[AssetCheckResult(check_name="new", passed=True)])

    with pytest.raises(InvalidInvocationError, match="check 'surprising:new', which it does not"):
        materialize_to_memory([surprising])


def test_check_result_without_name_is_matched_to_the_single_check() -> None:
    @asset(check_specs=[AssetCheckSpec("only", asset="single")])
    def single() -> MaterializeResult:
        return MaterializeResult(check_results=[AssetCheckResult(passed=True)])

    result = materialize_to_memory([single])
    assert evaluations_by_name(result.get_asset_check_evaluations()) == {"only": True}


def test_duplicate_check_result_fails_the_step() -> None:
    @asset(check_specs=[AssetCheckSpec("only", asset="twice")])
    def twice() -> MaterializeResult:
        result = AssetCheckResult(check_name="only", passed=True)
        return MaterializeResult(check_results=[result, result])

    with pytest.raises(InvalidInvocationError, match="returned check 'twice:only' twice"):
        materialize_to_memory([twice])


# ---- in jobs and partitions ----------------------------------------------------------------


def test_asset_jobs_run_the_checks_of_their_assets() -> None:
    defs = Definitions(
        assets=[orders, revenue],
        asset_checks=[orders_not_empty],
        jobs=[define_asset_job("orders_job", selection=["orders"])],
        resources={"io_manager": InMemoryIOManager()},
    )
    result = defs.get_job_def("orders_job").execute_in_process()
    assert evaluations_by_name(result.get_asset_check_evaluations()) == {"orders_not_empty": True}
    assert ran == Counter(orders=1)


def test_check_of_a_partitioned_asset_records_the_partition() -> None:
    daily = DailyPartitionsDefinition(start_date="2024-01-01")

    @asset(partitions_def=daily)
    def daily_orders() -> int:
        return 3

    @asset_check(asset=daily_orders)
    def enough(daily_orders: int) -> AssetCheckResult:
        return AssetCheckResult(passed=daily_orders > 1)

    result = materialize_to_memory([daily_orders, enough], partition_key="2024-01-05")
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.partition == "2024-01-05"
    assert evaluation.passed


def test_a_check_returning_something_else_says_what_to_return() -> None:
    @asset
    def stock() -> int:
        return 1

    @asset_check(asset=stock)
    def stock_ok(stock: int) -> bool:
        return stock > 0

    result = materialize_to_memory([stock, stock_ok], raise_on_error=False)
    assert not result.success
    [failure] = result.get_step_failure_events()
    assert failure.message == (
        "asset check 'stock:stock_ok' returned a bool (True); an asset check returns "
        "AssetCheckResult(passed=...)."
    )
