"""Run the porting projects under Dagster itself, by hand, to confirm the expected values
that tests/porting/test_projects.py writes down (not part of the test suite: it needs
Dagster installed)::

    PORTING_OUTPUT_DIR=$(mktemp -d) WEATHER_TOKEN=tok-123 \\
        /work/main/bench/.venv-dagster/bin/python tests/porting/verify_with_dagster.py

It prints each project's asset graph (keys, deps, groups, partition keys) and the results
that the tests compare, as JSON. For the run monitoring project it starts the same local
mail server (STARTTLS, with a certificate made by the openssl command) and webhook as the
tests do, and evaluates the sensors on a SQLite instance.
"""

from __future__ import annotations

import email
import importlib
import importlib.util
import json
import os
import sys
import tempfile
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import dagster as dg

PROJECTS = Path(__file__).parent / "projects"
sys.path.insert(0, str(Path(__file__).parents[2]))  # the repository, for tests.servers

from tests.servers import (  # noqa: E402 (after the path it needs)
    SMTPServer,
    WebhookServer,
    self_signed_certificate,
    server_tls,
    serving,
)


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, PROJECTS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _graph(defs: Any) -> dict[str, Any]:
    graph = defs.resolve_asset_graph()
    out = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        pdef = node.partitions_def
        out[key.to_user_string()] = {
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "group": node.group_name,
            "partitions": None if pdef is None else list(pdef.get_partition_keys()),
        }
    return out


def _raised(call: Any) -> str:
    """The name of the exception ``call()`` raises, or "nothing"."""
    try:
        call()
    except Exception as error:
        return type(error).__name__
    return "nothing"


def _materialized(result: Any) -> list[str]:
    return sorted(e.asset_key.to_user_string() for e in result.get_asset_materialization_events())


def main() -> None:
    with ExitStack() as servers:
        _main(_alert_servers(servers))


def _alert_servers(stack: ExitStack) -> tuple[SMTPServer, WebhookServer]:
    """A STARTTLS mail server and a webhook for run_monitoring, named in its environment."""
    cert, key = self_signed_certificate(Path(tempfile.mkdtemp()))
    os.environ["SSL_CERT_FILE"] = str(cert)
    smtp = stack.enter_context(serving(SMTPServer(server_tls(cert, key))))
    hook = stack.enter_context(serving(WebhookServer()))
    os.environ["ALERT_SMTP_PORT"] = str(smtp.port)
    os.environ["ALERT_SMTP_PASSWORD"] = "app-password"
    os.environ["ALERT_WEBHOOK_URL"] = f"http://127.0.0.1:{hook.port}/page"
    return smtp, hook


def _load_all() -> dict[str, Any]:
    """Every project (files and packages), with its asset graph."""
    report: dict[str, Any] = {}
    sys.path.insert(0, str(PROJECTS))  # for the packages
    for path in sorted(PROJECTS.glob("*/definitions.py")):
        defs = importlib.import_module(f"{path.parent.name}.definitions").defs()
        report[path.parent.name] = {"graph": _graph(defs)}
    for path in sorted(PROJECTS.glob("*.py")):
        if path.stem != "__init__":
            defs = _load(path.stem).defs
            defs = defs() if not hasattr(defs, "resolve_asset_graph") else defs
            report[path.stem] = {"graph": _graph(defs)}
    return report


