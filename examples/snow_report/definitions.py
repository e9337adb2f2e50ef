"""The snow report code location: the assets, a daily job and its schedule, and the snow API.

``SNOW_REPORT_ENV`` (``local`` by default, or ``production``) chooses the snow API client when
these definitions are built. The production client's key, ``SNOW_API_KEY``, is only read when a
run starts, so loading the definitions never needs the secret.
"""

from __future__ import annotations

import os
from datetime import timedelta

from examples.snow_report.assets import conditions, daily_partitions, raw_reports, summary
from examples.snow_report.resources import (
    LocalSnowApiClient,
    ProductionSnowApiClient,
    SnowApiClient,
)
from knoll import (
    AssetSelection,
    Definitions,
    EnvVar,
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    define_asset_job,
    schedule,
)

ENV_VARIABLE = "SNOW_REPORT_ENV"

snow_report_job = define_asset_job(
    "snow_report_job",
    selection=AssetSelection.groups("raw_snow", "snow_report"),
    description="Fetch every resort's report, then build the day's conditions and summary.",
)


@schedule(cron_schedule="0 7 * * *", job=snow_report_job, execution_timezone="UTC")
def daily_snow_report(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
    """Every morning at 07:00 UTC, report on the day before."""
    day = (context.scheduled_execution_time - timedelta(days=1)).date().isoformat()
    if not daily_partitions.has_partition_key(day):
        return SkipReason(f"{day} is before the first day of the report")
    return RunRequest(run_key=day, partition_key=day)


def snow_api_for_environment() -> SnowApiClient:
    """The snow API client ``SNOW_REPORT_ENV`` asks for."""
    env = os.environ.get(ENV_VARIABLE, "local")
    if env == "local":
        return LocalSnowApiClient()
    if env == "production":
        return ProductionSnowApiClient(api_key=EnvVar("SNOW_API_KEY"))
    raise ValueError(f"{ENV_VARIABLE} is {env!r}; set it to 'local' or 'production'.")


def build_definitions() -> Definitions:
    """The definitions, with the snow API client of the current environment."""
    return Definitions(
        assets=[*raw_reports, conditions, summary],
        jobs=[snow_report_job],
        schedules=[daily_snow_report],
        resources={"snow_api": snow_api_for_environment()},
    )


defs = build_definitions()
