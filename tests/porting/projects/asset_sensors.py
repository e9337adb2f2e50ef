"""Sensors that watch materializations and runs: asset_sensor, multi_asset_sensor and run status."""

import dagster as dg


@dg.asset
def raw_events() -> int:
    return 5


@dg.asset
def raw_users() -> int:
    return 2


@dg.asset
def broken() -> int:
    raise RuntimeError("no data today")


@dg.asset
def digest() -> str:
    return "digest"


digest_job = dg.define_asset_job("digest_job", selection=[digest])
broken_job = dg.define_asset_job("broken_job", selection=[broken])


@dg.asset_sensor(asset_key=dg.AssetKey("raw_events"), job=digest_job)
def events_landed(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry):
    return dg.RunRequest(run_key=f"events-{asset_event.run_id}")


@dg.multi_asset_sensor(
    monitored_assets=[dg.AssetKey("raw_events"), dg.AssetKey("raw_users")], job=digest_job
)
def both_landed(context: dg.MultiAssetSensorEvaluationContext):
    latest = context.latest_materialization_records_by_key()
    if all(latest.values()):
        context.advance_all_cursors()
        return dg.RunRequest(run_key="both")
    return dg.SkipReason(
        "waiting for " + ", ".join(k.to_user_string() for k, v in latest.items() if not v)
    )


@dg.run_failure_sensor(monitored_jobs=[broken_job])
def report_failure(context: dg.RunFailureSensorContext) -> None:
    print(f"{context.dagster_run.job_name} failed")


@dg.run_status_sensor(run_status=dg.DagsterRunStatus.SUCCESS, request_job=digest_job)
def after_success(context: dg.RunStatusSensorContext):
    if context.dagster_run.job_name != digest_job.name:
        return dg.RunRequest(run_key=context.dagster_run.run_id)
    return dg.SkipReason("digest itself")


email_on_failure = dg.make_email_on_run_failure_sensor(
    email_from="etl@example.org",
    email_password="secret",
    email_to=["oncall@example.org"],
    monitored_jobs=[broken_job],
)

defs = dg.Definitions(
    assets=[raw_events, raw_users, broken, digest],
    jobs=[digest_job, broken_job],
    sensors=[events_landed, both_landed, report_failure, after_success, email_on_failure],
)
