"""A nightly export op job: daily partitioned config, a schedule built from it, retry
policies on the ops, and success/failure hooks (on the job and on one op) that write to a
resource."""

import dagster as dg


class ExportLog(dg.ConfigurableResource):
    """Where the export writes what happened, one line each."""

    path: str

    def note(self, line: str) -> None:
        with open(self.path, "a") as log:
            log.write(line + "\n")


@dg.success_hook(required_resource_keys={"export_log"})
def note_success(context: dg.HookContext) -> None:
    context.resources.export_log.note(f"ok {context.op.name}")


@dg.failure_hook(required_resource_keys={"export_log"})
def note_failure(context: dg.HookContext) -> None:
    context.resources.export_log.note(f"failed {context.op.name}: {context.op_exception}")


@dg.success_hook(name="count_rows_hook", required_resource_keys={"export_log"})
def count_extracted(context: dg.HookContext) -> None:
    rows = context.op_output_values["result"]
    context.resources.export_log.note(f"extracted {len(rows)} rows")


@dg.daily_partitioned_config(start_date="2024-09-01")
def export_day(start, _end):
    return {"ops": {"extract": {"config": {"day": start.strftime("%Y-%m-%d")}}}}


@dg.op(config_schema={"day": str}, retry_policy=dg.RetryPolicy(max_retries=2))
def extract(context: dg.OpExecutionContext, export_log: ExportLog) -> list[str]:
    export_log.note(f"extract attempt {context.retry_number}")
    if context.retry_number == 0:
        raise ConnectionError("the warehouse closed the connection")
    return [f"{context.op_config['day']}-{n}" for n in range(3)]


@dg.op
def upload(context: dg.OpExecutionContext, rows: list[str]) -> str:
    if rows[0].startswith("2024-09-03"):
        raise PermissionError("the bucket refuses uploads for 2024-09-03")
    return f"uploaded {len(rows)} rows"


@dg.job(
    config=export_day,
    hooks={note_success, note_failure},
    op_retry_policy=dg.RetryPolicy(max_retries=1),
)
def nightly_export():
    upload(extract.with_hooks({count_extracted})())


nightly_schedule = dg.build_schedule_from_partitioned_job(
    nightly_export, hour_of_day=3, minute_of_hour=30
)

defs = dg.Definitions(
    jobs=[nightly_export],
    schedules=[nightly_schedule],
    resources={"export_log": ExportLog(path=dg.EnvVar("EXPORT_LOG"))},
)
