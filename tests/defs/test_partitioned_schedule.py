"""build_schedule_from_partitioned_job: each tick requests the latest complete partition."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from knoll import (
    DailyPartitionsDefinition,
    DefaultScheduleStatus,
    Definitions,
    HourlyPartitionsDefinition,
    MonthlyPartitionsDefinition,
    MultiPartitionsDefinition,
    ScheduleDefinition,
    StaticPartitionsDefinition,
    WeeklyPartitionsDefinition,
    asset,
    build_schedule_context,
    build_schedule_from_partitioned_job,
    daily_partitioned_config,
    define_asset_job,
    job,
    op,
)
from knoll.errors import DefinitionError


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> Any:
    when = datetime(year, month, day, hour, minute, tzinfo=UTC)
    return build_schedule_context(scheduled_execution_time=when)


def built(schedule: object) -> ScheduleDefinition:
    """The schedule of a job whose partitions are known when it is declared."""
    assert isinstance(schedule, ScheduleDefinition)
    return schedule


@op(config_schema={"day": str})
def export_day(context: Any) -> str:
    return str(context.op_config["day"])


@daily_partitioned_config(
    start_date="2024-01-01", tags_for_partition_fn=lambda start, end: {"month": f"{start:%m}"}
)
def export_config(start: datetime, end: datetime) -> dict[str, Any]:
    return {"ops": {"export_day": {"config": {"day": f"{start:%Y-%m-%d}"}}}}


@job(config=export_config)
def daily_export() -> None:
    export_day()


def test_a_partitioned_op_job_runs_the_latest_day_with_its_config_and_tags() -> None:
    schedule = build_schedule_from_partitioned_job(
        daily_export, hour_of_day=2, minute_of_hour=30, tags={"source": "cron"}
    )
    assert isinstance(schedule, ScheduleDefinition)
    assert (schedule.name, schedule.cron_schedule) == ("daily_export_schedule", "30 2 * * *")
    assert schedule.execution_timezone == "UTC"
    assert schedule.default_status is DefaultScheduleStatus.STOPPED
    [request] = schedule.evaluate_tick(at(2024, 3, 1, 2, 30)).run_requests
    assert request.partition_key == "2024-02-29"
    assert request.run_key == "2024-02-29"
    assert request.run_config == {"ops": {"export_day": {"config": {"day": "2024-02-29"}}}}
    assert request.tags == {
        "month": "02",
        "source": "cron",
        "knoll/schedule_name": "daily_export_schedule",
    }
    result = daily_export.execute_in_process(
        run_config=request.run_config, partition_key=request.partition_key
    )
    assert result.output_for_node("export_day") == "2024-02-29"


def test_before_the_first_partition_ends_the_tick_skips() -> None:
    schedule = build_schedule_from_partitioned_job(daily_export)
    result = schedule.evaluate_tick(at(2024, 1, 1, 12))
    assert result.run_requests == ()
    when = datetime(2024, 1, 1, 12, tzinfo=UTC)
    assert result.skip_message == f"job 'daily_export' has no complete partition yet at {when}."


daily_sales_parts = DailyPartitionsDefinition(start_date="2024-01-01", timezone="Europe/Paris")


@asset(partitions_def=daily_sales_parts)
def daily_sales() -> int:
    return 1


def test_an_asset_job_over_time_partitioned_assets_is_resolved_by_definitions() -> None:
    sales_job = define_asset_job("sales_job", [daily_sales])
    schedule = build_schedule_from_partitioned_job(
        sales_job, name="nightly_sales", description="after midnight", minute_of_hour=10
    )
    defs = Definitions(assets=[daily_sales], jobs=[sales_job], schedules=[schedule])
    resolved = defs.get_schedule_def("nightly_sales")
    assert resolved.cron_schedule == "10 0 * * *"
    assert resolved.execution_timezone == "Europe/Paris"
    assert resolved.description == "after midnight"
    # 23:10 UTC on 9 March is 00:10 on 10 March in Paris: the 9th is complete
    [request] = resolved.evaluate_tick(at(2024, 3, 9, 23, 10)).run_requests
    assert (request.partition_key, request.job_name) == ("2024-03-09", "sales_job")
    assert request.run_config is None


def test_an_asset_job_with_its_own_partitions_def_builds_at_once() -> None:
    hourly = HourlyPartitionsDefinition(start_date="2024-01-01-00:00")
    sales_job = define_asset_job("hourly_job", "*", partitions_def=hourly)
    schedule = built(build_schedule_from_partitioned_job(sales_job, minute_of_hour=5))
    assert isinstance(schedule, ScheduleDefinition)
    assert schedule.cron_schedule == "5 * * * *"
    [request] = schedule.evaluate_tick(at(2024, 2, 1, 10, 5)).run_requests
    assert request.partition_key == "2024-02-01-09:00"


def test_weekly_and_monthly_partitions_move_the_tick_within_their_period() -> None:
    weekly = define_asset_job(
        "weekly_job", "*", partitions_def=WeeklyPartitionsDefinition("2024-01-07")
    )
    monthly = define_asset_job(
        "monthly_job", "*", partitions_def=MonthlyPartitionsDefinition("2024-01-01")
    )
    weekly_schedule = built(
        build_schedule_from_partitioned_job(weekly, day_of_week=1, hour_of_day=4)
    )
    monthly_schedule = built(build_schedule_from_partitioned_job(monthly, day_of_month=3))
    assert weekly_schedule.cron_schedule == "0 4 * * 1"
    assert monthly_schedule.cron_schedule == "0 0 3 * *"
    [request] = monthly_schedule.evaluate_tick(at(2024, 4, 3)).run_requests
    assert request.partition_key == "2024-03-01"


def test_static_partitions_need_a_cron_and_run_every_key() -> None:
    regions = define_asset_job(
        "regions", "*", partitions_def=StaticPartitionsDefinition(["eu", "us"])
    )
    with pytest.raises(DefinitionError) as raised:
        build_schedule_from_partitioned_job(regions)
    assert str(raised.value) == (
        "schedule 'regions_schedule' of job 'regions': job 'regions' has static partitions, "
        "which have no cadence; pass cron_schedule='0 0 * * *' (each tick runs every partition)."
    )
    schedule = built(build_schedule_from_partitioned_job(regions, cron_schedule="0 6 * * *"))
    keys = [r.partition_key for r in schedule.evaluate_tick(at(2024, 1, 1, 6)).run_requests]
    assert keys == ["eu", "us"]


def test_multi_partitions_run_every_key_of_the_latest_time_partition() -> None:
    parts = MultiPartitionsDefinition(
        {
            "date": DailyPartitionsDefinition("2024-01-01"),
            "region": StaticPartitionsDefinition(["eu", "us"]),
        }
    )
    multi = define_asset_job("multi_job", "*", partitions_def=parts)
    schedule = built(build_schedule_from_partitioned_job(multi))
    assert schedule.cron_schedule == "0 0 * * *"
    keys = [r.partition_key for r in schedule.evaluate_tick(at(2024, 1, 3)).run_requests]
    assert keys == ["2024-01-02|eu", "2024-01-02|us"]


def test_options_that_do_not_fit_are_refused() -> None:
    with pytest.raises(DefinitionError, match="both day_of_week and day_of_month"):
        build_schedule_from_partitioned_job(daily_export, day_of_week=1, day_of_month=2)
    with pytest.raises(DefinitionError, match="give either a cron schedule or the times"):
        build_schedule_from_partitioned_job(daily_export, cron_schedule="0 0 * * *", hour_of_day=1)
    with pytest.raises(DefinitionError, match="leave cron_schedule and execution_timezone out"):
        build_schedule_from_partitioned_job(daily_export, cron_schedule="0 3 * * *")
    with pytest.raises(DefinitionError) as raised:
        build_schedule_from_partitioned_job(daily_export, day_of_week=2)
    assert str(raised.value) == (
        "schedule 'daily_export_schedule' of job 'daily_export': day_of_week does not apply to "
        "daily partitions; leave it out."
    )
    with pytest.raises(DefinitionError, match="hour_of_day must be a whole number from 0 to 23"):
        build_schedule_from_partitioned_job(daily_export, hour_of_day=24)


def test_an_unpartitioned_job_is_refused() -> None:
    @job
    def plain() -> None:
        export_day()

    with pytest.raises(DefinitionError) as raised:
        build_schedule_from_partitioned_job(plain)
    assert str(raised.value) == (
        "schedule 'plain_schedule' of job 'plain': job 'plain' is not partitioned. Give it "
        "partitions_def= or a PartitionedConfig, or use ScheduleDefinition(cron_schedule=...) "
        "instead."
    )
    with pytest.raises(DefinitionError, match=r"takes a job .* got str"):
        build_schedule_from_partitioned_job("plain")  # type: ignore[call-overload]
