"""The definitions the daemon workloads serve, built the same way with knoll and with Dagster.

``KNOLL_BENCH_DAEMON`` says which: ``tick`` (one asset, its job, and a schedule on
``* * * * *``, running by default) or ``memory:N`` (the same asset and job, N schedules on a
cron that fires once a year, on 1 January at 00:00, and N sensors with
``minimum_interval_seconds=30`` that return a ``SkipReason``, all running by default). The
per-system modules ``_daemon_knoll_defs`` / ``_daemon_dagster_defs`` pass their package in.
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import Any

MODE_VARIABLE = "KNOLL_BENCH_DAEMON"
JOB = "tick_job"
IDLE_CRON = "0 0 1 1 *"
SENSOR_INTERVAL_S = 30


def tick_value() -> int:
    """The body of the one asset."""
    return 1


def make_definitions(pkg: ModuleType) -> Any:
    """``pkg.Definitions`` for the mode in ``KNOLL_BENCH_DAEMON`` (``pkg``: knoll or dagster)."""
    mode = os.environ.get(MODE_VARIABLE, "tick")
    tick_asset = pkg.asset(name="tick_asset")(tick_value)
    job = pkg.define_asset_job(JOB, selection=[tick_asset])
    if mode == "tick":
        schedule = pkg.ScheduleDefinition(
            name="every_minute",
            cron_schedule="* * * * *",
            job=job,
            default_status=pkg.DefaultScheduleStatus.RUNNING,
        )
        return pkg.Definitions(assets=[tick_asset], jobs=[job], schedules=[schedule])
    kind, _, count = mode.partition(":")
    if kind != "memory" or not count.isdigit():
        raise SystemExit(f"{MODE_VARIABLE}={mode!r}: expected 'tick' or 'memory:N'")
    size = int(count)
    schedules = [
        pkg.ScheduleDefinition(
            name=f"idle_schedule_{i}",
            cron_schedule=IDLE_CRON,
            job=job,
            default_status=pkg.DefaultScheduleStatus.RUNNING,
        )
        for i in range(size)
    ]
    sensors = [_skipping_sensor(pkg, f"skipping_sensor_{i}", job) for i in range(size)]
    return pkg.Definitions(assets=[tick_asset], jobs=[job], schedules=schedules, sensors=sensors)


def _skipping_sensor(pkg: ModuleType, name: str, job: Any) -> Any:
    reason = pkg.SkipReason

    def evaluate() -> Any:
        return reason("nothing new")

    evaluate.__name__ = name
    return pkg.sensor(
        name=name,
        job=job,
        minimum_interval_seconds=SENSOR_INTERVAL_S,
        default_status=pkg.DefaultSensorStatus.RUNNING,
    )(evaluate)
