"""Daily partitioned assets and a schedule that asks, each morning, for yesterday."""

import dagster as dg

daily = dg.DailyPartitionsDefinition(start_date="2024-03-01", end_date="2024-03-08")


@dg.asset(partitions_def=daily)
def page_views(context: dg.AssetExecutionContext) -> int:
    return int(context.partition_key[-2:]) * 100


@dg.asset(partitions_def=daily)
def daily_report(context: dg.AssetExecutionContext, page_views: int) -> str:
    return f"{context.partition_key}: {page_views} views"


daily_job = dg.define_asset_job("daily_job", selection=[page_views, daily_report])


@dg.schedule(job=daily_job, cron_schedule="0 6 * * *")
def every_morning(context: dg.ScheduleEvaluationContext):
    day = context.scheduled_execution_time.date().toordinal() - 1
    from datetime import date

    return dg.RunRequest(partition_key=date.fromordinal(day).isoformat())


defs = dg.Definitions(
    assets=[page_views, daily_report], jobs=[daily_job], schedules=[every_morning]
)
