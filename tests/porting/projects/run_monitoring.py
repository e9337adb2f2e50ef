"""Run status sensors for a billing team: a report job after each successful billing run, a
webhook page and an email when a run fails. Addresses come from the environment."""

import json
import os
import urllib.request

import dagster as dg


@dg.asset(group_name="billing")
def invoices() -> list[int]:
    return [120, 80, 45]


@dg.asset(group_name="billing")
def ledger() -> int:
    raise ValueError("the ledger does not balance")


billing_job = dg.define_asset_job("billing_job", selection=[invoices])
ledger_job = dg.define_asset_job("ledger_job", selection=[ledger])


@dg.op(config_schema={"billing_run": str})
def write_report(context: dg.OpExecutionContext) -> str:
    return f"report for {context.op_config['billing_run']}"


@dg.job
def report_job():
    write_report()


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[billing_job],
    request_job=report_job,
)
def report_after_billing(context: dg.RunStatusSensorContext):
    run_id = context.dagster_run.run_id
    return dg.RunRequest(
        run_key=run_id, run_config={"ops": {"write_report": {"config": {"billing_run": run_id}}}}
    )


@dg.run_failure_sensor(monitored_jobs=[ledger_job])
def page_on_ledger_failure(context: dg.RunFailureSensorContext) -> None:
    payload = {
        "job": context.dagster_run.job_name,
        "run_id": context.dagster_run.run_id,
        "failed_steps": [event.step_key for event in context.get_step_failure_events()],
    }
    request = urllib.request.Request(
        os.environ["ALERT_WEBHOOK_URL"],
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


def _failure_body(context: dg.RunFailureSensorContext) -> str:
    return f"{context.dagster_run.job_name} failed in run {context.dagster_run.run_id}"


email_on_failure = dg.make_email_on_run_failure_sensor(
    email_from="billing-bot@example.com",
    email_password=os.environ.get("ALERT_SMTP_PASSWORD", ""),
    email_to=["oncall@example.com", "billing@example.com"],
    email_body_fn=_failure_body,
    smtp_host="127.0.0.1",
    smtp_type="STARTTLS",
    smtp_port=int(os.environ.get("ALERT_SMTP_PORT", "587")),
    name="email_on_failure",
)

defs = dg.Definitions(
    assets=[invoices, ledger],
    jobs=[billing_job, ledger_job, report_job],
    sensors=[report_after_billing, page_on_ledger_failure, email_on_failure],
)
