"""Partition-aware multi-asset sensors over several ticks, on every backend (SQLite files,
memory, and PostgreSQL when KNOLL_TEST_POSTGRES_URL is set): a daily pair of upstream
assets, a sensor that reconciles a day once both have landed, and Dagster's cursor rule
that a day passed over but not consumed stays available on later ticks."""

from __future__ import annotations

import json

import pytest

from knoll import (
    AssetKey,
    DailyPartitionsDefinition,
    Definitions,
    InvalidInvocationError,
    MultiAssetSensorEvaluationContext,
    RunRequest,
    SkipReason,
    asset,
    build_multi_asset_sensor_context,
    define_asset_job,
    materialize,
    multi_asset_sensor,
)
from knoll.defs.asset import AssetsDefinition
from knoll.defs.sensor import SensorEvaluationResult
from knoll.instance import Instance

DAYS = DailyPartitionsDefinition(start_date="2024-05-01", end_date="2024-05-08")
ORDERS, PAYMENTS = AssetKey("daily_orders"), AssetKey("daily_payments")


@asset(partitions_def=DAYS)
def daily_orders() -> int:
    return 10


@asset(partitions_def=DAYS)
def daily_payments() -> int:
    return 9


@asset(partitions_def=DAYS, deps=[daily_orders, daily_payments])
def daily_reconciliation() -> None:
    return None


@asset
def fx_rates() -> float:
    return 1.1


reconcile_job = define_asset_job("reconcile_job", selection=[daily_reconciliation])


@multi_asset_sensor(monitored_assets=[ORDERS, PAYMENTS], job=reconcile_job)
def both_days_landed(context: MultiAssetSensorEvaluationContext):  # type: ignore[no-untyped-def]
    requests = []
    for day, records in context.latest_materialization_records_by_partition_and_asset().items():
        if len(records) == 2:  # orders and payments of that day: consume both
            context.advance_cursor(records)
            requests.append(RunRequest(run_key=day, partition_key=day))
    return requests or SkipReason("no day has both orders and payments yet")


defs = Definitions(
    assets=[daily_orders, daily_payments, daily_reconciliation, fx_rates],
    jobs=[reconcile_job],
    sensors=[both_days_landed],
)


def _land(instance: Instance, asset_def: AssetsDefinition, *days: str) -> None:
    for day in days:
        materialize([asset_def], instance=instance, partition_key=day)


def _tick(instance: Instance, cursor: str | None) -> SensorEvaluationResult:
    context = build_multi_asset_sensor_context(
        [ORDERS, PAYMENTS], instance=instance, cursor=cursor, definitions=defs
    )
    return both_days_landed.evaluate_tick(context)


def _context(instance: Instance, cursor: str | None) -> MultiAssetSensorEvaluationContext:
    return build_multi_asset_sensor_context(
        [ORDERS, PAYMENTS], instance=instance, cursor=cursor, definitions=defs
    )


def test_a_day_passed_over_stays_available_until_it_is_consumed(instance: Instance) -> None:
    _land(instance, daily_orders, "2024-05-01", "2024-05-02")
    _land(instance, daily_payments, "2024-05-02")
    first = _tick(instance, None)
    assert [r.partition_key for r in first.run_requests] == ["2024-05-02"]
    # orders of 05-01 were stored before the consumed 05-02: kept as trailing unconsumed
    context = _context(instance, first.cursor)
    assert context.get_cursor_partition(ORDERS) == "2024-05-02"
    assert [r.partition_key for r in context.get_trailing_unconsumed_events(ORDERS)] == [
        "2024-05-01"
    ]
    assert context.get_trailing_unconsumed_events(PAYMENTS) == []
    assert list(context.latest_materialization_records_by_partition(ORDERS)) == ["2024-05-01"]

    # nothing new: the sensor skips and keeps its cursor
    idle = _tick(instance, first.cursor)
    assert idle.skip_message == "no day has both orders and payments yet"
    assert idle.cursor == first.cursor

    # payments of 05-01 land late: the trailing orders event pairs with them
    _land(instance, daily_payments, "2024-05-01")
    second = _tick(instance, first.cursor)
    assert [r.partition_key for r in second.run_requests] == ["2024-05-01"]
    after = _context(instance, second.cursor)
    assert after.get_trailing_unconsumed_events(ORDERS) == []
    assert after.latest_materialization_records_by_partition_and_asset() == {}
    assert after.get_cursor_partition(ORDERS) == "2024-05-02"  # the newest consumed event
    assert after.get_cursor_partition(PAYMENTS) == "2024-05-01"

    # a re-run of 05-02 orders and a new day: only 05-03 gets both, 05-02 orders wait
    _land(instance, daily_orders, "2024-05-02", "2024-05-03")
    _land(instance, daily_payments, "2024-05-03")
    third = _tick(instance, second.cursor)
    assert [r.partition_key for r in third.run_requests] == ["2024-05-03"]
    waiting = _context(instance, third.cursor)
    assert [r.partition_key for r in waiting.get_trailing_unconsumed_events(ORDERS)] == [
        "2024-05-02"
    ]
    stored = json.loads(third.cursor or "")
    assert stored["daily_orders"][0] == "2024-05-03"
    assert list(stored["daily_orders"][2]) == ["2024-05-02"]


