"""A location whose sensors read the instance: an asset sensor, a run failure sensor,
multi-asset sensors that watch an asset selection, and one that pairs daily partitions."""

from knoll import (
    AssetKey,
    AssetSelection,
    DailyPartitionsDefinition,
    Definitions,
    MultiAssetSensorEvaluationContext,
    RunFailureSensorContext,
    RunRequest,
    SkipReason,
    asset,
    asset_sensor,
    define_asset_job,
    multi_asset_sensor,
    run_failure_sensor,
)


@asset
def orders() -> list[int]:
    return [1, 2]


@asset
def flaky_export() -> None:
    raise RuntimeError("export bucket is read-only")


@asset(group_name="billing")
def invoices() -> list[str]:
    return ["inv-1"]


@asset(group_name="billing")
def payments() -> list[str]:
    return ["pay-1"]


refresh_job = define_asset_job("refresh_job", selection="orders")


@asset_sensor(asset_key=AssetKey("orders"), job=refresh_job)
def orders_landed(context, asset_event):  # type: ignore[no-untyped-def]
    return RunRequest(run_key=asset_event.run_id)


@run_failure_sensor(request_job=refresh_job)
def retry_on_failure(context: RunFailureSensorContext) -> RunRequest:
    return RunRequest(run_key=f"retry-{context.dagster_run.run_id}")


@multi_asset_sensor(monitored_assets=AssetSelection.groups("billing"), job=refresh_job)
def billing_settled(context: MultiAssetSensorEvaluationContext) -> RunRequest | None:
    latest = context.latest_materialization_records_by_key()
    if not all(latest.values()):
        return None  # wait until every billing asset has a new materialization
    context.advance_all_cursors()
    return RunRequest(run_key="+".join(sorted(str(k) for k in latest)))


@multi_asset_sensor(monitored_assets=AssetSelection.groups("refunds"))
def refunds_settled(context: MultiAssetSensorEvaluationContext) -> None:
    return None


DAYS = DailyPartitionsDefinition(start_date="2024-06-01", end_date="2024-06-08")


@asset(partitions_def=DAYS)
def daily_visits() -> int:
    return 100


@asset(partitions_def=DAYS)
def daily_signups() -> int:
    return 3


funnel_job = define_asset_job("funnel_job", selection=[daily_visits, daily_signups])


@multi_asset_sensor(monitored_assets=[daily_visits, daily_signups], job=funnel_job)
def funnel_day_complete(
    context: MultiAssetSensorEvaluationContext,
) -> list[RunRequest] | SkipReason:
    requests = []
    for day, records in context.latest_materialization_records_by_partition_and_asset().items():
        if len(records) == 2:
            context.advance_cursor(records)
            requests.append(RunRequest(run_key=day, partition_key=day))
    return requests or SkipReason("no day has visits and signups yet")


defs = Definitions(
    assets=[orders, flaky_export, invoices, payments, daily_visits, daily_signups],
    jobs=[refresh_job, funnel_job],
    sensors=[
        orders_landed,
        retry_on_failure,
        billing_settled,
        refunds_settled,
        funnel_day_complete,
    ],
)
