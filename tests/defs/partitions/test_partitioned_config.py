"""PartitionedConfig and its decorators: run config and tags from a partition."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from knoll import (
    HourlyPartitionsDefinition,
    MonthlyPartitionsDefinition,
    Partition,
    PartitionedConfig,
    RunConfig,
    StaticPartitionsDefinition,
    WeeklyPartitionsDefinition,
    daily_partitioned_config,
    dynamic_partitioned_config,
    hourly_partitioned_config,
    job,
    monthly_partitioned_config,
    op,
    partitioned_config,
    static_partitioned_config,
    weekly_partitioned_config,
)
from knoll.errors import DefinitionError, InvalidInvocationError, UserCodeError


def window(start: datetime, end: datetime) -> dict[str, Any]:
    return {"ops": {"export": {"config": {"start": start.isoformat(), "end": end.isoformat()}}}}


def test_daily_config_gets_the_day_window_with_offsets_and_timezone() -> None:
    @daily_partitioned_config(
        start_date="2024-05-01", hour_offset=6, timezone="Europe/Berlin", fmt="%Y%m%d"
    )
    def by_day(start: datetime, end: datetime) -> dict[str, Any]:
        return window(start, end)

    assert by_day.get_partition_keys(datetime(2024, 5, 3, 12, tzinfo=UTC)) == [
        "20240501",
        "20240502",
    ]
    config = by_day.get_run_config_for_partition_key("20240502")
    assert config["ops"]["export"]["config"] == {
        "start": "2024-05-02T06:00:00+02:00",
        "end": "2024-05-03T06:00:00+02:00",
    }
    # the decorated function stays callable, for tests of its own
    assert by_day(datetime(2024, 1, 1), datetime(2024, 1, 2))["ops"]["export"]["config"] == {
        "start": "2024-01-01T00:00:00",
        "end": "2024-01-02T00:00:00",
    }


def test_hourly_weekly_and_monthly_configs_use_their_cadence() -> None:
    hourly = hourly_partitioned_config(start_date="2024-05-01-00:00", minute_offset=15)(window)
    weekly = weekly_partitioned_config(start_date="2024-05-05", day_offset=1, hour_offset=3)(window)
    monthly = monthly_partitioned_config(start_date="2024-01-01", day_offset=5, end_offset=1)(
        window
    )
    assert hourly.partitions_def == HourlyPartitionsDefinition(
        start_date="2024-05-01-00:00", minute_offset=15
    )
    assert weekly.partitions_def == WeeklyPartitionsDefinition(
        start_date="2024-05-05", day_offset=1, hour_offset=3
    )
    assert monthly.partitions_def == MonthlyPartitionsDefinition(
        start_date="2024-01-01", day_offset=5, end_offset=1
    )
    start = hourly.get_run_config_for_partition_key("2024-05-01-02:15")["ops"]["export"]
    assert start["config"]["start"] == "2024-05-01T02:15:00+00:00"
    week = weekly.get_run_config_for_partition_key("2024-05-06")["ops"]["export"]["config"]
    assert week == {"start": "2024-05-06T03:00:00+00:00", "end": "2024-05-13T03:00:00+00:00"}
    month = monthly.get_run_config_for_partition_key("2024-02-05")["ops"]["export"]["config"]
    assert month["end"] == "2024-03-05T00:00:00+00:00"


def test_time_window_tags_get_start_and_end() -> None:
    @monthly_partitioned_config(
        start_date="2024-01-01",
        tags_for_partition_fn=lambda start, end: {"quarter": f"q{(start.month - 1) // 3 + 1}"},
    )
    def by_month(start: datetime, end: datetime) -> dict[str, Any]:
        return {}

    assert by_month.get_tags_for_partition_key("2024-05-01") == {"quarter": "q2"}
    assert by_month.get_run_config_for_partition_key("2024-05-01") == {}


def test_static_config_with_tags_per_key() -> None:
    @static_partitioned_config(
        partition_keys=["eu", "us"], tags_for_partition_key_fn=lambda key: {"region": key}
    )
    def by_region(partition_key: str) -> RunConfig:
        return RunConfig(resources={"warehouse": {"config": {"schema": partition_key}}})

    assert by_region.partitions_def == StaticPartitionsDefinition(["eu", "us"])
    assert by_region.get_run_config_for_partition_key("us") == {
        "resources": {"warehouse": {"config": {"schema": "us"}}}
    }
    assert by_region.get_tags_for_partition_key("eu") == {"region": "eu"}


def test_dynamic_config_lists_keys_with_a_function_of_the_time() -> None:
    seen: list[datetime | None] = []

    def customers(now: datetime | None) -> list[str]:
        seen.append(now)
        return ["acme", "globex"]

    @dynamic_partitioned_config(partition_fn=customers)
    def by_customer(partition_key: str) -> dict[str, Any]:
        return {"ops": {"export": {"config": {"customer": partition_key}}}}

    at = datetime(2024, 5, 1, tzinfo=UTC)
    assert by_customer.get_partition_keys(at) == ["acme", "globex"]
    assert seen == [at]

    @op(config_schema={"customer": str})
    def export(context: Any) -> str:
        return str(context.op_config["customer"])

    @job(config=by_customer)
    def customer_export() -> None:
        export()

    result = customer_export.execute_in_process(partition_key="globex")
    assert result.output_for_node("export") == "globex"
    with pytest.raises(Exception, match="initech"):
        customer_export.execute_in_process(partition_key="initech")


def test_partitioned_config_by_partition_object_or_key() -> None:
    pdef = StaticPartitionsDefinition(["a", "b"])
    by_partition = PartitionedConfig(
        pdef,
        run_config_for_partition_fn=lambda p: {"ops": {"x": {"config": p.name}}},
        tags_for_partition_fn=lambda p: {"part": p.value},
    )
    assert by_partition.get_run_config_for_partition_key("b") == {"ops": {"x": {"config": "b"}}}
    assert by_partition.get_tags_for_partition_key("a") == {"part": "a"}
    by_key = partitioned_config(pdef)(lambda key: {"ops": {"x": {"config": key}}})
    assert by_key.get_run_config_for_partition_key("a") == {"ops": {"x": {"config": "a"}}}
    assert by_key("b") == {"ops": {"x": {"config": "b"}}}
    assert Partition(value="a", name="a").name == "a"


def test_partitioned_config_needs_one_config_function() -> None:
    pdef = StaticPartitionsDefinition(["a"])
    with pytest.raises(DefinitionError) as raised:
        PartitionedConfig(pdef)
    assert str(raised.value) == (
        "PartitionedConfig needs exactly one of run_config_for_partition_key_fn (a function of "
        "the partition key) and run_config_for_partition_fn."
    )
    with pytest.raises(DefinitionError, match="tags_for_partition_key_fn or"):
        PartitionedConfig(
            pdef,
            run_config_for_partition_key_fn=lambda key: {},
            tags_for_partition_fn=lambda p: {},
            tags_for_partition_key_fn=lambda key: {},
        )
    with pytest.raises(DefinitionError, match="needs a partitions definition, got str"):
        PartitionedConfig("daily", run_config_for_partition_key_fn=lambda key: {})  # type: ignore[arg-type]


def test_a_config_made_without_a_decorator_cannot_be_called() -> None:
    config = PartitionedConfig(
        StaticPartitionsDefinition(["a"]), run_config_for_partition_key_fn=lambda key: {}
    )
    with pytest.raises(InvalidInvocationError, match="only a PartitionedConfig made by a"):
        config("a")


def test_errors_of_the_config_function_name_the_partition() -> None:
    def broken(key: str) -> dict[str, Any]:
        raise ValueError("no such region")

    config = PartitionedConfig(
        StaticPartitionsDefinition(["eu"]), run_config_for_partition_key_fn=broken
    )
    with pytest.raises(UserCodeError) as raised:
        config.get_run_config_for_partition_key("eu", "job 'regions'")
    assert str(raised.value) == (
        "the partitioned config of job 'regions' raised ValueError computing the run config of "
        "partition 'eu': no such region"
    )
    wrong = PartitionedConfig(
        StaticPartitionsDefinition(["eu"]), run_config_for_partition_key_fn=lambda key: 3
    )
    with pytest.raises(DefinitionError, match="returned int for partition 'eu'; return a run"):
        wrong.get_run_config_for_partition_key("eu")