def test_only_the_newest_event_of_a_trailing_partition_is_kept(instance: Instance) -> None:
    _land(instance, daily_orders, "2024-05-04", "2024-05-04", "2024-05-05")
    context = _context(instance, None)
    records = context.materialization_records_for_key(ORDERS)
    context.advance_cursor({ORDERS: records[2]})
    later = _context(instance, context.cursor)
    (kept,) = later.get_trailing_unconsumed_events(ORDERS)
    assert kept.storage_id == records[1].storage_id
    # consuming it clears the partition
    later.advance_cursor({ORDERS: kept})
    done = _context(instance, later.cursor)
    assert done.get_trailing_unconsumed_events(ORDERS) == []
    assert done.get_cursor_partition(ORDERS) == "2024-05-05"


def test_advance_all_cursors_drops_trailing_events(instance: Instance) -> None:
    _land(instance, daily_orders, "2024-05-01", "2024-05-02")
    context = _context(instance, None)
    context.advance_cursor({ORDERS: context.materialization_records_for_key(ORDERS)[1]})
    trailing = _context(instance, context.cursor)
    assert len(trailing.get_trailing_unconsumed_events(ORDERS)) == 1
    _land(instance, daily_orders, "2024-05-03")
    trailing.advance_all_cursors()
    cleared = _context(instance, trailing.cursor)
    assert cleared.get_trailing_unconsumed_events(ORDERS) == []
    assert cleared.latest_materialization_records_by_partition(ORDERS) == {}
    assert cleared.get_cursor_partition(ORDERS) == "2024-05-03"


def test_records_after_the_cursor_partition_and_partition_completeness(
    instance: Instance,
) -> None:
    _land(instance, daily_orders, "2024-05-03", "2024-05-01", "2024-05-05")
    context = _context(instance, None)
    by_day = context.latest_materialization_records_by_partition(ORDERS)
    assert list(by_day) == ["2024-05-03", "2024-05-01", "2024-05-05"]  # in stored order
    context.advance_cursor({ORDERS: by_day["2024-05-03"]})
    later = _context(instance, context.cursor)
    assert list(later.latest_materialization_records_by_partition(ORDERS)) == [
        "2024-05-01",
        "2024-05-05",
    ]
    after = later.latest_materialization_records_by_partition(ORDERS, after_cursor_partition=True)
    assert list(after) == ["2024-05-05"]
    assert later.all_partitions_materialized(ORDERS, ["2024-05-01", "2024-05-03"])
    assert not later.all_partitions_materialized(ORDERS, ["2024-05-01", "2024-05-02"])
    assert not later.all_partitions_materialized(ORDERS)
    _land(instance, daily_orders, "2024-05-02", "2024-05-04", "2024-05-06", "2024-05-07")
    assert later.all_partitions_materialized(ORDERS)


def test_a_cursor_of_the_earlier_form_is_read_as_the_consumed_id(instance: Instance) -> None:
    _land(instance, daily_orders, "2024-05-01", "2024-05-02")
    first = _context(instance, None).materialization_records_for_key(ORDERS)[0]
    context = _context(instance, json.dumps({"daily_orders": first.storage_id}))
    assert [r.partition_key for r in context.materialization_records_for_key(ORDERS)] == [
        "2024-05-02"
    ]
    assert context.get_cursor_partition(ORDERS) is None


def test_partition_reads_explain_what_they_need(instance: Instance) -> None:
    mixed = build_multi_asset_sensor_context(
        [ORDERS, AssetKey("fx_rates")], instance=instance, definitions=defs
    )
    with pytest.raises(InvalidInvocationError) as info:
        mixed.latest_materialization_records_by_partition("fx_rates")
    assert str(info.value) == (
        "multi-asset sensor: latest_materialization_records_by_partition needs a partitioned "
        "asset, and fx_rates is not partitioned (or not in the sensor's definitions): read it "
        "with latest_materialization_records_by_key() instead."
    )
    with pytest.raises(InvalidInvocationError, match="needs a partitioned asset"):
        mixed.latest_materialization_records_by_partition_and_asset()
    with pytest.raises(InvalidInvocationError, match="needs an asset key when the sensor watches"):
        mixed.get_cursor_partition()
    with pytest.raises(InvalidInvocationError, match="takes a non-empty list of partition keys"):
        mixed.all_partitions_materialized(ORDERS, [])
    bare = build_multi_asset_sensor_context([ORDERS], instance=instance)
    with pytest.raises(InvalidInvocationError, match="definitions=defs"):
        bare.latest_materialization_records_by_partition(ORDERS, after_cursor_partition=True)
    with pytest.raises(InvalidInvocationError, match="is not one this sensor wrote"):
        build_multi_asset_sensor_context([ORDERS], cursor='{"daily_orders": [1, 2]}')


def test_too_many_days_passed_over_is_an_error_that_says_what_to_do(instance: Instance) -> None:
    wide = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-03-01")

    @asset(partitions_def=wide, name="daily_clicks")
    def clicks() -> int:
        return 1

    for day in range(1, 27):
        materialize([clicks], instance=instance, partition_key=f"2024-01-{day:02d}")
    context = build_multi_asset_sensor_context(
        ["daily_clicks"], instance=instance, definitions=Definitions(assets=[clicks])
    )
    newest = context.latest_materialization_records_by_key()[AssetKey("daily_clicks")]
    with pytest.raises(InvalidInvocationError) as info:
        context.advance_cursor({AssetKey("daily_clicks"): newest})
    message = str(info.value)
    assert "asset daily_clicks would keep 25 partitions" in message
    assert "context.advance_all_cursors()" in message
    context.advance_all_cursors()
    cleared = build_multi_asset_sensor_context(
        ["daily_clicks"], instance=instance, cursor=context.cursor
    )
    assert cleared.get_trailing_unconsumed_events("daily_clicks") == []
