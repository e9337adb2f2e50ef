"""A location whose sensors read the instance: an asset sensor and a run failure sensor."""

from knoll import (
    AssetKey,
    Definitions,
    RunFailureSensorContext,
    RunRequest,
    asset,
    asset_sensor,
    define_asset_job,
    run_failure_sensor,
)


@asset
def orders() -> list[int]:
    return [1, 2]


@asset
def flaky_export() -> None:
    raise RuntimeError("export bucket is read-only")


refresh_job = define_asset_job("refresh_job", selection="orders")


@asset_sensor(asset_key=AssetKey("orders"), job=refresh_job)
def orders_landed(context, asset_event):  # type: ignore[no-untyped-def]
    return RunRequest(run_key=asset_event.run_id)


@run_failure_sensor(request_job=refresh_job)
def retry_on_failure(context: RunFailureSensorContext) -> RunRequest:
    return RunRequest(run_key=f"retry-{context.dagster_run.run_id}")


defs = Definitions(
    assets=[orders, flaky_export],
    jobs=[refresh_job],
    sensors=[orders_landed, retry_on_failure],
)
