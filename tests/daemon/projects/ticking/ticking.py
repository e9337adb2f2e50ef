"""Schedules and sensors for the daemon's tests. The sensors read files dropped in the folder
that TICKING_DROP names (set in the code server's environment)."""

from __future__ import annotations

import os
from pathlib import Path

from knoll import (
    AssetKey,
    DailyPartitionsDefinition,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
    DynamicPartitionsDefinition,
    RunRequest,
    ScheduleDefinition,
    SensorResult,
    SkipReason,
    asset,
    build_schedule_from_partitioned_job,
    define_asset_job,
    schedule,
    sensor,
)

days = DailyPartitionsDefinition(start_date="2024-01-01")
files = DynamicPartitionsDefinition(name="files")


@asset
def orders() -> int:
    return 1


@asset(partitions_def=days)
def events() -> int:
    return 2


@asset(partitions_def=files)
def landed() -> int:
    return 3


orders_job = define_asset_job("orders_job", selection=[orders])
events_job = define_asset_job("events_job", selection=[events], partitions_def=days)
landed_job = define_asset_job("landed_job", selection=[landed], partitions_def=files)

hourly = ScheduleDefinition(
    name="hourly",
    cron_schedule="0 * * * *",
    job=orders_job,
    default_status=DefaultScheduleStatus.RUNNING,
    tags={"team": "sales"},
)
stopped = ScheduleDefinition(name="stopped", cron_schedule="*/5 * * * *", job=orders_job)
every_minute = ScheduleDefinition(name="every_minute", cron_schedule="* * * * *", job=orders_job)
quarter_hourly = ScheduleDefinition(
    name="quarter_hourly", cron_schedule="*/15 * * * *", job=orders_job
)
nightly_ny = ScheduleDefinition(
    name="nightly_ny",
    cron_schedule="30 2 * * *",
    job=orders_job,
    execution_timezone="America/New_York",
    default_status=DefaultScheduleStatus.RUNNING,
)
daily_events = build_schedule_from_partitioned_job(
    events_job, hour_of_day=1, default_status=DefaultScheduleStatus.RUNNING
)


@schedule(cron_schedule="15 * * * *", job=orders_job, default_status=DefaultScheduleStatus.RUNNING)
def broken_schedule(context):  # type: ignore[no-untyped-def]
    raise RuntimeError("the warehouse is closed")


def _dropped() -> list[str]:
    return sorted(path.name for path in Path(os.environ["TICKING_DROP"]).glob("*.csv"))


@sensor(job=orders_job, minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING)
def new_files(context):  # type: ignore[no-untyped-def]
    """One run per file, ever (run key = file name); the cursor is the last file seen."""
    seen = context.cursor or ""
    fresh = [name for name in _dropped() if name > seen]
    if not fresh:
        return SkipReason(f"no file after {seen or 'the start'}")
    context.update_cursor(fresh[-1])
    return [RunRequest(run_key=name, tags={"file": name}) for name in fresh]


@sensor(job=orders_job, minimum_interval_seconds=10)
def every_tick(context):  # type: ignore[no-untyped-def]
    """No run key: one run per tick."""
    return RunRequest()


@sensor(job=landed_job, minimum_interval_seconds=10, default_status=DefaultSensorStatus.RUNNING)
def landing(context):  # type: ignore[no-untyped-def]
    """Adds a dynamic partition per file and runs it."""
    names = [name.removesuffix(".csv") for name in _dropped()]
    known = set(context.instance.get_dynamic_partitions("files")) if context.instance else set()
    fresh = [name for name in names if name not in known]
    return SensorResult(
        run_requests=[RunRequest(run_key=f"landed-{n}", partition_key=n) for n in fresh],
        dynamic_partitions_requests=[files.build_add_request(fresh)] if fresh else [],
    )


defs = Definitions(
    assets=[orders, events, landed],
    jobs=[orders_job, events_job, landed_job],
    schedules=[
        hourly,
        stopped,
        every_minute,
        quarter_hourly,
        nightly_ny,
        daily_events,
        broken_schedule,
    ],
    sensors=[new_files, every_tick, landing],
)

__all__ = ["AssetKey", "defs"]