def _main(servers: tuple[SMTPServer, WebhookServer]) -> None:
    report = _load_all()

    m = sys.modules["daily_schedule"]
    morning = datetime(2024, 3, 5, 6, tzinfo=UTC)
    request = m.every_morning(dg.build_schedule_context(None, morning))
    result = m.defs.get_job_def("daily_job").execute_in_process(partition_key=request.partition_key)
    report["daily_schedule"]["report"] = result.asset_value("daily_report")

    m = sys.modules["asset_checks"]
    result = m.defs.get_implicit_global_asset_job_def().execute_in_process()
    report["asset_checks"]["checks"] = {
        e.check_name: [e.passed, e.severity.value, {k: v.value for k, v in e.metadata.items()}]
        for e in result.get_asset_check_evaluations()
    }
    report["asset_checks"]["success"] = result.success

    m = sys.modules["op_job_config"]
    greet = {"config": {"name": "Ada", "excited": True}}
    result = m.greeting_job.execute_in_process(
        run_config=dg.RunConfig(ops={"greet": greet, "repeat": {"config": {"times": 2}}})
    )
    report["op_job_config"]["repeat"] = result.output_for_node("repeat")

    m = sys.modules["multi_asset"]
    result = m.defs.get_implicit_global_asset_job_def().execute_in_process()
    report["multi_asset"]["materialized"] = _materialized(result)

    m = sys.modules["sensor_runs"]
    context = dg.build_sensor_context(None, "2024-01-01.csv")
    requests = m.new_files(context)
    report["sensor_runs"]["requests"] = [[r.run_key, r.tags] for r in requests]
    report["sensor_runs"]["cursor"] = context.cursor

    m = sys.modules["materialize_result"]
    result = dg.materialize([m.exported_table, m.scores])
    report["materialize_result"]["metadata"] = {
        e.asset_key.to_user_string(): {
            k: str(v.value) for k, v in e.materialization.metadata.items()
        }
        for e in result.get_asset_materialization_events()
    }

    m = sys.modules["selection_jobs"]
    report["selection_jobs"]["sources_job"] = _materialized(
        m.defs.get_job_def("sources_job").execute_in_process()
    )
    instance = dg.DagsterInstance.ephemeral()
    dg.materialize([m.stations, m.readings], instance=instance)
    totals = m.defs.get_job_def("totals_job").execute_in_process(instance=instance)
    report["selection_jobs"]["totals_job"] = [
        _materialized(totals),
        totals.asset_value("grand_total"),
    ]

    m = sys.modules["multi_partitions"]
    key = dg.MultiPartitionKey({"date": "2024-05-02", "region": "us"})
    result = dg.materialize([m.sales], partition_key=key)
    report["multi_partitions"]["sales"] = result.asset_value("sales")

    m = sys.modules["retries"]
    result = dg.materialize([m.flaky_download])
    report["retries"]["retry_events"] = len(
        [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    )

    m = sys.modules["logger_and_errors"]
    report["logger_and_errors"]["run_with"] = [m.run_with(3), m.run_with("three")]

    _verify_new_projects(report)
    _verify_views(report)
    _verify_packages_and_files(report, Path(os.environ["PORTING_OUTPUT_DIR"]))
    _verify_run_monitoring(report, *servers)
    _verify_op_jobs(report, Path(os.environ["PORTING_OUTPUT_DIR"]))
    print(json.dumps(report, indent=1, default=str))


def _verify_views(report: dict[str, Any]) -> None:
    """Virtual assets: the non-virtual ancestors, and the stale status after the table behind
    the views is materialized again (Dagster's resolver; a preview feature there)."""
    from dagster._utils.test.data_versions import get_stale_status_resolver

    m = sys.modules["dbt_views"]
    graph = m.defs.resolve_asset_graph()
    instance = dg.DagsterInstance.ephemeral()
    job = m.defs.get_implicit_global_asset_job_def()
    models = ["raw_orders", "orders_by_customer", "order_report"]
    job.execute_in_process(instance=instance, asset_selection=[dg.AssetKey(k) for k in models])
    job.execute_in_process(instance=instance, asset_selection=[dg.AssetKey("raw_orders")])
    resolver = get_stale_status_resolver(instance, list(graph.assets_defs))
    keys = sorted(graph.get_all_asset_keys())
    report["dbt_views"]["results"] = [
        {
            k.to_user_string(): sorted(
                a.to_user_string() for a in graph.get_non_virtual_ancestor_keys(k)
            )
            for k in keys
        },
        {k.to_user_string(): resolver.get_status(k).value for k in keys},
    ]


def _verify_new_projects(report: dict[str, Any]) -> None:
    out = Path(os.environ["PORTING_OUTPUT_DIR"])

    m = sys.modules["hooks_job_config"]
    nightly = m.nightly_totals.execute_in_process()
    sized = m.sized_totals.execute_in_process(run_config={"size": 3})
    failed = m.sized_totals.execute_in_process(run_config={"size": -1}, raise_on_error=False)
    raised = _raised(lambda: m.sized_totals.execute_in_process(run_config={"size": -1}))
    report["hooks_job_config"]["results"] = [
        nightly.output_for_node("total"),
        sized.output_for_node("total"),
        failed.success,
        raised,
        (out / "hooks.txt").read_text().splitlines(),
    ]

    m = sys.modules["io_managers"]
    result = m.defs.get_implicit_global_asset_job_def().execute_in_process()
    manager = m.JsonLinesIOManager(str(out))
    manager.handle_output(dg.build_output_context(asset_key="spare"), [{"km": 1}])
    upstream = dg.build_output_context(asset_key="spare")
    report["io_managers"]["results"] = [
        result.output_for_node("summary"),
        (out / "long_trips.jsonl").read_text(),
        sorted(p.name for p in (out / "fs").iterdir()),
        manager.load_input(dg.build_input_context(upstream_output=upstream)),
    ]

    m = sys.modules["graph_assets"]
    result = m.defs.get_implicit_global_asset_job_def().execute_in_process()
    report["graph_assets"]["results"] = [
        _materialized(result),
        [result.asset_value(k) for k in ("average_price", "low_price", "high_price")],
        result.asset_value("price_text"),
        sorted(m.quality.specs_by_key[dg.AssetKey("cleaned")].kinds),
    ]

    m = sys.modules["partitioned_config"]
    tick = datetime(2024, 6, 3, 2, tzinfo=UTC)
    [request] = m.daily_load_schedule.evaluate_tick(
        dg.build_schedule_context(None, tick)
    ).run_requests
    loaded = m.daily_load.execute_in_process(partition_key=request.partition_key)
    instance = dg.DagsterInstance.ephemeral()
    dg.materialize([m.temperatures], partition_key="2024-06-02", instance=instance)
    change = dg.materialize(
        [m.temperatures, m.change, m.plausible],
        selection=["change"],
        partition_key="2024-06-03",
        instance=instance,
    )
    checks = dg.materialize(
        [m.temperatures, m.plausible], partition_key="2024-06-02", instance=instance
    )
    report["partitioned_config"]["results"] = [
        request.partition_key,
        loaded.output_for_node("load_day"),
        change.asset_value("change"),
        [
            (e.check_name, e.passed, {k: v.value for k, v in e.metadata.items()})
            for e in checks.get_asset_check_evaluations()
        ],
    ]

    _verify_sensor_projects(report, out)
    _verify_external_checks(report, out)


def _evaluations(result: Any) -> dict[str, list[Any]]:
    return {
        e.check_name: [e.passed, e.blocking, {k: v.value for k, v in e.metadata.items()}]
        for e in result.get_asset_check_evaluations()
    }


def _verify_external_checks(report: dict[str, Any], out: Path) -> None:
    m = sys.modules["external_checks"]
    (out / "raw_orders.json").write_text("[1, 2, 3]")
    every = m.defs.get_implicit_global_asset_job_def().execute_in_process()
    checks_only = m.defs.get_job_def("landing_checks").execute_in_process()
    in_materialize = dg.materialize(
        [m.raw_orders, m.raw_orders_not_empty], resources=m.defs.resources
    )
    (out / "raw_orders.json").write_text("[]")
    blocked = m.defs.get_implicit_global_asset_job_def().execute_in_process(raise_on_error=False)
    report["external_checks"]["results"] = [
        [_evaluations(every), _materialized(every), every.success],
        [_evaluations(checks_only), _materialized(checks_only)],
        _evaluations(in_materialize),
        [_evaluations(blocked), _materialized(blocked), blocked.success],
    ]


def _verify_sensor_projects(report: dict[str, Any], out: Path) -> None:
    m = sys.modules["asset_sensors"]
    instance = dg.DagsterInstance.ephemeral()
    waiting = m.both_landed(
        dg.build_multi_asset_sensor_context(
            monitored_assets=[dg.AssetKey("raw_events"), dg.AssetKey("raw_users")],
            instance=instance,
            definitions=m.defs,
        )
    )
    events = dg.materialize([m.raw_events], instance=instance)
    landed = m.events_landed.evaluate_tick(dg.build_sensor_context(instance))
    dg.materialize([m.raw_users], instance=instance)
    both = m.both_landed(
        dg.build_multi_asset_sensor_context(
            monitored_assets=[dg.AssetKey("raw_events"), dg.AssetKey("raw_users")],
            instance=instance,
            definitions=m.defs,
        )
    )
    report["asset_sensors"]["results"] = [
        waiting.skip_message,
        [r.run_key == f"events-{events.run_id}" for r in landed.run_requests],
        both.run_key,
    ]

    m = sys.modules["run_alerts"]
    instance = dg.DagsterInstance.ephemeral()
    job = m.defs.get_job_def("pricing_job")
    failed = job.execute_in_process(instance=instance, raise_on_error=False)
    context = dg.build_run_status_sensor_context(
        sensor_name="alert_on_failure",
        dagster_event=failed.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=failed.dagster_run,
    ).for_run_failure()
    m.alert_on_failure(context)
    graph = m.defs.resolve_asset_graph()
    report["run_alerts"]["results"] = [
        graph.get(dg.AssetKey("price_archive")).io_manager_key,
        (out / "alerts.txt").read_text(),
    ]

    m = sys.modules["specs_and_conditions"]
    defs = m.defs()
    result = defs.get_job_def("finance_job").execute_in_process()
    checks = defs.get_job_def("finance_checks_job").execute_in_process()
    [(_, lineage)] = [
        (k, v)
        for e in result.get_asset_materialization_events()
        for k, v in e.materialization.metadata.items()
        if k == "dagster/column_lineage"
    ]
    spec = next(s for s in m.warehouse_tables if s.key == dg.AssetKey("raw_payments"))
    report["specs_and_conditions"]["results"] = [
        _materialized(result),
        _materialized(checks),
        sorted((e.check_name, e.passed) for e in checks.get_asset_check_evaluations()),
        [
            [d.asset_key.to_user_string(), d.column_name]
            for d in lineage.value.deps_by_column["amount_due"]
        ],
        [dict(spec.tags), list(spec.owners)],
    ]

    m = sys.modules["graph_config_checks"]
    rows = dg.materialize(
        [m.order_rows, m.table_rows],
        run_config={"ops": {"table_rows": {"config": {"table": "refunds"}}}},
    )
    checked = dg.materialize([m.scores])
    check_key = dg.AssetCheckKey(dg.AssetKey("right"), "not_empty")
    instance = dg.DagsterInstance.ephemeral()
    dg.materialize([m.sides], instance=instance)
    only_check = dg.materialize(
        [m.sides], selection=dg.AssetSelection.checks(check_key), instance=instance
    )
    report["graph_config_checks"]["results"] = [
        [rows.output_for_node("order_rows"), rows.output_for_node("table_rows", "result")],
        rows.output_for_node("table_rows.extract"),
        checked.asset_value("scores") if hasattr(checked, "asset_value") else None,
        sorted((e.check_name, e.passed) for e in checked.get_asset_check_evaluations()),
        _materialized(only_check),
        sorted((e.check_name, e.passed) for e in only_check.get_asset_check_evaluations()),
        sorted(e.step_key for e in only_check.all_events if e.event_type_value == "STEP_SUCCESS"),
    ]
    print(json.dumps(report["graph_config_checks"], indent=1, default=str))


def _verify_packages_and_files(report: dict[str, Any], out: Path) -> None:
    defs = sys.modules["fleet_analytics.definitions"].defs()
    result = defs.get_job_def("fleet_report").execute_in_process()
    report["fleet_analytics"]["results"] = [
        sorted(str(k) for k in defs.resolve_asset_graph().asset_check_keys),
        _materialized(result),
        sorted(
            (e.asset_check_key.asset_key.to_user_string(), e.check_name, e.passed)
            for e in result.get_asset_check_evaluations()
        ),
        [
            result.asset_value(["fleet", "reports", name])
            for name in ("utilisation", "maintenance_due", "idle_vehicles")
        ],
        sorted({e.step_key for e in result.get_step_success_events()}),
    ]

    m = sys.modules["weather_files"]
    instance = dg.DagsterInstance.ephemeral()
    for day in (1, 2, 3, 4, 5, 6, 7, 9):
        m.defs.get_job_def("daily_readings").execute_in_process(
            partition_key=f"2024-07-{day:02}", instance=instance
        )
    weekly = m.defs.get_job_def("weekly_report").execute_in_process(
        partition_key="2024-07-01", instance=instance
    )
    heat = m.defs.get_job_def("heatwave_report").execute_in_process(instance=instance)
    [event] = weekly.get_asset_materialization_events()
    missing = _raised(
        lambda: m.defs.get_job_def("weekly_report").execute_in_process(
            partition_key="2024-07-08", instance=instance
        )
    )
    report["weather_files"]["results"] = [
        weekly.output_for_node("weekly_peaks"),
        heat.output_for_node("heatwave_days"),
        sorted(str(p.relative_to(out)) for p in out.rglob("*.json")),
        (out / "station_readings" / "2024-07-09.json").read_text(),
        str(event.materialization.metadata["path"].value),
        missing,
    ]


def _verify_run_monitoring(report: dict[str, Any], smtp: SMTPServer, hook: WebhookServer) -> None:
    m = sys.modules["run_monitoring"]
    sensors = [m.report_after_billing, m.page_on_ledger_failure, m.email_on_failure]
    with dg.instance_for_test() as instance:
        cursors = {
            s.name: s.evaluate_tick(dg.build_sensor_context(instance=instance)).cursor
            for s in sensors
        }

        def tick(sensor: Any) -> Any:
            result = sensor.evaluate_tick(
                dg.build_sensor_context(instance=instance, cursor=cursors[sensor.name])
            )
            cursors[sensor.name] = result.cursor
            return result

        first = m.defs.get_job_def("billing_job").execute_in_process(instance=instance)
        second = m.defs.get_job_def("billing_job").execute_in_process(instance=instance)
        ledger = m.defs.get_job_def("ledger_job").execute_in_process(
            instance=instance, raise_on_error=False
        )
        ids = {first.run_id: "first billing run", second.run_id: "second billing run"}
        ticks = [[ids[r.run_key] for r in tick(m.report_after_billing).run_requests]]
        ticks.append([ids[r.run_key] for r in tick(m.report_after_billing).run_requests])
        tick(m.page_on_ledger_failure)
        tick(m.email_on_failure)
        tick(m.email_on_failure)
    [(headers, payload)] = hook.received
    [mail] = smtp.mailbox.messages
    parsed = email.message_from_string(mail["data"])
    report["run_monitoring"]["results"] = [
        ticks,
        [headers["Content-Type"], payload["job"], payload["run_id"] == ledger.run_id],
        payload["failed_steps"],
        [smtp.mailbox.tls_sessions, smtp.mailbox.logins, mail["from"], mail["to"]],
        parsed["Subject"],
        str(parsed.get_payload()).splitlines()[0] == f"ledger_job failed in run {ledger.run_id}",
    ]


def _verify_op_jobs(report: dict[str, Any], out: Path) -> None:
    m = sys.modules["dynamic_batches"]
    result = m.process_uploads.execute_in_process()
    report["dynamic_batches"]["results"] = [
        {n: result.output_for_node(n) for n in ("find_batches", "drop_negatives", "count_rows")},
        result.output_for_node("summarize"),
        sorted(e.step_key for e in result.get_step_success_events()),
    ]

    m = sys.modules["nightly_exports"]
    os.environ["EXPORT_LOG"] = str(out / "exports.log")
    tick = dg.build_schedule_context(None, datetime(2024, 9, 4, 3, 30, tzinfo=UTC))
    [request] = m.nightly_schedule.evaluate_tick(tick).run_requests
    job = m.defs.get_job_def("nightly_export")
    done = job.execute_in_process(partition_key="2024-09-02")
    failed = job.execute_in_process(partition_key=request.partition_key, raise_on_error=False)

    def steps(result: Any, event_type: str) -> list[str]:
        return [e.step_key for e in result.all_events if e.event_type_value == event_type]

    log = (out / "exports.log").read_text().split("extract attempt 0\n")
    report["nightly_exports"]["results"] = [
        [m.nightly_schedule.name, m.nightly_schedule.cron_schedule, request.partition_key],
        dict(request.tags),
        [done.output_for_node("upload"), steps(done, "STEP_UP_FOR_RETRY")],
        [failed.success, steps(failed, "STEP_UP_FOR_RETRY"), steps(failed, "STEP_FAILURE")],
        [sorted(run.splitlines()) for run in log],
    ]


if __name__ == "__main__":
    main()
