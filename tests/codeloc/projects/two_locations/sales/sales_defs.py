"""A healthy code location: two assets, a job, a schedule and a cursor-keeping sensor."""

from knoll import (
    Definitions,
    RunRequest,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    asset,
    define_asset_job,
    schedule,
    sensor,
)


@asset
def orders() -> list[int]:
    return [1, 2, 3]


@asset
def revenue(orders: list[int]) -> int:
    return sum(orders)


sales_job = define_asset_job("sales_job", selection="*")


@schedule(cron_schedule="0 6 * * *", job=sales_job)
def daily_sales(context: ScheduleEvaluationContext) -> RunRequest:
    day = context.scheduled_execution_time.strftime("%Y-%m-%d")
    return RunRequest(run_key=day, tags={"day": day})


@sensor(job=sales_job)
def new_orders(context: SensorEvaluationContext) -> list[RunRequest]:
    seen = int(context.cursor or "0")
    context.update_cursor(str(seen + 2))
    return [RunRequest(run_key=f"batch-{n}") for n in (seen + 1, seen + 2)]


@sensor(job=sales_job)
def flaky(context: SensorEvaluationContext) -> None:
    raise ValueError("the orders API is down")


defs = Definitions(
    assets=[orders, revenue],
    jobs=[sales_job],
    schedules=[daily_sales],
    sensors=[new_orders, flaky],
)
