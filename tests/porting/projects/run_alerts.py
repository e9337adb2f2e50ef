"""A failing load on an undeclared upstream, and a run failure sensor that writes an alert."""

import os
from pathlib import Path

import dagster as dg


@dg.asset(deps=[dg.AssetKey(["vendor", "price_feed"])], compute_kind="python", group_name="pricing")
def prices() -> list[int]:
    raise ConnectionError("vendor feed unreachable")


archive_spec = dg.AssetSpec("price_archive", deps=["prices"], group_name="pricing")
archive_spec = archive_spec.with_io_manager_key("archive_io")

pricing_job = dg.define_asset_job("pricing_job", selection=[prices])


@dg.run_failure_sensor(monitored_jobs=[pricing_job])
def alert_on_failure(context: dg.RunFailureSensorContext) -> None:
    alert = f"{context.dagster_run.job_name}: {context.failure_event.message}"
    with open(Path(os.environ["PORTING_OUTPUT_DIR"]) / "alerts.txt", "a") as alerts:
        alerts.write(alert.splitlines()[0] + "\n")


defs = dg.Definitions(
    assets=[prices, archive_spec],
    jobs=[pricing_job],
    sensors=[alert_on_failure],
    resources={"archive_io": dg.mem_io_manager},
)
