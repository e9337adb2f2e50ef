"""The webserver tests' project: a small shop with a bit of everything the API shows.

Assets in two groups (one daily-partitioned, with a check and an eager automation condition,
one with config that can make it fail), a job, a schedule and a sensor, and an EnvVar resource
whose value must never appear in a response (``SHOP_API_KEY``, set in the code server's
environment by the tests).
"""

from __future__ import annotations

from knoll import (
    AssetCheckResult,
    AutomationCondition,
    BackfillPolicy,
    Config,
    ConfigurableResource,
    DailyPartitionsDefinition,
    DefaultSensorStatus,
    Definitions,
    EnvVar,
    MaterializeResult,
    RunRequest,
    ScheduleDefinition,
    SensorEvaluationContext,
    asset,
    asset_check,
    define_asset_job,
    sensor,
)

days = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-11")


class ShopApi(ConfigurableResource):
    api_key: str


class CustomersConfig(Config):
    fail: bool = False
    rows: int = 3


@asset(group_name="sales", partitions_def=days, kinds=["python"], owners=["team:sales"])
def raw_orders() -> MaterializeResult:
    return MaterializeResult(metadata={"rows": 10})


@asset(
    group_name="sales",
    partitions_def=days,
    automation_condition=AutomationCondition.eager(),
    description="Orders with their customer, one partition a day.",
)
def orders(raw_orders: None, shop_api: ShopApi) -> MaterializeResult:
    assert shop_api.api_key
    return MaterializeResult(metadata={"rows": 9})


@asset_check(asset=orders)
def orders_not_empty() -> AssetCheckResult:
    return AssetCheckResult(passed=True, metadata={"rows": 9})


@asset(group_name="crm")
def customers(config: CustomersConfig) -> MaterializeResult:
    if config.fail:
        raise ValueError("customers failed because config said fail: true")
    return MaterializeResult(metadata={"rows": config.rows})


@asset(group_name="crm", deps=[customers])
def customer_report() -> None:
    return None


crm_job = define_asset_job("crm_job", selection=[customers, customer_report])
sales_job = define_asset_job("sales_job", selection=[raw_orders, orders], partitions_def=days)

nightly_crm = ScheduleDefinition(name="nightly_crm", job=crm_job, cron_schedule="0 2 * * *")


@sensor(job=crm_job, minimum_interval_seconds=30)
def crm_sensor() -> RunRequest | None:
    return None


@sensor(job=crm_job, minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING)
def counting_sensor(context: SensorEvaluationContext) -> RunRequest:
    """Counts its ticks in its cursor; runs by default (its default_status)."""
    count = int(context.cursor or "0") + 1
    context.update_cursor(str(count))
    return RunRequest(run_key=f"count-{count}", tags={"count": str(count)})


@sensor(job=crm_job, minimum_interval_seconds=30)
def failing_sensor() -> RunRequest:
    raise ValueError("the crm export is not readable")


@asset(
    group_name="sales",
    partitions_def=days,
    deps=[orders],
    backfill_policy=BackfillPolicy.multi_run(1),
)
def orders_summary() -> None:
    """Downstream of orders with a policy of its own: a backfill gives it a group of its own,
    whose partitions wait for (or are skipped after) those of orders."""
    return None


defs = Definitions(
    assets=[raw_orders, orders, customers, customer_report, orders_summary],
    asset_checks=[orders_not_empty],
    jobs=[crm_job, sales_job],
    schedules=[nightly_crm],
    sensors=[crm_sensor, counting_sensor, failing_sensor],
    resources={"shop_api": ShopApi(api_key=EnvVar("SHOP_API_KEY"))},
)
